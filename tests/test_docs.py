"""Run the code in docs/*.md and follow its links, so the docs cannot rot.

Each chapter is run like a doctest session, one test per file:

- Fenced code blocks are read in order. Every ```python block runs, as a plain
  script, in one namespace shared by the whole file (a fresh module named
  ``docs_<file stem>``), so a later block can use what an earlier one defined.
- A ```output block is the expected stdout of the python block before it (the
  nearest preceding fenced block must be a python block; prose may sit between).
  A python block with no ```output block must print nothing.
- Blocks in any other language (```sh, ```text, ```http, ...) are illustrations
  and are not run. A fence of four backticks can show a fence of three inside it.

Comparing printed and expected output, line by line:

- trailing whitespace, trailing blank lines, and the width of runs of spaces do
  not matter (so a table can be aligned however its numbers fall);
- ``<number>`` in an expected line matches one number, like ``12`` or ``0.051``;
- ``...`` in an expected line matches any text within that line.

Those two placeholders are for values that vary from run to run (timings,
line numbers); everything else must match exactly. A traceback from a failing
block points at the line of the Markdown file.

Links in the prose are checked too: a relative link must reach a file that
exists, ``chapter.md#some-heading`` a heading that exists, and a link whose
text is code and whose target is a line - [`Router.match`](../minimal_asgi/routing.py#L10)
- must land on a line that names ``match``. When code moves, the test says
where the name went.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
# The chapters, and the project README (its example must run too).
CHAPTERS = [*sorted(DOCS.glob("*.md")), DOCS.parent / "README.md"]
IDS = [str(p.relative_to(DOCS.parent)) for p in CHAPTERS]

_FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)")
_PLACEHOLDER = re.compile(r"(<number>|\.\.\.)")
_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_LINE_ANCHOR = re.compile(r"L(\d+)(?:-L(\d+))?")


@dataclass
class Block:
    language: str
    code: str
    line: int  # line number of the first line of code in the Markdown file


@dataclass
class Document:
    blocks: list[Block] = field(default_factory=list)
    prose: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)


def read_markdown(text: str) -> Document:
    """Split Markdown into fenced blocks and prose lines. A fence closes with a
    line of at least as many backticks as opened it."""
    document = Document()
    opening: tuple[str, str, int] | None = None  # (backticks, language, first code line)
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if opening is None:
            match = _FENCE.match(line)
            if match:
                opening, body = (match.group(1), match.group(2).lower(), number + 1), []
            else:
                document.prose.append((number, line))
        elif line.strip().startswith(opening[0]) and not line.strip().strip("`"):
            document.blocks.append(Block(opening[1], "\n".join(body) + "\n", opening[2]))
            opening = None
        else:
            body.append(line)
    if opening is not None:
        raise AssertionError(f"the ``` fence opened on line {opening[2] - 1} is never closed")
    return document


# -- comparing output --------------------------------------------------------------


def _lines(text: str) -> list[str]:
    lines = [re.sub(r" +", " ", line.rstrip()) for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _line_pattern(expected: str) -> re.Pattern[str]:
    regex = "".join(
        _NUMBER if part == "<number>" else ".*" if part == "..." else re.escape(part)
        for part in _PLACEHOLDER.split(expected)
    )
    return re.compile(regex)


def output_matches(actual: str, expected: str) -> bool:
    got, want = _lines(actual), _lines(expected)
    return len(got) == len(want) and all(
        _line_pattern(w).fullmatch(g) for g, w in zip(got, want, strict=True)
    )


# -- running the python blocks -----------------------------------------------------


def _all_loggers() -> list[logging.Logger]:
    known = logging.Logger.manager.loggerDict.values()
    return [logging.getLogger(), *(lg for lg in known if isinstance(lg, logging.Logger))]


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    """A chapter may configure logging to print to stdout; undo that afterwards."""
    saved = {lg: (lg.handlers[:], lg.level, lg.propagate) for lg in _all_loggers()}
    try:
        yield
    finally:
        for lg in _all_loggers():
            handlers, level, propagate = saved.get(lg, ([], logging.NOTSET, True))
            lg.handlers[:], lg.propagate = handlers, propagate
            lg.setLevel(level)  # (setLevel also clears the loggers' level cache)


def run_chapter(path: Path) -> None:
    name = "docs_" + re.sub(r"\W", "_", path.stem)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    # Registered so that dataclasses, pickle and typing can find the module.
    sys.modules[name] = module
    previous: Block | None = None
    unchecked: tuple[Block, str] | None = None  # a python block's output, not yet compared
    try:
        with _logging_restored():
            for block in read_markdown(path.read_text(encoding="utf-8")).blocks:
                if block.language == "python":
                    _nothing_unchecked(path, unchecked)
                    # Pad with blank lines so tracebacks name the Markdown line.
                    code = compile("\n" * (block.line - 1) + block.code, str(path), "exec")
                    stdout = io.StringIO()
                    with contextlib.redirect_stdout(stdout):
                        exec(code, module.__dict__)
                    unchecked = (block, stdout.getvalue())
                elif block.language == "output":
                    if previous is None or previous.language != "python" or unchecked is None:
                        raise AssertionError(
                            f"{path.name}:{block.line - 1}: an ```output block must follow "
                            "a ```python block"
                        )
                    source, printed = unchecked
                    if not output_matches(printed, block.code):
                        raise AssertionError(
                            f"{path.name}:{block.line - 1}: the python block on line "
                            f"{source.line - 1} printed\n{printed}\nbut the chapter "
                            f"expects\n{block.code}"
                        )
                    unchecked = None
                previous = block
            _nothing_unchecked(path, unchecked)
    finally:
        sys.modules.pop(name, None)


def _nothing_unchecked(path: Path, unchecked: tuple[Block, str] | None) -> None:
    if unchecked is not None and unchecked[1]:
        block, printed = unchecked
        raise AssertionError(
            f"{path.name}:{block.line - 1}: this python block printed\n{printed}\n"
            "but no ```output block follows it; add one (or print nothing)"
        )


# -- following the links -----------------------------------------------------------


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces
    to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _headings(path: Path) -> set[str]:
    prose = read_markdown(path.read_text(encoding="utf-8")).prose
    return {_slug(line.lstrip("#")) for _, line in prose if line.startswith("#")}


def _find_line(qualified: str, lines: list[str]) -> int | None:
    """Where ``Owner.name`` (or ``name``) is defined, else where it is first named."""
    *owners, name = qualified.split(".")
    start = 0
    if owners:  # look for the method after its class statement
        owner = re.compile(rf"^\s*class\s+{re.escape(owners[-1])}\b")
        start = next((i for i, line in enumerate(lines) if owner.match(line)), 0)
    for pattern in (rf"\b(def|class)\s+{re.escape(name)}\b", rf"\b{re.escape(name)}\b"):
        for number, line in enumerate(lines[start:], start=start + 1):
            if re.search(pattern, line):
                return number
    return None


def _names(name: str, line: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", line) is not None


def _line_links(line: str) -> Iterator[tuple[re.Match[str], str, str]]:
    """Links like [`name`](file.py#L12): (the match, the name, the file part)."""
    for match in _LINK.finditer(line):
        text, target = match.groups()
        file_part, _, fragment = target.partition("#")
        code_name = text.startswith("`") and text.endswith("`") and not text.endswith('.py`')
        if _LINE_ANCHOR.fullmatch(fragment) and code_name:
            yield match, text.strip("`").removesuffix("()"), file_part


def _aim(
    path: Path, match: re.Match[str], qualified: str, file_part: str
) -> tuple[bool, int | None]:
    """For one line link: does it land on its name, and which line defines the name now?"""
    code = (path.parent / file_part).resolve().read_text(encoding="utf-8").splitlines()
    anchor = _LINE_ANCHOR.fullmatch(match.group(2).partition("#")[2])
    assert anchor is not None
    first, last = int(anchor.group(1)), int(anchor.group(2) or anchor.group(1))
    name = qualified.rsplit(".", 1)[-1]
    lands = any(_names(name, line) for line in code[first - 1 : last])
    return lands, _find_line(qualified, code)


def link_problems(path: Path) -> list[str]:
    problems = []
    for number, line in read_markdown(path.read_text(encoding="utf-8")).prose:
        for text, target in _LINK.findall(line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a web address, or a heading in this file (not checked)
            file_part, _, fragment = target.partition("#")
            linked = (path.parent / file_part).resolve()
            if not linked.exists():
                problems.append(f"{path.name}:{number}: [{text}]({target}): no such file")
            elif linked.suffix == ".md" and fragment and fragment not in _headings(linked):
                problems.append(f"{path.name}:{number}: {linked.name} has no heading #{fragment}")
        for match, qualified, file_part in _line_links(line):
            if not (path.parent / file_part).resolve().exists():
                continue  # reported above
            lands, found = _aim(path, match, qualified, file_part)
            if not lands:
                now = f"it is on line {found} now" if found else "no line names it any more"
                problems.append(
                    f"{path.name}:{number}: {match.group(0)} does not land on its name: {now} "
                    "(python tests/test_docs.py --fix-links rewrites such links)"
                )
    return problems


def fix_line_links(path: Path) -> int:
    """Point each [`name`](file#Ln) link that missed its name at the line defining it."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    fixed = 0
    for number, line in read_markdown(text).prose:
        new_line = line
        for match, qualified, file_part in reversed(list(_line_links(line))):
            if not (path.parent / file_part).resolve().exists():
                continue
            lands, found = _aim(path, match, qualified, file_part)
            if lands or found is None:
                continue
            link = f"[{match.group(1)}]({file_part}#L{found})"
            new_line = new_line[: match.start()] + link + new_line[match.end() :]
            fixed += 1
        if new_line != line:
            lines[number - 1] = new_line + lines[number - 1][len(line) :]
    if fixed:
        path.write_text("".join(lines), encoding="utf-8")
    return fixed


def show_output(path: Path) -> None:
    """Print what each python block prints: what its ```output block should say."""
    module = types.ModuleType("docs_show")
    sys.modules["docs_show"] = module
    for block in read_markdown(path.read_text(encoding="utf-8")).blocks:
        if block.language == "python":
            print(f"--- python block at line {block.line - 1} printed:", flush=True)
            code = compile("\n" * (block.line - 1) + block.code, str(path), "exec")
            exec(code, module.__dict__)


# -- the tests ---------------------------------------------------------------------


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_chapter_runs_and_prints_what_it_shows(path: Path) -> None:
    run_chapter(path)


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_chapter_links_reach_what_they_name(path: Path) -> None:
    problems = link_problems(path)
    assert not problems, "\n".join(problems)


# The runner's own rules, checked on tiny chapters.


def test_placeholders_match_numbers_and_any_text() -> None:
    assert output_matches("took 0.412 ms\n", "took <number> ms")
    assert output_matches("at 0x7f3a2b <Route '/'>  \n\n", "at ... <Route '/'>")
    assert output_matches("| 10 |    3.5 |\n", "| 10 | <number> |")
    assert not output_matches("took fast ms\n", "took <number> ms")
    assert not output_matches("one\ntwo\n", "one")


def test_output_block_checks_the_python_block_before_it(tmp_path: Path) -> None:
    chapter = tmp_path / "chapter.md"
    chapter.write_text(
        "```python\nx = 2\nprint(x * 21)\n```\n\nIt prints:\n\n```output\n42\n```\n"
        "```sh\nnot run\n```\n```python\nassert x == 2\n```\n"
    )
    run_chapter(chapter)
    chapter.write_text("```python\nprint('hello')\n```\n```output\ngoodbye\n```\n")
    with pytest.raises(AssertionError, match="expects"):
        run_chapter(chapter)


def test_python_block_that_prints_needs_an_output_block(tmp_path: Path) -> None:
    chapter = tmp_path / "chapter.md"
    chapter.write_text("```python\nprint('surprise')\n```\n")
    with pytest.raises(AssertionError, match="no ```output block"):
        run_chapter(chapter)


def test_a_line_link_must_land_on_the_name_it_shows(tmp_path: Path) -> None:
    (tmp_path / "code.py").write_text("import os\n\n\ndef match():\n    pass\n")
    chapter = tmp_path / "chapter.md"
    chapter.write_text("# Title\n\nSee [`Router.match`](code.py#L4) and [t](chapter.md#title).\n")
    assert link_problems(chapter) == []
    chapter.write_text("See [`match`](code.py#L1), [x](gone.py) and [t](chapter.md#nope).\n")
    problems = link_problems(chapter)
    assert len(problems) == 3
    assert any("it is on line 4 now" in problem for problem in problems)
    assert fix_line_links(chapter) == 1
    assert "[`match`](code.py#L4)" in chapter.read_text()


def test_fixing_a_method_link_looks_inside_its_class(tmp_path: Path) -> None:
    (tmp_path / "code.py").write_text(
        "class A:\n    def __call__(self):\n        pass\n\n"
        "class B:\n    def __call__(self):\n        pass\n"
    )
    chapter = tmp_path / "chapter.md"
    chapter.write_text("[`B.__call__`](code.py#L1)\n")
    assert fix_line_links(chapter) == 1
    assert chapter.read_text() == "[`B.__call__`](code.py#L6)\n"

if __name__ == "__main__":
    # python tests/test_docs.py --show docs/03-routing.md   (what each block prints)
    # python tests/test_docs.py --fix-links [docs/x.md ...]  (re-aim [`name`](x.py#Ln) links)
    if sys.argv[1:2] == ["--show"]:
        for argument in sys.argv[2:]:
            show_output(Path(argument))
    elif sys.argv[1:2] == ["--fix-links"]:
        for chapter in [Path(a) for a in sys.argv[2:]] or CHAPTERS:
            print(chapter.name, fix_line_links(chapter), "links fixed")
    else:
        print(__doc__)

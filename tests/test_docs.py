"""Run the code in docs/*.md (and docs/tutorial/, docs/exercises/*/README.md) and follow
its links, so the docs cannot rot.

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
exists, ``chapter.md#some-heading`` a heading that exists, and a link to a Python
file names the code it means in its text, not by line number (which every edit
moves): [`Router.match`](../minimal_asgi/routing.py) must link a file that
defines ``Router.match`` - a function, class, ``Class.method`` or module-level
name, found with ``ast``, optionally behind the module path it is imported by
(`minimal_asgi.testing.TestClient`). A link whose text is not a code name (a
file name, prose) or is the name of the module it opens (`minimal_asgi_cors`)
only needs its file to exist.
"""

from __future__ import annotations

import ast
import contextlib
import functools
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
# The chapters, the tutorial, the exercises' pages, and the project README (its
# example must run too).
CHAPTERS = [
    *sorted(DOCS.glob("*.md")),
    *sorted(DOCS.glob("tutorial/*.md")),
    *sorted(DOCS.glob("exercises/**/README.md")),
    DOCS.parent / "README.md",
]
IDS = [str(p.relative_to(DOCS.parent)) for p in CHAPTERS]

_FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)")
_PLACEHOLDER = re.compile(r"(<number>|\.\.\.)")
_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
# A link text that is a code name: `Router.match`, `send_result()`, `minimal_asgi.App`.
_SYMBOL = re.compile(r"`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\(\))?`")


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


def _symbol(text: str) -> str | None:
    """The code name a link shows (`Router.match`, `send_result()`), or None when its
    text is something else: prose, or a file name like `routing.py`."""
    match = _SYMBOL.fullmatch(text)
    if match is None or match.group(1).endswith(".py"):
        return None
    return match.group(1)


# Statements whose bodies still belong to the enclosing module or class: a name
# defined under `if TYPE_CHECKING:` or in a `try:`/`except ImportError:` fallback.
_BLOCKS = (ast.If, ast.Try, ast.TryStar, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor)


def _defined_in(body: list[ast.stmt], prefix: str = "") -> Iterator[str]:
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name
        elif isinstance(node, ast.ClassDef):
            yield prefix + node.name
            yield from _defined_in(node.body, f"{prefix}{node.name}.")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:  # (a, b = ... defines both)
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        yield prefix + name.id
        elif isinstance(node, _BLOCKS):
            for part in ("body", "orelse", "finalbody"):
                yield from _defined_in(getattr(node, part, []), prefix)
            for handler in getattr(node, "handlers", []):
                yield from _defined_in(handler.body, prefix)


@functools.cache
def definitions(path: Path) -> frozenset[str]:
    """The names a Python file defines: its functions, classes and assignments, and
    inside each class its methods and attributes as ``Class.name``. Imports do not
    count: a link goes to where a name is defined, not to where it is re-exported."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return frozenset(_defined_in(tree.body))


def _names_code_in(symbol: str, linked: Path) -> bool:
    """``name`` and ``Class.method`` are looked up as they are; ahead of them may
    stand the module path a reader imports them by (`minimal_asgi.testing.TestClient`),
    and a module path alone names the module (`minimal_asgi_cors`)."""
    module = linked.parent.name if linked.stem == "__init__" else linked.stem
    defined = definitions(linked) | {module}
    parts = symbol.split(".")
    for start in range(len(parts)):
        if ".".join(parts[start:]) in defined:
            return True
        if parts[start] != parts[start].lower():
            return False  # a class, not a module: what follows must be inside it
    return False


def _code_link_problem(linked: Path, text: str, target: str) -> str | None:
    """A link to a .py file names no line, and the name it shows is defined in that file."""
    if "#" in target:
        file_part = target.partition("#")[0]
        return (
            f"[{text}]({target}) points at a line, and line numbers move with every edit: "
            f"link the file, ({file_part}), and name the function, class or "
            "`Class.method` in the link text"
        )
    symbol = _symbol(text)
    if symbol is None or _names_code_in(symbol, linked):
        return None
    name = symbol.rsplit(".", 1)[-1]
    near = sorted(d for d in definitions(linked) if d.rsplit(".", 1)[-1] == name)
    hint = f"; did you mean {', '.join(f'`{d}`' for d in near)}?" if near else ""
    return (
        f"[{text}]({target}): {linked.name} defines no `{symbol}`; make the link text "
        "a name defined there (`function`, `Class`, `Class.method`, `CONSTANT`) or "
        f"link the file that defines it{hint}"
    )


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
            elif linked.suffix == ".py" and (problem := _code_link_problem(linked, text, target)):
                problems.append(f"{path.name}:{number}: {problem}")
    return problems


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


def test_links_must_reach_a_file_and_a_heading_that_exist(tmp_path: Path) -> None:
    (tmp_path / "code.py").write_text("x = 1\n")
    chapter = tmp_path / "chapter.md"
    chapter.write_text("# Title\n\n[Code](code.py), [`code.py`](code.py), [t](chapter.md#title).\n")
    assert link_problems(chapter) == []
    chapter.write_text("# Title\n\nSee [x](gone.py) and [t](chapter.md#nope).\n")
    assert link_problems(chapter) == [
        "chapter.md:3: [x](gone.py): no such file",
        "chapter.md:3: chapter.md has no heading #nope",
    ]


def test_a_code_link_naming_a_missing_symbol_is_reported(tmp_path: Path) -> None:
    (tmp_path / "code.py").write_text("def match():\n    pass\n")
    chapter = tmp_path / "chapter.md"
    chapter.write_text("See [`match`](code.py) and [`match()`](code.py).\n")
    assert link_problems(chapter) == []
    chapter.write_text("See [`mtach`](code.py).\n")
    [problem] = link_problems(chapter)
    assert problem.startswith("chapter.md:1: [`mtach`](code.py): code.py defines no `mtach`")
    assert "make the link text a name defined there" in problem


def test_a_method_is_found_inside_its_class(tmp_path: Path) -> None:
    (tmp_path / "code.py").write_text(
        "class A:\n    def run(self):\n        pass\n\n"
        "class B:\n    limit = 3\n    def stop(self):\n        pass\n"
    )
    chapter = tmp_path / "chapter.md"
    chapter.write_text("[`A.run`](code.py), [`B.stop`](code.py), [`B.limit`](code.py)\n")
    assert link_problems(chapter) == []
    chapter.write_text("[`B.run`](code.py)\n")
    [problem] = link_problems(chapter)
    assert "code.py defines no `B.run`; " in problem
    assert problem.endswith("did you mean `A.run`?")
    chapter.write_text("[`run`](code.py)\n")  # a bare name is a module-level name
    assert "code.py defines no `run`" in link_problems(chapter)[0]


def test_a_name_defined_only_in_another_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("from routing import Router\n\nclass App:\n    pass\n")
    (tmp_path / "routing.py").write_text("class Router:\n    pass\n")
    chapter = tmp_path / "chapter.md"
    chapter.write_text("[`Router`](routing.py) [`App`](app.py)\n")
    assert link_problems(chapter) == []
    chapter.write_text("[`Router`](app.py)\n")  # imported there, defined elsewhere
    [problem] = link_problems(chapter)
    assert "[`Router`](app.py): app.py defines no `Router`" in problem


def test_constants_and_definitions_under_if_or_try_count(tmp_path: Path) -> None:
    (tmp_path / "code.py").write_text(
        "LIMIT: int = 10\nA, B = 1, 2\n"
        "try:\n    import fast\nexcept ImportError:\n    def dumps():\n        pass\n"
    )
    chapter = tmp_path / "chapter.md"
    chapter.write_text("[`LIMIT`](code.py) [`B`](code.py) [`dumps`](code.py)\n")
    assert link_problems(chapter) == []
    chapter.write_text("[`fast`](code.py)\n")  # an import defines nothing
    assert "code.py defines no `fast`" in link_problems(chapter)[0]


def test_a_module_path_may_stand_before_the_name(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("class Client:\n    pass\n")
    chapter = tmp_path / "chapter.md"
    chapter.write_text(
        "[`pkg.Client`](pkg/__init__.py) [`outer.pkg.Client`](pkg/__init__.py)"
        " [`pkg`](pkg/__init__.py) [`outer.pkg`](pkg/__init__.py)\n"
    )
    assert link_problems(chapter) == []
    chapter.write_text("[`Outer.Client`](pkg/__init__.py) [`Client.pkg`](pkg/__init__.py)\n")
    assert len(link_problems(chapter)) == 2  # a class, not a module path, stands before them


def test_a_link_to_a_line_of_code_is_reported(tmp_path: Path) -> None:
    (tmp_path / "code.py").write_text("def match():\n    pass\n")
    chapter = tmp_path / "chapter.md"
    chapter.write_text("[`match`](code.py#L1)\n")
    [problem] = link_problems(chapter)
    assert "[`match`](code.py#L1) points at a line" in problem
    assert "link the file, (code.py), and name" in problem


if __name__ == "__main__":
    # python tests/test_docs.py --show docs/03-routing.md   (what each block prints)
    if sys.argv[1:2] == ["--show"]:
        for argument in sys.argv[2:]:
            show_output(Path(argument))
    else:
        print(__doc__)

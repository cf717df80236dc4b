"""The documentation site (mkdocs.yml): it builds with --strict, its API reference
covers every public name, and every Mermaid diagram in docs/ parses.

- ``mkdocs build --strict`` turns every warning into a failure: a link to a page,
  a heading or a repository file that does not exist, an API reference
  (``::: minimal_asgi.App``) that names nothing, a page left out of the nav.
- Every name in ``minimal_asgi.__all__`` and in each plugin's ``__all__`` has a
  ``::: ...`` entry under docs/api/, so a new public name without a reference
  entry fails here, and the build shows each entry really rendered.
- Every ```` ```mermaid ```` block parses with mermaid's own parser, run by Node
  (tools/mermaid, installed by ``make deps-node``); without Node, a cheaper
  check still runs: a known diagram type, and blocks that open and close in pairs.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
API = DOCS / "api"
MERMAID_CHECK = ROOT / "tools" / "mermaid" / "check.mjs"
PLUGINS = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())

_DIRECTIVE = re.compile(r"^:::\s+([\w.]+)\s*$", re.MULTILINE)


# -- the build ------------------------------------------------------------------------


# The ``site`` fixture (the whole site, built once per run with --strict) is in
# tests/conftest.py: the browser test opens the same build.


def test_the_site_builds_with_strict_and_has_every_chapter(site: Path) -> None:
    for chapter in sorted(DOCS.glob("[0-9][0-9]-*.md")):
        assert (site / chapter.stem / "index.html").is_file(), chapter.name
    assert (site / "index.html").is_file()  # docs/README.md, the home page
    assert (site / "search" / "search_index.json").is_file()


def test_links_to_repository_files_become_pages_of_the_site(site: Path) -> None:
    """tools/mkdocs/repo_files.py: ../minimal_asgi/routing.py is a page, and a link
    naming `Router.match` lands on the line that defines it."""
    page = site / "repo" / "minimal_asgi" / "routing.py" / "index.html"
    assert page.is_file()
    routing = (ROOT / "minimal_asgi" / "routing.py").read_text("utf-8").splitlines()
    chapter = (site / "03-routing" / "index.html").read_text("utf-8")
    lines = {
        int(n) for n in re.findall(r"repo/minimal_asgi/routing\.py/#__codelineno-0-(\d+)", chapter)
    }
    assert lines, "03-routing links no definition in routing.py"
    for line in lines:  # each anchor is a definition's first line (or its decorator)
        assert re.match(r"\s*(@|def |async def |class |[A-Za-z_]\w*\s*[:=])", routing[line - 1])


def _build_small_site(root: Path) -> subprocess.CompletedProcess[str]:
    """A site of one page in root/docs, with the repository-files hook."""
    (root / "mkdocs.yml").write_text(
        "site_name: small\n"
        f"hooks: [{ROOT / 'tools' / 'mkdocs' / 'repo_files.py'}]\n"
        "validation: {unrecognized_links: warn, anchors: warn}\n"
        "markdown_extensions: [{pymdownx.highlight: {anchor_linenums: true}}, "
        "pymdownx.superfences]\n",
        encoding="utf-8",
    )
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(root / "site")],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_a_link_to_a_repository_file_that_is_gone_fails_the_build(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "code.py").write_text("import os\n\n\ndef handle():\n    pass\n")
    page = tmp_path / "docs" / "index.md"
    page.write_text("# Home\n\nSee [`handle`](../code.py) and [the file](../code.py).\n")
    result = _build_small_site(tmp_path)
    assert result.returncode == 0, result.stderr
    built = (tmp_path / "site" / "index.html").read_text("utf-8")
    assert 'href="repo/code.py/#__codelineno-0-4"' in built  # the line of `def handle`
    assert 'href="repo/code.py/"' in built
    page.write_text("# Home\n\nSee [`handle`](../gone.py).\n")
    result = _build_small_site(tmp_path)
    assert result.returncode == 1
    assert "docs/index.md: the link [`handle`](../gone.py) reaches no file" in result.stderr


def test_the_reference_renders_an_entry_for_every_directive(site: Path) -> None:
    for page in sorted(API.rglob("*.md")):
        built = site / page.relative_to(DOCS).with_suffix("") / "index.html"
        if page.stem == "index":
            built = site / page.relative_to(DOCS).parent / "index.html"
        html = built.read_text("utf-8")
        for identifier in _DIRECTIVE.findall(page.read_text("utf-8")):
            assert f'id="{identifier}"' in html, f"{page.name}: {identifier} was not rendered"


# -- the API reference covers the public names ----------------------------------------


def reference_entries() -> set[str]:
    return {
        identifier
        for page in API.rglob("*.md")
        for identifier in _DIRECTIVE.findall(page.read_text("utf-8"))
    }


def missing_names(package: str, entries: set[str]) -> list[str]:
    """The names of ``package.__all__`` with no ``::: package[.module].name`` entry."""
    public = importlib.import_module(package).__all__
    return [
        name for name in public
        if not any(e == f"{package}.{name}" or (e.startswith(f"{package}.")
                   and e.endswith(f".{name}")) for e in entries)
    ]  # fmt: skip


@pytest.mark.parametrize("package", ["minimal_asgi", *PLUGINS])
def test_every_public_name_has_an_entry_in_the_api_reference(package: str) -> None:
    missing = missing_names(package, reference_entries())
    assert not missing, (
        f"{package}.__all__ names {', '.join(missing)}, which docs/api/ does not document: "
        f"add a line `::: {package}.<name>` to its page"
    )


def test_a_name_without_an_entry_is_reported() -> None:
    entries = {"minimal_asgi.app.App"}
    missing = missing_names("minimal_asgi", entries)
    assert "App" not in missing and "Router" in missing


# -- Mermaid diagrams ---------------------------------------------------------------

# The diagram types the chapters use, and the keywords that open a block inside one
# (closed by `end`).
_DIAGRAMS = ("flowchart", "graph", "sequenceDiagram", "stateDiagram-v2", "stateDiagram",
             "erDiagram", "classDiagram", "gantt", "pie", "timeline", "mindmap")  # fmt: skip
_OPENERS = {
    "flowchart": ("subgraph",),
    "graph": ("subgraph",),
    "sequenceDiagram": ("alt", "opt", "loop", "par", "critical", "break", "rect", "box"),
}


def mermaid_blocks() -> list[tuple[str, int, str]]:
    """Each ```mermaid block in docs/: (file name, line of its fence, its text)."""
    blocks = []
    for path in sorted(DOCS.rglob("*.md")):
        lines = path.read_text("utf-8").splitlines()
        start = None
        for number, line in enumerate(lines, start=1):
            if start is None and line.strip() == "```mermaid":
                start = number
            elif start is not None and line.strip() == "```":
                text = "\n".join(lines[start : number - 1])
                blocks.append((str(path.relative_to(DOCS)), start, text))
                start = None
    return blocks


# What may stand unpaired outside quotes: erDiagram's cardinalities (||--o{, }|..|{)
# and sequenceDiagram's async arrows (-), --)).
_UNPAIRED = re.compile(r"[|}o]{1,2}(?:--|\.\.)[|{o]{1,2}|--?\)")


def structure_problem(text: str) -> str | None:
    """What is wrong with a diagram's shape, without parsing it: a known type on the
    first line, blocks that open and close in pairs, quotes and brackets that close."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("%%")]  # %% is a comment
    if not lines:
        return "the block is empty"
    kind = lines[0].split()[0]
    if kind not in _DIAGRAMS:
        return f"{kind!r} is not a diagram type ({', '.join(_DIAGRAMS)})"
    depth = 0
    for line in lines[1:]:
        word = line.split()[0]
        if word in _OPENERS.get(kind, ()):
            depth += 1
        elif word == "end":
            depth -= 1
            if depth < 0:
                return f"an `end` closes nothing: {line!r}"
        if line.count('"') % 2:
            return f"an unclosed quote: {line!r}"
    if depth:
        return f"{depth} block(s) never closed with `end`"
    # Brackets over the whole text (an erDiagram entity's { } spans lines), outside
    # quoted labels.
    bare = _UNPAIRED.sub(" ", re.sub(r'"[^"\n]*"', '""', text))
    for opening, closing in ("[]", "()", "{}"):
        if bare.count(opening) != bare.count(closing):
            return f"{opening}{closing} do not pair up"
    return None


BLOCKS = mermaid_blocks()


def test_the_chapters_have_their_diagrams() -> None:
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize(
    ("name", "line", "text"), BLOCKS, ids=[f"{name}:{line}" for name, line, _ in BLOCKS]
)
def test_a_mermaid_block_has_a_sound_structure(name: str, line: int, text: str) -> None:
    problem = structure_problem(text)
    assert problem is None, f"{name}:{line}: {problem}"


def test_the_structure_check_catches_what_it_should() -> None:
    assert structure_problem("flowchart LR\n  a --> b\n") is None
    assert "not a diagram type" in (structure_problem("flowchat LR\n a --> b") or "")
    assert "never closed" in (structure_problem("flowchart LR\nsubgraph s\n a --> b\n") or "")
    assert "do not pair" in (structure_problem('flowchart LR\n a["x" --> b\n') or "")
    assert "unclosed quote" in (structure_problem('flowchart LR\n a["x] --> b\n') or "")
    assert structure_problem("erDiagram\n a ||--o{ b : has\n a {\n int id PK\n }\n") is None


def _run_mermaid(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or not (MERMAID_CHECK.parent / "node_modules" / "mermaid").is_dir():
        pytest.skip(
            "mermaid's parser needs Node and `make deps-node` (npm ci in tools/mermaid); "
            "the structure of each block is still checked above"
        )
    return subprocess.run(
        [node, str(MERMAID_CHECK), *map(str, paths)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


def test_every_mermaid_block_parses_with_mermaid(tmp_path: Path) -> None:
    paths = []
    for number, (name, line, text) in enumerate(BLOCKS):
        path = tmp_path / f"{number:02d}-{name.replace('/', '-')}-{line}.mmd"
        path.write_text(text + "\n", encoding="utf-8")
        paths.append(path)
    result = _run_mermaid(paths)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert result.stdout.count("\n") == len(paths)


def test_the_mermaid_parser_reports_a_broken_diagram(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mmd"
    broken.write_text("stateDiagram-v2\n    [*] -->\n    Idle --> Busy\n", encoding="utf-8")
    result = _run_mermaid([broken])
    assert result.returncode == 1
    assert "broken.mmd: error: Parse error" in result.stdout

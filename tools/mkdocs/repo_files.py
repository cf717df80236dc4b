"""MkDocs hook: links from the docs to the repository's files, kept inside the site.

The chapters link to code the way GitHub reads them, by relative path:
``[`Router.match`](../minimal_asgi/routing.py)``. That is the right form for a
reader of the Markdown (on GitHub, or in an editor), but ``../minimal_asgi/``
is outside ``docs/``, so MkDocs has no page there: in a strict build every such
link would fail.

Rather than send the reader to a web address (the project names no public
repository, and the site must work offline), this hook brings each linked file
into the site:

- a source file (``.py``, ``.sql``, ``.yml``, the Dockerfile...) becomes a page
  ``repo/<path>/`` that shows it highlighted with line numbers, and a link whose
  text names a definition (``[`Router.match`](../minimal_asgi/routing.py)``)
  lands on that definition's line;
- a Markdown file (an example's README, a benchmark report) becomes a page
  rendered like a chapter, and its own links are handled the same way;
- a picture (``.png``) is copied as it is;
- a folder becomes a page listing its files.

A link to a file that does not exist is a warning, so ``mkdocs build --strict``
fails on it, like a broken link between chapters. Nothing in ``docs/`` changes:
the Markdown stays the same for GitHub, the site rewrites the links when it is
built. ``docs/README.md`` ("The site") says why this was chosen.
"""

from __future__ import annotations

import ast
import logging
import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.repo_files")

PREFIX = "repo"  # where the repository's files appear in the site: repo/minimal_asgi/app.py/
_LINK = re.compile(r"(!?)\[((?:[^\]\\]|\\.)*)\]\(([^)\s]+)\)")
# A fence opens a code block; backticks after it make the line prose with inline code.
_FENCE = re.compile(r"^ {0,3}(`{3,}(?=[^`]*$)|~{3,})")
_SYMBOL = re.compile(r"`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?:\(\))?`")
_COPIED = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico"}
_LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".sql": "sql",
    ".yml": "yaml",
    ".yaml": "yaml",
    ".toml": "toml",
    ".json": "json",
    ".cjs": "javascript",
    ".mjs": "javascript",
    ".js": "javascript",
    ".sh": "bash",
    ".conf": "nginx",
    ".html": "html",
    ".css": "css",
    ".lua": "lua",
    ".cfg": "ini",
    ".ini": "ini",
    ".txt": "text",
}
_NAMED = {"Dockerfile": "dockerfile", "Makefile": "make", "run": "bash", ".env.example": "bash"}

# Filled by on_config / on_files, read by on_page_markdown.
_state: dict[str, Any] = {}


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    docs = Path(config.docs_dir).resolve()
    _state.clear()
    _state.update(docs=docs, root=docs.parent, origin={})
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Find every repository file the docs link to (and what those link to, for
    Markdown), and add a page or a copy of each."""
    docs, root = _state["docs"], _state["root"]
    origin: dict[str, Path] = _state["origin"]  # a page's src_uri -> the file it was made from
    for file in files.documentation_pages():
        origin[file.src_uri] = docs / file.src_uri
    pending = list(origin.values())  # Markdown files whose links are still to follow
    seen: set[Path] = set()

    def add(target: Path) -> None:
        if target.is_dir() and (target / "README.md").is_file():
            target = target / "README.md"  # a folder with a README is shown by it
        if target in seen:
            return
        seen.add(target)
        new_uri = site_uri(target, root)
        if target.is_dir():
            files.append(_generated(config, new_uri, content=_folder_page(target, root)))
            origin[new_uri] = target / "index.md"  # its links are relative to the folder
            for entry in _listed(target):
                add(entry)
        elif target.suffix.lower() in _COPIED:
            files.append(_generated(config, new_uri, abs_src_path=str(target)))
        elif target.suffix == ".md":
            files.append(_generated(config, new_uri, content=target.read_text("utf-8")))
            origin[new_uri] = target
            pending.append(target)
        else:
            files.append(_generated(config, new_uri, content=_code_page(target, root)))

    while pending:
        for target in _outside_targets(pending.pop(), docs, root):
            add(target)
    return files


def _generated(config: MkDocsConfig, uri: str, **source: str) -> File:
    """A page or copy of the site that is in no folder of docs/. Included even when
    its name starts with a dot (.github/workflows/ci.yml), which MkDocs would
    otherwise leave out, and kept out of the navigation."""
    return File.generated(config, uri, inclusion=InclusionLevel.NOT_IN_NAV, **source)


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Rewrite each link that leaves docs/ to the page or copy made for its target."""
    source = _state["origin"].get(page.file.src_uri)
    if source is None:
        return markdown
    docs, root = _state["docs"], _state["root"]
    here = posixpath.dirname(page.file.src_uri)

    def rewrite(match: re.Match[str]) -> str:
        bang, text, target = match.groups()
        resolved = _resolve(source, target)
        if resolved is None:
            return match.group(0)
        path, fragment = resolved
        if _inside(path, docs):
            if source.is_relative_to(docs):
                return match.group(0)  # between chapters: MkDocs follows it itself
            uri = path.relative_to(docs).as_posix()
        elif not path.exists() or not _inside(path, root):
            log.warning("%s: the link [%s](%s) reaches no file", _shown(source, root), text, target)
            return match.group(0)
        else:
            uri = site_uri(path, root)
            if not fragment and path.suffix == ".py" and (line := _line_of(text, path)):
                fragment = f"__codelineno-0-{line}"
        link = posixpath.relpath(uri, here or ".")
        return f"{bang}[{text}]({link}{'#' + fragment if fragment else ''})"

    return "\n".join(
        line if in_code else _LINK.sub(rewrite, line)
        for line, in_code in _lines_outside_code(markdown)
    )


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Let links reach the line anchors of a source page (``#__codelineno-0-42``).
    MkDocs collects a page's anchors before pymdownx.highlight has numbered the
    lines of its code, so they are added here, from the finished HTML; links to
    them are checked after every page is rendered."""
    if page.file.src_uri.startswith(f"{PREFIX}/") and page.present_anchor_ids is not None:
        page.present_anchor_ids |= set(re.findall(r'id="(__codelineno-[\w-]+)"', html))
    return html


# -- where things are -----------------------------------------------------------------


def site_uri(path: Path, root: Path) -> str:
    """The src_uri of the page (or copy) made for a repository file or folder."""
    if path.is_dir() and (path / "README.md").is_file():
        path = path / "README.md"
    relative = path.relative_to(root).as_posix()
    if path.is_dir():
        return f"{PREFIX}/{relative}/index.md"
    if path.suffix == ".md" or path.suffix.lower() in _COPIED:
        return f"{PREFIX}/{relative}"
    return f"{PREFIX}/{relative}.md"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def _resolve(source: Path, target: str) -> tuple[Path, str] | None:
    """A relative link's file (resolved) and fragment; None for a web address or
    a link to a heading of the same page."""
    if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "/")):
        return None
    file_part, _, fragment = target.partition("#")
    return (source.parent / file_part).resolve(), fragment


def _outside_targets(path: Path, docs: Path, root: Path) -> list[Path]:
    """The repository files and folders outside docs/ that a Markdown file links to."""
    if not path.is_file():
        return []
    found = []
    for line, in_code in _lines_outside_code(path.read_text("utf-8")):
        if in_code:
            continue
        for _, _, target in _LINK.findall(line):
            resolved = _resolve(path, target)
            if resolved is None:
                continue
            target_path = resolved[0]
            if (
                target_path.exists()
                and _inside(target_path, root)
                and not _inside(target_path, docs)
            ):
                found.append(target_path)
    return found


def _lines_outside_code(markdown: str) -> list[tuple[str, bool]]:
    """Each line, and whether it is inside a fenced code block (links there are
    examples, not links)."""
    lines, fence = [], ""
    for line in markdown.split("\n"):
        match = _FENCE.match(line)
        if not fence and match:
            fence = match.group(1)
            lines.append((line, True))
        elif fence:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = ""
            lines.append((line, True))
        else:
            lines.append((line, False))
    return lines


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if _inside(path, root) else str(path)


# -- the pages made -------------------------------------------------------------------


def _code_page(path: Path, root: Path) -> str:
    """A source file as a page: its path as the title, then the file, numbered."""
    relative = path.relative_to(root).as_posix()
    text = path.read_text("utf-8", errors="replace")
    language = _NAMED.get(path.name) or _LANGUAGES.get(path.suffix.lower(), "text")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return (
        f"# `{relative}`\n\n"
        "The repository's file as it was when this site was built.\n\n"
        f'{fence}{language} linenums="1"\n{text.rstrip()}\n{fence}\n'
    )


def _folder_page(path: Path, root: Path) -> str:
    relative = path.relative_to(root).as_posix()
    entries = _listed(path)
    items = "\n".join(f"- [`{p.name}`]({p.name}{'/' if p.is_dir() else ''})" for p in entries)
    # The links are relative to the folder itself, as in a README there.
    return f"# `{relative}/`\n\n{items}\n"


def _listed(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith((".", "__pycache__")))


def _line_of(text: str, path: Path) -> int | None:
    """The line where a link's text (`Router.match`, `minimal_asgi.App`) is defined
    in the file, or None when the text names no definition there."""
    match = _SYMBOL.fullmatch(text)
    if match is None:
        return None
    lines = _definitions(path)
    parts = match.group(1).split(".")
    for start in range(len(parts)):  # a module path may stand before the name
        line = lines.get(".".join(parts[start:]))
        if line is not None:
            return line
    return None


_DEFINITIONS: dict[Path, dict[str, int]] = {}


def _definitions(path: Path) -> dict[str, int]:
    """Each name the file defines (``name``, ``Class.method``) and its first line."""
    if path not in _DEFINITIONS:
        found: dict[str, int] = {}
        try:
            tree = ast.parse(path.read_text("utf-8"))
        except SyntaxError:
            tree = ast.Module(body=[], type_ignores=[])
        _collect(tree.body, "", found)
        _DEFINITIONS[path] = found
    return _DEFINITIONS[path]


def _collect(body: list[ast.stmt], prefix: str, found: dict[str, int]) -> None:
    for node in body:
        line = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.setdefault(prefix + node.name, line)
        elif isinstance(node, ast.ClassDef):
            found.setdefault(prefix + node.name, line)
            _collect(node.body, f"{prefix}{node.name}.", found)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        found.setdefault(prefix + name.id, line)
        elif isinstance(node, ast.If | ast.Try | ast.With | ast.For):
            for part in ("body", "orelse", "finalbody"):
                _collect(getattr(node, part, []), prefix, found)
            for handler in getattr(node, "handlers", []):
                _collect(handler.body, prefix, found)

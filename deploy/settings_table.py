"""Write the settings table of docs/30-containers-and-ci.md and ``.env.example``
from the examples' ``Settings`` classes, so neither can drift from the code.

    .venv/bin/python deploy/settings_table.py          # rewrite both files
    .venv/bin/python deploy/settings_table.py --check  # exit 1 if either is stale

tests/deploy/test_settings_table.py runs the check, so a new setting that is
not in the docs fails the test suite until this script is run.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKOUT = str(ROOT)  # where the examples compute their folders from (ROOT may be moved in tests)
if str(ROOT) not in sys.path:  # run as a script: make `examples` importable
    sys.path.insert(0, str(ROOT))

from minimal_asgi.config import SettingInfo, Settings  # noqa: E402

DOC = ROOT / "docs" / "30-containers-and-ci.md"
ENV_EXAMPLE = ROOT / ".env.example"
START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"

EXAMPLES = ROOT / "examples"

# Variables docker-compose.yml itself reads (for its ${...}), not any app.
COMPOSE_VARIABLES = {
    "POSTGRES_PASSWORD": "the PostgreSQL password; compose refuses to start without it",
}


@dataclass(frozen=True)
class Row:
    info: SettingInfo
    apps: tuple[str, ...]


def _loads(path: Path) -> list[tuple[str, str]]:
    """(class name, prefix) of each ``Name.from_env(prefix=...)`` in a module.

    The prefix must be a string literal or a module-level string constant
    (``PREFIX = "BLOG_"``), so it can be read without running the app.
    """
    tree = ast.parse(path.read_text())
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets if isinstance(target, ast.Name)
    }  # fmt: skip
    found = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "from_env" and isinstance(node.func.value, ast.Name)
        ):  # fmt: skip
            continue
        given = [k.value for k in node.keywords if k.arg == "prefix"] + node.args[:1]
        prefix = ""
        if given:
            value = given[0]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                prefix = value.value
            elif isinstance(value, ast.Name) and value.id in constants:
                prefix = constants[value.id]
            else:
                raise SystemExit(
                    f"{path.relative_to(ROOT)}:{node.lineno}: pass from_env a literal prefix "
                    "or a module-level constant, so the settings table can read it"
                )
        found.append((node.func.value.id, prefix))
    return found


def settings_classes() -> list[tuple[str, type[Settings], str]]:
    """(example name, settings class, prefix) for every class an example loads
    with ``from_env``, found by reading the examples' source."""
    found: list[tuple[str, type[Settings], str]] = []
    for path in sorted(EXAMPLES.glob("*/**/*.py")):
        loads = _loads(path)
        if not loads:
            continue
        module_name = ".".join(path.relative_to(EXAMPLES.parent).with_suffix("").parts)
        module = importlib.import_module(module_name)
        for class_name, prefix in loads:
            cls = getattr(module, class_name, None)
            if not (isinstance(cls, type) and issubclass(cls, Settings)):
                continue
            if all(cls is not seen for _, seen, _ in found):
                found.append((path.relative_to(EXAMPLES).parts[0], cls, prefix))
    return found


def rows() -> list[Row]:
    """One row per variable; a variable several apps read alike is one row naming them all."""
    merged: dict[tuple[object, ...], Row] = {}
    for app, cls, prefix in settings_classes():
        for info in cls.describe(prefix):
            key = (info.variable, info.type, info.default, info.required_in_production)
            row = merged.get(key)
            merged[key] = Row(info, (*row.apps, app) if row else (app,))
    return sorted(merged.values(), key=lambda row: (row.info.variable, row.apps))


def _shown(default: str) -> str:
    """A default computed from where the checkout is (a folder inside it) is shown
    relative to it: the table must not change from one clone to another."""
    return default.replace(f"{CHECKOUT}{os.sep}", f"<checkout>{os.sep}")


def _default_cell(info: SettingInfo) -> str:
    if info.default is None:
        return "— (required)"
    if info.secret:
        return "— (never shown)"
    return f"`{_shown(info.default)}`" if info.default else "unset"


def markdown_table() -> str:
    lines = [
        "| variable | read by | type | default | required in production | what it is |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows():
        info = row.info
        production = "**yes**" if info.required_in_production else "no"
        kind = info.type.replace("|", "\\|")
        lines.append(
            f"| `{info.variable}` | {', '.join(row.apps)} | `{kind}` | {_default_cell(info)} "
            f"| {production} | {info.description} |"
        )
    return "\n".join(lines)


def env_example() -> str:
    out = [
        "# Generated by deploy/settings_table.py from the examples' Settings classes: do not",
        "# edit by hand; change the class and run `.venv/bin/python deploy/settings_table.py`.",
        "#",
        "# Copy to .env. docker compose reads .env for the ${...} in docker-compose.yml; the",
        "# apps themselves read only their environment. A commented line shows the default;",
        "# a line marked (production) must be set for real when ENVIRONMENT=production.",
        "",
        "# -- docker-compose.yml",
    ]
    for variable, description in COMPOSE_VARIABLES.items():
        out += [f"# {description}", f"{variable}="]
    seen: set[str] = set()
    for app, cls, prefix in settings_classes():
        out += ["", f"# -- examples/{app} ({cls.__name__}, prefix {prefix})"]
        for info in cls.describe(prefix):
            need = " (production)" if info.required_in_production else ""
            again = " (also above)" if info.variable in seen else ""
            out.append(f"# {info.description} [{info.type}]{need}{again}")
            value = "" if info.default is None or info.secret else _shown(info.default)
            out.append(f"# {info.variable}={value}")
            seen.add(info.variable)
    return "\n".join(out) + "\n"


def doc_with_table(text: str) -> str:
    before, start, rest = text.partition(START)
    _, end, after = rest.partition(END)
    if not start or not end:
        raise SystemExit(f"{DOC.name}: the markers {START} and {END} are missing")
    return f"{before}{START}\n{markdown_table()}\n{END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    wanted = {DOC: doc_with_table(DOC.read_text()), ENV_EXAMPLE: env_example()}
    stale = [path for path, text in wanted.items()
             if not path.exists() or path.read_text() != text]  # fmt: skip
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run deploy/settings_table.py")
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path])
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

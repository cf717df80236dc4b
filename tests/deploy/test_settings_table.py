"""The settings table in docs/30 and .env.example are generated from the code."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

from tests.deploy.files import ROOT

SCRIPT = ROOT / "deploy" / "settings_table.py"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("settings_table", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_the_docs_table_and_env_example_match_the_settings_classes() -> None:
    generator = _generator()
    assert generator.main(["--check"]) == 0, "run: .venv/bin/python deploy/settings_table.py"


def test_a_new_setting_makes_the_check_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = _generator()
    (tmp_path / "docs").mkdir()
    doc, env_example = tmp_path / "docs" / "30.md", tmp_path / ".env.example"
    doc.write_text(generator.DOC.read_text())
    env_example.write_text(generator.ENV_EXAMPLE.read_text())
    monkeypatch.setattr(generator, "ROOT", tmp_path)
    monkeypatch.setattr(generator, "DOC", doc)
    monkeypatch.setattr(generator, "ENV_EXAMPLE", env_example)
    assert generator.main(["--check"]) == 0
    doc.write_text(doc.read_text().replace("`TODO_WRITE_LIMIT`", "`TODO_WRITE_LIMITS`"))
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0  # rewrites it
    assert generator.main(["--check"]) == 0


def test_every_settings_class_of_the_examples_is_in_the_table() -> None:
    """A Settings subclass an example declares must be one the table found
    (through its ``from_env`` call)."""
    declared = set()
    for path in ROOT.glob("examples/**/*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id.endswith("Settings") for base in node.bases
            ):
                declared.add(node.name)
    found = {cls.__name__ for _, cls, _ in _generator().settings_classes()}
    assert declared == found
    assert {"TodoSettings", "BlogSettings", "ChatSettings"} <= found


def test_a_prefix_the_table_cannot_read_is_an_error_naming_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = _generator()
    module = tmp_path / "app.py"
    module.write_text("settings = AppSettings.from_env(prefix=make_prefix())\n")
    monkeypatch.setattr(generator, "ROOT", tmp_path)
    try:
        generator._loads(module)
    except SystemExit as error:
        assert str(error).startswith("app.py:1: pass from_env a literal prefix")
    else:
        raise AssertionError("no error")


def test_no_example_reads_the_environment_around_its_settings_class() -> None:
    """os.environ / os.getenv in an example would be a setting the table cannot show."""
    offenders = []
    for path in sorted(ROOT.glob("examples/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
                and node.attr in ("environ", "getenv", "putenv")
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "read it through the example's Settings class instead"


def test_each_variable_of_each_app_is_a_row_of_the_table() -> None:
    generator = _generator()
    table = generator.markdown_table()
    for _, cls, prefix in generator.settings_classes():
        for info in cls.describe(prefix):
            assert f"| `{info.variable}` |" in table


def test_a_default_path_inside_the_checkout_is_shown_relative_to_it() -> None:
    """The table is the same wherever the repository is cloned (CI, a laptop)."""
    from minimal_asgi.config import Settings

    generator = _generator()

    class Located(Settings):
        root: str = str(generator.ROOT / "examples" / "x" / "storage")
        elsewhere: str = "/srv/storage"

    shown = {info.field: info.default for info in generator.described(Located, "APP_")}
    assert shown == {"root": "examples/x/storage", "elsewhere": "/srv/storage"}

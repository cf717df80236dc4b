"""The distributions in this repository: the core, and one per plugin.

The core (pyproject.toml at the root) ships minimal_asgi and depends on anyio
only; each plugins/minimal_asgi_<name>/ is a distribution of its own,
minimal-asgi-<name>, that depends on minimal-asgi and registers itself under
the minimal_asgi.plugins entry-point group. The Makefile installs them all.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path
from typing import Any

import pytest

from minimal_asgi.plugins import ENTRY_POINT_GROUP

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = sorted(path.parent for path in ROOT.glob("plugins/*/pyproject.toml"))


def _project(folder: Path) -> dict[str, Any]:
    with (folder / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]  # type: ignore[no-any-return]


def test_every_plugin_folder_is_a_distribution() -> None:
    folders = sorted(path for path in (ROOT / "plugins").iterdir() if path.is_dir())
    assert [folder.name for folder in PLUGINS] == [folder.name for folder in folders]
    assert {"minimal_asgi_cors", "minimal_asgi_redis", "minimal_asgi_sql"} <= {
        folder.name for folder in PLUGINS
    }


def test_the_core_depends_on_anyio_only_and_registers_no_plugin() -> None:
    core = _project(ROOT)
    assert core["dependencies"] == ["anyio>=4.4"]
    assert core["optional-dependencies"]["server"] == ["h11>=0.14", "wsproto>=1.2"]
    assert "entry-points" not in core


def test_multipart_parsing_is_the_optional_forms_extra_and_in_dev() -> None:
    core = _project(ROOT)
    assert core["optional-dependencies"]["forms"] == ["python-multipart>=0.0.34"]
    assert any("forms" in dep for dep in core["optional-dependencies"]["dev"])


@pytest.mark.parametrize("folder", PLUGINS, ids=lambda folder: folder.name)
def test_a_plugin_is_named_for_its_package_and_depends_on_the_core(folder: Path) -> None:
    project = _project(folder)
    name = folder.name.removeprefix("minimal_asgi_")
    assert project["name"] == f"minimal-asgi-{name}"
    assert (folder / folder.name / "__init__.py").is_file()
    assert (folder / folder.name / "py.typed").is_file()
    assert any(dep.startswith("minimal-asgi>") for dep in project["dependencies"])
    registered = project["entry-points"][ENTRY_POINT_GROUP]
    assert list(registered) == [name]
    assert registered[name].startswith(f"{folder.name}:")


@pytest.mark.parametrize("folder", [ROOT, *PLUGINS], ids=lambda f: "core" if f == ROOT else f.name)
def test_every_distribution_is_mit_with_the_repository_license(folder: Path) -> None:
    project = _project(folder)
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert (folder / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()


@pytest.mark.parametrize("folder", PLUGINS, ids=lambda folder: folder.name)
def test_an_installed_plugin_requires_the_core(folder: Path) -> None:
    requires = importlib.metadata.requires(_project(folder)["name"]) or []
    assert any(requirement.startswith("minimal-asgi>") for requirement in requires)


def test_swagger_ui_is_the_optional_swagger_ui_extra_and_in_dev() -> None:
    core = _project(ROOT)
    assert core["optional-dependencies"]["swagger-ui"] == ["swagger-ui-py>=25.7"]
    assert any("swagger-ui" in dep for dep in core["optional-dependencies"]["dev"])


def test_the_docs_pages_files_are_package_data() -> None:
    """Every file under minimal_asgi/docs_assets/ matches a package-data pattern,
    so a wheel carries what the /docs page loads (a new kind of file would not)."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        patterns = tomllib.load(file)["tool"]["setuptools"]["package-data"]["minimal_asgi"]
    files = sorted((ROOT / "minimal_asgi" / "docs_assets").iterdir())
    assert files
    for path in files:
        relative = path.relative_to(ROOT / "minimal_asgi")
        assert any(relative.match(pattern) for pattern in patterns), relative

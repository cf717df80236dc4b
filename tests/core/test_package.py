"""The package itself: its public names, imported only when first asked for."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import minimal_asgi


def _modules_loaded_by(statement: str) -> set[str]:
    """The minimal_asgi modules a fresh interpreter has loaded after ``statement``."""
    script = (
        f"{statement}\n"
        "import sys\n"
        "print('\\n'.join(m for m in sys.modules if m.split('.')[0] == 'minimal_asgi'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(result.stdout.split())


def test_importing_the_server_loads_no_framework_module_beyond_the_asgi_types() -> None:
    loaded = _modules_loaded_by("import minimal_asgi.server")
    framework = {
        name
        for name in loaded
        if name not in ("minimal_asgi", "minimal_asgi.types")
        and name != "minimal_asgi.server"
        and not name.startswith("minimal_asgi.server.")
    }
    assert "minimal_asgi.server.main" in loaded  # the check sees what was imported
    assert framework == set()


def test_importing_the_package_loads_none_of_its_modules() -> None:
    assert _modules_loaded_by("import minimal_asgi") == {"minimal_asgi"}


def test_importing_app_loads_the_framework() -> None:
    loaded = _modules_loaded_by("from minimal_asgi import App")
    assert {"minimal_asgi.app", "minimal_asgi.routing"} <= loaded


@pytest.mark.parametrize("name", minimal_asgi.__all__)
def test_every_public_name_resolves_to_the_object_its_module_defines(name: str) -> None:
    module = importlib.import_module(minimal_asgi._EXPORTS[name])
    assert getattr(minimal_asgi, name) is getattr(module, name)


def test_the_name_table_and_all_list_the_same_names() -> None:
    assert sorted(minimal_asgi._EXPORTS) == sorted(minimal_asgi.__all__)


def test_a_star_import_brings_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from minimal_asgi import *", namespace)
    assert set(minimal_asgi.__all__) <= set(namespace)


def test_dir_lists_every_public_name() -> None:
    names = dir(minimal_asgi)
    assert set(minimal_asgi.__all__) <= set(names)
    assert "__version__" in names


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'minimal_asgi' has no attribute 'Aap'"):
        minimal_asgi.Aap  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(ImportError, match="cannot import name 'Aap'"):
        from minimal_asgi import Aap  # type: ignore[attr-defined]  # noqa: F401


def test_the_plugin_protocol_is_public() -> None:
    from minimal_asgi.plugins import Plugin

    assert minimal_asgi.Plugin is Plugin

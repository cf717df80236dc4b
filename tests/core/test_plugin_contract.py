"""The typed plugin contract: Plugin, RouteInfo, route.uses(), and plugins that
use the core's public API only."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

import pytest

import minimal_asgi
from minimal_asgi import App, ASGIApp, Depends, Plugin, RouteInfo
from minimal_asgi.testing import TestClient

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_SOURCES = sorted((ROOT / "plugins").rglob("*.py"))


class Recorder:
    """A plugin whose route wrapper keeps every RouteInfo it is shown."""

    def __init__(self) -> None:
        self.routes: dict[str, RouteInfo] = {}

    def setup(self, app: App) -> None:
        app.add_route_wrapper(self.wrap)

    def wrap(self, route: RouteInfo, handler: ASGIApp) -> ASGIApp:
        self.routes[route.path] = route
        return handler


async def get_db() -> str:
    return "db"


async def get_repo(db: str = Depends(get_db)) -> str:
    return f"repo on {db}"


async def must_be_admin() -> None:
    return None


class Clock:
    pass


async def make_clock() -> Clock:
    return Clock()


def recorded_app() -> tuple[App, Recorder]:
    recorder = Recorder()
    app = App(plugins=[recorder], openapi_url=None, docs_url=None)
    app.provide(Clock, make_clock)

    @app.get("/direct", cache=30)
    async def direct(db: str = Depends(get_db)) -> str:
        return db

    @app.get("/nested")
    async def nested(repo: str = Depends(get_repo)) -> str:
        return repo

    @app.post("/guarded", dependencies=[Depends(must_be_admin)])
    async def guarded() -> None:
        return None

    @app.get("/clock")
    async def clock(now: Clock) -> str:
        return type(now).__name__

    return app, recorder


def test_a_plugin_is_anything_with_setup() -> None:
    assert isinstance(Recorder(), Plugin)
    assert not isinstance(object(), Plugin)


def test_route_wrappers_see_path_methods_name_and_options() -> None:
    app, recorder = recorded_app()
    app.build()
    route = recorder.routes["/direct"]
    assert (route.path, route.methods, route.name) == ("/direct", frozenset({"GET"}), "direct")
    assert route.options == {"cache": 30}


def test_the_route_a_wrapper_sees_is_read_only() -> None:
    app, recorder = recorded_app()
    app.build()
    route = recorder.routes["/direct"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        route.path = "/elsewhere"  # type: ignore[misc]
    with pytest.raises(TypeError):
        route.options["cache"] = 0  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "dependency", "expected"),
    [
        ("/direct", get_db, True),
        ("/nested", get_db, True),  # through a dependency of a dependency
        ("/nested", get_repo, True),
        ("/direct", get_repo, False),
        ("/guarded", must_be_admin, True),  # dependencies=[...] count too
        ("/guarded", get_db, False),
        ("/clock", Clock, True),  # a type given to app.provide
        ("/clock", make_clock, True),
        ("/direct", Clock, False),
    ],
)
def test_route_uses_finds_a_dependency_anywhere_in_the_plan(
    path: str, dependency: Any, expected: bool
) -> None:
    app, recorder = recorded_app()
    app.build()
    assert recorder.routes[path].uses(dependency) is expected
    (route,) = [r for r in app.routes if r.path == path]
    assert route.uses(dependency) is expected  # the route itself answers the same


def test_a_wrapped_route_says_so_in_explain() -> None:
    class WrapsGuarded(Recorder):
        def wrap(self, route: RouteInfo, handler: ASGIApp) -> ASGIApp:
            if not route.uses(must_be_admin):
                return handler

            async def layer(scope: Any, receive: Any, send: Any) -> None:
                await handler(scope, receive, send)

            return layer

    app = App(plugins=[WrapsGuarded()], openapi_url=None, docs_url=None)

    @app.post("/guarded", dependencies=[Depends(must_be_admin)])
    async def guarded() -> None:
        return None

    @app.get("/open")
    async def open_() -> str:
        return "open"

    with TestClient(app) as client:
        assert client.post("/guarded").status_code == 204
    explained = {r.path: r.explain() for r in app.routes}
    assert "wrapped by a plugin's route wrapper" in explained["/guarded"]
    assert "route wrapper" not in explained["/open"]


# -- plugins use the public API only ---------------------------------------------------
def _core_imports(path: Path) -> list[tuple[int, str, str]]:
    """(line, module, name) for every import of the core in a plugin module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] == "minimal_asgi":
                found += [(node.lineno, node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, alias.name, "")
                for alias in node.names
                if alias.name.split(".")[0] == "minimal_asgi"
            ]
    return found


def test_the_plugin_sources_are_found() -> None:
    assert any(p.name == "plugin.py" and "minimal_asgi_sql" in p.parts for p in PLUGIN_SOURCES)


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_only_names_the_core_exports(path: Path) -> None:
    public = set(minimal_asgi.__all__)
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: {module}{'.' + name if name else ''}"
        for line, module, name in _core_imports(path)
        if module != "minimal_asgi" or name not in public
    ]
    assert not wrong, (
        "plugins use only what `minimal_asgi` exports (its __all__); if a plugin needs "
        "more, the core grows a small public hook:\n" + "\n".join(wrong)
    )


PUBLIC_ROUTE_NAMES = {"path", "methods", "name", "options", "uses"}


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_touch_no_private_attribute_of_the_app_or_a_route(path: Path) -> None:
    wrong = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner, attribute = node.value.id, node.attr
            if owner == "app" and attribute.startswith("_"):
                wrong.append(f"{node.lineno}: app.{attribute}")
            if owner == "route" and attribute not in PUBLIC_ROUTE_NAMES:
                wrong.append(f"{node.lineno}: route.{attribute} (not in RouteInfo)")
    assert not wrong, f"{path.relative_to(ROOT)}: " + ", ".join(wrong)


def test_the_contract_check_catches_a_private_import(tmp_path: Path) -> None:
    offender = tmp_path / "bad.py"
    offender.write_text(
        "from minimal_asgi.dependencies import Dependant\nfrom minimal_asgi import App\n"
    )
    found = _core_imports(offender)
    public = set(minimal_asgi.__all__)
    assert [f for f in found if f[1] != "minimal_asgi" or f[2] not in public] == [
        (1, "minimal_asgi.dependencies", "Dependant")
    ]

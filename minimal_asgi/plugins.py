"""Plugins: the contract, and how to find one by name.

A plugin is any object with a ``setup(app)`` method. ``setup`` runs when the
plugin is installed (``App(plugins=[...])`` or ``app.install(plugin)``), in the
order given, and uses only the app's public methods:

- ``app.add_middleware``  - wrap every request (CORS answers preflights here);
- ``app.add_lifespan``    - open a pool at startup, close it at shutdown;
- ``app.add_route_wrapper`` - wrap just the routes that ask for it through a
  route option (``@app.get("/x", cache=30)``);
- ``app.provide``         - make a type injectable (a Redis client, a Database);
- ``app.before_request`` / ``app.exception_handler`` / ``app.add_route``.

Third-party packages make a plugin discoverable by name through the
``minimal_asgi.plugins`` entry-point group (the mechanism pytest uses for its
plugins)::

    [project.entry-points."minimal_asgi.plugins"]
    cors = "minimal_asgi_cors:CORS"

after which ``App(plugins=["cors"])`` or ``load_plugin("cors", allow_origins=[...])``
finds it. The plugins in this repository are distributions of their own, named
``minimal-asgi-<name>`` (``plugins/minimal_asgi_<name>/pyproject.toml``); a name
that is not installed, or whose import fails for want of its own dependency,
is a ``ConfigurationError`` that names the ``pip install`` to run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from minimal_asgi.exceptions import ConfigurationError
from minimal_asgi.types import ASGIApp

if TYPE_CHECKING:
    from minimal_asgi.app import App

__all__ = [
    "ENTRY_POINT_GROUP",
    "OpenAPIHook",
    "Plugin",
    "RouteInfo",
    "RouteWrapper",
    "available_plugins",
    "load_plugin",
]

ENTRY_POINT_GROUP = "minimal_asgi.plugins"


@runtime_checkable
class Plugin(Protocol):
    """Anything with ``setup(app)``: the whole contract of a plugin."""

    def setup(self, app: App) -> None: ...


class RouteInfo(Protocol):
    """What a route wrapper may know about a route: a read-only view.

    ``options`` holds the route's extra keyword arguments
    (``@app.get("/x", cache=30)`` -> ``{"cache": 30}``). ``uses(dependency)``
    says whether the route's dependency plan - its parameters, their own
    dependencies, the guards - calls ``dependency`` (a function, or a type made
    injectable with ``app.provide``), so a plugin can wrap exactly the routes
    that use its dependency.
    """

    @property
    def path(self) -> str: ...

    @property
    def methods(self) -> frozenset[str]: ...

    @property
    def name(self) -> str | None: ...

    @property
    def options(self) -> Mapping[str, Any]: ...

    def uses(self, dependency: Any) -> bool: ...


# (the route, the ASGI app that runs it) -> that app, or an ASGI app around it;
# see App.add_route_wrapper.
RouteWrapper = Callable[[RouteInfo, ASGIApp], ASGIApp]

# (the route, its method in lower case, its OpenAPI Operation Object) -> None:
# changes the operation in place; see App.add_openapi_hook.
OpenAPIHook = Callable[[RouteInfo, str, dict[str, Any]], None]


def available_plugins() -> dict[str, EntryPoint]:
    """Every installed plugin registered under the entry-point group, by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_plugin(name: str, /, **options: Any) -> Plugin:
    """Find the plugin called ``name`` and build it with ``options``.

    The entry point may name a class or factory (called with ``options``) or a
    ready plugin object (then ``options`` must be empty).
    """
    found = available_plugins()
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise ConfigurationError(
            f"no plugin named {name!r} is installed (installed: {known}). Install it: "
            f"{_pip_install(f'minimal-asgi-{name}')}; a plugin is found by the "
            f"{ENTRY_POINT_GROUP!r} entry point its distribution registers"
        )
    entry_point = found[name]
    try:
        target = entry_point.load()
    except ImportError as exc:
        # Installed, but something it imports is not (its client library, most
        # often): say which distribution to reinstall, with its dependencies.
        distribution = entry_point.dist.name if entry_point.dist else f"minimal-asgi-{name}"
        raise ConfigurationError(
            f"plugin {name!r} ({entry_point.value}, from {distribution}) cannot be imported: "
            f"{exc}. Reinstall it with its dependencies: {_pip_install(distribution)}"
        ) from exc
    if isinstance(target, Plugin) and not isinstance(target, type):
        if options:
            raise ConfigurationError(f"plugin {name!r} is an object; it takes no options")
        return target
    plugin = target(**options)
    if not isinstance(plugin, Plugin):
        raise ConfigurationError(f"{name!r} did not produce a plugin (no setup(app) method)")
    return plugin


def _pip_install(distribution: str) -> str:
    """The command that installs ``distribution``, from an index and, for this
    repository's own plugins, from a checkout (where each is a folder under
    ``plugins/``)."""
    command = f"pip install {distribution}"
    if distribution.startswith("minimal-asgi-"):
        folder = distribution.replace("-", "_")
        command += f" (from a checkout of minimal_asgi: pip install -e plugins/{folder})"
    return command

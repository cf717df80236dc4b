"""Routing: from a path and a method to the one endpoint that handles them.

Routes are registered as patterns (``/items/{item_id:int}``) and compiled once,
when the app starts, into

1. a dict of fully static paths (``/health``) - one look-up, and
2. a segment tree for the rest: each node has static children (a dict), typed
   parameter children, and optionally a ``{name:path}`` catch-all.

Matching walks the tree one segment at a time, so its cost grows with the
*depth* of the path, not with the number of routes (a linear scan over regexes,
as Starlette does, grows with both; docs/03-routing.md measures the two).
Static segments are tried before parameters, and narrow parameter types before
wide ones; if a branch leads nowhere, the walk backtracks to the next candidate.

WebSocket routes (``@app.websocket("/ws/{room}")``) live in the same tree,
under the pseudo-method ``WEBSOCKET``: a ``websocket`` scope looks only for
that method, and an HTTP request never finds it (``_allowed`` leaves it out of
405s). Only ``Router._dispatch`` handles them, so the HTTP fast paths in
``Router.__call__`` do no extra work for them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import quote

from minimal_asgi.convertors import CONVERTORS, Convertor
from minimal_asgi.dependencies import (
    CallPlan,
    build_call_plan,
    describe_callable,
)
from minimal_asgi.errors import ErrorHandlers
from minimal_asgi.exceptions import ConfigurationError, HTTPException
from minimal_asgi.handlers import (
    HandlerChoice,
    RouteSettings,
    choose_handler,
    guard_callable,
    wrapped_for_plugins,
)
from minimal_asgi.responses import (
    RedirectResponse,
    Response,
    without_body,
)
from minimal_asgi.types import Receive, Scope, Send
from minimal_asgi.uploads import FormLimits
from minimal_asgi.websockets import shorten_reason

__all__ = [
    "WEBSOCKET", "Mount", "NoMatchFound", "Route", "RouteView", "Router", "WebSocketRoute",
]

Endpoint = Callable[..., Any]
F = TypeVar("F", bound=Endpoint)

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")
# The method a WebSocket route is stored under, beside GET, POST, ... of the
# same path. Only a websocket scope looks it up.
WEBSOCKET = "WEBSOCKET"


class NoMatchFound(LookupError):
    """``url_path_for`` found no route with that name and those parameters."""


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    convertor: Convertor


Segment = str | _Param


def compile_path(path: str) -> list[Segment]:
    """``/items/{id:int}`` -> ``["items", _Param("id", int)]``. Raises on bad patterns."""
    if not path.startswith("/"):
        raise ConfigurationError(f"route path {path!r} must start with '/'")
    segments: list[Segment] = []
    seen: set[str] = set()
    parts = path[1:].split("/")
    for position, part in enumerate(parts):
        if part.startswith("{") and part.endswith("}"):
            name, _, kind = part[1:-1].partition(":")
            kind = kind or "str"
            if not name.isidentifier():
                raise ConfigurationError(f"{path!r}: {name!r} is not a valid parameter name")
            if name in seen:
                raise ConfigurationError(f"{path!r}: parameter {name!r} appears twice")
            if kind not in CONVERTORS:
                raise ConfigurationError(
                    f"{path!r}: unknown converter {kind!r}; use one of {sorted(CONVERTORS)}"
                )
            if kind == "path" and position != len(parts) - 1:
                raise ConfigurationError(f"{path!r}: a {{name:path}} parameter must come last")
            seen.add(name)
            segments.append(_Param(name, CONVERTORS[kind]))
        elif "{" in part or "}" in part:
            raise ConfigurationError(
                f"{path!r}: a parameter must fill a whole segment, like /items/{{id}}"
            )
        else:
            segments.append(part)
    return segments


@dataclass(frozen=True, slots=True)
class RouteView:
    """The read-only view of a route that plugins' route wrappers receive
    (the ``RouteInfo`` protocol of plugins.py)."""

    path: str
    methods: frozenset[str]
    name: str | None
    options: Mapping[str, Any]
    uses: Callable[[Any], bool]


class Route:
    """One endpoint at one path, for a set of methods.

    A route is an ASGI app too: ``handle`` runs the endpoint for a request the
    router has already matched, with the converted path values.
    """

    _known_methods: frozenset[str] = frozenset(HTTP_METHODS)

    def __init__(
        self,
        path: str,
        endpoint: Endpoint,
        *,
        methods: Sequence[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
        dependencies: Sequence[Any] = (),
        status_code: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.dependencies = list(dependencies)
        self.status_code = status_code
        self.endpoint = endpoint
        self.methods = frozenset(m.upper() for m in (methods or ["GET"]))
        unknown = self.methods - self._known_methods
        if unknown:
            hint = f"; use @app.websocket({path!r}) for a WebSocket" if WEBSOCKET in unknown else ""
            raise ConfigurationError(
                f"route {path}: unknown HTTP method(s) {sorted(unknown)}{hint}"
            )
        self.name = name if name is not None else getattr(endpoint, "__name__", None)
        self.include_in_schema = include_in_schema
        self.options = dict(options or {})
        self._set_path(path)
        self._unprepare()

    def _set_path(self, path: str) -> None:
        self.path = path
        self.segments = compile_path(path)
        self.param_names = [s.name for s in self.segments if isinstance(s, _Param)]

    def _unprepare(self) -> None:
        """What ``prepare`` fills in, at startup."""
        self.plan: CallPlan | None = None
        self.choice: HandlerChoice | None = None
        self.wrapped = False  # did a plugin's route wrapper wrap this route?
        self._dependencies_used: tuple[Any, ...] = ()
        self.handle: Callable[[Scope, Receive, Send, Sequence[Any]], Any] = self._not_prepared

    def under(
        self, prefix: str, dependencies: Sequence[Any], options: Mapping[str, Any] | None = None
    ) -> Route:
        """This route as an included router's: at ``prefix`` + its path, with
        the routers' ``dependencies`` before its own and their ``options`` under
        its own (the route's own value wins); prepared anew at startup.
        A copy, so every attribute - one added later too - comes along."""
        clone = copy.copy(self)
        clone._set_path(prefix + self.path if self.path != "/" or not prefix else prefix)
        clone.dependencies = [*dependencies, *self.dependencies]
        if options:
            clone.options = {**options, **self.options}
        clone._unprepare()
        return clone

    @property
    def pattern_key(self) -> str:
        """The path with parameter names erased: two routes with the same key and
        a shared method can never both be reached."""
        return "/" + "/".join(
            f"{{:{s.convertor.name}}}" if isinstance(s, _Param) else s for s in self.segments
        )

    def describe(self) -> str:
        return describe_callable(self.endpoint)

    async def _not_prepared(self, scope: Scope, receive: Receive, send: Send, values: Any) -> None:
        raise RuntimeError("route used before its router was built; call router.build()")

    def prepare(self, settings: RouteSettings) -> None:
        """Build the call plan, pick the handler (handlers.choose_handler) and
        let plugins wrap it. Once, at startup."""
        limits = self.options.get("form_limits")
        if limits is not None and not isinstance(limits, FormLimits):
            # Caught here, not as a 500 on the first upload.
            raise ConfigurationError(
                f"route {self.path}: form_limits= takes FormLimits(...) (from minimal_asgi), "
                f"not {type(limits).__name__}"
            )
        path_params = {
            s.name: s.convertor.name for s in self.segments if isinstance(s, _Param)
        }
        guards = [guard_callable(d) for d in (*settings.dependencies, *self.dependencies)]
        websocket = isinstance(self, WebSocketRoute)
        self.plan = plan = build_call_plan(
            self.endpoint, path_params, builder=settings.builder, guards=guards,
            websocket=websocket,
        )
        calls = [dependant.call for dependant in plan.dependant.walk()]
        provided = [t for t, factory in settings.builder.providers.items() if factory in calls]
        self._dependencies_used = (*calls, *provided)
        self.choice = choose_handler(
            plan, settings, status=self.status_code, websocket=websocket
        )
        self.handle = self.choice.handle
        # WebSocket routes have no HTTP response for a wrapper to see.
        if settings.wrappers and not websocket:
            self.handle = wrapped_for_plugins(self.view(), self.handle, settings.wrappers)
            self.wrapped = self.handle is not self.choice.handle

    def uses(self, dependency: Any) -> bool:
        """Does this route's plan call ``dependency`` (a function, or a type
        given to ``app.provide``)? Known once the app has started."""
        return any(used is dependency for used in self._dependencies_used)

    def view(self) -> RouteView:
        """The read-only view of this route that route wrappers receive."""
        return RouteView(
            self.path, self.methods, self.name, MappingProxyType(self.options), self.uses
        )

    def explain(self) -> str:
        """How this route runs, for a person to read: the handler chosen and
        why, how the endpoint is called, and where each argument comes from."""
        if self.plan is None or self.choice is None:
            return f"{self!r}: not prepared yet - routes are prepared when the app starts"
        methods = ", ".join(sorted(self.methods))
        calling = self.plan.shape.value
        if self.choice.kind.value == "dependencies":  # no Context: a written coroutine
            calling = "endpoint(**arguments resolved by a coroutine written at startup)"
        lines = [
            f"{methods} {self.path}",
            f"  handler: {self.choice.kind.value}, calling {calling}",
            f"  why: {self.choice.reason}",
        ]
        if self.wrapped:
            lines.append("  wrapped by a plugin's route wrapper")
        lines.append("  plan:")
        lines.extend("    " + line for line in self.plan.dependant.explain().splitlines())
        return "\n".join(lines)

    def url_path(self, **params: Any) -> str:
        if set(params) != set(self.param_names):
            raise NoMatchFound(
                f"route {self.name!r} ({self.path}) takes parameters {self.param_names}, "
                f"got {sorted(params)}"
            )
        parts = []
        for segment in self.segments:
            if isinstance(segment, _Param):
                try:
                    parts.append(segment.convertor.to_string(params[segment.name]))
                except (ValueError, TypeError) as exc:
                    raise NoMatchFound(
                        f"route {self.name!r}: bad value for {segment.name!r}: {exc}"
                    ) from None
            else:
                parts.append(segment)
        return "/" + "/".join(parts)

    def __repr__(self) -> str:
        return f"Route({self.path!r}, {self.name!r}, methods={sorted(self.methods)})"


class WebSocketRoute(Route):
    """A WebSocket endpoint at a path: ``@app.websocket("/ws/{room}")``.

    Its parameters follow the same rules as an HTTP endpoint's (path values,
    ``Depends``, query, header and cookie markers, ``app.provide`` types), with
    ``WebSocket`` in place of ``Request`` and no body. Before/after-request
    hooks, route wrappers and exception handlers are for HTTP and do not run
    here; ``dependencies=[...]`` guards do, before the endpoint.
    """

    _known_methods = frozenset({WEBSOCKET})

    def __init__(
        self,
        path: str,
        endpoint: Endpoint,
        *,
        name: str | None = None,
        dependencies: Sequence[Any] = (),
        options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            path,
            endpoint,
            methods=[WEBSOCKET],
            name=name,
            include_in_schema=False,  # OpenAPI describes HTTP operations only
            dependencies=dependencies,
            options=options,
        )

    def __repr__(self) -> str:
        return f"WebSocketRoute({self.path!r}, {self.name!r})"


class Mount:
    """An ASGI app that answers every path under ``prefix`` (``Router.mount``).

    ``/static`` takes ``/static`` and ``/static/...``, never ``/staticfiles``:
    the prefix is matched as whole segments. The app is called with the same
    scope, its ``root_path`` extended by the prefix and its ``path`` left whole
    (the ASGI spec: ``path`` includes ``root_path``), so the app finds its own
    part of the path by removing ``root_path`` - as a ``Router`` or
    ``StaticFiles`` does - and builds links with ``root_path`` in front.
    """

    def __init__(self, prefix: str, app: Any, *, name: str | None = None) -> None:
        if not prefix.startswith("/") or prefix.endswith("/") or "{" in prefix:
            raise ConfigurationError(
                f"mount prefix {prefix!r} must start with '/', not end with one and "
                "hold no parameters, like '/static'"
            )
        self.prefix = prefix
        self.app = app
        self.name = name

    def matches(self, path: str) -> bool:
        return path.startswith(self.prefix) and (
            len(path) == len(self.prefix) or path[len(self.prefix)] == "/"
        )

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        # In place, not a copy: the error layer reads this scope to know
        # whether the app had already started its response.
        scope["root_path"] = scope.get("root_path", "") + self.prefix
        await self.app(scope, receive, send)

    def url_path(self, **params: Any) -> str:
        """``path=`` the file (or sub-path) below the mount point."""
        if set(params) - {"path"}:
            raise NoMatchFound(
                f"mount {self.name!r} ({self.prefix}) takes only path=..., got {sorted(params)}"
            )
        rest = str(params.get("path", "")).lstrip("/")
        return self.prefix + "/" + quote(rest)

    def __repr__(self) -> str:
        return f"Mount({self.prefix!r}, {self.app!r}, name={self.name!r})"


class _Node:
    """One segment position in the route tree."""

    __slots__ = ("catch_all", "handlers", "params", "static")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.params: list[tuple[Convertor, _Node]] = []
        self.catch_all: _Node | None = None
        self.handlers: dict[str, Route] = {}

    def child(self, segment: Segment) -> _Node:
        if isinstance(segment, str):
            return self.static.setdefault(segment, _Node())
        if segment.convertor.name == "path":
            if self.catch_all is None:
                self.catch_all = _Node()
            return self.catch_all
        for convertor, node in self.params:
            if convertor is segment.convertor:
                return node
        node = _Node()
        self.params.append((segment.convertor, node))
        self.params.sort(key=lambda item: item[0].priority)
        return node


def _allowed(handlers: dict[str, Route]) -> set[str]:
    """The HTTP methods a path answers; empty for a WebSocket-only path (a 404)."""
    methods = set(handlers)
    methods.discard(WEBSOCKET)
    if not methods:
        return methods
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return methods


class Router:
    """A collection of routes; also an ASGI app that dispatches to them.

    Routers nest: ``include_router(v1, prefix="/v1")`` adds every route of
    ``v1`` (including routes added to it later, until the app starts) under
    ``/v1``. The tree is built once, by ``build()``, when the app starts.

    ``options`` are route options every route of this router (and of the
    routers it includes) gets, unless the route sets its own value:
    ``Router(options={"rate_limit": "100/minute"})`` for plugins to read.
    """

    def __init__(
        self,
        routes: Sequence[Route] | None = None,
        *,
        redirect_slashes: bool = True,
        dependencies: Sequence[Any] = (),
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.routes: list[Route] = list(routes or [])
        self.redirect_slashes = redirect_slashes
        self.dependencies = list(dependencies)
        self.options = dict(options or {})
        self._included: list[tuple[str, Router]] = []
        self.mounts: list[Mount] = []
        self._mounts_built: list[Mount] = []
        self._static: dict[str, dict[str, Route]] = {}
        self._root = _Node()
        self._by_name: dict[str, list[Route]] = {}
        self._routes_built: list[Route] = []
        self._built = False
        # How exceptions become responses; the App replaces it with one that
        # knows its exception handlers and debug flag.
        self.errors = ErrorHandlers()
        # Set when the app starts, on this router and every router it includes:
        # a route added to any of them later would never be seen.
        self._frozen = False

    # -- registering ---------------------------------------------------------
    def add_route(
        self,
        path: str,
        endpoint: Endpoint,
        methods: Sequence[str] | None = None,
        *,
        name: str | None = None,
        include_in_schema: bool = True,
        dependencies: Sequence[Any] = (),
        status_code: int | None = None,
        **options: Any,
    ) -> Route:
        """Register ``endpoint`` at ``path``. ``dependencies`` run before it (guards);
        ``status_code`` is the status of a non-Response return value; other
        keyword ``options`` are kept on ``route.options`` for plugins to read."""
        self._check_open()
        route = Route(
            path,
            endpoint,
            methods=methods,
            name=name,
            include_in_schema=include_in_schema,
            dependencies=dependencies,
            status_code=status_code,
            options=options,
        )
        self.routes.append(route)
        return route

    def route(
        self, path: str, methods: Sequence[str] | None = None, **kwargs: Any
    ) -> Callable[[F], F]:
        def register(endpoint: F) -> F:
            self.add_route(path, endpoint, methods, **kwargs)
            return endpoint

        return register

    def get(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        return self.route(path, ["GET"], **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        return self.route(path, ["POST"], **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        return self.route(path, ["PUT"], **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        return self.route(path, ["PATCH"], **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        return self.route(path, ["DELETE"], **kwargs)

    def add_websocket_route(
        self,
        path: str,
        endpoint: Endpoint,
        *,
        name: str | None = None,
        dependencies: Sequence[Any] = (),
        **options: Any,
    ) -> WebSocketRoute:
        """Register a WebSocket ``endpoint`` at ``path`` (see ``WebSocketRoute``)."""
        self._check_open()
        route = WebSocketRoute(
            path, endpoint, name=name, dependencies=dependencies, options=options
        )
        self.routes.append(route)
        return route

    def websocket(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        """``@router.websocket("/ws/{room}")``: a WebSocket endpoint."""

        def register(endpoint: F) -> F:
            self.add_websocket_route(path, endpoint, **kwargs)
            return endpoint

        return register

    def mount(self, prefix: str, app: Any, *, name: str | None = None) -> Mount:
        """Hand every request under ``prefix`` to another ASGI ``app``: a
        ``StaticFiles``, another framework's app, a sub-``App``. Routes are
        tried first; a mount answers only paths no route matches, so a route
        at ``/static/x`` would hide the file ``x``. ``url_path_for(name,
        path="css/site.css")`` builds a link into it."""
        self._check_open()
        mount = Mount(prefix, app, name=name)
        self.mounts.append(mount)
        return mount

    def include_router(self, router: Router, *, prefix: str = "") -> None:
        self._check_open()
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ConfigurationError(
                f"prefix {prefix!r} must start with '/' and not end with one, like '/v1'"
            )
        if router is self or router._includes(self):
            raise ConfigurationError(
                "a router cannot include itself, directly or through a router it includes"
            )
        self._included.append((prefix, router))

    def _includes(self, other: Router) -> bool:
        return any(r is other or r._includes(other) for _, r in self._included)

    def _freeze(self) -> None:
        self._frozen = True
        for _, router in self._included:
            router._freeze()

    def _check_open(self) -> None:
        if self._frozen:
            raise ConfigurationError(
                "routes cannot be added after the app has started; register them at import "
                "time or in the app factory"
            )

    def iter_routes(
        self,
        prefix: str = "",
        dependencies: Sequence[Any] = (),
        options: Mapping[str, Any] | None = None,
    ) -> Iterator[Route]:
        """Every route, with included routers flattened under their prefixes,
        each router's ``dependencies`` put before the route's own and its
        ``options`` under them (an inner router's value wins over an outer's)."""
        inherited = [*dependencies, *self.dependencies]
        inherited_options = {**(options or {}), **self.options}
        for route in self.routes:
            if prefix or inherited or inherited_options:
                yield route.under(prefix, inherited, inherited_options)
            else:
                yield route
        for sub_prefix, router in self._included:
            yield from router.iter_routes(prefix + sub_prefix, inherited, inherited_options)

    def iter_mounts(self, prefix: str = "") -> Iterator[Mount]:
        """Every mount, included routers' ones under their prefixes."""
        for mount in self.mounts:
            yield Mount(prefix + mount.prefix, mount.app, name=mount.name) if prefix else mount
        for sub_prefix, router in self._included:
            yield from router.iter_mounts(prefix + sub_prefix)

    def all_routes(self) -> list[Route]:
        """The flattened routes: after ``build()``, the prepared ones that serve."""
        return list(self._routes_built) if self._built else list(self.iter_routes())

    # -- building (once, at startup) ----------------------------------------
    def build(self, settings: RouteSettings | None = None) -> None:
        """Compile every route into the static dict and the tree. Raises
        ``ConfigurationError`` if two routes would shadow each other."""
        if self._built:
            return
        settings = settings or RouteSettings()
        seen: dict[tuple[str, str], Route] = {}
        static: dict[str, dict[str, Route]] = {}
        root = _Node()
        by_name: dict[str, list[Route]] = {}
        routes = list(self.iter_routes())
        for route in routes:
            for method in route.methods:
                key = (method, route.pattern_key)
                if key in seen:
                    raise ConfigurationError(
                        f"route {method} {route.path} is declared twice: "
                        f"{seen[key].describe()} and {route.describe()}"
                    )
                seen[key] = route
            route.prepare(settings)
            if route.name:
                by_name.setdefault(route.name, []).append(route)
            if not route.param_names:
                handlers = static.setdefault(route.path, {})
            else:
                node = root
                for segment in route.segments:
                    node = node.child(segment)
                handlers = node.handlers
            for method in route.methods:
                handlers[method] = route
        self._routes_built = routes
        self._mounts_built = _checked_mounts(self.iter_mounts())
        self._static, self._root, self._by_name = static, root, by_name
        self._built = True
        self._freeze()

    # -- matching (per request) ---------------------------------------------
    def match(self, path: str, method: str) -> tuple[Route | None, Sequence[Any], set[str]]:
        """Find the route for ``method`` at ``path``.

        Returns ``(route, values, allowed)``: the route and its converted path
        values, or ``None`` and the set of methods the path does allow (empty:
        no route has this path at all -> 404; otherwise -> 405).
        """
        return self._match(path, method, greedy=True)

    def _match(
        self, path: str, method: str, *, greedy: bool
    ) -> tuple[Route | None, Sequence[Any], set[str]]:
        # greedy=False skips the fast first try, for a caller that just made it.
        allowed: set[str] = set()
        if not path.startswith("/"):
            return None, (), allowed  # not a path the router can match: see __call__
        handlers = self._static.get(path)
        if handlers is not None:
            route = handlers.get(method)
            if route is None and method == "HEAD":
                route = handlers.get("GET")
            if route is not None:
                return route, (), allowed
            allowed |= _allowed(handlers)

        segments = path[1:].split("/")
        found = self._match_greedy(segments, method) if greedy else None
        if found is not None:
            return found[0], found[1], allowed
        count = len(segments)
        # Depth-first walk with an explicit stack (no recursion): each entry is
        # (node, index of the next segment, values converted so far). Children
        # are pushed narrowest-last so they are popped - tried - first.
        stack: list[tuple[_Node, int, tuple[Any, ...]]] = [(self._root, 0, ())]
        while stack:
            node, index, values = stack.pop()
            if index == count:
                if node.handlers:
                    route = node.handlers.get(method)
                    if route is None and method == "HEAD":
                        route = node.handlers.get("GET")
                    if route is not None:
                        return route, values, allowed
                    allowed |= _allowed(node.handlers)
                continue
            if node.catch_all is not None:
                stack.append((node.catch_all, count, (*values, "/".join(segments[index:]))))
            segment = segments[index]
            for convertor, child in reversed(node.params):
                try:
                    value = convertor.convert(segment)
                except ValueError:
                    continue
                stack.append((child, index + 1, (*values, value)))
            static_child = node.static.get(segment)
            if static_child is not None:
                stack.append((static_child, index + 1, values))
        return None, (), allowed

    def _match_greedy(
        self, segments: list[str], method: str
    ) -> tuple[Route, tuple[Any, ...]] | None:
        """The common case, fast: follow the first choice at every segment
        (static child, else the narrowest parameter that converts, else the
        catch-all), with no stack. This is the first path the full walk in
        ``match`` would try, so when it ends at a handler for ``method`` the
        answer is the same; when it does not, ``match`` walks everything."""
        # PERF: no stack, no tuples per step: about half the cost of the full
        # walk on a path that matches; a hypothesis test checks match() against
        # a reference matcher.
        node = self._root
        values: list[Any] = []
        for index, segment in enumerate(segments):
            child = node.static.get(segment)
            if child is None:
                for convertor, param_child in node.params:
                    try:
                        values.append(convertor.convert(segment))
                    except ValueError:
                        continue
                    child = param_child
                    break
                else:
                    if node.catch_all is None:
                        return None
                    values.append("/".join(segments[index:]))
                    node = node.catch_all
                    break
            node = child
        route = node.handlers.get(method)
        if route is None:
            return None
        return route, tuple(values)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # PERF: this method is the hot path, written out: the static dict, then
        # the greedy walk, and only then _dispatch. Each step it skips saves a
        # call per request. The error layer is this try/except: whatever routing or the route
        # raises becomes a problem-details response right here - inside the
        # user's middleware, so their headers are on error responses too.
        try:
            path = scope["path"]
            if scope.get("root_path"):
                path = _without_root_path(scope["root_path"], path)
            # The fast paths: a static route for this method (one dict look-up),
            # or the first choice at every level of the tree.
            handlers = self._static.get(path)
            if handlers is not None:
                route = handlers.get(scope.get("method", ""))
                if route is not None:
                    scope["route"] = route
                    scope["path_params"] = {}
                    await route.handle(scope, receive, send, ())
                    return
            elif path[:1] == "/":  # PERF: a slice and ==, cheaper than startswith()
                # Only a path that starts with "/" is matched: "Xadmin/users"
                # must not reach /admin/users while a middleware guarding
                # "/admin" lets it pass (the server should refuse such a target;
                # this holds whatever server runs the app).
                found = self._match_greedy(path[1:].split("/"), scope.get("method", ""))
                if found is not None:
                    route, values = found
                    scope["route"] = route
                    names = route.param_names
                    scope["path_params"] = (
                        # PERF: the usual single parameter, without zip.
                        {names[0]: values[0]}
                        if len(values) == 1
                        else dict(zip(names, values, strict=True))
                    )
                    await route.handle(scope, receive, send, values)
                    return
            # Everything else: backtracking, 404/405, HEAD, OPTIONS, websockets.
            await self._dispatch(scope, receive, send, path)
        except Exception as exc:
            await self.errors.respond(scope, receive, send, exc)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """Everything but a static hit: the tree, 404/405, HEAD, OPTIONS, and
        every WebSocket connection."""
        if not self._built:
            self.build()
        if scope["type"] != "http":
            await self._dispatch_websocket(scope, receive, send, path)
            return
        method = scope["method"]
        # Router.__call__ already tried the static dict and the greedy walk
        # (or hit a static path without this method): walk everything.
        route, values, allowed = self._match(path, method, greedy=False)
        if route is None:
            mount = self._mount_for(path) if not allowed else None
            if mount is not None:
                await mount.handle(scope, receive, send)
                return
            await self._no_match(scope, receive, send, path, method, allowed)
            return
        scope["route"] = route
        scope["path_params"] = dict(zip(route.param_names, values, strict=True))
        if method == "HEAD" and "HEAD" not in route.methods:
            send = without_body(send)
        await route.handle(scope, receive, send, values)

    async def _dispatch_websocket(
        self, scope: Scope, receive: Receive, send: Send, path: str
    ) -> None:
        """A ``websocket`` scope looks only for WEBSOCKET routes; with none at
        this path, the handshake is refused (no 404 or redirect exists here)."""
        if scope["type"] != "websocket":
            return  # e.g. a lifespan scope sent to a bare Router: nothing to do
        route, values, _ = self.match(path, WEBSOCKET)
        if route is None:
            mount = self._mount_for(path)
            if mount is not None:
                await mount.handle(scope, receive, send)
                return
            await _refuse_websocket(scope, receive, send, path)
            return
        scope["route"] = route
        scope["path_params"] = dict(zip(route.param_names, values, strict=True))
        await route.handle(scope, receive, send, values)

    def _mount_for(self, path: str) -> Mount | None:
        # Longest prefix first (sorted at build): "/static/v2" before "/static".
        for mount in self._mounts_built:
            if mount.matches(path):
                return mount
        return None

    async def _no_match(
        self, scope: Scope, receive: Receive, send: Send, path: str, method: str, allowed: set[str]
    ) -> None:
        if allowed:
            allow = ", ".join(sorted(allowed))
            if method == "OPTIONS":
                # Nothing handles OPTIONS here: say which methods exist (RFC 9110, 9.3.7).
                response = Response(status_code=204, headers={"allow": allow})
                await response(scope, receive, send)
                return
            raise HTTPException(
                405, f"{method} is not allowed on {path}; allowed: {allow}", {"allow": allow}
            )
        if self.redirect_slashes and path != "/":
            other = path[:-1] if path.endswith("/") else path + "/"
            route, _, other_allowed = self.match(other, method)
            if route is not None or other_allowed:
                query = scope.get("query_string", b"").decode("latin-1")
                root_path = scope.get("root_path", "")
                # ``other`` is decoded: re-encode it, or a "%3F" in it would come
                # back as "?" and start a query string.
                target = quote(root_path + other) + (f"?{query}" if query else "")
                await RedirectResponse(target, status_code=307)(scope, receive, send)
                return
        raise HTTPException(404, f"No route matches {method} {path}")

    # -- reversing -----------------------------------------------------------
    def url_path_for(self, name: str, /, **params: Any) -> str:
        """The path of the route called ``name``, with ``params`` filled in."""
        routes = self._by_name.get(name) if self._built else [
            r for r in self.iter_routes() if r.name == name
        ]
        if not routes:
            mounts = self._mounts_built if self._built else list(self.iter_mounts())
            mount = next((m for m in mounts if m.name == name), None)
            if mount is not None:
                return mount.url_path(**params)
            raise NoMatchFound(f"no route is named {name!r}")
        errors = []
        for route in routes:
            try:
                return route.url_path(**params)
            except NoMatchFound as exc:
                errors.append(str(exc))
        raise NoMatchFound("; ".join(errors))


def _checked_mounts(mounts: Iterator[Mount]) -> list[Mount]:
    """The mounts, longest prefix first; two at one prefix is a mistake."""
    seen: dict[str, Mount] = {}
    for mount in mounts:
        if mount.prefix in seen:
            raise ConfigurationError(
                f"two apps are mounted at {mount.prefix}: {seen[mount.prefix]!r} and {mount!r}"
            )
        seen[mount.prefix] = mount
    return sorted(seen.values(), key=lambda m: len(m.prefix), reverse=True)


def _without_root_path(root_path: str, path: str) -> str:
    """Strip the mount point, only as whole segments: "/api" is not in "/apis"."""
    if path.startswith(root_path):
        rest = path[len(root_path) :]
        if not rest or rest[0] == "/":
            return rest or "/"
    return path


async def _refuse_websocket(scope: Scope, receive: Receive, send: Send, path: str) -> None:
    """No WebSocket route here: close before accepting - the server answers the
    handshake with 403 (the code and reason reach in-process clients only)."""
    await receive()  # websocket.connect
    reason = shorten_reason(f"No WebSocket route matches {path}")
    await send({"type": "websocket.close", "code": 1008, "reason": reason})



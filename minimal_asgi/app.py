"""The application: where a server hands over each connection.

``App`` is the outermost ASGI app. For a ``lifespan`` scope it runs startup and
shutdown; for ``http`` and ``websocket`` it passes the connection down the
stack it built once at startup::

    [trace] -> user middleware (outermost first) -> Router (with the error layer) -> Route

With no middleware and no tracing, that is just the Router: a feature
adds a layer only when it is switched on.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from minimal_asgi.concurrency import as_async
from minimal_asgi.counters import Counters
from minimal_asgi.datastructures import State
from minimal_asgi.dependencies import DependencyOverrides, PlanBuilder
from minimal_asgi.docs_page import DocsUI
from minimal_asgi.errors import ErrorHandlers, ExceptionHandler, ProblemResponse
from minimal_asgi.exceptions import ConfigurationError
from minimal_asgi.handlers import RouteSettings
from minimal_asgi.hooks import Hooks, hook_name
from minimal_asgi.middleware import Middleware, build_middleware_stack
from minimal_asgi.openapi import add_openapi_routes, openapi_document
from minimal_asgi.plugins import OpenAPIHook, Plugin, RouteWrapper, load_plugin
from minimal_asgi.requests import DEFAULT_MAX_BODY_SIZE
from minimal_asgi.resolution import DependencyScope
from minimal_asgi.responses import RESPONSE_STARTED
from minimal_asgi.routing import Mount, Route, Router, WebSocketRoute
from minimal_asgi.trace import RouterSpan, run_traced
from minimal_asgi.types import ASGIApp, Message, Receive, Scope, Send
from minimal_asgi.uploads import FormLimits

__all__ = ["App"]

logger = logging.getLogger("minimal_asgi")

F = TypeVar("F", bound=Callable[..., Any])
Lifespan = Callable[["App"], contextlib.AbstractAsyncContextManager[Mapping[str, Any] | None]]


class App:
    """A minimal_asgi application.

    ``debug``: show tracebacks in 500 responses (never in production).
    ``max_body_size``: the largest request body read, in bytes (413 beyond).
    ``form_limits``: what a form body may hold (``FormLimits``: uploads, parts).
    ``trace``: log the lifecycle of every request (also ``MINIMAL_ASGI_TRACE=1``).
    ``lifespan``: ``async_context_manager(app)`` run around the app's life.
    ``title``, ``version``: the API's name and version in its OpenAPI document.
    ``openapi_url``, ``docs_url``: where the document and the page listing the
    endpoints are served (``None`` turns each off; no document, no page).
    ``docs_ui``: that page - ``"builtin"`` (ours, no dependency) or
    ``"swagger-ui"`` (Swagger UI, from ``pip install 'minimal-asgi[swagger-ui]'``;
    the built-in page if it is not installed). Both are served offline.
    """

    def __init__(
        self,
        *,
        debug: bool = False,
        routes: Sequence[Route] | None = None,
        middleware: Sequence[Middleware] | None = None,
        exception_handlers: Mapping[type[BaseException], Callable[..., Any]] | None = None,
        on_startup: Sequence[Callable[[], Any]] | None = None,
        on_shutdown: Sequence[Callable[[], Any]] | None = None,
        lifespan: Lifespan | None = None,
        plugins: Sequence[Plugin | str] | None = None,
        max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
        form_limits: FormLimits | None = None,
        redirect_slashes: bool = True,
        trace: bool | None = None,
        dependencies: Sequence[Any] = (),
        reject_unknown_fields: bool = True,
        title: str = "minimal_asgi app",
        version: str = "0.1.0",
        openapi_url: str | None = "/openapi.json",
        docs_url: str | None = "/docs",
        docs_ui: DocsUI = "builtin",
    ) -> None:
        self.debug = debug
        self.router = Router(routes, redirect_slashes=redirect_slashes)
        self.state = State()
        # Named counts reported by the app's parts, for a metrics exporter (counters.py).
        self.counters = Counters()
        self._draining = False
        self.user_middleware: list[Middleware] = list(middleware or [])
        self.exception_handlers: dict[type[BaseException], ExceptionHandler] = {}
        self.hooks = Hooks()
        self.max_body_size = max_body_size
        self.form_limits = form_limits or FormLimits()
        self.dependencies = list(dependencies)
        self.reject_unknown_fields = reject_unknown_fields
        # The OpenAPI document (openapi.py) and where it is served; None turns off.
        self.title = title
        self.version = version
        self.openapi_url = openapi_url
        self.docs_url = docs_url
        self.docs_ui = docs_ui
        self._openapi: dict[str, Any] | None = None
        self._openapi_routes_added = False
        self.providers: dict[Any, Callable[..., Any]] = {}
        self.dependency_overrides = DependencyOverrides()
        self._plan_builder: PlanBuilder | None = None
        if trace is None:
            trace = os.environ.get("MINIMAL_ASGI_TRACE", "").strip().lower() in (
                "1", "true", "yes", "on"
            )
        self.trace = trace
        # Startup hooks, shutdown hooks and lifespan contexts, in registration
        # order: started in this order, stopped in the reverse (a stack).
        self._lifespan_steps: list[tuple[str, Callable[..., Any]]] = []
        self._route_wrappers: list[RouteWrapper] = []
        self.openapi_hooks: list[OpenAPIHook] = []
        self.plugins: list[Plugin] = []
        self._lifespan = lifespan
        self._entry: ASGIApp | None = None
        self._call_entry: ASGIApp | None = None  # _entry, ready to call (see _set_entry)
        for exc_type, handler in (exception_handlers or {}).items():
            self.add_exception_handler(exc_type, handler)
        for hook in on_startup or ():
            self.on_startup(hook)
        for hook in on_shutdown or ():
            self.on_shutdown(hook)
        for plugin in plugins or ():
            self.install(plugin)

    # -- routes (delegated to the root router) -------------------------------
    def add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Route:
        return self.router.add_route(path, endpoint, methods, **kwargs)

    def route(
        self, path: str, methods: Sequence[str] | None = None, **kwargs: Any
    ) -> Callable[[F], F]:
        return self.router.route(path, methods, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        return self.router.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        return self.router.post(path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        return self.router.put(path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        return self.router.patch(path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        return self.router.delete(path, **kwargs)

    def websocket(self, path: str, **kwargs: Any) -> Callable[[F], F]:
        """``@app.websocket("/ws/{room}")``: a WebSocket endpoint (websockets.py).
        Request hooks and exception handlers do not apply to it; guards do."""
        return self.router.websocket(path, **kwargs)

    def add_websocket_route(
        self, path: str, endpoint: Callable[..., Any], **kwargs: Any
    ) -> WebSocketRoute:
        return self.router.add_websocket_route(path, endpoint, **kwargs)

    def include_router(self, router: Router, *, prefix: str = "") -> None:
        self.router.include_router(router, prefix=prefix)

    def mount(self, prefix: str, app: ASGIApp, *, name: str | None = None) -> Mount:
        """Hand every request under ``prefix`` to ``app`` (see ``Router.mount``):
        ``app.mount("/static", StaticFiles(directory="static"), name="static")``."""
        return self.router.mount(prefix, app, name=name)

    def url_path_for(self, name: str, /, **params: Any) -> str:
        return self.router.url_path_for(name, **params)

    @property
    def routes(self) -> list[Route]:
        """Every route, flattened; once started, the very routes that serve."""
        return self.router.all_routes()

    # -- middleware, hooks, handlers ------------------------------------------
    def add_middleware(self, cls: Any, /, *args: Any, **options: Any) -> None:
        """Wrap the app in ``cls(app, **options)``; the last one added is outermost."""
        self._check_open("add middleware")
        self.user_middleware.insert(0, Middleware(cls, *args, **options))

    def before_request(self, func: F) -> F:
        """``func(request)`` before each HTTP endpoint (not WebSocket ones)."""
        self._check_open("add a hook")
        self.hooks.before.append((hook_name(func), as_async(func)))
        return func

    def after_request(self, func: F) -> F:
        """``func(request, response)`` after each HTTP endpoint (not WebSocket ones)."""
        self._check_open("add a hook")
        self.hooks.after.append((hook_name(func), as_async(func)))
        return func

    def add_exception_handler(
        self, exc_type: type[BaseException], handler: Callable[..., Any]
    ) -> None:
        self._check_open("add an exception handler")
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
            raise ConfigurationError(f"{exc_type!r} is not an exception class")
        self.exception_handlers[exc_type] = as_async(handler)

    def exception_handler(self, exc_type: type[BaseException]) -> Callable[[F], F]:
        def register(handler: F) -> F:
            self.add_exception_handler(exc_type, handler)
            return handler

        return register

    def on_startup(self, func: F) -> F:
        """Run ``func`` when the app starts (in registration order)."""
        self._check_open("add a startup hook")
        self._lifespan_steps.append(("startup", func))
        return func

    def on_shutdown(self, func: F) -> F:
        """Run ``func`` when the app stops (in reverse registration order)."""
        self._check_open("add a shutdown hook")
        self._lifespan_steps.append(("shutdown", func))
        return func

    def add_lifespan(
        self, factory: Callable[[App], contextlib.AbstractAsyncContextManager[Any]]
    ) -> None:
        """Add a paired start/stop step: ``factory(app)`` returns an async context
        manager, entered at startup and exited at shutdown. What it yields (a
        mapping, or None) is added to the lifespan state. This is how a plugin
        opens a connection pool: if a later step fails to start, the pool is
        closed again."""
        self._check_open("add a lifespan step")
        self._lifespan_steps.append(("context", factory))

    def add_route_wrapper(self, wrapper: RouteWrapper) -> None:
        """Let a plugin wrap the routes it cares about, once, at startup.

        ``wrapper(route, handler)`` receives each route as a read-only
        ``RouteInfo`` (plugins.py: its path, methods, name, ``options`` - e.g.
        ``@app.get("/x", cache=30)`` gives ``{"cache": 30}`` - and
        ``route.uses(dependency)``) and the ASGI app that runs that route's
        hooks and endpoint; it returns that app unchanged, or a new ASGI app
        around it. Routes a plugin ignores pay nothing per request. WebSocket
        routes are not passed to wrappers.
        """
        self._check_open("add a route wrapper")
        self._route_wrappers.append(wrapper)

    def add_openapi_hook(self, hook: OpenAPIHook) -> None:
        """Let a plugin describe what its route wrapper adds to an operation.

        ``hook(route, method, operation)`` is called for every operation of the
        OpenAPI document, after the core has built it, with the route as a
        ``RouteInfo``, the method in lower case (``"post"``) and the Operation
        Object (a dict) to change in place: a header parameter the wrapper reads,
        a status it may answer. Hooks run in the order they were added.
        """
        self._check_open("add an OpenAPI hook")
        if not callable(hook):
            raise ConfigurationError(f"app.add_openapi_hook({hook!r}): the hook must be callable")
        self.openapi_hooks.append(hook)
        self._openapi = None

    async def respond_to_error(
        self, scope: Scope, receive: Receive, send: Send, exc: Exception
    ) -> None:
        """Answer ``exc`` through ``send`` as the app's error layer would: its
        exception handlers, problem details, a 500 for a crash.

        For a route wrapper that must see the whole response, errors included
        (an idempotency store keeping the first answer): the error layer sits
        outside the wrappers, so an exception raised by the endpoint passes
        through a wrapper before it becomes a response. A crash (no handler) is
        answered 500 and then re-raised, as the error layer does, so the server
        still logs it; the response counts as started, so the layer outside
        does not answer it a second time.
        """
        self.build()

        async def send_noting_start(message: Message) -> None:
            if message["type"] == "http.response.start":
                scope[RESPONSE_STARTED] = True
            await send(message)

        await self.router.errors.respond(scope, receive, send_noting_start, exc)

    def provide(self, type_: Any, factory: Callable[..., Any]) -> None:
        """Fill every parameter annotated ``type_`` with what ``factory`` returns.

        ``factory`` is a dependency like any other: sync or async, a generator
        for setup/teardown, with parameters of its own.
        """
        self._check_open("provide a type")
        if not callable(factory):
            raise ConfigurationError(f"app.provide({type_!r}, ...): the factory must be callable")
        self.providers[type_] = factory

    def dependencies_scope(self) -> contextlib.AbstractAsyncContextManager[DependencyScope]:
        """Resolve dependencies outside a request (startup hooks, background tasks,
        workers)::

            async with app.dependencies_scope() as scope:
                repo = await scope.resolve(get_repo)

        Generator dependencies are torn down when the block exits.
        """
        self.build()
        assert self._plan_builder is not None
        return DependencyScope(self._plan_builder, self.dependency_overrides)._run()

    def install(self, plugin: Plugin | str) -> None:
        """Set up a plugin: any object with a ``setup(app)`` method, or the name
        of an installed one (see minimal_asgi.plugins)."""
        self._check_open("install a plugin")
        if isinstance(plugin, str):
            plugin = load_plugin(plugin)
        setup = getattr(plugin, "setup", None)
        if not callable(setup):
            raise ConfigurationError(f"{plugin!r} is not a plugin: it has no setup(app) method")
        if any(installed is plugin for installed in self.plugins):
            raise ConfigurationError(f"plugin {plugin!r} is installed twice")
        self.plugins.append(plugin)
        setup(self)

    def _check_open(self, action: str) -> None:
        if self._entry is not None:
            raise ConfigurationError(
                f"cannot {action} after the app has started serving; do it before startup"
            )

    # -- assembling (once) -----------------------------------------------------
    @property
    def started(self) -> bool:
        return self._entry is not None

    @property
    def draining(self) -> bool:
        """True once shutdown has begun (the server sent ``lifespan.shutdown``, or
        ``begin_draining()`` was called): requests in flight still finish, but
        a readiness check should now say "send no more" (503)."""
        return self._draining

    def begin_draining(self) -> None:
        """Mark the app as shutting down before the server does: for a
        pre-stop hook or a signal handler that wants the load balancer to take
        this instance out of rotation while it still serves what it has."""
        self._draining = True

    def build(self) -> ASGIApp:
        """Compile routes and build the middleware stack. Runs once, at startup
        (or on the first request if the server sends no lifespan events)."""
        if self._entry is not None:
            return self._entry
        if not self._openapi_routes_added:
            self._openapi_routes_added = True
            add_openapi_routes(self)
        builder = PlanBuilder(self.providers, forbid_extra=self.reject_unknown_fields)
        settings = RouteSettings(
            max_body_size=self.max_body_size,
            hooks=self.hooks,
            trace=self.trace,
            builder=builder,
            overrides=self.dependency_overrides,
            dependencies=self.dependencies,
            wrappers=self._route_wrappers,
        )
        self.router.build(settings)
        self._plan_builder = builder
        self.dependency_overrides.attach(builder)
        self.router.errors = ErrorHandlers(
            dict(self.exception_handlers), self.debug, self.max_body_size
        )
        inner: ASGIApp = RouterSpan(self.router) if self.trace else self.router
        stack = build_middleware_stack(inner, self.user_middleware, self.trace)
        if self.trace:
            traced_stack = stack

            async def entry(scope: Scope, receive: Receive, send: Send) -> None:
                await run_traced(traced_stack, scope, receive, send)

            stack = entry
        self._set_entry(stack)
        return stack

    def _set_entry(self, entry: ASGIApp) -> None:
        self._entry = entry
        # PERF: a class instance (the router, a middleware) is called through
        # its bound __call__, kept here: calling the instance itself looks
        # __call__ up on its class each time (about 700 instructions a request).
        self._call_entry = entry if inspect.isfunction(entry) else cast(Any, entry).__call__

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document describing this app's routes (openapi.py).

        Generated once after startup and kept; before startup, afresh on each
        call, since routes may still be added.
        """
        if self._openapi is not None:
            return self._openapi
        document = openapi_document(self)
        if self.started:
            self._openapi = document
        return document

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._serve_lifespan(scope, receive, send)
            return
        scope["app"] = self
        entry = self._call_entry or self._build_without_lifespan()
        await entry(scope, receive, send)

    def _build_without_lifespan(self) -> ASGIApp:
        """A request came first: the server sent no lifespan events (daphne does
        not, for one). Serving is fine unless something had to start: then every
        request fails, loudly, rather than as a "Database is not connected" deep
        inside some endpoint. See docs/05-lifecycle-hooks.md."""
        self.build()
        not_started = [hook_name(self._lifespan)] if self._lifespan is not None else []
        not_started += [hook_name(step) for kind, step in self._lifespan_steps
                        if kind != "shutdown"]
        if not_started:
            self._set_entry(_NotStarted(not_started))
        assert self._call_entry is not None  # set by build()
        return self._call_entry

    # -- lifespan ----------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def lifespan_context(self) -> AsyncIterator[Mapping[str, Any]]:
        """Everything that starts with the app and stops with it, as one context.

        Startup: build the app, enter ``lifespan=``, then the steps added with
        ``on_startup``, ``on_shutdown`` and ``add_lifespan`` in registration
        order. Shutdown: the same steps in reverse order (a stack), then exit
        ``lifespan=``. If a startup step fails, the steps already started are
        unwound (their shutdown runs) and the error propagates.
        """
        state: dict[str, Any] = {}
        async with contextlib.AsyncExitStack() as stack:
            self.build()
            if self._lifespan is not None:
                values = await stack.enter_async_context(self._lifespan(self))
                if values:
                    state.update(values)
            for kind, step in self._lifespan_steps:
                if kind == "startup":
                    await as_async(step)()
                elif kind == "shutdown":
                    stack.push_async_callback(as_async(step))
                else:
                    values = await stack.enter_async_context(step(self))
                    if values:
                        state.update(values)
            yield state

    async def _serve_lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        started = False
        self._draining = False  # an app started again serves again
        try:
            async with self.lifespan_context() as state:
                if "state" in scope and isinstance(scope["state"], dict):
                    scope["state"].update(state)
                started = True
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
                assert message["type"] == "lifespan.shutdown"
                self._draining = True  # before any shutdown step runs
        except BaseException as exc:
            text = f"{type(exc).__name__}: {exc}"
            phase = "shutdown" if started else "startup"
            logger.exception("lifespan %s failed", phase)
            await send({"type": f"lifespan.{phase}.failed", "message": text})
            if not isinstance(exc, Exception):
                raise
            return
        await send({"type": "lifespan.shutdown.complete"})


class _NotStarted:
    """Stands in for an app whose startup never ran: a problem-details 500 for
    each request (a WebSocket closes with 1011), and a log line saying why."""

    def __init__(self, steps: list[str]) -> None:
        self.message = (
            "the server sent no lifespan events, so the app's startup never ran and "
            f"these steps did not start: {', '.join(steps)}. Run the app under a server "
            "that speaks the ASGI lifespan protocol (uvicorn, hypercorn, granian, "
            "python -m minimal_asgi.server)"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        logger.error("%s %s refused: %s", scope.get("method", scope["type"]), scope["path"],
                     self.message)
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1011})
            return
        detail = "The application did not start; see the server log."
        await ProblemResponse(500, detail)(scope, receive, send)

"""Running a matched route: from its call plan to the response.

The router (routing.py) decides *which* route answers; this module decides,
once per route at startup, *how* it runs. ``choose_handler`` reads what the
plan builder worked out (dependencies.py: the plan and its ``CallShape``) and
the app's settings, and picks the leanest handler that still does everything
the route needs:

============  ==============================================  ===================================
handler       chosen when                                     per request
============  ==============================================  ===================================
websocket     a WebSocket route                               a WebSocket and its Context, the
                                                              endpoint, close if left open
hooked        the app has before/after-request hooks          a Request, the hooks, the endpoint
                                                              (any shape), a Response for them
dependencies  the arguments are plain async dependencies     the body read, the dependencies
              (``Depends`` all the way down) and/or a JSON    and the endpoint called by one
              body, no guards                                 coroutine written at startup
context       the arguments need a Context: dependencies,     a Context resolves the arguments
              query/header/cookie values, a body, guards
direct        an async ``endpoint()`` on a static path or     call, then a dict or str goes out
              ``endpoint(*path_values)``; status has a body   as the two ASGI messages
request       an async ``endpoint(request)``                  a Request, call, send
simple        any other shape without a Context (a sync       call (sync: in a worker thread),
              endpoint; values or the Request by keyword)     send
============  ==============================================  ===================================

``route.explain()`` prints the choice, why, and the dependency plan. Every
handler that has a Context ends with ``Context.after_response`` (background
tasks, then dependency teardowns) - the one place that step is written.

With ``App(trace=True)`` the same handler is chosen, built from the same
parts, but the endpoint call, the hooks and the Context come wrapped in span
recorders (trace.py). Those wrappers are made here, at startup; with tracing
off nothing of them is on the request path.

``wrapped_for_plugins`` finally lets plugins wrap the routes that ask for it.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import anyio.to_thread

from minimal_asgi.dependencies import (
    CallPlan,
    CallShape,
    DependencyOverrides,
    DependsMarker,
    PathSource,
    PlanBuilder,
    RequestSource,
)
from minimal_asgi.errors import WEBSOCKET_KEY
from minimal_asgi.exceptions import ConfigurationError, HTTPException
from minimal_asgi.hooks import AfterHook, BeforeHook, Hooks, hook_name
from minimal_asgi.plugins import RouteInfo, RouteWrapper
from minimal_asgi.requests import DEFAULT_MAX_BODY_SIZE, Request
from minimal_asgi.resolution import Context, WebSocketContext
from minimal_asgi.responses import (
    LENGTHS,
    NO_BODY_STATUSES,
    SHORT,
    SIMPLE_BODIES,
    Response,
    send_result,
    to_response,
)
from minimal_asgi.straight_dependencies import compile_plain_plan
from minimal_asgi.trace import TracedContext, TracedWebSocketContext, spanned
from minimal_asgi.types import ASGIApp, Receive, Scope, Send
from minimal_asgi.websockets import WebSocket, WebSocketState

__all__ = [
    "Handler",
    "HandlerChoice",
    "HandlerKind",
    "RouteSettings",
    "choose_handler",
    "guard_callable",
    "wrapped_for_plugins",
]

# (scope, receive, send, converted path values) -> None
Handler = Callable[[Scope, Receive, Send, Any], Awaitable[None]]
# (the Request or None, path values) -> what the endpoint returned
Invoke = Callable[[Request | None, Sequence[Any]], Awaitable[Any]]
# (keyword arguments a Context resolved) -> what the endpoint returned
KeywordCall = Callable[[dict[str, Any]], Awaitable[Any]]

_VALUES_KEY = "minimal_asgi.path_values"


@dataclass(slots=True)
class RouteSettings:
    """What the app tells each route when it starts: limits, hooks, how to
    plan dependencies, and the app-wide dependencies."""

    max_body_size: int | None = DEFAULT_MAX_BODY_SIZE
    hooks: Hooks = field(default_factory=Hooks)
    trace: bool = False
    builder: PlanBuilder = field(default_factory=PlanBuilder)
    overrides: DependencyOverrides | None = None
    dependencies: Sequence[Any] = ()
    wrappers: Sequence[RouteWrapper] = ()


class HandlerKind(enum.Enum):
    """The handlers ``choose_handler`` picks from (see the module's table)."""

    WEBSOCKET = "websocket"
    HOOKED = "hooked"
    DEPENDENCIES = "dependencies"
    CONTEXT = "context"
    DIRECT = "direct"
    REQUEST = "request"
    SIMPLE = "simple"


@dataclass(frozen=True, slots=True)
class HandlerChoice:
    """The handler picked for one route, and why (``route.explain()`` shows it)."""

    kind: HandlerKind
    reason: str
    handle: Handler


def choose_handler(
    plan: CallPlan,
    settings: RouteSettings,
    *,
    status: int | None = None,
    websocket: bool = False,
) -> HandlerChoice:
    """Pick, once, how a route runs. The order of the tests is the order of
    the table above: the first handler whose conditions hold is the leanest
    that does everything the route needs."""
    dependant, shape = plan.dependant, plan.shape
    if websocket:
        return HandlerChoice(
            HandlerKind.WEBSOCKET, "a WebSocket route", websocket_handler(plan, settings)
        )
    hooks = settings.hooks
    if hooks:
        reason = (
            f"the app has {len(hooks.before)} before- and {len(hooks.after)} after-request "
            "hook(s), which need a Request and a Response object"
        )
        return HandlerChoice(HandlerKind.HOOKED, reason, hooked_handler(plan, settings, status))
    if shape is CallShape.CONTEXT:
        generic = context_handler(plan, settings, status)
        run = compile_plain_plan(dependant)
        if run is not None and status not in NO_BODY_STATUSES:
            reason = (
                "only plain async dependencies and/or a JSON body: read and called by one "
                "coroutine written at startup, with no Context"
            )
            return HandlerChoice(
                HandlerKind.DEPENDENCIES, reason,
                dependencies_handler(run, generic, plan, settings, status),
            )
        reason = f"a per-request Context resolves {_context_needs(plan)}"
        return HandlerChoice(HandlerKind.CONTEXT, reason, generic)
    is_async = dependant.kind == "async"
    static = not plan.path_names
    body_allowed = status not in NO_BODY_STATUSES
    if is_async and body_allowed and (
        shape is CallShape.PATH_VALUES or (shape is CallShape.NO_ARGS and static)
    ):
        reason = (
            "an async endpoint, no hooks: a dict or str it returns goes out as the two ASGI "
            "messages, with no Request or Response object"
        )
        endpoint = _traced(dependant.call, settings, plan)
        return HandlerChoice(HandlerKind.DIRECT, reason, direct_handler(endpoint, status))
    if is_async and shape is CallShape.REQUEST:
        reason = "an async endpoint that takes only the Request, no hooks"
        endpoint = _traced(dependant.call, settings, plan)
        return HandlerChoice(
            HandlerKind.REQUEST, reason, request_handler(endpoint, settings, status)
        )
    why = []
    if not is_async:
        why.append("a sync endpoint: it runs in a worker thread")
    if shape is CallShape.KEYWORDS:
        why.append("path values and/or the Request are passed by keyword")
    if shape is CallShape.NO_ARGS and not static:
        why.append("it takes none of the path's values")
    if not body_allowed:
        why.append(f"status {status} has no body")
    reason = "no Context needed, but " + "; ".join(why)
    return HandlerChoice(HandlerKind.SIMPLE, reason, simple_handler(plan, settings, status))


def _context_needs(plan: CallPlan) -> str:
    """What, in this plan, a path value or the Request alone cannot give."""
    dependant = plan.dependant
    needs = [f"guard {hook_name(guard.call)}" for guard in dependant.guards]
    for source in dependant.sources:
        if isinstance(source, PathSource) and source.convert is not None:
            needs.append(f"{source.name} (a path value to validate)")
        elif not isinstance(source, PathSource | RequestSource):
            needs.append(source.name)
    return ", ".join(needs)


def _traced(call: Callable[..., Awaitable[Any]], settings: RouteSettings, plan: CallPlan) -> Any:
    """The endpoint call, inside an "endpoint" span when tracing is on."""
    if not settings.trace:
        return call
    return spanned(call, f"endpoint {hook_name(plan.dependant.call)}")


# -- the handlers, leanest first ----------------------------------------------------
def direct_handler(endpoint: Callable[..., Awaitable[Any]], status: int | None) -> Handler:
    """The hot path: ``endpoint(*values)`` (``()`` on a static path), and a dict
    or str sent as the two ASGI messages."""
    ok = status or 200
    simple_body_for = SIMPLE_BODIES.get  # PERF: a local, not a global and an attribute

    async def handle_direct(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
        result = await endpoint(*values)
        simple = simple_body_for(type(result))
        if simple is None:
            await send_result(result, scope, receive, send, status)
            return
        # PERF: the two messages written out here rather than through a helper
        # coroutine: one await less on the most common request there is.
        encode, content_type = simple
        body = encode(result)
        size = len(body)
        await send(
            {
                "type": "http.response.start",
                "status": ok,
                "headers": [
                    content_type,
                    LENGTHS[size] if size < SHORT else (b"content-length", b"%d" % size),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return handle_direct


def request_handler(
    endpoint: Callable[[Request], Awaitable[Any]], settings: RouteSettings, status: int | None
) -> Handler:
    limit = settings.max_body_size

    async def handle_request(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
        request = Request(scope, receive, max_body_size=limit)
        try:
            await send_result(await endpoint(request), scope, receive, send, status)
        finally:
            if request._form is not None:  # uploads: their files go with the response
                request.close_form()

    return handle_request


def simple_handler(plan: CallPlan, settings: RouteSettings, status: int | None) -> Handler:
    limit, invoke = settings.max_body_size, _invoker(plan, settings)
    if plan.needs_request:

        async def handle_simple(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
            request = Request(scope, receive, max_body_size=limit)
            try:
                await send_result(await invoke(request, values), scope, receive, send, status)
            finally:
                if request._form is not None:
                    request.close_form()

        return handle_simple

    async def handle_simple_no_request(
        scope: Scope, receive: Receive, send: Send, values: Any
    ) -> None:
        await send_result(await invoke(None, values), scope, receive, send, status)

    return handle_simple_no_request


def dependencies_handler(
    run: Callable[..., Awaitable[Any]], generic: Handler, plan: CallPlan,
    settings: RouteSettings, status: int | None,
) -> Handler:
    """Plain async dependencies and a JSON body: ``run(request)`` reads and calls
    them and the endpoint (see straight_dependencies.py); a dict or str is sent
    as ``direct_handler`` sends it."""
    needs_request = plan.needs_request
    if settings.trace:
        return generic  # the Context's walk records a span per dependency
    overrides, ok, limit = settings.overrides, status or 200, settings.max_body_size
    simple_body_for = SIMPLE_BODIES.get

    async def handle_dependencies(
        scope: Scope, receive: Receive, send: Send, values: Any
    ) -> None:
        if overrides:  # a test replaced a dependency: the Context's walk plans that
            await generic(scope, receive, send, values)
            return
        # A Request only for a JSON body (a plain plan reads nothing else).
        result = await run(Request(scope, receive, max_body_size=limit) if needs_request
                           else None)
        simple = simple_body_for(type(result))
        if simple is None:
            await send_result(result, scope, receive, send, status)
            return
        # PERF: the two messages written out, as in direct_handler.
        encode, content_type = simple
        body = encode(result)
        size = len(body)
        await send(
            {
                "type": "http.response.start",
                "status": ok,
                "headers": [
                    content_type,
                    LENGTHS[size] if size < SHORT else (b"content-length", b"%d" % size),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return handle_dependencies


def context_handler(plan: CallPlan, settings: RouteSettings, status: int | None) -> Handler:
    """Endpoints with dependencies, query/header/cookie parameters, a body."""
    dependant, limit, overrides = plan.dependant, settings.max_body_size, settings.overrides
    needs_request, path_key = plan.needs_request, plan.path_key
    call = _keyword_call(plan, settings)
    make_context = TracedContext if settings.trace else Context

    async def handle_context(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
        # An override (a test's fake) may read the request when the original
        # did not; a Request is cheap: it parses nothing until asked.
        request = (
            Request(scope, receive, max_body_size=limit) if needs_request or overrides else None
        )
        context = make_context(request, scope["path_params"], overrides, path_key)
        try:
            try:
                kwargs = await context.solve_endpoint(dependant)
                await send_result(await call(kwargs), scope, receive, send, status)
            except BaseException as exc:
                await context.after_response(exc)
                raise
            # PERF: most requests have neither background tasks nor teardowns; two
            # attribute tests are cheaper than an await that finds nothing to do.
            if context.background is not None or context.teardowns is not None:
                await context.after_response(None)
        finally:
            # Uploaded files are closed (deleted) after the response and the
            # background tasks, whatever happened - even on a cancellation.
            if request is not None and request._form is not None:
                request.close_form()

    return handle_context


def hooked_handler(plan: CallPlan, settings: RouteSettings, status: int | None) -> Handler:
    """Any endpoint, with before- and after-request hooks around it."""
    limit = settings.max_body_size
    before, after = _hooks(settings)
    run = _endpoint_runner(plan, settings)

    async def handle_hooked(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
        request = Request(scope, receive, max_body_size=limit)
        context: Context | None = None
        try:
            try:
                response: Response | None = None
                for hook in before:
                    response = await hook(request)
                    if response is not None:
                        break  # a before hook answered: the endpoint does not run
                if response is None:
                    result, context = await run(request, scope, values)
                    response = to_response(result, status)
                for after_hook in after:
                    response = await after_hook(request, response) or response
                await response(scope, receive, send)
            except BaseException as exc:
                if context is not None:
                    await context.after_response(exc)
                raise
            if context is not None:
                await context.after_response(None)
        finally:
            if request._form is not None:
                request.close_form()

    return handle_hooked


def websocket_handler(plan: CallPlan, settings: RouteSettings) -> Handler:
    dependant, overrides, path_key = plan.dependant, settings.overrides, plan.path_key
    endpoint = _traced(dependant.call, settings, plan)
    make_context = TracedWebSocketContext if settings.trace else WebSocketContext

    async def handle_websocket(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
        if scope["type"] != "websocket":
            # Only an HTTP request whose method is literally "WEBSOCKET" gets here.
            raise HTTPException(404, f"No route matches {scope['method']} {scope['path']}")
        websocket = scope[WEBSOCKET_KEY] = WebSocket(scope, receive, send)
        context = make_context(websocket, scope["path_params"], overrides, path_key)
        try:
            kwargs = await context.solve_endpoint(dependant)
            await endpoint(**kwargs)
            # Returned without closing: close normally (or, if it never
            # accepted, refuse the handshake - the server answers 403).
            if websocket.connection_state in (WebSocketState.CONNECTING, WebSocketState.OPEN):
                await websocket.close()
        except BaseException as exc:
            # Teardowns see what ended the endpoint (a WebSocketDisconnect
            # too); then the error layer closes with the code that fits.
            await context.after_response(exc)
            raise
        await context.after_response(None)

    return handle_websocket


# -- the parts handlers are built from ------------------------------------------------
def _invoker(plan: CallPlan, settings: RouteSettings) -> Invoke:
    """Call an endpoint whose shape needs no Context: ``invoke(request, values)``."""
    endpoint, shape, is_async = plan.dependant.call, plan.shape, plan.dependant.kind == "async"
    invoke: Invoke
    if shape is CallShape.NO_ARGS:

        async def invoke(request: Request | None, values: Sequence[Any]) -> Any:
            if is_async:
                return await endpoint()
            return await anyio.to_thread.run_sync(endpoint)

    elif shape is CallShape.PATH_VALUES:

        async def invoke(request: Request | None, values: Sequence[Any]) -> Any:
            if is_async:
                return await endpoint(*values)
            return await anyio.to_thread.run_sync(endpoint, *values)

    elif shape is CallShape.REQUEST:

        async def invoke(request: Request | None, values: Sequence[Any]) -> Any:
            if is_async:
                return await endpoint(request)
            return await anyio.to_thread.run_sync(endpoint, request)

    elif shape is CallShape.KEYWORDS:
        # Each parameter: its name, and its index among the path values
        # (-1: the Request), worked out now rather than per request.
        names = list(plan.path_names)
        getters = [
            (s.name, names.index(s.name) if isinstance(s, PathSource) else -1)
            for s in plan.dependant.sources
        ]

        async def invoke(request: Request | None, values: Sequence[Any]) -> Any:
            kwargs = {name: request if index < 0 else values[index] for name, index in getters}
            if is_async:
                return await endpoint(**kwargs)
            return await anyio.to_thread.run_sync(lambda: endpoint(**kwargs))

    else:  # pragma: no cover - choose_handler sends CONTEXT shapes elsewhere
        raise AssertionError(shape)
    return cast(Invoke, _traced(invoke, settings, plan))


def _keyword_call(plan: CallPlan, settings: RouteSettings) -> KeywordCall:
    """Call an endpoint with the keyword arguments a Context resolved."""
    endpoint = plan.dependant.call
    call: KeywordCall
    if plan.dependant.kind == "async":

        def call(kwargs: dict[str, Any]) -> Awaitable[Any]:
            return cast(Awaitable[Any], endpoint(**kwargs))

    else:

        async def call(kwargs: dict[str, Any]) -> Any:
            return await anyio.to_thread.run_sync(lambda: endpoint(**kwargs))

    return cast(KeywordCall, _traced(call, settings, plan))


Runner = Callable[[Request, Scope, Any], Awaitable[tuple[Any, Context | None]]]


def _endpoint_runner(plan: CallPlan, settings: RouteSettings) -> Runner:
    """For the hooked handler: call the endpoint, whatever its shape, returning
    its result and the Context whose after-response step is still to run."""
    if plan.shape is not CallShape.CONTEXT:
        invoke = _invoker(plan, settings)

        async def run_simple(
            request: Request, scope: Scope, values: Any
        ) -> tuple[Any, Context | None]:
            return await invoke(request, values), None

        return run_simple
    dependant, overrides, path_key = plan.dependant, settings.overrides, plan.path_key
    call = _keyword_call(plan, settings)
    make_context = TracedContext if settings.trace else Context

    async def run_with_context(
        request: Request, scope: Scope, values: Any
    ) -> tuple[Any, Context | None]:
        context = make_context(request, scope["path_params"], overrides, path_key)
        try:
            kwargs = await context.solve_endpoint(dependant)
            return await call(kwargs), context
        except BaseException as exc:
            await context.after_response(exc)
            raise

    return run_with_context


def _hooks(settings: RouteSettings) -> tuple[list[BeforeHook], list[AfterHook]]:
    """The app's hooks, each in its span when tracing is on."""
    hooks = settings.hooks
    if not settings.trace:
        return [hook for _, hook in hooks.before], [hook for _, hook in hooks.after]
    before = [
        spanned(hook, f"before_request {name}", outcome=_short_circuit_label(name))
        for name, hook in hooks.before
    ]
    after = [spanned(hook, f"after_request {name}") for name, hook in hooks.after]
    return before, after


def _short_circuit_label(name: str) -> Callable[[Response | None], str]:
    def label(response: Response | None) -> str:
        suffix = "" if response is None else " -> short-circuit"
        return f"before_request {name}{suffix}"

    return label


def wrapped_for_plugins(
    route: RouteInfo, handle: Handler, wrappers: Sequence[RouteWrapper]
) -> Handler:
    """Give plugins the route as an ASGI app to wrap (see App.add_route_wrapper).
    The converted path values travel in the scope, since ASGI has no slot."""

    async def route_app(scope: Scope, receive: Receive, send: Send) -> None:
        await handle(scope, receive, send, scope[_VALUES_KEY])

    wrapped: ASGIApp = route_app
    # Reversed, so the first plugin installed is the outermost layer, as the
    # first entry of App(middleware=[...]) is.
    for wrapper in reversed(wrappers):
        wrapped = wrapper(route, wrapped)
    if wrapped is route_app:
        return handle  # no plugin wanted this route: keep the direct handler

    async def wrapped_handle(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
        scope[_VALUES_KEY] = values
        await wrapped(scope, receive, send)

    return wrapped_handle


def guard_callable(dependency: Any) -> Callable[..., Any]:
    """``dependencies=[Depends(check)]`` or ``dependencies=[check]``."""
    if isinstance(dependency, DependsMarker):
        if dependency.dependency is None:
            raise ConfigurationError("dependencies=[Depends()] needs a callable")
        return dependency.dependency
    if not callable(dependency):
        raise ConfigurationError(f"{dependency!r} in dependencies=[...] is not callable")
    return cast(Callable[..., Any], dependency)

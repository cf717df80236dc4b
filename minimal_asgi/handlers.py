"""Running a matched route: from its call plan to the response.

The router (routing.py) decides *which* route answers; this module holds *how*
a route runs, chosen once per route at startup from what it needs:

- ``plain_handler``: no hooks, and an endpoint that takes nothing but path
  values or the ``Request``. The hot path: for an async endpoint returning a
  dict or str, the two ASGI messages are sent directly.
- ``context_handler``: dependencies, query/header/cookie parameters, a body:
  a per-request ``Context`` resolves the plan, then background tasks and
  dependency teardowns run after the response.
- ``hooked_handler`` / ``traced_handler``: with before/after-request hooks, or
  with the lifecycle trace on.
- ``websocket_handler``: a WebSocket endpoint.

``wrapped_for_plugins`` then lets plugins wrap the routes that ask for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import anyio.to_thread

from minimal_asgi.dependencies import CallPlan, DependencyOverrides, DependsMarker, PlanBuilder
from minimal_asgi.errors import WEBSOCKET_KEY
from minimal_asgi.exceptions import ConfigurationError, HTTPException
from minimal_asgi.hooks import Hooks, hook_name
from minimal_asgi.requests import DEFAULT_MAX_BODY_SIZE, Request
from minimal_asgi.resolution import Context, WebSocketContext
from minimal_asgi.responses import (
    JSON_CONTENT_TYPE,
    NO_BODY_STATUSES,
    TEXT_CONTENT_TYPE,
    Response,
    encode_json_text,
    json_dumps,
    send_result,
    to_response,
)
from minimal_asgi.trace import current_trace
from minimal_asgi.types import ASGIApp, Receive, Scope, Send
from minimal_asgi.websockets import WebSocket, WebSocketState

__all__ = [
    "RouteSettings",
    "RouteWrapper",
    "context_handler",
    "endpoint_runner",
    "guard_callable",
    "hooked_handler",
    "plain_handler",
    "traced_handler",
    "websocket_handler",
    "wrapped_for_plugins",
]

# (scope, receive, send, converted path values) -> None
Handler = Callable[[Scope, Receive, Send, Any], Awaitable[None]]
# (route, the route's ASGI app) -> an ASGI app around it; see App.add_route_wrapper
RouteWrapper = Callable[[Any, ASGIApp], ASGIApp]

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



def plain_handler(
    plan: CallPlan, settings: RouteSettings, status: int | None, static: bool
) -> Any:
    invoke, limit = plan.invoke, settings.max_body_size
    assert invoke is not None
    direct = plan.shape == "path_values" or (plan.shape == "no_args" and static)
    if plan.dependant.kind == "async" and direct and status not in NO_BODY_STATUSES:
        # The hot path, written out: call the endpoint directly (the values
        # are exactly its arguments; () for a static route) and send a dict
        # as the two ASGI messages, with no Response object in between.
        endpoint, ok = plan.dependant.call, status or 200

        async def handle_direct(
            scope: Scope, receive: Receive, send: Send, values: Any
        ) -> None:
            result = await endpoint(*values)
            kind = type(result)
            if kind is dict:
                try:
                    body = encode_json_text(result).encode()
                except UnicodeEncodeError:
                    body = json_dumps(result)  # lone surrogates: \u-escaped
                content_type = JSON_CONTENT_TYPE
            elif kind is str:
                body, content_type = result.encode(), TEXT_CONTENT_TYPE
            else:
                await send_result(result, scope, receive, send, status)
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": ok,
                    "headers": [content_type, (b"content-length", b"%d" % len(body))],
                }
            )
            await send({"type": "http.response.body", "body": body})

        return handle_direct
    if plan.shape == "request":
        endpoint = plan.dependant.call

        async def handle_request(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
            request = Request(scope, receive, max_body_size=limit)
            await send_result(await endpoint(request), scope, receive, send, status)

        return handle_request
    if plan.needs_request:

        async def handle(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
            request = Request(scope, receive, max_body_size=limit)
            await send_result(await invoke(request, values), scope, receive, send, status)
    else:

        async def handle(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
            await send_result(await invoke(None, values), scope, receive, send, status)

    return handle


def context_handler(
    plan: CallPlan, settings: RouteSettings, path_key: frozenset[Any], status: int | None
) -> Any:
    """Endpoints with dependencies, query/header/cookie/body parameters."""
    dependant, limit, overrides = plan.dependant, settings.max_body_size, settings.overrides
    needs_request = plan.needs_request
    call = _caller(dependant.call, dependant.kind == "async")

    async def handle(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
        # An override (a test's fake) may read the request when the original
        # did not; a Request is cheap: it parses nothing until asked.
        request = (
            Request(scope, receive, max_body_size=limit)
            if needs_request or overrides
            else None
        )
        context = Context(request, scope["path_params"], overrides, path_key)
        try:
            kwargs = await context.solve_endpoint(dependant)
            await send_result(await call(kwargs), scope, receive, send, status)
            if context.background is not None:
                await context.background()
        except BaseException as exc:
            if context.teardowns:
                await context.teardowns.close(exc)
            raise
        if context.teardowns:
            # After the response: e.g. a session is closed, a transaction committed.
            await context.teardowns.close(None)

    return handle


def hooked_handler(run: Runner, settings: RouteSettings, status: int | None) -> Any:
    limit = settings.max_body_size
    before = [hook for _, hook in settings.hooks.before]
    after = [hook for _, hook in settings.hooks.after]

    async def handle(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
        request = Request(scope, receive, max_body_size=limit)
        context: Context | None = None
        try:
            response: Response | None = None
            for hook in before:
                response = await hook(request)
                if response is not None:
                    break
            if response is None:
                result, context = await run(request, scope, values)
                response = to_response(result, status)
            for after_hook in after:
                response = await after_hook(request, response) or response
            await response(scope, receive, send)
            await _after_response(context, None)
        except BaseException as exc:
            await _after_response(context, exc)
            raise

    return handle


def traced_handler(
    run: Runner, settings: RouteSettings, status: int | None, endpoint: Callable[..., Any]
) -> Any:
    """Like ``hooked_handler``, recording a span for each step (App(trace=True))."""
    limit = settings.max_body_size
    before, after = settings.hooks.before, settings.hooks.after
    endpoint_name = hook_name(endpoint)

    async def handle(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
        trace = current_trace.get()
        assert trace is not None
        request = Request(scope, receive, max_body_size=limit)
        context: Context | None = None
        try:
            response: Response | None = None
            for name, hook in before:
                span = trace.enter(f"before_request {name}")
                response = await hook(request)
                trace.exit(span, f"before_request {name}"
                           + (" -> short-circuit" if response is not None else ""))
                if response is not None:
                    break
            if response is None:
                span = trace.enter(f"endpoint {endpoint_name}")
                try:
                    result, context = await run(request, scope, values)
                    response = to_response(result, status)
                finally:
                    trace.exit(span)
            for name, after_hook in after:
                span = trace.enter(f"after_request {name}")
                response = await after_hook(request, response) or response
                trace.exit(span)
            span = trace.enter(f"response {response.status_code}")
            await response(scope, receive, send)
            trace.exit(span)
            if context is not None and (context.teardowns or context.background):
                span = trace.enter("background tasks and dependency teardown")
                await _after_response(context, None)
                trace.exit(span)
        except BaseException as exc:
            await _after_response(context, exc)
            raise

    return handle


def websocket_handler(
    plan: CallPlan, settings: RouteSettings, path_key: frozenset[Any]
) -> Any:
    dependant, overrides = plan.dependant, settings.overrides
    endpoint = dependant.call

    async def handle(scope: Scope, receive: Receive, send: Send, values: Any) -> None:
        if scope["type"] != "websocket":
            # Only an HTTP request whose method is literally "WEBSOCKET" gets here.
            raise HTTPException(404, f"No route matches {scope['method']} {scope['path']}")
        websocket = scope[WEBSOCKET_KEY] = WebSocket(scope, receive, send)
        context = WebSocketContext(websocket, scope["path_params"], overrides, path_key)
        try:
            kwargs = await context.solve_endpoint(dependant)
            await endpoint(**kwargs)
        except BaseException as exc:
            # Teardowns see what ended the endpoint (a WebSocketDisconnect
            # too); then the error layer closes with the code that fits.
            if context.teardowns:
                await context.teardowns.close(exc)
            raise
        # Returned without closing: close normally (or, if it never
        # accepted, refuse the handshake - the server answers 403).
        if websocket.connection_state in (WebSocketState.CONNECTING, WebSocketState.OPEN):
            await websocket.close()
        # As after an HTTP response: background tasks, then teardowns.
        if context.background is not None:
            await context.background()
        if context.teardowns:
            await context.teardowns.close(None)

    return handle


def wrapped_for_plugins(route: Any, handle: Handler, wrappers: Sequence[RouteWrapper]) -> Handler:
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


Runner = Callable[[Request, Scope, Any], Awaitable[tuple[Any, Context | None]]]


def guard_callable(dependency: Any) -> Callable[..., Any]:
    """``dependencies=[Depends(check)]`` or ``dependencies=[check]``."""
    if isinstance(dependency, DependsMarker):
        if dependency.dependency is None:
            raise ConfigurationError("dependencies=[Depends()] needs a callable")
        return dependency.dependency
    if not callable(dependency):
        raise ConfigurationError(f"{dependency!r} in dependencies=[...] is not callable")
    return cast(Callable[..., Any], dependency)


def _caller(endpoint: Callable[..., Any], is_async: bool) -> Callable[[dict[str, Any]], Any]:
    if is_async:
        return lambda kwargs: endpoint(**kwargs)

    async def call_in_thread(kwargs: dict[str, Any]) -> Any:
        return await anyio.to_thread.run_sync(lambda: endpoint(**kwargs))

    return call_in_thread


def endpoint_runner(plan: CallPlan, settings: RouteSettings, path_key: frozenset[Any]) -> Runner:
    """For hooked and traced routes: call the endpoint, returning its result and
    the context whose background tasks and teardowns still have to run."""
    invoke, dependant, overrides = plan.invoke, plan.dependant, settings.overrides
    call = _caller(dependant.call, dependant.kind == "async")

    async def run(request: Request, scope: Scope, values: Any) -> tuple[Any, Context | None]:
        if invoke is not None:
            return await invoke(request, values), None
        context = Context(request, scope["path_params"], overrides, path_key)
        try:
            kwargs = await context.solve_endpoint(dependant)
            return await call(kwargs), context
        except BaseException as exc:
            await _after_response(context, exc)
            raise

    return run


async def _after_response(context: Context | None, exc: BaseException | None) -> None:
    if context is None:
        return
    if exc is None and context.background is not None:
        await context.background()
    if context.teardowns:
        await context.teardowns.close(exc)

"""The lifecycle trace: see what one request passed through, and for how long.

With ``App(trace=True)`` (or ``MINIMAL_ASGI_TRACE=1``) each request records a
span per layer - every middleware, the routing decision, each hook, the
endpoint, sending the response - and logs them as one tree through the
``minimal_asgi.trace`` logger when the request ends::

    GET /items/3 -> 200 in 0.412 ms
    ├─ middleware RequestId 0.371 ms
    │  └─ router matched /items/{item_id:int} -> read_item 0.290 ms
    │     ├─ endpoint read_item 0.051 ms
    │     └─ response 200 0.040 ms

A traced request takes the same path as any other: the same middleware
stack, router and route handler. Tracing only wraps some of their parts, once,
when the app is built - each middleware in a ``TracedLayer``, the router in a
``RouterSpan``, the endpoint call and each hook in ``spanned``, and the
dependency resolution in a ``TracedContext``. When tracing is off none of
these wrappers exists, so none of this code is on the request path.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from minimal_asgi.dependencies import Dependant
from minimal_asgi.hooks import hook_name
from minimal_asgi.resolution import Context, WebSocketContext
from minimal_asgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "RouterSpan",
    "Trace",
    "TracedContext",
    "TracedLayer",
    "TracedWebSocketContext",
    "current_trace",
    "logger",
    "spanned",
]

P = ParamSpec("P")
T = TypeVar("T")

logger = logging.getLogger("minimal_asgi.trace")
current_trace: ContextVar[Trace | None] = ContextVar("minimal_asgi_trace", default=None)


class Trace:
    """The spans of one request, in the order they started."""

    __slots__ = ("_depth", "spans", "started", "title")

    def __init__(self, title: str) -> None:
        self.title = title
        self.started = time.perf_counter()
        self.spans: list[list[Any]] = []  # [depth, label, start, end]
        self._depth = 0

    def enter(self, label: str) -> int:
        self.spans.append([self._depth, label, time.perf_counter(), None])
        self._depth += 1
        return len(self.spans) - 1

    def exit(self, index: int, label: str | None = None) -> None:
        span = self.spans[index]
        span[3] = time.perf_counter()
        if label is not None:
            span[1] = label
        self._depth -= 1

    def render(self, status: int | None) -> str:
        total = (time.perf_counter() - self.started) * 1000
        lines = [f"{self.title} -> {status if status is not None else 'no response'} "
                 f"in {total:.3f} ms"]
        # A span is the last of its siblings if no later span has the same
        # depth before one with a smaller depth appears.
        last = [True] * len(self.spans)
        for i, (depth, *_rest) in enumerate(self.spans):
            for later in self.spans[i + 1 :]:
                if later[0] < depth:
                    break
                if later[0] == depth:
                    last[i] = False
                    break
        open_columns: list[bool] = []
        for i, (depth, label, start, end) in enumerate(self.spans):
            del open_columns[depth:]
            prefix = "".join("│  " if column else "   " for column in open_columns)
            branch = "└─ " if last[i] else "├─ "
            took = f" {(end - start) * 1000:.3f} ms" if end is not None else " (unfinished)"
            lines.append(f"{prefix}{branch}{label}{took}")
            open_columns.append(not last[i])
        return "\n".join(lines)


class TracedLayer:
    """Wraps one middleware so the trace shows when it was entered and left."""

    def __init__(self, app: ASGIApp, label: str) -> None:
        self.app = app
        self.label = label

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        trace = current_trace.get()
        if trace is None:
            await self.app(scope, receive, send)
            return
        index = trace.enter(self.label)
        try:
            await self.app(scope, receive, send)
        finally:
            trace.exit(index)


class RouterSpan:
    """Wraps the router: one span for the routing decision and everything the
    route did, labelled when it ends with what the router found, and a
    "response" span from the first message of the response to its last."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        trace = current_trace.get()
        if trace is None:
            await self.app(scope, receive, send)
            return
        response_span = -1

        async def send_in_span(message: Message) -> None:
            nonlocal response_span
            kind = message["type"]
            if kind == "http.response.start":
                response_span = trace.enter(f"response {message['status']}")
            await send(message)
            last = kind == "http.response.body" and not message.get("more_body", False)
            if last and response_span >= 0:
                trace.exit(response_span)
                response_span = -1

        index = trace.enter("router")
        try:
            await self.app(scope, receive, send_in_span)
        finally:
            route = scope.get("route")
            if route is not None:
                label = f"router matched {route.path} -> {route.name}"
            else:
                label = f"router no match for {scope.get('method', scope['type'])} {scope['path']}"
            trace.exit(index, label)


def spanned(
    func: Callable[P, Awaitable[T]],
    label: str,
    outcome: Callable[[T], str] | None = None,
) -> Callable[P, Awaitable[T]]:
    """``func`` (async), recording a span named ``label`` around each call;
    ``outcome(result)`` may rename the span once the result is known."""

    @functools.wraps(func)
    async def recorded(*args: P.args, **kwargs: P.kwargs) -> T:
        trace = current_trace.get()
        if trace is None:
            return await func(*args, **kwargs)
        index = trace.enter(label)
        try:
            result = await func(*args, **kwargs)
        finally:
            trace.exit(index)
        if outcome is not None:
            trace.spans[index][1] = outcome(result)
        return result

    return recorded


class _TracedResolution:
    """Spans for dependency injection: the whole resolution, each dependency
    called (a cached one is not called again, so shows no span), and the work
    after the response. Mixed into both kinds of Context."""

    __slots__ = ()

    async def solve_endpoint(self, dependant: Dependant) -> dict[str, Any]:
        trace = current_trace.get()
        if trace is None:
            return await super().solve_endpoint(dependant)  # type: ignore[misc, no-any-return]
        index = trace.enter("dependencies")
        try:
            return await super().solve_endpoint(dependant)  # type: ignore[misc, no-any-return]
        finally:
            trace.exit(index)

    async def call(self, dependant: Dependant) -> Any:
        trace = current_trace.get()
        cache: dict[Any, Any] = self.cache  # type: ignore[attr-defined]
        if trace is None or (dependant.use_cache and dependant.call in cache):
            return await super().call(dependant)  # type: ignore[misc]
        index = trace.enter(f"dependency {hook_name(dependant.call)}")
        try:
            return await super().call(dependant)  # type: ignore[misc]
        finally:
            trace.exit(index)

    async def after_response(self, exc: BaseException | None) -> None:
        trace = current_trace.get()
        idle = self.background is None and not self.teardowns  # type: ignore[attr-defined]
        if trace is None or idle:
            await super().after_response(exc)  # type: ignore[misc]
            return
        index = trace.enter("after response: background tasks, dependency teardowns")
        try:
            await super().after_response(exc)  # type: ignore[misc]
        finally:
            trace.exit(index)


class TracedContext(_TracedResolution, Context):
    """A Context that records spans (App(trace=True))."""

    __slots__ = ()


class TracedWebSocketContext(_TracedResolution, WebSocketContext):
    """A WebSocketContext that records spans (App(trace=True))."""

    __slots__ = ()


async def run_traced(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run ``app`` for one request, recording a trace, and log it at the end."""
    title = f"{scope.get('method', scope['type'].upper())} {scope['path']}"
    trace = Trace(title)
    token = current_trace.set(trace)
    status: int | None = None

    async def record_status(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    try:
        await app(scope, receive, record_status)
    finally:
        current_trace.reset(token)
        logger.info("%s", trace.render(status))

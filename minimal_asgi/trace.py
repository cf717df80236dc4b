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

When tracing is off, none of this code is on the request path: the app is
assembled without the tracing layers (see ``App.build``).
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

from minimal_asgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Trace", "TracedLayer", "current_trace", "logger"]

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

"""Middleware: layers that wrap the whole app, in pure ASGI.

A middleware is a class taking the next ASGI app (and its options) and being
an ASGI app itself::

    class AddServerHeader:
        def __init__(self, app, value="minimal_asgi"):
            self.app, self.value = app, value.encode()

        async def __call__(self, scope, receive, send):
            async def send_with_header(message):
                if message["type"] == "http.response.start":
                    message["headers"] = [*message["headers"], (b"server", self.value)]
                await send(message)
            await self.app(scope, receive, send_with_header)

Nothing is buffered, so streaming, background tasks and context variables
keep working (the trouble with Starlette's ``BaseHTTPMiddleware``).

Order: the list ``App(middleware=[A, B])`` runs A outermost (first to see the
request, last to see the response). ``app.add_middleware(C)`` wraps everything
added before it, so C becomes the new outermost layer - the same rules as
Starlette. The stack is built once, when the app starts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from minimal_asgi.trace import TracedLayer
from minimal_asgi.types import ASGIApp

__all__ = ["Middleware", "build_middleware_stack"]


class Middleware:
    """A middleware class and the options to build it with, for ``App(middleware=[...])``."""

    __slots__ = ("args", "cls", "kwargs")

    def __init__(self, cls: Any, /, *args: Any, **kwargs: Any) -> None:
        self.cls = cls
        self.args = args
        self.kwargs = kwargs

    def __iter__(self) -> Iterator[Any]:
        return iter((self.cls, self.args, self.kwargs))

    @property
    def name(self) -> str:
        return getattr(self.cls, "__name__", repr(self.cls))

    def __repr__(self) -> str:
        options = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"Middleware({', '.join([self.name, *options])})"


def build_middleware_stack(app: ASGIApp, middleware: Sequence[Middleware], trace: bool) -> ASGIApp:
    """Wrap ``app`` so that ``middleware[0]`` is the outermost layer.

    We wrap from the innermost (last) outwards. With tracing on, each layer is
    itself wrapped by a ``TracedLayer`` that records its span; with tracing off
    nothing extra is added.
    """
    for entry in reversed(middleware):
        app = entry.cls(app, *entry.args, **entry.kwargs)
        if trace:
            app = TracedLayer(app, f"middleware {entry.name}")
    return app

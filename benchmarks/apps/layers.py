"""The plaintext answer built up one layer at a time, for benchmarks/layers.py.

Each variant answers ``GET /plaintext`` with ``Hello, World!`` as text, and
each adds one thing to the one before it, so that the difference between two
neighbours is what that one thing costs:

* ``constant``: raw ASGI sending a header list and a body built once, at
  import (the raw app of the overhead benchmark);
* ``encoded``: the body encoded per request and its content-length formatted
  (``b"%d" % len(body)``), as any app answering with a computed str must;
* ``prebuilt length``: the same with the content-length header taken from a
  table built at import (what minimal_asgi does for short bodies);
* ``+ endpoint``: the str comes from a separate ``async def`` endpoint that the
  app awaits - the coroutine every framework calling user code pays for;
* ``+ app object``: the app is a class instance (``__call__``), as a
  framework's app object is, rather than a function;
* ``+ router object``: the app object awaits a router object's bound
  ``__call__``, which finds the route in a dict and awaits its handler;
* ``+ handler``: the router awaits a per-route handler coroutine that calls
  the endpoint and sends the answer - the shape of minimal_asgi's hot path;
* ``minimal_asgi``: the real thing (the overhead benchmark's plaintext app).
"""

from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.apps import overhead
from benchmarks.apps.common import raw_lifespan
from benchmarks.harness import Expected, HTTPRequest

__all__ = ["EXPECTED", "REQUEST", "VARIANTS", "build"]

REQUEST = HTTPRequest(path="/plaintext")
EXPECTED = Expected(content_type="text/plain", body=b"Hello, World!")
VARIANTS = ("constant", "encoded", "prebuilt length", "+ endpoint", "+ app object",
            "+ router object", "+ handler", "minimal_asgi")

Scope = dict[str, Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_TYPE = (b"content-type", b"text/plain; charset=utf-8")
_TEXT = "Hello, World!"
_BODY = _TEXT.encode()
_HEADERS = [_TYPE, (b"content-length", b"%d" % len(_BODY))]
_LENGTHS = tuple((b"content-length", b"%d" % n) for n in range(4096))


async def hello() -> str:
    """The user's endpoint."""
    return "Hello, World!"


async def constant(scope: Scope, receive: Any, send: Send) -> None:
    if scope["type"] != "http":
        return await raw_lifespan(receive, send)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})


async def encoded(scope: Scope, receive: Any, send: Send) -> None:
    if scope["type"] != "http":
        return await raw_lifespan(receive, send)
    body = _TEXT.encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [_TYPE, (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


async def prebuilt_length(scope: Scope, receive: Any, send: Send) -> None:
    if scope["type"] != "http":
        return await raw_lifespan(receive, send)
    body = _TEXT.encode()
    size = len(body)
    await send({"type": "http.response.start", "status": 200,
                "headers": [_TYPE, _LENGTHS[size] if size < 4096 else
                            (b"content-length", b"%d" % size)]})
    await send({"type": "http.response.body", "body": body})


async def with_endpoint(scope: Scope, receive: Any, send: Send) -> None:
    if scope["type"] != "http":
        return await raw_lifespan(receive, send)
    body = (await hello()).encode()
    size = len(body)
    await send({"type": "http.response.start", "status": 200,
                "headers": [_TYPE, _LENGTHS[size] if size < 4096 else
                            (b"content-length", b"%d" % size)]})
    await send({"type": "http.response.body", "body": body})


class AppObject:
    """``with_endpoint``, as a method of an app object."""

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return await raw_lifespan(receive, send)
        body = (await hello()).encode()
        size = len(body)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [_TYPE, _LENGTHS[size] if size < 4096 else
                                (b"content-length", b"%d" % size)]})
        await send({"type": "http.response.body", "body": body})


class Router:
    """A dict of paths; with ``handlers``, each path's value is a handler
    coroutine; without, the endpoint, called and answered here."""

    def __init__(self, handlers: bool) -> None:
        self.routes: dict[str, Any] = {"/plaintext": _handle if handlers else hello}
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        route = self.routes[scope["path"]]
        if self.handlers:
            await route(scope, receive, send)
            return
        body = (await route()).encode()
        size = len(body)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [_TYPE, _LENGTHS[size] if size < 4096 else
                                (b"content-length", b"%d" % size)]})
        await send({"type": "http.response.body", "body": body})


async def _handle(scope: Scope, receive: Any, send: Send) -> None:
    body = (await hello()).encode()
    size = len(body)
    await send({"type": "http.response.start", "status": 200,
                "headers": [_TYPE, _LENGTHS[size] if size < 4096 else
                            (b"content-length", b"%d" % size)]})
    await send({"type": "http.response.body", "body": body})


class RoutedApp:
    """An app object that awaits its router's bound ``__call__``."""

    def __init__(self, handlers: bool) -> None:
        self.route = Router(handlers).__call__

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return await raw_lifespan(receive, send)
        await self.route(scope, receive, send)


def build(variant: str, case: str = "plaintext") -> Any:
    """The app of ``variant`` (``case`` is always plaintext: the harness's
    uvicorn entry point names a case)."""
    builders: dict[str, Callable[[], Any]] = {
        "constant": lambda: constant,
        "encoded": lambda: encoded,
        "prebuilt length": lambda: prebuilt_length,
        "+ endpoint": lambda: with_endpoint,
        "+ app object": AppObject,
        "+ router object": lambda: RoutedApp(handlers=False),
        "+ handler": lambda: RoutedApp(handlers=True),
        "minimal_asgi": lambda: overhead.build("minimal_asgi", "plaintext"),
    }
    return builders[variant]()

"""Raw ASGI apps for the server tests: each does one thing, and remembers what it saw.

They speak the protocol directly (no framework), so a test shows exactly which
messages a server delivers. The ones named in a ``module:attribute`` string are
also started in a subprocess by the command-line tests.
"""

from __future__ import annotations

import json
import os
import threading
import time

import anyio

from minimal_asgi import App
from minimal_asgi.types import Message, Receive, Scope, Send


async def answer(send: Send, body: bytes, status: int = 200, content_type: bytes = b"text/plain",
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()), *(headers or [])],
    })
    await send({"type": "http.response.body", "body": body})


async def lifespan(receive: Receive, send: Send, events: list[str] | None = None) -> None:
    while True:
        message = await receive()
        phase = message["type"].removeprefix("lifespan.")
        if events is not None:
            events.append(phase)
        await send({"type": f"lifespan.{phase}.complete"})
        if phase == "shutdown":
            return


class Recorder:
    """Answers every request with its scope and body as JSON; keeps every message it received."""

    def __init__(self) -> None:
        self.calls = 0
        self.messages: list[Message] = []
        self.lifespan: list[str] = []
        self.disconnected = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, self.lifespan)
            return
        self.calls += 1
        body, more_body, chunks = b"", True, 0
        while more_body:
            message = await receive()
            self.messages.append(message)
            if message["type"] == "http.disconnect":
                self.disconnected.set()
                return
            body += message.get("body", b"")
            chunks += 1
            more_body = message.get("more_body", False)
        seen = {
            key: scope[key]
            for key in ("type", "http_version", "method", "scheme", "path", "root_path", "asgi")
        }
        seen.update(
            raw_path=scope["raw_path"].decode("latin-1"),
            query_string=scope["query_string"].decode("latin-1"),
            headers=[[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
            client=list(scope["client"]), server=list(scope["server"]),
            body=body.decode("latin-1"), chunks=chunks,
        )
        await answer(send, json.dumps(seen).encode(), content_type=b"application/json")


async def chunked(scope: Scope, receive: Receive, send: Send) -> None:
    """A response in three parts and no Content-Length: the server must frame it."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    for part in (b"one ", b"two ", b"three"):
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


class Streamer:
    """Sends a first chunk, then waits for http.disconnect (as an SSE stream would)."""

    def __init__(self) -> None:
        self.disconnected = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        await receive()  # the (empty) request body
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": b"data: first\n\n", "more_body": True})
        if (await receive())["type"] == "http.disconnect":
            self.disconnected.set()


class BackgroundWork:
    """Answers, then keeps working (a background task) until ``release`` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        await answer(send, scope["path"].encode())
        if scope["path"] == "/with-background-work":
            await anyio.to_thread.run_sync(self.release.wait, abandon_on_cancel=True)


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """200 "hello" without reading the body."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    await answer(send, b"hello")


async def crash(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    raise RuntimeError("the app has a bug")


class Slow:
    """Answers after ``seconds``; ``events`` says what happened, in order."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = threading.Event()
        self.events: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, self.events)
            return
        self.started.set()
        await anyio.sleep(self.seconds)
        await answer(send, b"done")
        self.events.append("answered")


class WebSocketEcho:
    """Echoes text and bytes; "close <code>" closes with that code; remembers the client's code."""

    def __init__(self) -> None:
        self.disconnect_code: int | None = None
        self.disconnected = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] == "http":
            await answer(send, b"not a websocket")
            return
        assert (await receive())["type"] == "websocket.connect"
        if scope["path"] == "/refuse":
            await send({"type": "websocket.close", "code": 1000})
            return
        protocols = scope.get("subprotocols") or []
        await send({"type": "websocket.accept", "subprotocol": protocols[0] if protocols else None})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                self.disconnect_code = message["code"]
                self.disconnected.set()
                return
            text = message.get("text")
            if text is not None and text.startswith("close "):
                await send({"type": "websocket.close", "code": int(text.split()[1]),
                            "reason": "asked to"})
                continue  # the client answers the close; then we hear the disconnect
            if text is not None:
                await send({"type": "websocket.send", "text": text})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"]})


class WebSocketRecorder:
    """Accepts, then keeps every message it receives; reads only once ``reading`` is set."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.reading = threading.Event()
        self.reading.set()
        self.disconnect_code: int | None = None
        self.disconnected = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await anyio.to_thread.run_sync(self.reading.wait, abandon_on_cancel=True)
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                self.disconnect_code = message["code"]
                self.disconnected.set()
                return
            self.messages.append(message)


# -- for the command-line tests (started as module:attribute in a subprocess) -------
async def startup_fails(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "lifespan"
    await receive()
    await send({"type": "lifespan.startup.failed",
                "message": "database at db.internal:5432 is down"})


async def pid(scope: Scope, receive: Receive, send: Send) -> None:
    """Which process answered; ``/block`` holds this worker's event loop for a moment."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["path"] == "/block":
        time.sleep(0.5)  # deliberately blocks this worker: the next connection goes to another
    await answer(send, str(os.getpid()).encode())


async def lifespan_printer(scope: Scope, receive: Receive, send: Send) -> None:
    """Prints its lifespan events, so a subprocess test can see the order."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            print(f"app: {message['type']}", flush=True)
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    print(f"app: received {scope['path']}", flush=True)
    await anyio.sleep(float(scope["query_string"] or 0))
    print(f"app: answered {scope['path']}", flush=True)
    await answer(send, b"done")


async def body_before_start(scope: Scope, receive: Receive, send: Send) -> None:
    """Breaks the ASGI order: what --validate is for."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    await send({"type": "http.response.body", "body": b"too early"})


def _connect_to_database() -> None:
    raise RuntimeError("database at db.internal:5432 is down")


framework_startup_fails = App(on_startup=[_connect_to_database])

"""The app every server runs in test_compat.py: the todo example's API, and three
things todo has not got - a WebSocket echo, a slow endpoint, and a lifespan
that says when it runs.

Its own module, and a fresh ``App`` around todo's ``v1`` router: it is started
only in a server's subprocess (``tests.server.compat_app:app``), so the test
process never builds it and the todo example's own app is left as it is.
What the app does is printed to stdout (flushed), where the test reads it:

- ``app: startup`` / ``app: shutdown`` when the lifespan runs;
- ``app: received /slow`` / ``app: answered /slow`` around the slow request.
"""

from __future__ import annotations

import anyio

from examples.todo.app import v1
from minimal_asgi import App, WebSocket

# Small, so a 413 costs a few KiB on the wire; the route settings come from the
# app that builds them, so todo's routes under this app have this limit.
MAX_BODY_SIZE = 16 * 1024
# Long enough to send SIGTERM while the request is in flight, on a busy machine too.
SLOW_SECONDS = 2.0

lifespan_events: list[str] = []


def _say(line: str) -> None:
    print(f"app: {line}", flush=True)


def say_started() -> None:
    lifespan_events.append("startup")
    _say("startup")


def say_stopped() -> None:
    _say("shutdown")


app = App(title="Todo API under every server", max_body_size=MAX_BODY_SIZE,
          on_startup=[say_started], on_shutdown=[say_stopped])
app.include_router(v1, prefix="/v1")


@app.get("/lifespan")
async def lifespan_seen() -> list[str]:
    """The lifespan events that ran before this request: ``["startup"]``."""
    return lifespan_events


@app.get("/slow")
async def slow() -> str:
    _say("received /slow")
    await anyio.sleep(SLOW_SECONDS)
    _say("answered /slow")
    return "done"


@app.websocket("/ws/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)

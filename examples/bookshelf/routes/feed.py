"""``/feed``: a WebSocket that hears of every new book, whichever worker added it.

Each connection subscribes to the ``books`` channel of the events plugin.
With Redis, a book created on worker A is published through Redis and every
worker's subscribers get it; in memory, only this process's do. The first
message names the process serving the connection, so a test (and a curious
reader) can see the event cross from one worker to another.
"""

from __future__ import annotations

import os

import anyio

from minimal_asgi import App, WebSocket, WebSocketDisconnect

from . import BOOKS_CHANNEL, Parts


def register(app: App, parts: Parts) -> None:
    events = parts.events

    @app.websocket("/feed")
    async def feed(websocket: WebSocket) -> None:
        await websocket.accept()
        async with events.subscribe(BOOKS_CHANNEL) as messages, anyio.create_task_group() as tasks:
            # Sent once subscribed: a client that has it misses no book after.
            await websocket.send_json({"event": "subscribed", "worker": os.getpid()})

            async def forward() -> None:
                try:
                    async for message in messages:
                        await websocket.send_text(message)
                except WebSocketDisconnect:
                    tasks.cancel_scope.cancel()

            tasks.start_soon(forward)
            # The client sends nothing we need; reading is how we learn it left.
            async for _ in websocket.iter_text():
                pass
            tasks.cancel_scope.cancel()

"""A chat with rooms that works across worker processes.

    uvicorn examples.chat.app:app --workers 2

Each WebSocket connection subscribes to its room's channel and publishes what
its client sends. Redis carries every message to every worker, so a client on
one worker talks to clients on the other: no worker holds the room in its own
memory (compare the one-process chat in docs/15-websockets.md).
"""

from __future__ import annotations

import json
import os

import anyio

from examples.chat import settings as chat_settings
from minimal_asgi import App, WebSocket, WebSocketDisconnect
from minimal_asgi_events import Events
from minimal_asgi_redis import RedisConnection

settings = chat_settings.load()  # every variable this app reads (settings.py)
redis = RedisConnection(settings.redis_url)  # REDIS_URL, or the local server
# CHAT_PREFIX keeps several copies of this app (tests) apart on one Redis.
events = Events(redis=redis, prefix=settings.prefix, max_queue=100)
app = App(plugins=[redis, events])


@app.websocket("/rooms/{room}")
async def chat_room(websocket: WebSocket, room: str, name: str) -> None:
    await websocket.accept()
    async with events.subscribe(room) as messages, anyio.create_task_group() as tasks:
        # Sent once subscribed, so a client that has it misses nothing after.
        # It names the process serving this client: that is what makes the
        # cross-worker delivery visible (in the README and the test).
        await websocket.send_json({"worker": os.getpid()})

        async def forward_room_to_client() -> None:
            try:
                async for message in messages:
                    await websocket.send_text(message)
            except WebSocketDisconnect:
                tasks.cancel_scope.cancel()  # gone while we sent: stop reading too

        tasks.start_soon(forward_room_to_client)
        async for text in websocket.iter_text():
            await events.publish(room, json.dumps({"from": name, "text": text}))
        tasks.cancel_scope.cancel()  # the client left: stop forwarding


@app.post("/rooms/{room}/announcements")
async def announce(room: str, text: str, events: Events) -> dict[str, int]:
    """A message from the server (a deploy notice, say) to every member, on
    every worker. With Redis down this answers 503, not 500."""
    delivered = await events.publish(room, json.dumps({"from": "server", "text": text}))
    return {"delivered_to": delivered}

"""Pieces every benchmark app shares: the middleware, the body type, raw ASGI helpers."""

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["AddHeader", "Item", "Unavailable", "raw_lifespan", "raw_send_json"]

Scope = dict[str, Any]


class Unavailable(Exception):
    """This framework cannot run this case here; the message says why."""


@dataclass
class Item:
    """The small JSON body of the POST scenario."""

    name: str
    price: float
    quantity: int


class AddHeader:
    """A pure-ASGI middleware of the smallest useful kind: it adds a header.

    It builds a new header list instead of appending to the one it was given:
    an app may send the same prebuilt list on every response.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"x-bench", b"1")]
            await send(message)

        await self.app(scope, receive, send_with_header)


async def raw_lifespan(receive: Any, send: Any) -> None:
    """The lifespan protocol with nothing to start: what a raw app must still answer."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def raw_send_json(send: Any, data: Any) -> None:
    """What a hand-written raw ASGI app does to answer JSON: ``json.dumps`` and two messages."""
    body = json.dumps(data).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})

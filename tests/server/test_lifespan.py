"""The lifespan protocol as this server runs it (the parity with uvicorn is in test_http.py)."""

from __future__ import annotations

import json

import anyio
import pytest

from minimal_asgi.server import Config, LifespanFailure, Server
from minimal_asgi.types import Receive, Scope, Send
from tests.server.apps import answer
from tests.server.client import RawConnection, request
from tests.server.servers import minimal_asgi_server


async def http_only(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        raise ValueError(f"this app does not do {scope['type']}")
    await answer(send, b"served")


async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await receive()
        scope["state"]["pool"] = "connected"
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    scope["state"]["scribble"] = "only in this request's copy"
    await answer(send, json.dumps(scope["state"]).encode())


def test_app_without_lifespan_is_served_anyway_in_auto_mode() -> None:
    with minimal_asgi_server(http_only, lifespan="auto") as address:
        with RawConnection(address) as connection:
            connection.send(request("GET", "/"))
            assert connection.read_response().body == b"served"


def test_app_without_lifespan_fails_startup_in_on_mode() -> None:
    server = Server(http_only, Config(host="127.0.0.1", port=0, lifespan="on"))
    with pytest.raises(LifespanFailure, match="does not do lifespan"):
        anyio.run(server.serve)


def test_lifespan_state_reaches_each_request_as_a_copy() -> None:
    with minimal_asgi_server(with_state) as address, RawConnection(address) as connection:
        connection.send(request("GET", "/") + request("GET", "/"))
        first = json.loads(connection.read_response().body)
        second = json.loads(connection.read_response().body)
    assert first == second == {"pool": "connected", "scribble": "only in this request's copy"}

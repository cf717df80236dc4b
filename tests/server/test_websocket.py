"""WebSockets (RFC 6455) through the ASGI websocket scope, on both servers.

The client is the ``websockets`` library, a third implementation, so the
handshake, the framing and the closing codes are checked against code nobody
here wrote. The app is a raw ASGI echo app (tests/server/apps.py).
"""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.server import apps
from tests.server.servers import SERVERS, minimal_asgi_server, running

TIMEOUT = 10  # seconds before a silent server fails the test


@pytest.fixture(params=SERVERS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def url(address: tuple[str, int], path: str = "/echo") -> str:
    return f"ws://{address[0]}:{address[1]}{path}"


def test_text_and_bytes_are_echoed(kind: str) -> None:
    with running(kind, apps.WebSocketEcho()) as address:
        with connect(url(address), open_timeout=TIMEOUT) as ws:
            ws.send("héllo")
            assert ws.recv(TIMEOUT) == "héllo"
            ws.send(b"\x00\x01\xff")
            assert ws.recv(TIMEOUT) == b"\x00\x01\xff"


def test_large_message_in_many_frames_arrives_whole(kind: str) -> None:
    with running(kind, apps.WebSocketEcho()) as address:
        with connect(url(address), open_timeout=TIMEOUT) as ws:
            ws.send(["part one, ", "part two"])  # one message, fragmented into two frames
            assert ws.recv(TIMEOUT) == "part one, part two"


def test_app_close_code_and_reason_reach_the_client(kind: str) -> None:
    with running(kind, apps.WebSocketEcho()) as address:
        with connect(url(address), open_timeout=TIMEOUT) as ws:
            ws.send("close 4001")
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(TIMEOUT)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "asked to")


def test_client_close_code_reaches_the_app(kind: str) -> None:
    echo = apps.WebSocketEcho()
    with running(kind, echo) as address:
        with connect(url(address), open_timeout=TIMEOUT) as ws:
            ws.close(code=4002, reason="done here")
        assert echo.disconnected.wait(TIMEOUT)
    assert echo.disconnect_code == 4002


def test_ping_is_answered_with_pong(kind: str) -> None:
    with running(kind, apps.WebSocketEcho()) as address:
        with connect(url(address), open_timeout=TIMEOUT) as ws:
            assert ws.ping(b"are you there").wait(TIMEOUT)


def test_subprotocol_chosen_by_the_app_is_in_the_handshake(kind: str) -> None:
    with running(kind, apps.WebSocketEcho()) as address:
        with connect(url(address), subprotocols=["chat.v2"], open_timeout=TIMEOUT) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == "chat.v2"


def test_close_before_accept_refuses_the_handshake_with_403(kind: str) -> None:
    with running(kind, apps.WebSocketEcho()) as address:
        with pytest.raises(InvalidStatus) as refused:
            connect(url(address, "/refuse"), open_timeout=TIMEOUT)
    assert refused.value.response.status_code == 403


def test_message_over_the_limit_closes_with_1009() -> None:
    with minimal_asgi_server(apps.WebSocketEcho(), websocket_max_message=1000) as address:
        with connect(url(address), open_timeout=TIMEOUT, max_size=None) as ws:
            ws.send("x" * 1001)
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

"""WebSockets (RFC 6455) through the ASGI websocket scope, on both servers.

The client is the ``websockets`` library, a third implementation, so the
handshake, the framing and the closing codes are checked against code nobody
here wrote. The app is a raw ASGI echo app (tests/server/apps.py).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.server import apps
from tests.server.client import RawConnection, request
from tests.server.servers import SERVERS, Running, controlled_server, minimal_asgi_server, running

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


# -- this server's limits ---------------------------------------------------------------
def test_text_over_the_limit_in_utf8_bytes_closes_with_1009() -> None:
    """600 characters, 1,200 bytes: the limit counts what crosses the wire."""
    recorder = apps.WebSocketRecorder()
    with minimal_asgi_server(recorder, websocket_max_message=1000) as address:
        with connect(url(address), open_timeout=TIMEOUT, max_size=None) as ws:
            ws.send("é" * 600)
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(TIMEOUT)
        assert recorder.disconnected.wait(TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert recorder.messages == []


def test_nothing_of_an_oversized_message_reaches_the_app_after_the_close() -> None:
    """The fragments after the one over the limit are not a new message."""
    recorder = apps.WebSocketRecorder()
    with minimal_asgi_server(recorder, websocket_max_message=1000) as address:
        with connect(url(address), open_timeout=TIMEOUT, max_size=None) as ws:
            with pytest.raises(ConnectionClosed):  # (the close may come while it still sends)
                ws.send(["a" * 600, "b" * 600, "c" * 600, "d" * 600])  # one message, four frames
                ws.recv(TIMEOUT)
        assert recorder.disconnected.wait(TIMEOUT)
    assert recorder.messages == []
    assert recorder.disconnect_code == 1009


def test_client_that_never_answers_the_close_is_cut_off() -> None:
    recorder = apps.WebSocketRecorder()
    options = {"websocket_max_message": 1000, "websocket_close_timeout": 0.5}
    with minimal_asgi_server(recorder, **options) as address:
        with RawConnection(address, timeout=5) as connection:
            connection.send(request("GET", "/", WEBSOCKET_HANDSHAKE))
            assert connection.read_response().status == 101
            connection.send(frame(0x1, b"x" * 1001))
            assert connection.read_until(b"message too big")  # the server's close frame
            for n in range(5):  # ... never answered: the client streams on instead
                connection.send(frame(0x1, b"after the close %d" % n))
            assert connection.server_closed()
        assert recorder.disconnected.wait(TIMEOUT)
    assert recorder.messages == []


def test_app_that_does_not_read_holds_back_the_client_not_the_memory() -> None:
    """Backpressure: past websocket_max_queue bytes waiting for the app, reading stops."""
    recorder = apps.WebSocketRecorder()
    recorder.reading.clear()  # the app accepts, then does not read
    size = 8192
    message = b"m" * size
    with controlled_server(recorder, websocket_max_queue=16384) as server:
        with connect(url(server.address), open_timeout=TIMEOUT, max_size=None) as ws:
            for _ in range(40):  # 320 KiB: the kernel's buffers take it all
                ws.send(message)
            session = wait_for_websocket_session(server)
            deadline = time.monotonic() + TIMEOUT
            while not session.inbox.statistics().current_buffer_used:
                if time.monotonic() > deadline:
                    raise AssertionError("the server received nothing")
                time.sleep(0.01)
            time.sleep(0.3)  # time enough for a server without the bound to read it all
            waiting = session.inbox.statistics().current_buffer_used
            assert waiting * size <= 16384 + size  # the bound, and one message
            recorder.reading.set()  # the app reads now: nothing was dropped, only held back
            deadline = time.monotonic() + TIMEOUT
            while len(recorder.messages) < 40 and time.monotonic() < deadline:
                time.sleep(0.01)
    assert len(recorder.messages) == 40


def wait_for_websocket_session(server: Running) -> Any:
    """The server's one WebSocketSession, once the upgrade is done."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for connection in list(server.server.connections):
            if connection._websocket is not None:
                return connection._websocket
        time.sleep(0.01)
    raise AssertionError("no WebSocket session on the server")


WEBSOCKET_HANDSHAKE = {
    "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A client frame (RFC 6455 section 5.2), masked with a zero key so the payload shows."""
    head = bytes([(0x80 if fin else 0) | opcode])
    if len(payload) < 126:
        head += bytes([0x80 | len(payload)])
    elif len(payload) < 65536:
        head += bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + len(payload).to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload

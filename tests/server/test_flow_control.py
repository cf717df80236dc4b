"""Flow control: neither a client that sends too fast nor one that reads too slowly
makes the server hold more than a bounded number of bytes.

``connection.Transport`` keeps what the event loop has read until the protocol
code asks for it, and hands writes to the loop without waiting for each one to
be flushed. Both buffers have a ceiling (``_HIGH_WATER``): past it, the server
stops reading the socket, or the app's ``send`` waits for the client to read -
and TCP makes the other side wait in turn. These tests check what a client can
observe of that (its own sends stop being taken; a large response still arrives
whole), never how fast.
"""

from __future__ import annotations

import threading
import time

from minimal_asgi.types import Receive, Scope, Send
from tests.server import apps
from tests.server.client import TIMEOUT, RawConnection, request
from tests.server.servers import minimal_asgi_server

BIG = 32 * 1024 * 1024  # far more than the kernel's socket buffers (a few MiB) and _HIGH_WATER


class BigResponse:
    """Streams ``BIG`` bytes in 64 KiB chunks; records how far ``send`` got."""

    def __init__(self) -> None:
        self.sent = 0
        self.finished = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await apps.lifespan(receive, send)
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(BIG).encode())]})
        chunk = b"x" * 65536
        while self.sent < BIG:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            self.sent += len(chunk)
        await send({"type": "http.response.body", "body": b""})
        self.finished.set()


def test_a_client_that_does_not_read_holds_up_the_app_not_the_servers_memory() -> None:
    app = BigResponse()
    with minimal_asgi_server(app) as address:
        with RawConnection(address) as connection:
            connection.send(request("GET", "/"))
            # The client reads nothing: the app's sends must stop well short of
            # the whole body (kernel buffers plus _HIGH_WATER), not pile it all up.
            deadline = time.monotonic() + TIMEOUT
            previous = -1
            while app.sent != previous and time.monotonic() < deadline:
                previous = app.sent
                time.sleep(0.3)  # until send() stops making progress
            assert not app.finished.is_set()
            assert app.sent < BIG
            # Once the client reads, the rest follows, every byte of it.
            assert connection.read_until(b"\r\n\r\n").startswith(b"HTTP/1.1 200 ")
            received = len(connection.buffer)  # (what came with the head)
            connection.sock.settimeout(TIMEOUT)
            while received < BIG:
                data = connection.sock.recv(1 << 20)
                assert data, f"closed after {received} of {BIG} bytes"
                received += len(data)
    assert received == BIG
    assert app.finished.wait(TIMEOUT)


def test_a_client_sending_while_the_app_works_is_made_to_wait() -> None:
    """While the app works, the next request may start to arrive; past a bound, no more."""
    app = apps.Slow(60)
    with minimal_asgi_server(app, shutdown_timeout=0.2) as address:
        with RawConnection(address) as connection:
            connection.send(request("GET", "/"))
            assert app.started.wait(TIMEOUT)
            connection.sock.setblocking(False)
            sent = 0
            stalled_at = time.monotonic() + TIMEOUT
            while time.monotonic() < stalled_at:
                try:
                    sent += connection.sock.send(b"x" * 65536)
                except BlockingIOError:
                    break  # the server stopped taking bytes: TCP makes us wait
            connection.sock.setblocking(True)
    assert sent < BIG

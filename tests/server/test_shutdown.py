"""Graceful shutdown: stop accepting, let requests in flight finish, then lifespan shutdown.

What a deployment does to a server many times a day (a new release, a scaled-down
pod): SIGTERM, then a grace period, then SIGKILL. A server that drops requests
in flight on SIGTERM turns every deploy into a burst of errors.
"""

from __future__ import annotations

import signal
import socket
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.server import apps
from tests.server.client import RawConnection, RawResponse, request
from tests.server.servers import ServerProcess, controlled_server

TIMEOUT = 10


def get_in_thread(
    address: tuple[str, int], path: str = "/"
) -> tuple[threading.Thread, list[RawResponse]]:
    """GET ``path`` from a thread; the response lands in the list."""
    responses: list[RawResponse] = []

    def get() -> None:
        with RawConnection(address) as connection:
            connection.send(request("GET", path))
            responses.append(connection.read_response())

    thread = threading.Thread(target=get)
    thread.start()
    return thread, responses


def test_request_in_flight_finishes_before_lifespan_shutdown() -> None:
    app = apps.Slow(0.5)
    with controlled_server(app) as server:
        thread, responses = get_in_thread(server.address)
        assert app.started.wait(TIMEOUT)
        server.shutdown()
        thread.join(TIMEOUT)
        server.wait_stopped()
    assert [(r.status, r.body) for r in responses] == [(200, b"done")]
    assert responses[0].header("connection") == "close"  # the last response on its connection
    assert app.events == ["startup", "answered", "shutdown"]


def test_new_connections_are_refused_once_shutdown_begins() -> None:
    app = apps.Slow(0.5)
    with controlled_server(app) as server:
        thread, _ = get_in_thread(server.address)
        assert app.started.wait(TIMEOUT)
        server.shutdown()
        assert refuses_connections(server.address)
        thread.join(TIMEOUT)


def refuses_connections(address: tuple[str, int]) -> bool:
    """Whether the port ends up refusing connections (the listener is closed soon after
    shutdown() returns, so a connection may still get in just before)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            socket.create_connection(address, timeout=TIMEOUT).close()
        except ConnectionRefusedError:
            return True
        except ConnectionResetError:  # queued just as the listener closed: try again
            pass
        time.sleep(0.01)
    return False


def test_idle_keep_alive_connection_is_closed_at_shutdown() -> None:
    with controlled_server(apps.hello) as server, RawConnection(server.address) as connection:
        connection.send(request("GET", "/"))
        assert connection.read_response().status == 200
        server.shutdown()
        server.wait_stopped()  # it did not wait for this idle connection
        assert connection.server_closed()


def test_request_still_running_after_the_grace_period_is_cancelled() -> None:
    app = apps.Slow(60)
    with controlled_server(app, shutdown_timeout=0.2) as server:
        with RawConnection(server.address) as connection:
            connection.send(request("GET", "/"))
            assert app.started.wait(TIMEOUT)
            server.shutdown()
            server.wait_stopped()
            assert connection.server_closed()  # closed without an answer
    assert app.events == ["startup", "shutdown"]  # the lifespan shutdown still ran


def test_open_websocket_is_closed_with_1012_at_shutdown() -> None:
    echo = apps.WebSocketEcho()
    with controlled_server(echo) as server:
        host, port = server.address
        with connect(f"ws://{host}:{port}/", open_timeout=TIMEOUT) as ws:
            server.shutdown()
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(TIMEOUT)
        server.wait_stopped()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert echo.disconnect_code == 1012


def test_sigterm_lets_the_request_in_flight_finish_then_runs_lifespan_shutdown() -> None:
    with ServerProcess("tests.server.apps:lifespan_printer") as server:
        thread, responses = get_in_thread(server.address, "/slow?0.5")
        server.wait_for("app: received /slow")
        server.signal(signal.SIGTERM)
        thread.join(TIMEOUT)
        status = server.wait()
    app_lines = [line for line in server.lines if line.startswith("app:")]
    assert [(r.status, r.body) for r in responses] == [(200, b"done")]
    assert status == 0, server.output
    assert app_lines == [
        "app: lifespan.startup",
        "app: received /slow",
        "app: answered /slow",
        "app: lifespan.shutdown",
    ]


def test_sigint_stops_the_server_like_sigterm() -> None:
    with ServerProcess("tests.server.apps:lifespan_printer") as server:
        server.signal(signal.SIGINT)
        assert server.wait() == 0, server.output
    assert "app: lifespan.shutdown" in server.lines

"""Each limit has a safe default and a command-line option; beyond it, a clear status.

The limits are set small here so the tests stay small; each test checks what
the client gets and that the app was spared, never how fast it happened.
"""

from __future__ import annotations

import socket
import time

from tests.server import apps
from tests.server.client import RawConnection, request
from tests.server.servers import minimal_asgi_server


def test_request_line_over_the_limit_is_414() -> None:
    recorder = apps.Recorder()
    with minimal_asgi_server(recorder, max_request_line=100) as address:
        with RawConnection(address) as connection:
            connection.send(request("GET", "/" + "a" * 200))
            assert connection.read_response().status == 414
            assert connection.server_closed()
        with RawConnection(address) as connection:  # just under the limit is fine
            connection.send(request("GET", "/" + "a" * 80))
            assert connection.read_response().status == 200
    assert recorder.calls == 1


def test_request_line_over_the_limit_is_refused_before_it_ends() -> None:
    with minimal_asgi_server(apps.hello, max_request_line=100) as address:
        with RawConnection(address) as connection:
            connection.send(b"GET /" + b"a" * 5000)  # no end of line yet, and never will be
            assert connection.read_response().status == 414


def test_headers_over_the_limit_are_431() -> None:
    recorder = apps.Recorder()
    with minimal_asgi_server(recorder, max_header_bytes=1024) as address:
        with RawConnection(address) as connection:
            connection.send(request("GET", "/", {f"X-Header-{n}": "v" * 50 for n in range(40)}))
            assert connection.read_response().status == 431
            assert connection.server_closed()
    assert recorder.calls == 0


def test_head_limit_holds_for_a_head_sent_one_byte_at_a_time() -> None:
    recorder = apps.Recorder()
    with minimal_asgi_server(recorder, max_header_bytes=1024) as address:
        with RawConnection(address) as connection:
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.send(b"GET / HTTP/1.1\r\nHost: testserver\r\nX-Padding: " + b"p" * 950)
            for _ in range(200):  # past the limit a byte at a time, never ending the head
                try:
                    connection.send(b"p")
                except OSError:  # the server has answered and closed
                    break
                time.sleep(0.002)
            assert connection.read_response().status == 431
    assert recorder.calls == 0


def test_declared_body_over_the_limit_is_413_before_the_app_runs() -> None:
    recorder = apps.Recorder()
    with minimal_asgi_server(recorder, max_body_bytes=100) as address:
        with RawConnection(address) as connection:
            connection.send(request("POST", "/", body=b"x" * 101))
            assert connection.read_response().status == 413
            assert connection.server_closed()
    assert recorder.calls == 0


def test_client_expecting_100_continue_gets_413_instead_and_never_uploads() -> None:
    with minimal_asgi_server(apps.Recorder(), max_body_bytes=100) as address:
        with RawConnection(address) as connection:
            head = request("POST", "/", {"Content-Length": "5000", "Expect": "100-continue"})
            connection.send(head)
            assert connection.read_response().status == 413


def test_chunked_body_over_the_limit_is_413_and_a_disconnect_for_the_app() -> None:
    recorder = apps.Recorder()
    with minimal_asgi_server(recorder, max_body_bytes=100) as address:
        with RawConnection(address) as connection:
            connection.send(
                b"POST / HTTP/1.1\r\nHost: testserver\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"40\r\n" + b"x" * 64 + b"\r\n"
            )
            time.sleep(0.1)  # the app is reading the body when the rest comes
            connection.send(b"40\r\n" + b"x" * 64 + b"\r\n")
            assert connection.read_response().status == 413
        assert recorder.disconnected.wait(10)
    delivered = b"".join(m.get("body", b"") for m in recorder.messages)
    assert len(delivered) <= 100  # the app never got more than the limit


def test_chunked_body_over_the_limit_with_the_head_is_413_and_the_app_is_spared() -> None:
    recorder = apps.Recorder()
    with minimal_asgi_server(recorder, max_body_bytes=100) as address:
        with RawConnection(address) as connection:
            connection.send(
                b"POST / HTTP/1.1\r\nHost: testserver\r\nTransfer-Encoding: chunked\r\n\r\n"
                + b"40\r\n" + b"x" * 64 + b"\r\n" + b"40\r\n" + b"x" * 64 + b"\r\n"
            )
            assert connection.read_response().status == 413
            assert connection.server_closed()
    assert recorder.calls == 0


def test_connections_beyond_the_limit_get_503() -> None:
    with minimal_asgi_server(apps.hello, max_connections=1) as address:
        with RawConnection(address) as first:
            first.send(request("GET", "/"))
            assert first.read_response().status == 200  # ... and stays open
            with RawConnection(address) as second:
                second.send(request("GET", "/"))
                refused = second.read_response()
                assert refused.status == 503
                assert refused.header("retry-after") == "1"
                assert second.server_closed()
        assert served_within(address, seconds=10)  # once the server sees the first go: room again


def served_within(address: tuple[str, int], seconds: float) -> bool:
    """Whether a new connection gets a 200 (retrying while the server counts the old ones out)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with RawConnection(address) as connection:
            connection.send(request("GET", "/"))
            if connection.read_response().status == 200:
                return True
        time.sleep(0.05)
    return False


def test_slow_client_is_cut_off_by_the_read_timeout() -> None:
    """Slowloris: a request head one byte every 0.2 s would hold a connection forever."""
    recorder = apps.Recorder()
    head = request("GET", "/", {"X-Padding": "p" * 40})
    with minimal_asgi_server(recorder, read_timeout=0.5) as address:
        with RawConnection(address) as connection:
            sent = 0
            connection.sock.setblocking(False)
            for byte in head:
                try:
                    connection.sock.send(bytes([byte]))
                    sent += 1
                    answer = connection.sock.recv(1024)
                    break  # the server said something (or closed): stop sending
                except BlockingIOError:
                    time.sleep(0.2)
                except OSError:  # the server has closed on us
                    answer = b""
                    break
            connection.sock.setblocking(True)
    assert sent < len(head)  # cut off before the head was complete
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert recorder.calls == 0


def test_stalled_body_is_408_and_a_disconnect_for_the_app() -> None:
    recorder = apps.Recorder()
    with minimal_asgi_server(recorder, read_timeout=0.5) as address:
        with RawConnection(address) as connection:
            connection.send(request("POST", "/", {"Content-Length": "10"}) + b"abc")
            assert connection.read_response().status == 408  # ... and the rest never comes
        assert recorder.disconnected.wait(10)


def test_idle_keep_alive_connection_is_closed_after_the_timeout() -> None:
    with minimal_asgi_server(apps.hello, keep_alive_timeout=0.3) as address:
        with RawConnection(address) as connection:
            connection.send(request("GET", "/"))
            assert connection.read_response().status == 200
            assert connection.server_closed()  # nothing more sent: the server hangs up


def test_the_keep_alive_timeout_starts_again_after_each_response() -> None:
    """The connection's timer is kept from one request to the next (``_Alarm``):
    when it comes, a deadline moved later since must keep the connection open."""
    # Each wait is 0.8 s inside the timeout (a busy machine must not fail it);
    # the third request comes 2.4 s after the first response, past a timer
    # that was not set again.
    with minimal_asgi_server(apps.hello, keep_alive_timeout=2.0) as address:
        with RawConnection(address) as connection:
            for _ in range(3):
                connection.send(request("GET", "/"))
                assert connection.read_response().status == 200
                time.sleep(1.2)
            assert connection.server_closed()  # idle since the last one: hung up


def test_a_head_begun_after_a_long_keep_alive_wait_gets_the_shorter_read_timeout() -> None:
    """A deadline moved earlier than the timer running (keep-alive, then a head's
    read_timeout) gets a timer of its own: the 408 comes long before the keep-alive
    timeout, within the client's 5 s."""
    with minimal_asgi_server(apps.hello, keep_alive_timeout=60, read_timeout=0.5) as address:
        with RawConnection(address, timeout=5) as connection:
            connection.send(request("GET", "/"))
            assert connection.read_response().status == 200
            connection.send(b"GET / HTTP/1.1\r\nHost: exa")  # ... and the rest never comes
            assert connection.read_response().status == 408


def test_a_new_connection_that_sends_nothing_is_closed_after_the_keep_alive_timeout() -> None:
    with minimal_asgi_server(apps.hello, keep_alive_timeout=0.3) as address:
        with socket.create_connection(address, timeout=10) as sock:
            assert sock.recv(1024) == b""

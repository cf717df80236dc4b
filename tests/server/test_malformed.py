"""Malformed requests get a 400 and a closed connection; the app never hears of them.

Each case is a way for two HTTP parsers to disagree on where a request ends -
the root of request smuggling - or simply bytes that are not HTTP. RFC 9112
lets a server refuse each one; this server always does.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator

import anyio
import pytest

from minimal_asgi.types import ASGIApp, Receive, Scope, Send
from tests.server import apps
from tests.server.client import RawConnection, request
from tests.server.servers import SERVERS, minimal_asgi_server, running

HEAD = b"POST / HTTP/1.1\r\nHost: testserver\r\n"

MALFORMED = {
    "bad_request_line": b"GET/HTTP/1.1\r\nHost: testserver\r\n\r\n",
    "garbage": b"\x16\x03\x01\x02\x00\x01\x00\r\n\r\n",  # a TLS hello sent to plain HTTP
    "duplicate_content_length": HEAD + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    "conflicting_content_length": HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "content_length_list": HEAD + b"Content-Length: 5, 5\r\n\r\nhello",
    "content_length_with_transfer_encoding": (
        HEAD + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "obsolete_line_folding": b"GET / HTTP/1.1\r\nHost: testserver\r\nX-Long: a\r\n b\r\n\r\n",
    "non_numeric_content_length": HEAD + b"Content-Length: five\r\n\r\nhello",
    "no_host": b"GET / HTTP/1.1\r\n\r\n",
    "two_hosts": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "space_before_colon": b"GET / HTTP/1.1\r\nHost : testserver\r\n\r\n",
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_request_gets_400_and_close_and_never_reaches_the_app(raw: bytes) -> None:
    recorder = apps.Recorder()
    with minimal_asgi_server(recorder) as address, RawConnection(address) as connection:
        connection.send(raw)
        response = connection.read_response()
        assert response.status == 400
        assert response.header("connection") == "close"
        assert connection.server_closed()
    assert recorder.calls == 0


def test_bad_chunked_framing_mid_body_is_400_and_a_disconnect_for_the_app() -> None:
    recorder = apps.Recorder()
    with minimal_asgi_server(recorder) as address, RawConnection(address) as connection:
        connection.send(HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
        response = connection.read_response()
        assert response.status == 400
        assert connection.server_closed()
    assert recorder.messages[-1] == {"type": "http.disconnect"}


def test_refusal_explains_itself_in_plain_text() -> None:
    with minimal_asgi_server(apps.hello) as address, RawConnection(address) as connection:
        connection.send(MALFORMED["obsolete_line_folding"])
        response = connection.read_response()
    assert response.header("content-type") == "text/plain; charset=utf-8"
    assert b"obsolete line folding" in response.body


# -- the same on both servers: uvicorn (httptools) refuses these too -------------------
@pytest.fixture(params=SERVERS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextlib.contextmanager
def patient_server(kind: str, app: ASGIApp) -> Iterator[tuple[str, int]]:
    """A server whose read timeout is far longer than the client's: a refusal must come at once."""
    if kind == "minimal_asgi":
        with minimal_asgi_server(app, read_timeout=60) as address:
            yield address
    else:
        with running(kind, app) as address:
            yield address


CHUNKED = b"POST / HTTP/1.1\r\nHost: testserver\r\nTransfer-Encoding: chunked\r\n\r\n"
BARE_LF = {
    "bare_lf_head": b"GET / HTTP/1.1\nHost: testserver\n\n",
    "bare_lf_in_one_line": b"GET / HTTP/1.1\r\nHost: testserver\nX-Smuggled: 1\r\n\r\n",
    "bare_lf_chunk_lines": CHUNKED + b"5\nhello\n0\n\n",
    "bare_lf_trailer_line": CHUNKED + b"5\r\nhello\r\n0\r\nX-Trailer: 1\n\r\n",
    "chunk_size_over_64_bits": CHUNKED + b"1000000000000000000\r\nhello",  # 19 hex digits
}


@pytest.mark.parametrize("raw", BARE_LF.values(), ids=BARE_LF.keys())
def test_bare_lf_or_oversized_chunk_size_is_400_at_once(kind: str, raw: bytes) -> None:
    recorder = apps.Recorder()
    with patient_server(kind, recorder) as address, RawConnection(address, 5) as connection:
        connection.send(raw)
        assert connection.read_response().status == 400
    complete = [m for m in recorder.messages if m["type"] == "http.request" and not m["more_body"]]
    assert not complete  # the app never saw the request end


@pytest.mark.parametrize("method", ["get", "Get", "BREW"])
def test_method_outside_the_registry_never_reaches_the_app(kind: str, method: str) -> None:
    recorder = apps.Recorder()
    with running(kind, recorder) as address, RawConnection(address) as connection:
        connection.send(request(method, "/"))
        assert connection.read_response().status in (400, 501)  # uvicorn: 400; this server: 501
    assert recorder.calls == 0


# -- this server's own choices --------------------------------------------------------
def test_bare_lf_head_is_accepted_with_allow_bare_lf() -> None:
    with minimal_asgi_server(apps.hello, allow_bare_lf=True) as address:
        with RawConnection(address) as connection:
            connection.send(BARE_LF["bare_lf_head"])
            assert connection.read_response().status == 200


def test_chunk_size_over_the_body_limit_is_413_before_the_chunk_arrives() -> None:
    with minimal_asgi_server(apps.Recorder(), max_body_bytes=100, read_timeout=60) as address:
        with RawConnection(address, 5) as connection:
            connection.send(CHUNKED + b"65\r\n")  # 101 bytes announced, none sent
            assert connection.read_response().status == 413


def test_method_outside_the_registry_is_501() -> None:
    with minimal_asgi_server(apps.hello) as address, RawConnection(address) as connection:
        connection.send(request("get", "/"))
        response = connection.read_response()
    assert response.status == 501
    assert b"case-sensitive" in response.body


def test_allow_any_method_passes_any_token_to_the_app() -> None:
    recorder = apps.Recorder()
    with minimal_asgi_server(recorder, allow_any_method=True) as address:
        with RawConnection(address) as connection:
            connection.send(request("BREW", "/pot"))
            assert json.loads(connection.read_response().body)["method"] == "BREW"


# -- request targets (RFC 9112 section 3.2) ----------------------------------------------
@pytest.mark.parametrize("target", ["Xadmin/users/1", "@evil.example", "admin", "http:/x"])
def test_target_that_is_not_a_path_nor_a_url_is_400(kind: str, target: str) -> None:
    recorder = apps.Recorder()
    with running(kind, recorder) as address, RawConnection(address) as connection:
        connection.send(request("GET", target))
        assert connection.read_response().status == 400
    assert recorder.calls == 0


def test_absolute_form_target_reaches_the_app_as_path_and_query(kind: str) -> None:
    with running(kind, apps.Recorder()) as address, RawConnection(address) as connection:
        connection.send(request("GET", "http://testserver/caf%C3%A9/x?q=1"))
        seen = json.loads(connection.read_response().body)
    assert (seen["path"], seen["raw_path"]) == ("/café/x", "/caf%C3%A9/x")
    assert seen["query_string"] == "q=1"


def test_absolute_form_target_without_a_path_is_the_root(kind: str) -> None:
    if kind == "uvicorn":
        pytest.xfail("httptools refuses http://host?query (no path) with 400; RFC 3986 allows it")
    with running(kind, apps.Recorder()) as address, RawConnection(address) as connection:
        connection.send(request("GET", "http://testserver?q=1"))
        seen = json.loads(connection.read_response().body)
    assert (seen["path"], seen["query_string"]) == ("/", "q=1")


def test_absolute_form_host_replaces_the_host_header(kind: str) -> None:
    if kind == "uvicorn":
        pytest.xfail("uvicorn keeps the Host header; RFC 9112 section 3.2.2 says to ignore it")
    with running(kind, apps.Recorder()) as address, RawConnection(address) as connection:
        connection.send(request("GET", "http://example.com:8080/x"))  # Host: testserver
        seen = json.loads(connection.read_response().body)
    assert [value for name, value in seen["headers"] if name == "host"] == ["example.com:8080"]


def test_asterisk_target_of_options_reaches_the_app(kind: str) -> None:
    with running(kind, apps.Recorder()) as address, RawConnection(address) as connection:
        connection.send(request("OPTIONS", "*"))
        seen = json.loads(connection.read_response().body)
    assert (seen["method"], seen["path"]) == ("OPTIONS", "*")


def test_asterisk_target_is_for_options_only() -> None:
    recorder = apps.Recorder()  # (uvicorn passes GET * to the app)
    with minimal_asgi_server(recorder) as address, RawConnection(address) as connection:
        connection.send(request("GET", "*"))
        assert connection.read_response().status == 400
    assert recorder.calls == 0


def test_websocket_upgrade_with_a_target_that_is_not_a_path_is_400() -> None:
    recorder = apps.Recorder()
    with minimal_asgi_server(recorder) as address, RawConnection(address) as connection:
        connection.send(request("GET", "Xecho", {
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        }))
        assert connection.read_response().status == 400
    assert recorder.calls == 0


def test_a_pipelined_head_read_in_parts_while_the_app_works_is_checked_whole() -> None:
    """The next head arrives in two reads while the app answers the first request:
    the checks see both parts (here, one Content-Length header in each: 400).
    (uvicorn drops the first response when the second request is malformed.)"""
    gate = threading.Event()

    async def gated(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await apps.lifespan(receive, send)
            return
        while scope["path"] == "/wait" and not gate.is_set():
            await anyio.sleep(0.01)  # (polled: the test thread opens the gate)
        await apps.answer(send, b"ok")

    with minimal_asgi_server(gated) as address, RawConnection(address) as connection:
        connection.send(request("GET", "/wait"))
        connection.send(b"GET /next HTTP/1.1\r\nHost: testserver\r\nContent-Length: 0\r\n")
        time.sleep(0.05)  # (a pause, so the head arrives in two reads)
        connection.send(b"Content-Length: 0\r\n\r\n")
        time.sleep(0.05)
        gate.set()
        first, second = connection.read_response(), connection.read_response()
    assert (first.status, first.body) == (200, b"ok")
    assert second.status == 400
    assert b"Content-Length" in second.body

"""Malformed requests get a 400 and a closed connection; the app never hears of them.

Each case is a way for two HTTP parsers to disagree on where a request ends -
the root of request smuggling - or simply bytes that are not HTTP. RFC 9112
lets a server refuse each one; this server always does.
"""

from __future__ import annotations

import pytest

from tests.server import apps
from tests.server.client import RawConnection
from tests.server.servers import minimal_asgi_server

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

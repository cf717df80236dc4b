"""The headers and the Host check over a real socket, under uvicorn and the
project's own server: what a browser would actually receive."""

from __future__ import annotations

import http.client

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from minimal_asgi import App, HTMLResponse, WebSocket
from minimal_asgi_security import SecurityHeaders, TrustedHosts
from tests.server.servers import SERVERS, running


def served_app() -> App:
    app = App(plugins=[TrustedHosts(allowed_hosts=["localhost"]), SecurityHeaders()])

    @app.get("/items")
    async def items() -> dict[str, int]:
        return {"count": 1}

    @app.get("/page")
    async def page() -> HTMLResponse:
        return HTMLResponse("<h1>hi</h1>")

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hi")
        await websocket.close()

    return app


def fetch(port: int, path: str, host: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("GET", path, skip_host=True)
    connection.putheader("Host", host)
    connection.endheaders()
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


@pytest.mark.parametrize("server", SERVERS)
def test_the_headers_and_the_host_check_on_the_wire(server: str) -> None:
    with running(server, served_app()) as (_, port):
        api = fetch(port, "/items", f"localhost:{port}")
        page = fetch(port, "/page", "localhost")
        missing = fetch(port, "/nowhere", "localhost")
        refused = fetch(port, "/items", "evil.example")
    assert api.status == 200
    assert api.getheader("content-security-policy") == "default-src 'none'; frame-ancestors 'none'"
    assert api.getheader("x-content-type-options") == "nosniff"
    assert api.getheader("strict-transport-security") is None  # plain http
    assert page.getheader("x-frame-options") == "SAMEORIGIN"
    assert page.getheader("referrer-policy") == "strict-origin-when-cross-origin"
    assert missing.status == 404 and missing.getheader("x-frame-options") == "DENY"
    assert refused.status == 400
    assert refused.getheader("content-type") == "application/problem+json"
    assert refused.getheader("x-content-type-options") == "nosniff"


@pytest.mark.parametrize("server", SERVERS)
def test_a_websocket_handshake_to_an_unknown_host_is_a_403(server: str) -> None:
    with running(server, served_app()) as (_, port):
        with connect(f"ws://localhost:{port}/ws", proxy=None, open_timeout=10) as ws:
            assert ws.recv(timeout=10) == "hi"
        with pytest.raises(InvalidStatus) as info:
            with connect(f"ws://127.0.0.1:{port}/ws", proxy=None, open_timeout=10):
                pass  # pragma: no cover - refused
    assert info.value.response.status_code == 403

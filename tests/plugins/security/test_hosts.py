"""TrustedHosts: a 400 problem for a Host the app does not serve, a refused
handshake for a WebSocket; exact names, wildcards, ports, case, IDNA."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minimal_asgi import App, ConfigurationError, Message, Request, WebSocket, WebSocketDisconnect
from minimal_asgi.testing import TestClient
from minimal_asgi_security import (
    SecurityHeaders,
    TrustedHostMiddleware,
    TrustedHosts,
)
from minimal_asgi_security.hosts import HostPolicy, host_name
from tests.types import ClientFactory

ALLOWED = ["example.com", "*.api.example.com", ".shop.example", "[::1]", "Bücher.example"]


def make_app(allowed_hosts: list[str] | None = None, *, reached: list[str] | None = None) -> App:
    app = App(plugins=[TrustedHosts(allowed_hosts=allowed_hosts or ALLOWED), SecurityHeaders()])

    @app.get("/where")
    async def where(request: Request) -> dict[str, str]:
        if reached is not None:
            reached.append(request.url.hostname)
        return {"url": str(request.url_for("where"))}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("welcome")
        await websocket.close()

    return app


def get(app: App, host: str) -> Any:
    with TestClient(app) as client:
        return client.get("/where", headers={"host": host})


@pytest.mark.parametrize(
    "host",
    ["example.com", "example.com:8000", "EXAMPLE.com", "example.com.", "example.com:",
     "v1.api.example.com", "a.b.api.example.com:443", "shop.example", "www.shop.example",
     "[::1]", "[::1]:8000", "xn--bcher-kva.example"],
)
def test_a_listed_host_reaches_the_endpoint(host: str) -> None:
    reached: list[str] = []
    response = get(make_app(reached=reached), host)
    assert response.status_code == 200
    assert len(reached) == 1


@pytest.mark.parametrize(
    "host",
    ["evil.example", "api.example.com", "example.com.evil.example", "evilexample.com",
     "notshop.example", "[::2]", "example.com:99999", "example.com:8o", "example.com/x",
     "evil.example/.api.example.com", "a@v1.api.example.com", "x y.api.example.com",
     "%65xample.com", "example.com:80:80", "[::1", "", "bücher.example", "127.0.0.1"],
)
def test_any_other_host_is_a_400_problem_before_routing(host: str) -> None:
    reached: list[str] = []
    response = get(make_app(reached=reached), host)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank", "title": "Bad Request", "status": 400,
        "detail": "The Host header names a host this server does not serve.",
    }
    assert reached == []


def test_the_400_carries_the_security_headers_when_installed_first() -> None:
    response = get(make_app(), "evil.example")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == (
        "default-src 'none'; frame-ancestors 'none'"
    )


def test_a_request_without_a_host_header_is_a_400() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    anyio.run(make_app(), _scope([]), receive, send)
    assert sent[0]["status"] == 400
    assert b"no Host header" in sent[1]["body"]


def test_two_host_headers_are_a_400_even_if_both_are_allowed() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"host", b"example.com"), (b"host", b"shop.example")]
    anyio.run(make_app(), _scope(headers), receive, send)
    assert sent[0]["status"] == 400
    assert b"more than one Host header" in sent[1]["body"]


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/where", "raw_path": b"/where",
            "query_string": b"", "headers": headers, "scheme": "http", "root_path": "",
            "http_version": "1.1", "asgi": {"version": "3.0"}, "server": ("10.0.0.1", 80)}


def test_x_forwarded_host_is_not_trusted() -> None:
    with TestClient(make_app()) as client:
        response = client.get(
            "/where", headers={"host": "evil.example", "x-forwarded-host": "example.com"}
        )
    assert response.status_code == 400


def test_url_for_uses_the_checked_host(client_for: ClientFactory) -> None:
    client = client_for(make_app())
    assert client.get("/where", headers={"host": "example.com"}).json() == {
        "url": "http://example.com/where"
    }


def test_a_refusal_is_logged_with_the_host_quoted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="minimal_asgi_security"):
        get(make_app(), "evil.example")
    assert "refused http with Host b'evil.example'" in caplog.text


def test_a_websocket_to_an_unknown_host_is_refused_before_accept(
    client_for: ClientFactory,
) -> None:
    client = client_for(make_app())
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect("/ws", headers={"host": "evil.example"}):
            pass  # pragma: no cover - refused
    assert info.value.code == 1008
    with client.websocket_connect("/ws", headers={"host": "example.com"}) as session:
        assert session.receive_text() == "welcome"


def test_star_allows_any_host(client_for: ClientFactory) -> None:
    response = client_for(make_app(["*"])).get("/where", headers={"host": "any.example"})
    assert response.status_code == 200


def test_the_middleware_alone_works_through_add_middleware(client_for: ClientFactory) -> None:
    app = App()
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["testserver"])

    @app.get("/")
    async def root() -> dict[str, bool]:
        return {"ok": True}

    client = client_for(app)
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400


def test_lifespan_passes_through_the_middleware() -> None:
    started: list[bool] = []
    app = make_app()
    app.on_startup(lambda: started.append(True))
    with TestClient(app):
        pass
    assert started == [True]


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        ([], "allowed_hosts is empty"),
        ("example.com", "takes a list"),
        (["example.com:8000"], "ports are not listed"),
        (["https://example.com"], "is a URL"),
        (["exa mple.com"], "is not a host name"),
        (["*.*.example.com"], "is not a host name"),
        (["[::1]:80"], "is not a host name"),
        (["x" * 64 + ".example"], "is not a host name"),  # a DNS label is at most 63
        (["a..example"], "is not a host name"),
    ],
)
def test_a_bad_host_list_is_refused_at_construction(hosts: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        TrustedHosts(allowed_hosts=hosts)


def test_the_middleware_needs_its_host_list() -> None:
    app = App()
    app.add_middleware(TrustedHostMiddleware)
    with pytest.raises(ConfigurationError, match="needs allowed_hosts"):
        app.build()


@pytest.mark.parametrize(
    ("raw", "name"),
    [(b"Example.COM:8000", "example.com"), (b"[::1]:8000", "::1"), (b"[0:0::1]", "::1"),
     (b"example.com.", "example.com"), (b"web_1:8000", "web_1"), (b"evil.example/x", None),
     (b"caf\xe9.example", None), (b"[::1]x", None), (b"[zz::1]", None), (b"a..b", None)],
)
def test_host_name_normalises_or_refuses(raw: bytes, name: str | None) -> None:
    assert host_name(raw) == name


@settings(max_examples=300, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=60) | st.text(max_size=40).map(lambda t: t.encode("utf-8")))
def test_any_host_header_is_a_200_or_a_400_never_a_500(raw: bytes) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    anyio.run(_APP, _scope([(b"host", raw)]), receive, send)
    assert sent[0]["status"] in (200, 400)
    if sent[0]["status"] == 200:
        # What got through is a listed name - never some other host in disguise.
        name = host_name(raw)
        assert name is not None
        assert name in {"example.com", "shop.example", "::1", "xn--bcher-kva.example"} or (
            name.endswith((".api.example.com", ".shop.example"))
        )


_APP = make_app()


def test_remembered_hosts_are_only_allowed_ones_and_bounded() -> None:
    policy = HostPolicy(["*.example.com"])
    for number in range(1500):
        assert policy.allows(f"h{number}.example.com".encode())
        assert not policy.allows(f"h{number}.evil.example".encode())
    assert len(policy.allowed_raw) == 1024
    assert all(raw.endswith(b".example.com") for raw in policy.allowed_raw)
    assert policy.allows(b"h1499.example.com")  # past the bound: decided afresh

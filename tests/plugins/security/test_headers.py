"""SecurityHeaders: the API and HTML presets, HSTS on https only, the framework's
own errors included, the endpoint's own headers kept, streaming untouched."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from minimal_asgi import (
    App,
    ConfigurationError,
    HTMLResponse,
    JSONResponse,
    Message,
    PlainTextResponse,
    Receive,
    Scope,
    Send,
    StreamingResponse,
    WebSocket,
)
from minimal_asgi.plugins import load_plugin
from minimal_asgi.testing import TestClient
from minimal_asgi_security import (
    API_HEADERS,
    HTML_HEADERS,
    SecurityHeaders,
    SecurityHeadersMiddleware,
)
from tests.types import ClientFactory

API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"


def make_app(**options: Any) -> App:
    app = App(plugins=[SecurityHeaders(**options)])

    @app.get("/items")
    async def items() -> dict[str, int]:
        return {"count": 2}

    @app.post("/items")
    async def create(name: int) -> dict[str, int]:
        return {"name": name}

    @app.get("/page")
    async def page() -> HTMLResponse:
        return HTMLResponse("<h1>hello</h1>")

    @app.get("/embeddable")
    async def embeddable() -> HTMLResponse:
        policy = "default-src 'self'; frame-ancestors https://partner.example"
        return HTMLResponse("<p>widget</p>", headers={"Content-Security-Policy": policy})

    @app.get("/json-page", security_headers="html")
    async def json_page() -> dict[str, str]:
        return {"rendered": "by the client"}

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    return app


def security_headers(response: Any) -> dict[str, str]:
    names = {*API_HEADERS, *HTML_HEADERS, "strict-transport-security"}
    return {name: value for name, value in response.headers.items() if name in names}


def test_a_json_response_gets_the_api_preset(client_for: ClientFactory) -> None:
    response = client_for(make_app()).get("/items")
    assert response.status_code == 200
    assert security_headers(response) == API_HEADERS


def test_an_html_response_gets_the_html_preset(client_for: ClientFactory) -> None:
    response = client_for(make_app()).get("/page")
    assert security_headers(response) == HTML_HEADERS
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "object-src 'none'" in response.headers["content-security-policy"]


def test_the_media_type_decides_whatever_its_case_and_parameters() -> None:
    app = App(plugins=[SecurityHeaders()])

    @app.get("/xhtml")
    async def xhtml() -> PlainTextResponse:
        return PlainTextResponse("<html/>", media_type="Application/XHTML+XML")

    @app.get("/upper")
    async def upper() -> PlainTextResponse:
        return PlainTextResponse("<p/>", media_type="TEXT/HTML; charset=utf-8")

    @app.get("/svg")
    async def svg() -> PlainTextResponse:
        return PlainTextResponse("<svg/>", media_type="image/svg+xml")

    with TestClient(app) as client:
        assert client.get("/xhtml").headers["x-frame-options"] == "SAMEORIGIN"
        assert client.get("/upper").headers["x-frame-options"] == "SAMEORIGIN"
        # An SVG can carry script: opened on its own it gets the strict API policy.
        assert client.get("/svg").headers["content-security-policy"] == API_CSP


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("DELETE", "/items", 405), ("POST", "/items?name=x", 422),
     ("GET", "/crash", 500)],
)
def test_the_frameworks_own_errors_carry_the_headers(method: str, path: str, status: int) -> None:
    with TestClient(make_app(), raise_server_exceptions=False) as client:
        response = client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert security_headers(response) == API_HEADERS


def test_a_header_the_endpoint_set_is_not_overwritten(client_for: ClientFactory) -> None:
    response = client_for(make_app()).get("/embeddable")
    assert response.headers.getlist("content-security-policy") == [
        "default-src 'self'; frame-ancestors https://partner.example"
    ]
    assert response.headers["x-frame-options"] == "SAMEORIGIN"  # the rest still added


def test_a_route_option_chooses_the_preset_over_the_content_type(
    client_for: ClientFactory,
) -> None:
    response = client_for(make_app()).get("/json-page")
    assert response.headers["content-type"] == "application/json"
    assert security_headers(response) == HTML_HEADERS


def test_an_unknown_route_preset_is_refused_at_startup() -> None:
    app = App(plugins=[SecurityHeaders()])

    @app.get("/x", security_headers="page")
    async def x() -> None:
        return None

    with pytest.raises(ConfigurationError, match=r"route /x: security_headers='page'"):
        app.build()


def test_a_fixed_preset_applies_to_every_response(client_for: ClientFactory) -> None:
    client = client_for(make_app(preset="html"))
    assert security_headers(client.get("/items")) == HTML_HEADERS


def test_hsts_is_sent_over_https_only(client_for: ClientFactory) -> None:
    app = make_app()
    over_http = client_for(app).get("/items")
    over_https = client_for(app, base_url="https://testserver").get("/items")
    assert "strict-transport-security" not in over_http.headers
    assert over_https.headers["strict-transport-security"] == HSTS


def test_hsts_preload_and_max_age_are_options(client_for: ClientFactory) -> None:
    app = make_app(hsts_max_age=63072000, hsts_preload=True)
    response = client_for(app, base_url="https://testserver").get("/page")
    assert response.headers["strict-transport-security"] == (
        "max-age=63072000; includeSubDomains; preload"
    )
    short = make_app(hsts_max_age=600, hsts_include_subdomains=False)
    response = client_for(short, base_url="https://testserver").get("/page")
    assert response.headers["strict-transport-security"] == "max-age=600"


def test_hsts_can_be_switched_off(client_for: ClientFactory) -> None:
    response = client_for(make_app(hsts_max_age=None), base_url="https://testserver").get("/")
    assert "strict-transport-security" not in response.headers


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hsts_preload": True, "hsts_max_age": 86400}, "hsts_max_age >= 31536000"),
        ({"hsts_preload": True, "hsts_include_subdomains": False}, "hsts_include_subdomains=True"),
        ({"hsts_preload": True, "hsts_max_age": None}, "needs hsts_max_age"),
        ({"hsts_max_age": -1}, "whole seconds"),
        ({"hsts_max_age": True}, "whole seconds"),
        ({"preset": "json"}, "'auto'"),
        ({"api": "default-src 'none'"}, "takes a mapping"),
        ({"api": {"strict-transport-security": "max-age=1"}}, "hsts_max_age="),
    ],
)
def test_bad_options_are_refused_at_construction(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        SecurityHeaders(**options)


@pytest.mark.parametrize("value", ["a\r\nSet-Cookie: x=1", "a\nb", "a\x00", "caf\u00e9"])
def test_a_header_value_with_cr_lf_or_non_ascii_is_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match="printable ASCII"):
        SecurityHeaders(html={"referrer-policy": value})


def test_a_bad_header_name_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not a valid header name"):
        SecurityHeaders(api={"x bad": "1"})


def test_a_preset_header_can_be_changed_added_or_removed(client_for: ClientFactory) -> None:
    app = make_app(
        html={"x-frame-options": None, "permissions-policy": "camera=()"},
        api={"Referrer-Policy": "same-origin"},
    )
    client = client_for(app)
    page = client.get("/page")
    assert "x-frame-options" not in page.headers
    assert page.headers["permissions-policy"] == "camera=()"
    assert client.get("/items").headers["referrer-policy"] == "same-origin"


def test_a_streamed_body_passes_chunk_by_chunk() -> None:
    """Only the start message is touched: each body chunk reaches the server
    as its own message, in order, with more_body still set."""
    app = App(plugins=[SecurityHeaders()])

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"one,", b"two,", b"three"):
            yield part

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(chunks(), media_type="text/csv")

    sent: list[Message] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if requests:
            return requests.pop()
        await anyio.sleep_forever()  # the client stays: no disconnect to report
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/stream", "raw_path": b"/stream",
             "query_string": b"", "headers": [(b"host", b"testserver")], "scheme": "http",
             "root_path": "", "http_version": "1.1", "asgi": {"version": "3.0"}}
    anyio.run(app, scope, receive, send)
    assert sent[0]["type"] == "http.response.start"
    assert (b"x-content-type-options", b"nosniff") in sent[0]["headers"]
    bodies = [m["body"] for m in sent[1:] if m["body"]]
    assert bodies == [b"one,", b"two,", b"three"]


def test_the_middleware_alone_works_through_add_middleware(client_for: ClientFactory) -> None:
    app = App()
    app.add_middleware(SecurityHeadersMiddleware, preset="api", hsts_max_age=3600)

    @app.get("/page")
    async def page() -> HTMLResponse:
        return HTMLResponse("<p>an API's one page</p>")

    response = client_for(app, base_url="https://testserver").get("/page")
    assert response.headers["content-security-policy"] == API_CSP
    assert response.headers["strict-transport-security"] == "max-age=3600; includeSubDomains"


def test_the_plugin_is_found_by_name(client_for: ClientFactory) -> None:
    app = App(plugins=[load_plugin("security", hsts_max_age=None)])

    @app.get("/")
    async def root() -> dict[str, bool]:
        return {"ok": True}

    assert security_headers(client_for(app).get("/")) == API_HEADERS


def test_a_websocket_passes_untouched(client_for: ClientFactory) -> None:
    app = App(plugins=[SecurityHeaders()])

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hi")
        await websocket.close()

    with client_for(app).websocket_connect("/ws") as session:
        assert session.receive_text() == "hi"


def test_the_docs_page_keeps_working_under_the_html_preset(client_for: ClientFactory) -> None:
    """/docs loads its script and style from the app (/docs/assets/) and
    fetches /openapi.json. It sends its own CSP - scripts, styles and fetches
    from its own origin only, nothing inline - and the middleware keeps it
    rather than adding a second policy."""
    app = make_app()
    client = client_for(app, base_url="https://testserver")
    page = client.get("/docs")
    assert page.status_code == 200
    policies = page.headers.getlist("content-security-policy")
    assert len(policies) == 1  # one policy: two would both apply, the strictest winning
    policy = policies[0]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "connect-src 'self'" in policy  # the fetch of the document, same origin
    assert "<script>" not in page.text and "<style>" not in page.text  # no inline code
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert url.startswith("/docs/assets/")  # nothing loaded from elsewhere
        assert client.get(url).status_code == 200
    document = client.get(page.text.split('data-openapi-url="')[1].split('"')[0])
    assert document.status_code == 200 and document.json()["openapi"].startswith("3.")
    # The rest of the HTML preset is still added around the page's own policy.
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    assert page.headers["strict-transport-security"] == HSTS


class RawApp:
    """An ASGI app that sends headers in mixed case, as a raw app may."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan support: the test client carries on without
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"Content-Type", b"text/html"), (b"X-Frame-Options", b"DENY")]})
        await send({"type": "http.response.body", "body": b"<p/>"})


def test_header_names_are_compared_without_case() -> None:
    with TestClient(SecurityHeadersMiddleware(RawApp())) as client:
        response = client.get("/")
    assert response.headers.getlist("x-frame-options") == ["DENY"]
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


def test_an_endpoint_response_object_is_not_mutated() -> None:
    shared = JSONResponse({"a": 1})
    app = App(plugins=[SecurityHeaders()])

    @app.get("/")
    async def root() -> JSONResponse:
        return shared

    with TestClient(app) as client:
        client.get("/")
        client.get("/")
    assert "content-security-policy" not in shared.headers

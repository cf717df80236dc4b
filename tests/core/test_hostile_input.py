"""Input an attacker sends: each is a clear 4xx (or a safe default), never a 500
and never a bypass. Found by the hardening review (issue 11)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from minimal_asgi import App, NoMatchFound, Request
from minimal_asgi.datastructures import URL
from minimal_asgi.testing import TestClient
from minimal_asgi.types import Message, Receive, Scope, Send


async def call(app: Any, scope_changes: dict[str, Any]) -> list[Message]:
    """One HTTP request straight into the app, with a scope a server could build."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 8000),
    }
    scope.update(scope_changes)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def status_of(sent: list[Message]) -> int:
    return int(sent[0]["status"])


# -- 1. a path without a leading "/" ----------------------------------------------------
class AdminGate:
    """Chapter 04's path-prefix gate: only requests with the key reach /admin."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gated = scope["type"] in ("http", "websocket") and scope["path"].startswith("/admin")
        if gated and (b"x-api-key", b"secret") not in scope["headers"]:
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


def admin_app() -> App:
    app = App(openapi_url=None, docs_url=None)
    app.add_middleware(AdminGate)

    @app.get("/admin/users/{uid:int}")
    async def admin_user(uid: int) -> dict[str, int]:
        return {"uid": uid}

    @app.get("/admin")
    async def admin_home() -> str:
        return "admin"

    return app


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["Xadmin/users/1", "admin/users/1", "Xadmin", "admin", ""])
async def test_a_path_without_a_leading_slash_matches_no_route(path: str) -> None:
    sent = await call(admin_app(), {"path": path, "raw_path": path.encode()})
    assert status_of(sent) == 404


@pytest.mark.anyio
async def test_the_same_path_with_its_slash_is_still_gated() -> None:
    app = admin_app()
    assert status_of(await call(app, {"path": "/admin/users/1"})) == 401
    key = [(b"host", b"testserver"), (b"x-api-key", b"secret")]
    assert status_of(await call(app, {"path": "/admin/users/1", "headers": key})) == 200


def test_router_match_refuses_a_path_without_a_leading_slash() -> None:
    app = admin_app()
    app.build()
    assert app.router.match("Xadmin/users/1", "GET")[0] is None
    assert app.router.match("/admin/users/1", "GET")[0] is not None


@pytest.mark.parametrize("path", ["@evil.example", "@evil.example/x", "evil.example/x"])
def test_a_path_cannot_become_the_urls_authority(path: str) -> None:
    scope = {"type": "http", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [(b"host", b"testserver")]}
    url = URL.from_scope(scope)
    assert url.hostname == "testserver"
    assert urlsplit(str(url)).hostname == "testserver"  # also once written and read back
    assert str(url).startswith("http://testserver/")


# -- 9. a hostile Host header -------------------------------------------------------------
@pytest.mark.parametrize(
    "host",
    ["a:²", "a:" + "9" * 5000, "a:65536", "a:-1", "[::1]:²", "[::1", "a/b", "a@evil.example",
     "evil.example#", "a b", ":80"],
)
def test_a_hostile_host_header_falls_back_to_the_server_address(host: str) -> None:
    app = App(openapi_url=None, docs_url=None)

    @app.get("/where")
    async def where(request: Request) -> dict[str, Any]:
        url = request.url
        return {"host": url.hostname, "port": url.port, "next": str(url.replace(path="/next"))}

    with TestClient(app) as client:
        response = client.get("/where", headers={"host": host})
    assert response.status_code == 200
    body = response.json()
    assert (body["host"], body["port"]) == ("testserver", None)
    assert urlsplit(body["next"]).hostname == "testserver"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", ("example.com", None)),
        ("example.com:8080", ("example.com", 8080)),
        ("example.com:", ("example.com", None)),
        ("[::1]:8000", ("::1", 8000)),
        ("[::1]", ("::1", None)),
        ("127.0.0.1:65535", ("127.0.0.1", 65535)),
    ],
)
def test_a_well_formed_host_header_gives_the_host_and_port(
    host: str, expected: tuple[str, int | None]
) -> None:
    scope = {"type": "http", "scheme": "https", "path": "/", "query_string": b"",
             "headers": [(b"host", host.encode())], "server": ("10.0.0.1", 443)}
    url = URL.from_scope(scope)
    assert (url.hostname, url.port) == expected


# -- 6 and 8. numbers in the path that no database or JSON can carry --------------------
def numbers_app() -> App:
    app = App(openapi_url=None, docs_url=None)

    @app.get("/posts/{post_id:int}")
    async def post(post_id: int) -> dict[str, int]:
        return {"id": post_id}

    @app.get("/prices/{amount:float}")
    async def price(amount: float) -> dict[str, float]:
        return {"amount": amount}

    return app


@pytest.mark.parametrize(
    "path",
    ["/posts/9223372036854775808", "/posts/99999999999999999999", "/posts/" + "9" * 5000,
     "/prices/" + "9" * 400],
)
def test_a_number_too_large_for_its_type_matches_no_route(path: str) -> None:
    with TestClient(numbers_app()) as client:
        response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_the_largest_int64_still_matches() -> None:
    with TestClient(numbers_app()) as client:
        assert client.get("/posts/9223372036854775807").json() == {"id": 2**63 - 1}
        assert client.get("/prices/" + "9" * 300).status_code == 200  # large, but finite


def test_url_path_for_refuses_an_int_beyond_the_path_range() -> None:
    app = numbers_app()
    assert app.url_path_for("post", post_id=2**63 - 1) == "/posts/9223372036854775807"
    with pytest.raises(NoMatchFound):
        app.url_path_for("post", post_id=2**63)

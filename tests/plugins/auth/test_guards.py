"""Guards: who is asking (401) and whether they may (403), on HTTP and WebSocket routes."""

from __future__ import annotations

import re
from typing import Any

import anyio
import pytest

from minimal_asgi import App, Depends, Request, Response, Router, WebSocket, WebSocketDisconnect
from minimal_asgi.testing import TestClient
from minimal_asgi_auth import RBAC, APIKeys, Auth, Principal, RequireAuth, Sessions, Tokens

from .conftest import SECRET


def build(*, app_dependencies: bool = False) -> tuple[App, Auth]:
    tokens = Tokens(SECRET)
    auth = Auth(
        tokens=tokens,
        api_keys=APIKeys(),
        sessions=Sessions(),
        rbac=RBAC({"admin": {"todos:delete"}, "member": {"todos:write"}},
                  inherits={"admin": {"member"}}),
    )
    app = App(plugins=[auth],
              dependencies=[auth.current_user] if app_dependencies else ())

    @app.get("/me")
    async def me(user: Principal) -> dict[str, Any]:
        return {"subject": user.subject, "method": user.method, "roles": sorted(user.roles)}

    @app.get("/maybe")
    async def maybe(user: Principal | None = Depends(auth.optional_user)) -> dict[str, Any]:
        return {"subject": user.subject if user else None}

    @app.get("/admin", dependencies=[auth.requires("admin")])
    async def admin() -> str:
        return "admin only"

    @app.post("/todos", dependencies=[auth.requires_scopes("todos:write")])
    async def write() -> str:
        return "written"

    @app.delete("/todos", dependencies=[auth.requires_permission("todos:delete")])
    async def remove() -> None:
        return None

    ops = Router(dependencies=[auth.requires("admin")])

    @ops.get("/status")
    async def status() -> str:
        return "ok"

    app.include_router(ops, prefix="/ops")

    @app.post("/session-login")
    async def session_login(request: Request) -> Response:
        response = Response(status_code=204)
        assert auth.sessions is not None
        await auth.sessions.login(response, "sam", {"roles": ["member"]}, replacing=request)
        return response

    @app.websocket("/feed")
    async def feed(websocket: WebSocket, user: Principal) -> None:
        await websocket.accept(subprotocol="chat" if "chat" in websocket.subprotocols else None)
        await websocket.send_text(f"hello {user.subject} via {user.method}")
        await websocket.close()

    @app.websocket("/admin-feed", dependencies=[auth.requires("admin")])
    async def admin_feed(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("secrets")
        await websocket.close()

    return app, auth


@pytest.fixture
def setup() -> tuple[TestClient, Auth]:
    app, auth = build()
    return TestClient(app, base_url="https://testserver"), auth


def flip_one(text: str) -> str:
    """``text`` with its fifth character from the end changed (always to another
    character, and one that carries whole bits in base64url)."""
    changed = "B" if text[-5] == "A" else "A"
    return text[:-5] + changed + text[-4:]


def bearer(auth: Auth, subject: str = "ada", **grant: Any) -> dict[str, str]:
    assert auth.tokens is not None
    return {"Authorization": f"Bearer {auth.tokens.access_token(subject, **grant)}"}


def test_no_credentials_is_401_with_a_challenge_and_no_error_code(setup: Any) -> None:
    client, _ = setup
    with client:
        response = client.get("/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="api"')
    assert "error=" not in challenge  # RFC 6750 3.1: no error code without credentials


def test_a_bad_token_is_401_invalid_token(setup: Any) -> None:
    client, auth = setup
    headers = bearer(auth)
    headers["Authorization"] = flip_one(headers["Authorization"])
    with client:
        response = client.get("/me", headers=headers)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "signature" in response.json()["detail"]


def test_an_empty_bearer_is_400_invalid_request(setup: Any) -> None:
    client, _ = setup
    with client:
        response = client.get("/me", headers={"Authorization": "Bearer "})
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["www-authenticate"]


def test_a_valid_token_gives_the_principal(setup: Any) -> None:
    client, auth = setup
    with client:
        body = client.get("/me", headers=bearer(auth, roles=["member"])).json()
    assert body == {"subject": "ada", "method": "bearer", "roles": ["member"]}


def test_a_wrong_token_never_falls_back_to_the_session(setup: Any) -> None:
    client, _ = setup
    with client:
        client.post("/session-login")
        assert client.get("/me").json()["method"] == "session"
        response = client.get("/me", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401


def test_optional_user_is_none_without_credentials_and_401_with_bad_ones(setup: Any) -> None:
    client, auth = setup
    with client:
        assert client.get("/maybe").json() == {"subject": None}
        assert client.get("/maybe", headers=bearer(auth)).json() == {"subject": "ada"}
        assert client.get("/maybe", headers={"X-API-Key": "mak_x"}).status_code == 401


def test_a_role_guard_is_403_for_a_known_caller_without_the_role(setup: Any) -> None:
    client, auth = setup
    with client:
        assert client.get("/admin").status_code == 401
        denied = client.get("/admin", headers=bearer(auth, roles=["member"]))
        allowed = client.get("/admin", headers=bearer(auth, roles=["admin"]))
    assert denied.status_code == 403
    assert denied.json()["detail"] == "this needs the role admin"
    assert "www-authenticate" not in denied.headers
    assert allowed.text == "admin only"


def test_a_guard_on_a_router_covers_its_routes(setup: Any) -> None:
    client, auth = setup
    with client:
        assert client.get("/ops/status").status_code == 401
        assert client.get("/ops/status", headers=bearer(auth)).status_code == 403
        assert client.get("/ops/status", headers=bearer(auth, roles=["admin"])).text == "ok"


def test_a_guard_on_the_app_covers_every_route() -> None:
    app, auth = build(app_dependencies=True)
    with TestClient(app) as client:
        assert client.get("/maybe").status_code == 401
        assert client.get("/maybe", headers=bearer(auth)).status_code == 200


def test_a_scope_guard_is_403_insufficient_scope_naming_the_scope(setup: Any) -> None:
    client, auth = setup
    with client:
        denied = client.post("/todos", headers=bearer(auth, scopes=["todos:read"]))
        allowed = client.post("/todos", headers=bearer(auth, scopes=["todos:read", "todos:write"]))
    assert denied.status_code == 403
    challenge = denied.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="todos:write"' in challenge
    assert allowed.status_code == 200


def test_a_session_is_not_limited_by_scopes(setup: Any) -> None:
    client, _ = setup
    with client:
        client.post("/session-login")
        assert client.post("/todos").status_code == 200


def test_rbac_permissions_come_from_roles_and_inheritance(setup: Any) -> None:
    client, auth = setup
    with client:
        assert client.delete("/todos", headers=bearer(auth, roles=["member"])).status_code == 403
        assert client.delete("/todos", headers=bearer(auth, roles=["admin"])).status_code == 204


def test_rbac_lists_permissions_and_refuses_unknown_parents() -> None:
    rbac = RBAC({"a": {"x"}, "b": {"y"}, "c": set()}, inherits={"a": {"b"}, "b": {"a"}})
    assert rbac.permissions(["a"]) == {"x", "y"} == rbac.permissions(["b"])  # a cycle is fine
    assert rbac.permissions(["nobody"]) == frozenset()
    with pytest.raises(ValueError, match="ghost"):
        RBAC({"a": set()}, inherits={"a": {"ghost"}})


def test_an_api_key_authenticates_with_its_scopes(setup: Any) -> None:
    client, auth = setup
    plain, _ = anyio.run(lambda: auth.api_keys.create("robot", name="ci", scopes=["todos:write"]))
    with client:
        assert client.get("/me", headers={"X-API-Key": plain}).json()["method"] == "api_key"
        assert client.post("/todos", headers={"X-API-Key": plain}).status_code == 200
        wrong = client.get("/me", headers={"X-API-Key": flip_one(plain)})
    assert wrong.status_code == 401


# -- WebSockets --------------------------------------------------------------------------


def expect_refusal(client: TestClient, path: str, **kwargs: Any) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect(path, **kwargs):
        pass
    return info.value


def test_a_websocket_without_credentials_is_refused_with_1008(setup: Any) -> None:
    client, _ = setup
    with client:
        refusal = expect_refusal(client, "/feed")
    assert refusal.code == 1008


def test_a_websocket_accepts_a_token_in_a_header(setup: Any) -> None:
    client, auth = setup
    with client, client.websocket_connect("/feed", headers=bearer(auth)) as ws:
        assert ws.receive_text() == "hello ada via bearer"


def test_a_websocket_accepts_a_token_as_subprotocol_and_never_echoes_it(setup: Any) -> None:
    client, auth = setup
    token = bearer(auth)["Authorization"].split()[1]
    with client, client.websocket_connect("/feed", subprotocols=["chat", f"bearer.{token}"]) as ws:
        assert ws.receive_text() == "hello ada via bearer"
        assert ws.accepted_subprotocol == "chat"


def test_a_websocket_accepts_the_session_cookie(setup: Any) -> None:
    client, _ = setup
    with client:
        client.post("/session-login")
        with client.websocket_connect("/feed") as ws:
            assert ws.receive_text() == "hello sam via session"


def test_a_token_in_the_query_string_is_not_read(setup: Any) -> None:
    client, auth = setup
    token = bearer(auth)["Authorization"].split()[1]
    with client:
        refusal = expect_refusal(client, f"/feed?access_token={token}")
    assert refusal.code == 1008


def test_a_websocket_role_guard_refuses_a_member(setup: Any) -> None:
    client, auth = setup
    with client:
        refusal = expect_refusal(client, "/admin-feed", headers=bearer(auth, roles=["member"]))
        assert refusal.code == 1008 and "admin" in refusal.reason
        with client.websocket_connect("/admin-feed", headers=bearer(auth, roles=["admin"])) as ws:
            assert ws.receive_text() == "secrets"


# -- the middleware form -----------------------------------------------------------------


def protected_app() -> tuple[App, Auth]:
    app, auth = build()
    app.add_middleware(RequireAuth, auth=auth, prefixes=["/internal"], roles=["admin"])

    @app.get("/internal/report")
    async def report(user: Principal) -> str:
        return f"report for {user.subject}"

    @app.websocket("/internal/live")
    async def live(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    @app.get("/internalize")
    async def not_under_the_prefix() -> str:
        return "open"

    return app, auth


def test_the_middleware_protects_a_prefix_even_where_no_route_is() -> None:
    app, auth = protected_app()
    with TestClient(app) as client:
        assert client.get("/internal/report").status_code == 401
        missing = client.get("/internal/nothing-here")
        assert missing.status_code == 401  # not 404: nothing is revealed
        assert re.match(r"Bearer realm", missing.headers["www-authenticate"])
        assert client.get("/internal/report", headers=bearer(auth)).status_code == 403
        ok = client.get("/internal/report", headers=bearer(auth, roles=["admin"]))
        assert ok.text == "report for ada"
        assert client.get("/internal/nothing-here", headers=bearer(auth, roles=["admin"])
                          ).status_code == 404
        assert client.get("/internalize").text == "open"  # whole segments only


def test_the_middleware_refuses_a_websocket_handshake_with_1008() -> None:
    app, auth = protected_app()
    with TestClient(app) as client:
        assert expect_refusal(client, "/internal/live").code == 1008
        with client.websocket_connect("/internal/live", headers=bearer(auth, roles=["admin"])):
            pass


def test_the_middleware_refuses_prefixes_that_are_not_paths() -> None:
    _, auth = build()
    with pytest.raises(ValueError):
        RequireAuth(App(), auth=auth, prefixes=["internal"])

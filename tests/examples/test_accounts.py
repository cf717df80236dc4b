"""The accounts example: sign-up, login, refresh, logout, admin-only and API-key routes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from examples.accounts.app import AccountsSettings, create_app
from minimal_asgi import Secret
from minimal_asgi.testing import TestClient
from minimal_asgi_auth import passwords

CHEAP = passwords.Hasher(passwords.CHEAP_PARAMETERS)
PASSWORD = "correct horse battery"


def make_client(**settings: Any) -> TestClient:
    chosen = AccountsSettings(signing_key=Secret("k" * 43), admin_emails=["root@example.com"],
                              **settings)
    return TestClient(create_app(chosen, hasher=CHEAP), base_url="https://testserver")


@pytest.fixture
def client() -> Any:
    with make_client() as test_client:
        yield test_client


def sign_up_and_login(client: TestClient, email: str = "ada@example.com") -> dict[str, Any]:
    assert client.post("/accounts", json={"email": email, "password": PASSWORD}).status_code == 201
    response = client.post("/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    return dict(response.json())


def auth(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_sign_up_then_login_then_me(client: TestClient) -> None:
    tokens = sign_up_and_login(client)
    me = client.get("/me", headers=auth(tokens)).json()
    assert me == {"id": "1", "email": "ada@example.com", "roles": ["member"], "via": "bearer"}


def test_a_duplicate_sign_up_is_409_and_a_short_password_422(client: TestClient) -> None:
    sign_up_and_login(client)
    again = client.post("/accounts", json={"email": "ADA@example.com", "password": PASSWORD})
    assert again.status_code == 409
    short = client.post("/accounts", json={"email": "b@example.com", "password": "short"})
    assert short.status_code == 422


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client: TestClient) -> None:
    sign_up_and_login(client)
    wrong = client.post("/login", json={"email": "ada@example.com", "password": "nope"})
    nobody = client.post("/login", json={"email": "who@example.com", "password": "nope"})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.content == nobody.content


def test_refresh_rotates_and_a_replay_ends_the_login(client: TestClient) -> None:
    first = sign_up_and_login(client)
    second = client.post("/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    replay = client.post("/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
    dead = client.post("/refresh", json={"refresh_token": second.json()["refresh_token"]})
    assert dead.status_code == 401


def test_logout_revokes_the_refresh_token(client: TestClient) -> None:
    tokens = sign_up_and_login(client)
    body = {"refresh_token": tokens["refresh_token"]}
    assert client.post("/logout", json=body).status_code == 204
    refused = client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refused.status_code == 401


def test_the_admin_route_is_401_anonymous_403_member_200_admin(client: TestClient) -> None:
    member = sign_up_and_login(client)
    admin = sign_up_and_login(client, "root@example.com")
    assert client.get("/admin/users").status_code == 401
    assert client.get("/admin/users", headers=auth(member)).status_code == 403
    listed = client.get("/admin/users", headers=auth(admin)).json()
    assert [u["email"] for u in listed] == ["ada@example.com", "root@example.com"]
    # The middleware guards the whole prefix: a mistyped path reveals nothing.
    assert client.get("/admin/nothing", headers=auth(member)).status_code == 403
    assert client.get("/admin/nothing", headers=auth(admin)).status_code == 404


def test_an_api_key_is_shown_once_and_opens_the_api_key_route(client: TestClient) -> None:
    tokens = sign_up_and_login(client)
    created = client.post("/api-keys", json={"name": "ci"}, headers=auth(tokens)).json()
    key = created["key"]
    assert client.get("/stats", headers={"X-API-Key": key}).json() == {"accounts": 1}
    listed = client.get("/api-keys", headers=auth(tokens)).json()
    assert listed[0]["prefix"] == created["prefix"] and "key" not in listed[0]
    assert listed[0]["last_used"] is not None
    assert client.get("/admin/users", headers={"X-API-Key": key}).status_code == 403
    revoke = client.delete(f"/api-keys/{created['prefix']}", headers=auth(tokens))
    assert revoke.status_code == 204
    assert client.get("/stats", headers={"X-API-Key": key}).status_code == 401


def test_a_browser_session_logs_in_and_out(client: TestClient) -> None:
    sign_up_and_login(client)
    login = client.post("/session", json={"email": "ada@example.com", "password": PASSWORD})
    assert login.status_code == 204 and "__Host-session=" in login.headers["set-cookie"]
    assert client.get("/me").json()["via"] == "session"
    assert client.delete("/session").status_code == 204
    assert client.get("/me").status_code == 401


def test_the_oauth2_token_endpoint_is_declared_in_the_document(client: TestClient) -> None:
    sign_up_and_login(client)
    response = client.post(
        "/token",
        content=f"grant_type=password&username=ada@example.com&password={PASSWORD}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200 and response.json()["scope"] == "stats:read"
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert set(schemes) == {"bearer", "oauth2", "apiKey", "session"}


def test_with_redis_a_second_worker_sees_the_same_logins(redis_url: str) -> None:
    import redis

    prefix = f"test:accounts:{uuid.uuid4().hex}:"
    try:
        with make_client(redis_url=redis_url, redis_prefix=prefix) as first, \
                make_client(redis_url=redis_url, redis_prefix=prefix) as second:
            tokens = sign_up_and_login(first)
            rotated = second.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
            assert rotated.status_code == 200
            replay = second.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
            assert replay.status_code == 401
    finally:
        client = redis.Redis.from_url(redis_url)
        made = list(client.scan_iter(match=prefix + "*"))
        if made:
            client.delete(*made)
        client.close()

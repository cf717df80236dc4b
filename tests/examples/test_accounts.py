"""The accounts example: sign-up, login, refresh, logout, admin-only and API-key routes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from examples.accounts.app import AccountsSettings, create_app
from examples.accounts.settings import load
from minimal_asgi import ConfigurationError, Secret
from minimal_asgi.testing import TestClient
from minimal_asgi_auth import passwords

CHEAP = passwords.Hasher(passwords.CHEAP_PARAMETERS)
PASSWORD = "correct horse battery"


def make_client(**settings: Any) -> TestClient:
    chosen = AccountsSettings(jwt_secret=Secret("k" * 43), admin_emails=["root@example.com"],
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
    cookie = login.headers["set-cookie"]
    assert login.status_code == 204 and cookie.startswith("__Host-session=")
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/"} <= set(cookie.split("; "))
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


# -- CSRF: the session cookie must not work for another site's page ------------------

# What a browser sends when a page on evil.example posts to this app: it says
# where the request comes from, and adds this app's cookies by itself.
CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
SAME_ORIGIN = {"Origin": "https://testserver", "Sec-Fetch-Site": "same-origin"}


def browser_session(client: TestClient) -> dict[str, Any]:
    """Sign up, then sign the test client in with the session cookie, as a browser."""
    tokens = sign_up_and_login(client)
    login = client.post("/session", json={"email": "ada@example.com", "password": PASSWORD},
                        headers=SAME_ORIGIN)
    assert login.status_code == 204 and client.cookies.get("__Host-session")
    return tokens


def test_a_forged_cross_site_post_with_the_session_cookie_is_refused(client: TestClient) -> None:
    browser_session(client)
    forged = client.post("/api-keys", json={"name": "evil"}, headers=CROSS_SITE)
    assert forged.status_code == 403
    assert forged.headers["content-type"] == "application/problem+json"
    assert forged.json()["title"] == "Cross-site request refused"
    assert "Sec-Fetch-Site: cross-site" in forged.json()["detail"]
    assert client.get("/api-keys").json() == []  # nothing was created
    # Nor can another site sign the browser out, or in (to the attacker's account).
    assert client.delete("/session", headers=CROSS_SITE).status_code == 403
    assert client.get("/me").json()["via"] == "session"
    login_csrf = client.post("/session", headers=CROSS_SITE,
                             json={"email": "ada@example.com", "password": PASSWORD})
    assert login_csrf.status_code == 403 and "set-cookie" not in login_csrf.headers
    # A browser too old to send Sec-Fetch-Site still sends Origin on a POST.
    old = client.post("/api-keys", json={"name": "evil"}, headers={"Origin": "http://evil.example"})
    assert old.status_code == 403


def test_the_same_post_from_the_apps_own_page_goes_through(client: TestClient) -> None:
    browser_session(client)
    created = client.post("/api-keys", json={"name": "mine"}, headers=SAME_ORIGIN)
    assert created.status_code == 201
    old_browser = client.post("/api-keys", json={"name": "old"},
                              headers={"Origin": "https://testserver"})
    assert old_browser.status_code == 201
    assert [k["name"] for k in client.get("/api-keys").json()] == ["mine", "old"]
    assert client.delete("/session", headers=SAME_ORIGIN).status_code == 204


def test_bearer_and_api_key_requests_are_unaffected(client: TestClient) -> None:
    tokens = sign_up_and_login(client)  # no browser headers: a program
    created = client.post("/api-keys", json={"name": "ci"}, headers=auth(tokens))
    assert created.status_code == 201
    key = created.json()["key"]
    assert client.get("/stats", headers={"X-API-Key": key}).status_code == 200
    revoked = client.delete(f"/api-keys/{created.json()['prefix']}", headers=auth(tokens))
    assert revoked.status_code == 204
    # Safe methods are never refused, from anywhere: they change nothing.
    assert client.get("/me", headers={**auth(tokens), **CROSS_SITE}).status_code == 200


def test_a_trusted_origin_may_post_across_origins() -> None:
    with make_client(trusted_origins=["https://admin.example"]) as client:
        browser_session(client)
        trusted = {"Origin": "https://admin.example", "Sec-Fetch-Site": "same-site"}
        assert client.post("/api-keys", json={"name": "a"}, headers=trusted).status_code == 201
        assert client.post("/api-keys", json={"name": "b"}, headers=CROSS_SITE).status_code == 403


# -- the signing key comes from the environment -------------------------------------

REPO = Path(__file__).resolve().parents[2]
STRONG = "Qv3pX8nT1wL6rZ0kB5mC9yF2hJ7dG4sA1uE8iO3tN6w"


def clean_environment(**variables: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items()
            if not k.startswith("ACCOUNTS_") and k != "ENVIRONMENT"}
    return {**kept, **variables}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "ACCOUNTS_JWT_SECRET is not set; in production a secret must come from"),
        ("changeme", "ACCOUNTS_JWT_SECRET is a well-known placeholder"),
        ("short-but-real-8f2a", "ACCOUNTS_JWT_SECRET is too short for production"),
    ],
)
def test_production_refuses_a_missing_placeholder_or_short_key(
    key: str | None, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("ACCOUNTS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ENVIRONMENT", "production")
    if key is not None:
        monkeypatch.setenv("ACCOUNTS_JWT_SECRET", key)
    with pytest.raises(ConfigurationError) as refused:
        create_app(hasher=CHEAP)
    assert message in str(refused.value)
    assert "secrets.token_urlsafe(32)" in str(refused.value)  # says how to make one
    if key is not None:
        assert key not in str(refused.value)


def test_a_production_server_with_a_short_key_exits_before_listening() -> None:
    weak = "short-but-real-8f2a"
    command = [sys.executable, "-m", "uvicorn", "examples.accounts.app:app",
               "--host", "127.0.0.1", "--port", "0"]
    finished = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=120,
        env=clean_environment(ENVIRONMENT="production", ACCOUNTS_JWT_SECRET=weak),
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode != 0, output
    assert "ACCOUNTS_JWT_SECRET is too short for production" in output
    assert weak not in output
    assert "Uvicorn running" not in output


def test_production_starts_with_a_strong_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("ACCOUNTS_JWT_SECRET", STRONG)
    settings = load()
    assert settings.is_production and settings.jwt_secret.get_secret_value() == STRONG
    assert STRONG not in repr(settings)
    with TestClient(create_app(settings, hasher=CHEAP), base_url="https://testserver") as client:
        tokens = sign_up_and_login(client)
        assert client.get("/me", headers=auth(tokens)).status_code == 200


def test_development_makes_a_random_key_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("ACCOUNTS_JWT_SECRET", raising=False)
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    with caplog.at_level(logging.WARNING, logger="examples.accounts"):
        settings = load()
    key = settings.jwt_secret.get_secret_value()
    assert len(key) >= 43  # 256 bits from secrets, base64url
    assert "ACCOUNTS_JWT_SECRET is not set: signing tokens with a random key" in caplog.text
    assert key not in caplog.text
    caplog.clear()
    monkeypatch.setenv("ACCOUNTS_JWT_SECRET", STRONG)
    with caplog.at_level(logging.WARNING, logger="examples.accounts"):
        assert load().jwt_secret.get_secret_value() == STRONG
    assert "random key" not in caplog.text

"""The RFC 6749 token endpoint: requests, answers and errors in the RFC's own format."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote_plus

import pytest

from minimal_asgi import App
from minimal_asgi.testing import TestClient, TestResponse
from minimal_asgi_auth import Auth, Grant, OAuth2Client, Principal, TokenEndpoint, Tokens

from .conftest import SECRET

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def check_password(username: str, password: str) -> Grant | None:
    if (username, password) == ("ada", "correct horse"):
        return Grant("ada", roles=["member"], scopes=["todos:read", "todos:write"])
    return None


@pytest.fixture
def client() -> Any:
    tokens = Tokens(SECRET)
    secret, robot = OAuth2Client.create("robot:1", scopes=["reports:read"])
    auth = Auth(tokens=tokens, token_url="/token", scopes={"todos:read": "read todos"})
    app = App(plugins=[auth, TokenEndpoint(tokens, check_password=check_password,
                                           clients={"robot:1": robot})])

    @app.get("/me")
    async def me(user: Principal) -> dict[str, Any]:
        return {"subject": user.subject, "scopes": sorted(user.scopes or ())}

    with TestClient(app) as test_client:
        test_client.robot_secret = secret  # type: ignore[attr-defined]
        yield test_client


def post(client: TestClient, body: str, **headers: str) -> TestResponse:
    return client.post("/token", content=body.encode(), headers={**FORM, **headers})


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def test_password_grant_answers_tokens_never_cached(client: TestClient) -> None:
    body = "grant_type=password&username=ada&password=correct+horse&scope=todos:read"
    response = post(client, body)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert (body["token_type"], body["scope"]) == ("Bearer", "todos:read")
    assert response.headers["cache-control"] == "no-store"
    me = client.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {"subject": "ada", "scopes": ["todos:read"]}


def test_wrong_password_is_invalid_grant_400(client: TestClient) -> None:
    response = post(client, "grant_type=password&username=ada&password=nope")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"


def test_a_scope_beyond_the_grant_is_invalid_scope(client: TestClient) -> None:
    response = post(client, "grant_type=password&username=ada&password=correct+horse&scope=admin")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")


def test_refresh_token_grant_rotates_and_detects_reuse(client: TestClient) -> None:
    first = post(client, "grant_type=password&username=ada&password=correct+horse").json()
    second = post(client, f"grant_type=refresh_token&refresh_token={first['refresh_token']}")
    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    replay = post(client, f"grant_type=refresh_token&refresh_token={first['refresh_token']}")
    assert replay.json()["error"] == "invalid_grant"
    assert "already used" in replay.json()["error_description"]
    after = post(client, f"grant_type=refresh_token&refresh_token={second.json()['refresh_token']}")
    assert after.json()["error"] == "invalid_grant"


def test_client_credentials_with_basic_auth(client: TestClient) -> None:
    secret = client.robot_secret  # type: ignore[attr-defined]
    response = post(client, "grant_type=client_credentials",
                    Authorization=basic("robot:1", secret))
    body = response.json()
    assert response.status_code == 200 and "refresh_token" not in body
    assert body["scope"] == "reports:read"
    me = client.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["subject"] == "robot:1"


def test_client_credentials_in_the_body(client: TestClient) -> None:
    secret = client.robot_secret  # type: ignore[attr-defined]
    body = f"grant_type=client_credentials&client_id=robot:1&client_secret={secret}"
    response = post(client, body)
    assert response.status_code == 200


def test_a_wrong_client_secret_is_invalid_client_401_with_a_basic_challenge(
    client: TestClient,
) -> None:
    for response in (
        post(client, "grant_type=client_credentials", Authorization=basic("robot:1", "wrong")),
        post(client, "grant_type=client_credentials&client_id=robot:1&client_secret=wrong"),
        post(client, "grant_type=client_credentials"),
        post(client, "grant_type=client_credentials", Authorization="Basic !!!"),
    ):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"] == 'Basic realm="token"'


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        ("grant_type=implicit", "application/x-www-form-urlencoded", "unsupported_grant_type"),
        ("username=ada", "application/x-www-form-urlencoded", "invalid_request"),
        ('{"grant_type": "password"}', "application/json", "invalid_request"),
        ("grant_type=password&grant_type=password", "application/x-www-form-urlencoded",
         "invalid_request"),
        ("grant_type=password&username=ada", "application/x-www-form-urlencoded",
         "invalid_request"),
        ("grant_type=refresh_token", "application/x-www-form-urlencoded", "invalid_request"),
        ("grant_type=refresh_token&refresh_token=garbage", "application/x-www-form-urlencoded",
         "invalid_grant"),
    ],
)
def test_malformed_requests_get_the_rfc_6749_error(
    client: TestClient, body: str, content_type: str, error: str
) -> None:
    response = client.post("/token", content=body.encode(), headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_two_client_authentication_methods_at_once_are_refused(client: TestClient) -> None:
    secret = client.robot_secret  # type: ignore[attr-defined]
    response = post(client, f"grant_type=client_credentials&client_secret={secret}",
                    Authorization=basic("robot:1", secret))
    assert response.json()["error"] == "invalid_request"


def test_the_openapi_document_declares_bearer_and_oauth2_password(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["oauth2"]["flows"]["password"]["tokenUrl"] == "/token"
    assert document["paths"]["/me"]["get"]["security"] == [{"bearer": []}, {"oauth2": []}]
    assert "security" not in document["paths"]["/token"]["post"]


def test_a_refresh_may_narrow_the_scope_but_not_widen_it(client: TestClient) -> None:
    first = post(client, "grant_type=password&username=ada&password=correct+horse").json()
    assert first["scope"] == "todos:read todos:write"
    narrowed = post(client, "grant_type=refresh_token&scope=todos:read"
                            f"&refresh_token={first['refresh_token']}").json()
    assert narrowed["scope"] == "todos:read"
    # The family keeps the whole grant: the next refresh may ask for all of it again.
    again = post(client, f"grant_type=refresh_token&refresh_token={narrowed['refresh_token']}")
    assert again.json()["scope"] == "todos:read todos:write"
    wider = post(client, "grant_type=refresh_token&scope=admin"
                         f"&refresh_token={again.json()['refresh_token']}")
    assert (wider.status_code, wider.json()["error"]) == (400, "invalid_scope")

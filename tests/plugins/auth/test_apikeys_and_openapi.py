"""API keys through the service, the OpenAPI security schemes, and Redis being down."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from typing import Any

import anyio
import pytest
from openapi_spec_validator import validate

from minimal_asgi import App
from minimal_asgi.testing import TestClient
from minimal_asgi_auth import (
    APIKeys,
    Auth,
    Principal,
    RedisAPIKeyStore,
    RedisRefreshStore,
    RedisSessionStore,
    Sessions,
    Tokens,
)
from minimal_asgi_redis import RedisConnection

from .conftest import SECRET

pytestmark = pytest.mark.anyio


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_key_is_shown_once_and_stored_only_as_a_hash() -> None:
    keys = APIKeys()
    plain, record = await keys.create("ada", name="ci", scopes=["todos:read"])
    assert re.fullmatch(r"mak_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", plain)
    assert record.prefix == plain.split("_")[1]
    assert record.digest == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in repr(record) and plain.split("_", 2)[2] not in repr(vars(keys.store))


async def test_verify_records_the_last_use_and_revoke_ends_the_key() -> None:
    clock = Clock()
    keys = APIKeys(clock=clock)
    plain, record = await keys.create("ada", name="ci")
    assert record.last_used is None
    clock.now = 2000.0
    used = await keys.verify(plain)
    assert used is not None and used.last_used == 2000.0
    assert [k.last_used for k in await keys.list("ada")] == [2000.0]
    assert await keys.revoke(record.prefix) is True
    assert await keys.verify(plain) is None
    assert await keys.list("ada") == []


@pytest.mark.parametrize(
    "presented", ["", "mak_", "mak_0123456789ab_short", "xyz_0123456789ab_" + "A" * 43]
)
async def test_malformed_or_foreign_keys_are_refused(presented: str) -> None:
    assert await APIKeys().verify(presented) is None


async def test_a_key_with_the_right_prefix_and_a_wrong_secret_is_refused() -> None:
    keys = APIKeys()
    plain, _ = await keys.create("ada", name="ci")
    changed = "B" if plain[-5] == "A" else "A"
    assert await keys.verify(plain[:-5] + changed + plain[-4:]) is None


def full_app() -> App:
    auth = Auth(tokens=Tokens(SECRET), api_keys=APIKeys(), sessions=Sessions(),
                token_url="/token", scopes={"todos:write": "create and change todos"})
    app = App(plugins=[auth])

    @app.get("/me")
    async def me(user: Principal) -> str:
        return user.subject

    @app.post("/todos", dependencies=[auth.requires_scopes("todos:write")])
    async def write(user: Principal) -> str:
        return user.subject

    @app.get("/open")
    async def open_route() -> str:
        return "hi"

    return app


def test_the_document_declares_each_scheme_and_each_routes_requirements() -> None:
    with TestClient(full_app()) as client:
        document = client.get("/openapi.json").json()
    validate(document)
    assert set(document["components"]["securitySchemes"]) == {"bearer", "oauth2", "apiKey",
                                                              "session"}
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key"}
    paths = document["paths"]
    assert paths["/me"]["get"]["security"] == [
        {"bearer": []}, {"oauth2": []}, {"apiKey": []}, {"session": []}]
    assert paths["/todos"]["post"]["security"] == [
        {"bearer": ["todos:write"]}, {"oauth2": ["todos:write"]}, {"apiKey": ["todos:write"]},
        {"session": []}]
    assert "security" not in paths["/open"]["get"]


def test_the_docs_page_is_served_with_the_schemes_in_its_document() -> None:
    with TestClient(full_app()) as client:
        assert client.get("/docs").status_code == 200


# -- Redis down: 503, never a 500, never a login waved through ------------------------


def test_redis_down_answers_503_for_every_auth_store(closed_port: int) -> None:
    # The pool plugin would refuse to start on a dead Redis, so these stores get
    # a client pointed at a closed port directly.
    import redis.asyncio as aioredis

    down = aioredis.Redis(host="127.0.0.1", port=closed_port, socket_connect_timeout=1)
    tokens = Tokens(SECRET, store=RedisRefreshStore(down))
    auth = Auth(tokens=tokens, sessions=Sessions(RedisSessionStore(down)),
                api_keys=APIKeys(RedisAPIKeyStore(down)))
    app = App(plugins=[auth])

    @app.post("/login")
    async def login() -> dict[str, Any]:
        return (await tokens.issue("ada")).as_json()

    @app.get("/me")
    async def me(user: Principal) -> str:
        return user.subject

    with TestClient(app) as client:
        failed_login = client.post("/login")
        failed_session = client.get("/me", cookies={"__Host-session": "A" * 43})
        failed_key = client.get("/me", headers={"X-API-Key": "mak_0123456789ab_" + "A" * 43})
        bearer_still_works = client.get(
            "/me", headers={"Authorization": f"Bearer {tokens.access_token('ada')}"})
    for response in (failed_login, failed_session, failed_key):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.headers["content-type"] == "application/problem+json"
    # An access token needs no store: the API keeps serving signed-in callers.
    assert bearer_still_works.text == "ada"


def test_stores_can_share_the_apps_redis_pool(redis_url: str, redis_prefix: str) -> None:
    plugin = RedisConnection(redis_url)
    tokens = Tokens(SECRET, store=RedisRefreshStore(plugin, prefix=redis_prefix))
    app = App(plugins=[plugin, Auth(tokens=tokens)])

    @app.post("/login")
    async def login() -> dict[str, Any]:
        return (await tokens.issue("ada")).as_json()

    with TestClient(app) as client:
        pair = client.post("/login").json()

    async def second_worker() -> None:
        # The family is in Redis: another process, with its own pool, rotates it.
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(redis_url)
        try:
            other = Tokens(SECRET, store=RedisRefreshStore(client, prefix=redis_prefix))
            await other.refresh(pair["refresh_token"])
        finally:
            await client.aclose()

    anyio.run(second_worker)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_docs_page_shows_each_operations_credentials_and_scopes() -> None:
    from tests.core.test_openapi import _FAKE_DOM

    app = full_app()
    with TestClient(app) as client:
        script = client.get("/docs/assets/docs.js").text
        document = client.get("/openapi.json").json()
    run = subprocess.run(["node", "-e", _FAKE_DOM + script, json.dumps(document)],
                         capture_output=True, text=True, timeout=60, check=True)
    shown = json.loads(run.stdout)
    details = dict(zip(shown["lines"], shown["details"], strict=True))
    # "Authorize" has a field for each scheme of the document, and a login for the
    # OAuth2 password flow that fills the bearer token in.
    for scheme in document["components"]["securitySchemes"]:
        assert scheme in shown["authorize"]
    assert "Get a token" in shown["authorize"]
    write = next(text for line, text in details.items() if line.startswith("POST /todos"))
    assert "Security (any one of)" in write
    assert "HTTP bearer (JWT)" in write and "header X-API-Key" in write
    assert "OAuth2 password (token: /token)" in write and "todos:write" in write
    assert "cookie __Host-session" in write
    public = next(text for line, text in details.items() if line.startswith("GET /open"))
    assert "Security" not in public


# After the page has rendered: log in through Authorize's OAuth2 password form,
# then try GET /me. Prints what was sent to the token URL and to /me.
_LOGIN_THEN_TRY = """
const sent = [];
globalThis.fetch = async (url, init) => {
  sent.push({ url, method: init.method, headers: init.headers || {}, body: String(init.body) });
  if (url === "/token") {
    return { ok: true, status: 200, json: async () => ({ access_token: "T0KEN" }) };
  }
  return { status: 200, statusText: "OK", text: async () => '"ada"',
           headers: { forEach: () => {} } };
};
function find(node, test) {
  if (test(node)) return node;
  for (const child of node.children || []) {
    const hit = find(child, test);
    if (hit) return hit;
  }
  return null;
}
process.removeAllListeners("beforeExit");
setTimeout(async () => {
  const login = find(byId.authorize, (n) => n.tag === "form" && n.className === "login");
  find(login, (n) => n.name === "oauth2-login-user").value = "ada";
  find(login, (n) => n.name === "oauth2-login-password").value = "s3cret";
  await login.listeners.submit({ preventDefault: () => {} });
  const token = find(byId.authorize, (n) => n.tag === "input" && n.name === "oauth2");
  const me = byId.endpoints.children.find((box) => box.id === "me");
  const form = find(me, (n) => n.tag === "form" && n.className === "try");
  await form.listeners.submit({ preventDefault: () => {} });
  console.log(JSON.stringify({ sent, token: token.value }));
}, 50);
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_docs_pages_oauth2_login_fills_the_token_that_try_it_sends() -> None:
    from tests.core.test_openapi import _FAKE_DOM

    with TestClient(full_app()) as client:
        script = client.get("/docs/assets/docs.js").text
        document = client.get("/openapi.json").json()
    run = subprocess.run(
        ["node", "-e", _FAKE_DOM + script + _LOGIN_THEN_TRY, json.dumps(document)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    shown = json.loads(run.stdout)
    login, me = shown["sent"]
    # RFC 6749 4.3: a form with the grant type, the username and the password.
    assert login["url"] == "/token" and login["method"] == "POST"
    assert login["body"] == "grant_type=password&username=ada&password=s3cret"
    assert shown["token"] == "T0KEN"
    assert me["url"] == "/me" and me["headers"] == {"Authorization": "Bearer T0KEN"}

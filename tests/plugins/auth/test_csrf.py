"""CSRF: Go 1.25's cross-origin check, double-submit tokens, an OAuth state bound to the browser."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from minimal_asgi import (
    App,
    ConfigurationError,
    HTMLResponse,
    Request,
    Response,
    WebSocket,
    WebSocketDisconnect,
)
from minimal_asgi.testing import TestClient
from minimal_asgi_auth.csrf import (
    CrossOriginProtection,
    CSRFMiddleware,
    CSRFTokens,
    OAuthState,
    _mac,
)
from minimal_asgi_auth.keys import HMACKey
from tests.server.servers import minimal_asgi_server, uvicorn_server

SECRET = bytes(range(32))


def make_app(**options: Any) -> tuple[App, list[str]]:
    changed: list[str] = []
    app = App()

    @app.get("/account")
    async def account() -> dict[str, str]:
        return {"balance": "100"}

    @app.post("/transfer")
    async def transfer(request: Request) -> dict[str, str]:
        form = await request.form()
        changed.append(str(form.get("to", "")))
        return {"done": "yes"}

    @app.post("/webhooks/stripe")
    async def stripe() -> dict[str, str]:
        changed.append("webhook")
        return {"ok": "yes"}

    app.add_middleware(CSRFMiddleware, **options)
    return app, changed


def post(client: TestClient, path: str = "/transfer", **headers: str) -> Any:
    return client.post(path, data={"to": "mallory"}, headers={"host": "bank.example", **headers})


# Each row: the headers a browser (or a script, or curl) sends, and the verdict.
CASES = [
    ({"sec-fetch-site": "same-origin"}, 200),
    ({"sec-fetch-site": "none"}, 200),  # typed in the address bar, a bookmark
    ({"sec-fetch-site": "cross-site", "origin": "https://evil.example"}, 403),
    ({"sec-fetch-site": "same-site", "origin": "https://blog.bank.example"}, 403),
    ({"sec-fetch-site": "cross-site"}, 403),
    ({"sec-fetch-site": "cross-site", "origin": "https://bank.example"}, 403),  # the header wins
    ({"origin": "null"}, 403),  # a sandboxed iframe, a data: URL
    ({"origin": "https://evil.example"}, 403),  # an old browser, cross-origin
    ({"origin": "https://bank.example"}, 200),  # an old browser, same origin
    ({"origin": "http://bank.example"}, 200),  # the scheme is not known from Host (as in Go)
    ({"origin": "https://bank.example:8443"}, 403),  # another port is another origin
    ({"origin": "https://bank.example.evil.example"}, 403),
    ({"origin": "https://bank.example/path"}, 403),
    ({}, 200),  # neither header: curl, a server, a very old browser
]


@pytest.mark.parametrize(("headers", "status"), CASES)
def test_cross_origin_protection_like_go(headers: dict[str, str], status: int) -> None:
    app, changed = make_app()
    with TestClient(app) as client:
        response = post(client, **headers)
    assert response.status_code == status
    assert changed == (["mallory"] if status == 200 else [])
    if status == 403:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Cross-site request refused"
        assert response.json()["status"] == 403


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_always_pass(method: str) -> None:
    app, _ = make_app()
    with TestClient(app) as client:
        headers = {"sec-fetch-site": "cross-site", "origin": "null", "host": "bank.example"}
        response = client.request(method, "/account", headers=headers)
    assert response.status_code in (200, 204, 405)
    assert response.status_code != 403


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_every_unsafe_method_is_checked(method: str) -> None:
    app, _ = make_app()
    with TestClient(app) as client:
        response = client.request(
            method, "/transfer", headers={"sec-fetch-site": "cross-site", "host": "bank.example"}
        )
    assert response.status_code == 403


def test_trusted_origins_and_the_bypass_list() -> None:
    app, changed = make_app(trusted_origins=["https://admin.bank.example"], bypass=["/webhooks/"])
    with TestClient(app) as client:
        admin = {"sec-fetch-site": "same-site", "origin": "https://admin.bank.example"}
        assert post(client, **admin).status_code == 200
        other = {"sec-fetch-site": "same-site", "origin": "https://blog.bank.example"}
        assert post(client, **other).status_code == 403
        old_admin = {"origin": "https://admin.bank.example"}
        assert post(client, **old_admin).status_code == 200
        hook = {"sec-fetch-site": "cross-site", "origin": "https://stripe.example"}
        assert post(client, "/webhooks/stripe", **hook).status_code == 200
    assert changed == ["mallory", "mallory", "webhook"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"trusted_origins": ["https://admin.example/"]}, "scheme://host"),
        ({"trusted_origins": ["admin.example"]}, "scheme://host"),
        ({"trusted_origins": "https://admin.example"}, "lists"),
        ({"bypass": ["webhooks/"]}, "start with '/'"),
    ],
)
def test_configuration_mistakes_are_caught_at_startup(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CrossOriginProtection(**options)


# ---------------------------------------------------------------- double-submit tokens


def token_app(**options: Any) -> tuple[App, list[str], CSRFTokens]:
    tokens = CSRFTokens(SECRET)
    app, changed = make_app(tokens=tokens, session_cookie="session", **options)

    @app.post("/login")
    async def login() -> Response:
        response = Response(status_code=204)
        response.set_cookie("session", "session-1")
        tokens.set_cookie(response, "session-1")
        return response

    return app, changed, tokens


def test_an_old_browser_needs_the_token_when_a_session_cookie_is_sent() -> None:
    app, changed, _ = token_app()
    with TestClient(app, base_url="https://bank.example") as client:
        assert post(client).status_code == 200  # no session cookie: nothing to forge
        client.post("/login")
        token = client.cookies["__Host-csrf"]
        refused = post(client)
        assert refused.status_code == 403
        assert "X-CSRF-Token".lower() in refused.json()["detail"].lower()
        assert post(client, **{"x-csrf-token": token}).status_code == 200
        form = client.post(
            "/transfer",
            data={"to": "alice", "csrf_token": token},
            headers={"host": "bank.example"},
        )
        assert form.status_code == 200  # the token in the form, and the body still readable
    assert changed == ["mallory", "mallory", "alice"]


def test_a_token_of_another_session_or_a_planted_cookie_is_refused() -> None:
    app, changed, tokens = token_app()
    with TestClient(app, base_url="https://bank.example") as client:
        client.post("/login")
        theirs = tokens.issue("session-of-the-attacker")
        # The attacker plants the cookie and the header (a sibling subdomain can set cookies).
        client.cookies["__Host-csrf"] = theirs
        assert post(client, **{"x-csrf-token": theirs}).status_code == 403
        mine = tokens.issue("session-1")
        client.cookies["__Host-csrf"] = mine
        assert post(client, **{"x-csrf-token": mine + "x"}).status_code == 403
        assert post(client, **{"x-csrf-token": "é" * 10}).status_code == 403
        assert post(client, **{"x-csrf-token": mine}).status_code == 200
    assert changed == ["mallory"]


def test_modern_browsers_pass_on_fetch_metadata_unless_tokens_are_always_required() -> None:
    for mode, status in [("old-browsers", 200), ("always", 403)]:
        app, _, _ = token_app(require_token=mode)
        with TestClient(app, base_url="https://bank.example") as client:
            client.post("/login", headers={"sec-fetch-site": "same-origin"})
            assert post(client, **{"sec-fetch-site": "same-origin"}).status_code == status


def test_tokens_hide_their_key() -> None:
    assert "0001020304" not in repr(CSRFTokens(SECRET))
    assert "<secret>" in repr(OAuthState(SECRET))


# ---------------------------------------------------------------- the OAuth state


def oauth_app(state: OAuthState, logins: list[str]) -> App:
    app = App()

    @app.get("/login/start")
    async def start() -> Response:
        response = Response(status_code=302)
        value = state.begin(response)
        response.headers["location"] = f"https://idp.example/authorize?state={value}"
        return response

    @app.get("/login/callback")
    async def callback(request: Request, code: str) -> Response:
        response = Response(status_code=204)
        state.verify(request, request.query_params.get("state"), response)
        logins.append(code)
        return response

    return app


def state_of(response: Any) -> str:
    match = re.search(r"state=([\w-]+)", response.headers["location"])
    assert match is not None
    return match.group(1)


def test_the_oauth_state_is_bound_to_the_browser_that_started_the_login() -> None:
    logins: list[str] = []
    app = oauth_app(OAuthState(SECRET), logins)
    with TestClient(app) as victim, TestClient(app) as attacker:
        # The attacker starts a login in their own browser and stops before the callback...
        attackers_state = state_of(attacker.get("/login/start", follow_redirects=False))
        # ...then sends the victim to the callback with the attacker's code and state.
        forged = victim.get(f"/login/callback?code=attackers-code&state={attackers_state}")
        assert forged.status_code == 403
        assert "no login was started in this browser" in forged.json()["detail"]
        # A state from another browser, even with a cookie of one's own, fails too.
        victim.get("/login/start", follow_redirects=False)
        wrong = victim.get(f"/login/callback?code=c&state={attackers_state}")
        assert wrong.status_code == 403 and "does not match" in wrong.json()["detail"]
        # The victim's own login goes through - once.
        own = state_of(victim.get("/login/start", follow_redirects=False))
        assert victim.get(f"/login/callback?code=victims-code&state={own}").status_code == 204
        replayed = victim.get(f"/login/callback?code=victims-code&state={own}")
        assert replayed.status_code == 403
    assert logins == ["victims-code"]


def test_an_expired_or_tampered_state_cookie_is_refused() -> None:
    now = [1_800_000_000.0]
    app = oauth_app(OAuthState(SECRET, max_age=600, clock=lambda: now[0]), [])
    with TestClient(app) as client:
        state = state_of(client.get("/login/start", follow_redirects=False))
        cookie = client.cookies["__Host-oauth-state"]
        client.cookies["__Host-oauth-state"] = cookie.replace(".", "x.", 1)
        tampered = client.get(f"/login/callback?code=c&state={state}")
        assert "signature" in tampered.json()["detail"]
        state = state_of(client.get("/login/start", follow_redirects=False))
        now[0] += 601
        expired = client.get(f"/login/callback?code=c&state={state}")
        assert expired.status_code == 403 and "too long" in expired.json()["detail"]


def test_a_csrf_signature_cannot_pass_as_an_oauth_state() -> None:
    # Same key, same signed parts, different purposes: one is not valid for the other.
    key = HMACKey(SECRET)
    app = oauth_app(OAuthState(SECRET), [])
    with TestClient(app) as client:
        as_csrf = _mac(key, b"csrf", "x", "9999999999")
        client.cookies["__Host-oauth-state"] = f"x.9999999999.{as_csrf}"
        assert client.get("/login/callback?code=c&state=x").status_code == 403
        as_state = _mac(key, b"oauth-state", "x", "9999999999")
        client.cookies["__Host-oauth-state"] = f"x.9999999999.{as_state}"
        assert client.get("/login/callback?code=c&state=x").status_code == 204


# ---------------------------------------------------------------- an attacker page, for real

ATTACKER_PAGE = """<!doctype html>
<title>You won a prize!</title>
<form id="f" method="post" action="{victim}/transfer">
  <input type="hidden" name="to" value="mallory">
  <input type="hidden" name="amount" value="1000">
</form>
<script>document.getElementById("f").submit()</script>
"""


def victim_app() -> tuple[App, list[str]]:
    app, changed = make_app()

    @app.post("/login")
    async def login() -> Response:
        response = Response(status_code=204)
        # SameSite=None so the browser *would* attach it to the forged POST: the
        # middleware must stop the request on its own, without SameSite's help.
        response.set_cookie("session", "victim", samesite="none")
        return response

    return app, changed


def attacker_app(victim: str) -> App:
    app = App()

    @app.get("/")
    async def page() -> HTMLResponse:
        return HTMLResponse(ATTACKER_PAGE.format(victim=victim))

    return app


def test_a_forged_form_post_from_an_attacker_page_on_another_port_is_refused() -> None:
    victim, changed = victim_app()
    with uvicorn_server(victim) as (host, victim_port):
        victim_origin = f"http://{host}:{victim_port}"
        with minimal_asgi_server(attacker_app(victim_origin)) as (_, attacker_port):
            # "localhost" and "127.0.0.1" are different sites to a browser.
            attacker_origin = f"http://localhost:{attacker_port}"
            with httpx.Client(timeout=30) as browser:
                browser.post(f"{victim_origin}/login")  # the victim logs in to the bank
                cookie = browser.cookies["session"]
                page = browser.get(f"{attacker_origin}/").text  # ...then visits the prize page
                form = re.search(r'<form id="f" method="post" action="([^"]+)">', page)
                assert form is not None and form.group(1) == f"{victim_origin}/transfer"
                fields = dict(re.findall(r'name="(\w+)" value="(\w+)"', page))
                # What the browser sends when the page's script submits the form.
                forged = {
                    "origin": attacker_origin,
                    "sec-fetch-site": "cross-site",
                    "sec-fetch-mode": "navigate",
                    "sec-fetch-dest": "document",
                    "referer": f"{attacker_origin}/",
                    "cookie": f"session={cookie}",
                }
                refused = httpx.post(form.group(1), data=fields, headers=forged, timeout=30)
                assert refused.status_code == 403
                assert refused.headers["content-type"] == "application/problem+json"
                # The same form from an old browser: no Sec-Fetch-Site, just the Origin.
                old = {k: v for k, v in forged.items() if not k.startswith("sec-fetch")}
                assert httpx.post(form.group(1), data=fields, headers=old).status_code == 403
                # The bank's own page posting the same form is fine.
                own = {
                    "origin": victim_origin,
                    "sec-fetch-site": "same-origin",
                    "cookie": f"session={cookie}",
                }
                assert httpx.post(form.group(1), data=fields, headers=own).status_code == 200
    assert changed == ["mallory"]  # only the bank's own request changed anything


# ---------------------------------------------------------------- WebSockets


def websocket_app(**options: Any) -> App:
    app = App()

    @app.websocket("/live")
    async def live(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("balance: 100")
        await websocket.close()

    app.add_middleware(CSRFMiddleware, **options)
    return app


@pytest.mark.parametrize(
    ("headers", "opens"),
    [
        ({"sec-fetch-site": "same-origin", "origin": "https://bank.example"}, True),
        ({"origin": "https://bank.example"}, True),
        ({}, True),
        ({"sec-fetch-site": "cross-site", "origin": "https://evil.example"}, False),
        ({"origin": "https://evil.example"}, False),
        ({"origin": "null"}, False),
    ],
)
def test_another_sites_page_cannot_open_a_websocket_with_the_users_cookies(
    headers: dict[str, str], opens: bool
) -> None:
    with TestClient(websocket_app(), base_url="https://bank.example") as client:
        all_headers = {"host": "bank.example", "cookie": "session=victim", **headers}
        if opens:
            with client.websocket_connect("/live", headers=all_headers) as socket:
                assert socket.receive_text() == "balance: 100"
        else:
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                client.websocket_connect("/live", headers=all_headers),
            ):
                pass
            assert refused.value.code == 1008


def test_the_websocket_check_can_be_turned_off() -> None:
    app = websocket_app(websockets=False)
    with TestClient(app) as client:
        headers = {"sec-fetch-site": "cross-site", "origin": "https://evil.example"}
        with client.websocket_connect("/live", headers=headers) as socket:
            assert socket.receive_text() == "balance: 100"


def test_the_protection_itself_is_usable_without_the_middleware() -> None:
    protection = CrossOriginProtection(bypass=(path for path in ["/hooks/exact"]))
    cross_site = [(b"sec-fetch-site", b"cross-site"), (b"host", b"bank.example")]
    assert protection.refusal("GET", "/transfer", cross_site) is None
    assert protection.refusal("POST", "/hooks/exact", cross_site) is None
    assert protection.refusal("POST", "/hooks/exact/more", cross_site) is not None
    with pytest.raises(ConfigurationError, match="require_token"):
        CSRFMiddleware(App(), require_token="sometimes")  # type: ignore[arg-type]


def test_a_form_too_large_to_look_into_needs_the_token_in_the_header() -> None:
    app, changed, tokens = token_app()
    with TestClient(app, base_url="https://bank.example") as client:
        client.post("/login")
        token = client.cookies["__Host-csrf"]
        # Over the 64 KiB the middleware reads, each field under the form limits.
        big = {"to": "alice", "pad1": "x" * 40_000, "pad2": "x" * 40_000, "csrf_token": token}
        assert client.post("/transfer", data=big).status_code == 403
        headers = {"x-csrf-token": token}
        assert client.post("/transfer", data=big, headers=headers).status_code == 200
        assert not tokens.valid("no-dot-in-it", "session-1")
        assert not tokens.valid(token + "x" * 200, "session-1")
    assert changed == ["alice"]

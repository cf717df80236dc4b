"""Server-side sessions behind a cookie; the ASVS 5.0 V7 items, each named."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

import pytest

from minimal_asgi import App, ConfigurationError, HTTPException, Request, Response
from minimal_asgi.testing import TestClient
from minimal_asgi_auth import Sessions

from .conftest import app_store

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def session_app(sessions: Sessions) -> App:
    app = App()

    @app.post("/login")
    async def login(request: Request) -> Response:
        response = Response(status_code=204)
        await sessions.login(response, "ada", {"roles": ["member"]}, replacing=request)
        return response

    @app.get("/me")
    async def me(request: Request) -> dict[str, Any]:
        session = await sessions.load(request)
        if session is None:
            raise HTTPException(401, "no session")
        return {"subject": session.subject, "data": session.data}

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        response = Response(status_code=204)
        await sessions.logout(request, response)
        return response

    @app.post("/logout-everywhere")
    async def logout_everywhere() -> dict[str, int]:
        return {"ended": await sessions.logout_everywhere("ada")}

    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(redis_plugins: list[Any], request: pytest.FixtureRequest, clock: Clock) -> Sessions:
    store = app_store("session", redis_plugins, request)
    made = Sessions(store, idle_timeout=600, absolute_timeout=3600, clock=clock)
    made.plugins = redis_plugins  # type: ignore[attr-defined]
    return made


def client(sessions: Sessions) -> TestClient:
    app = session_app(sessions)
    for plugin in sessions.plugins:  # type: ignore[attr-defined]
        app.install(plugin)
    return TestClient(app, base_url="https://testserver")


def test_the_cookie_is_host_prefixed_httponly_secure_lax_path_root(sessions: Sessions) -> None:
    with client(sessions) as c:
        header = c.post("/login").headers["set-cookie"]
    name, _ = header.split(";")[0].split("=", 1)
    attributes = {a.strip().split("=")[0].lower() for a in header.split(";")[1:]}
    assert name == "__Host-session"
    assert {"httponly", "secure", "path", "samesite"} <= attributes
    assert "domain" not in attributes  # __Host- forbids it
    assert re.search(r"(?i)samesite=lax", header) and re.search(r"(?i)path=/(;|$)", header)


def test_asvs_7_2_3_session_ids_are_csprng_with_at_least_128_bits(sessions: Sessions) -> None:
    ids = []
    with client(sessions) as c:
        for _ in range(200):
            ids.append(c.post("/login").headers["set-cookie"].split(";")[0].split("=", 1)[1])
    assert len(set(ids)) == len(ids)
    # 43 base64url characters = 256 bits from secrets.token_urlsafe(32).
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", i) for i in ids)
    assert 43 * 6 >= 128
    # The characters look uniformly random: per-position entropy near 6 bits.
    counts = Counter("".join(ids))
    total = sum(counts.values())
    entropy = -sum(n / total * math.log2(n / total) for n in counts.values())
    assert entropy > 5.8


def test_asvs_7_2_1_the_session_is_checked_on_the_server(sessions: Sessions) -> None:
    with client(sessions) as c:
        c.post("/login")
        assert c.get("/me").json()["subject"] == "ada"
        made_up = "A" * 43  # right shape, never issued
        assert c.get("/me", cookies={"__Host-session": made_up}).status_code == 401


def test_asvs_7_2_4_login_issues_a_new_id_and_ends_the_old_one(sessions: Sessions) -> None:
    with client(sessions) as c:
        c.post("/login")
        planted = c.cookies["__Host-session"]  # e.g. fixed by an attacker before login
        c.post("/login")
        fresh = c.cookies["__Host-session"]
        assert fresh != planted
        assert c.get("/me", cookies={"__Host-session": planted}).status_code == 401
        assert c.get("/me").status_code == 200


def test_asvs_7_3_1_idle_timeout(sessions: Sessions, clock: Clock) -> None:
    with client(sessions) as c:
        c.post("/login")
        clock.now += 599
        assert c.get("/me").status_code == 200
        clock.now += 601
        assert c.get("/me").status_code == 401


def test_asvs_7_3_2_absolute_timeout(sessions: Sessions, clock: Clock) -> None:
    with client(sessions) as c:
        c.post("/login")
        for _ in range(6):  # busy: a request every 500 s
            clock.now += 500
            assert c.get("/me").status_code == 200
        clock.now += 601  # 3601 s after login
        assert c.get("/me").status_code == 401


def test_asvs_7_4_1_logout_invalidates_the_session_on_the_server(sessions: Sessions) -> None:
    with client(sessions) as c:
        c.post("/login")
        kept = c.cookies["__Host-session"]  # a copy the browser's back button might still send
        response = c.post("/logout")
        assert re.search(r"(?i)max-age=0", response.headers["set-cookie"])
        assert c.get("/me", cookies={"__Host-session": kept}).status_code == 401


def test_asvs_7_4_2_logout_everywhere_ends_every_session_of_the_user(
    sessions: Sessions,
) -> None:
    with client(sessions) as c:
        c.post("/login")
        laptop = c.cookies["__Host-session"]
        c.cookies.clear()
        c.post("/login")
        phone = c.cookies["__Host-session"]
        assert c.post("/logout-everywhere").json() == {"ended": 2}
        for device in (laptop, phone):
            assert c.get("/me", cookies={"__Host-session": device}).status_code == 401


def test_session_data_is_saved(sessions: Sessions) -> None:
    with client(sessions) as c:
        c.post("/login")
        assert c.get("/me").json()["data"] == {"roles": ["member"]}


def test_a_cookie_that_is_not_an_id_is_not_looked_up(sessions: Sessions) -> None:
    with client(sessions) as c:
        for value in ("", "x", "A" * 44, "../../etc/passwd", "A" * 42 + "!"):
            assert c.get("/me", cookies={"__Host-session": value}).status_code == 401


def test_the_host_prefix_without_secure_is_refused_at_startup() -> None:
    with pytest.raises(ConfigurationError, match="__Host-"):
        Sessions(secure=False)
    Sessions(secure=False, cookie_name="dev-session")


def test_an_absolute_timeout_shorter_than_the_idle_one_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        Sessions(idle_timeout=600, absolute_timeout=60)


def test_the_session_repr_does_not_show_its_id(sessions: Sessions) -> None:
    from minimal_asgi_auth import Session

    assert "secret-id" not in repr(Session("secret-id", "ada", {}, 0.0))

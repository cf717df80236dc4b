"""A limit as a dependency: keys resolved with the app's dependency injection."""

from __future__ import annotations

from typing import Any

import http_sf
import pytest
import redis.asyncio as aioredis

from minimal_asgi import App, Depends, Header, HTTPException, Router
from minimal_asgi.testing import TestClient
from minimal_asgi_ratelimit import QUOTA_EXCEEDED, RateLimit, RedisBackend
from tests.types import ClientFactory

USERS = {"token-ada": "ada", "token-bob": "bob"}


def sf_list(value: str) -> dict[str, dict[str, Any]]:
    parsed = http_sf.parse(value.encode(), tltype="list")
    return {str(item): dict(params) for item, params in parsed}


def user_app(limiter: RateLimit, calls: list[str] | None = None) -> App:
    """``/me`` limited per authenticated user, the user found by a dependency
    that the endpoint asks for too."""
    app = App(plugins=[limiter])

    async def current_user(authorization: str = Header()) -> str:
        if calls is not None:
            calls.append(authorization)
        user = USERS.get(authorization.removeprefix("Bearer "))
        if user is None:
            raise HTTPException(401, "unknown token")
        return user

    def by_user(user: str = Depends(current_user)) -> str:  # sync, with a dependency
        return f"user:{user}"

    @app.get("/me", dependencies=[limiter.limit("2/minute", key=by_user)])
    async def me(user: str = Depends(current_user)) -> dict[str, str]:
        return {"user": user}

    @app.get("/open")
    async def open_route() -> str:
        return "open"

    return app


def test_each_user_has_a_quota_of_their_own(client_for: ClientFactory) -> None:
    client = client_for(user_app(RateLimit()))
    ada = {"authorization": "Bearer token-ada"}
    bob = {"authorization": "Bearer token-bob"}
    assert [client.get("/me", headers=ada).status_code for _ in range(3)] == [200, 200, 429]
    assert [client.get("/me", headers=bob).status_code for _ in range(3)] == [200, 200, 429]


def test_the_key_shares_the_endpoints_dependencies_which_run_once(
    client_for: ClientFactory,
) -> None:
    calls: list[str] = []
    client = client_for(user_app(RateLimit(), calls))
    assert client.get("/me", headers={"authorization": "Bearer token-ada"}).json() == {
        "user": "ada"
    }
    assert calls == ["Bearer token-ada"]


def test_an_unauthenticated_request_fails_in_the_key_and_spends_nothing(
    client_for: ClientFactory,
) -> None:
    client = client_for(user_app(RateLimit()))
    for _ in range(3):
        assert client.get("/me", headers={"authorization": "Bearer nobody"}).status_code == 401
    assert client.get("/me", headers={"authorization": "Bearer token-ada"}).status_code == 200


def test_allowed_responses_carry_the_headers_and_the_429_matches_the_route_option(
    client_for: ClientFactory,
) -> None:
    limiter = RateLimit(algorithm="fixed-window")
    app = App(plugins=[limiter])

    @app.get("/dep", dependencies=[limiter.limit("1/minute", name="one")])
    async def dep() -> str:
        return "ok"

    @app.get("/opt", rate_limit="1/minute")
    async def opt() -> str:
        return "ok"

    client = client_for(app)
    allowed = client.get("/dep")
    assert sf_list(allowed.headers["ratelimit-policy"]) == {"1/minute": {"q": 1, "w": 60}}
    assert sf_list(allowed.headers["ratelimit"])["1/minute"]["r"] == 0
    client.get("/opt")
    by_dependency, by_option = client.get("/dep"), client.get("/opt")
    assert by_dependency.status_code == by_option.status_code == 429
    assert by_dependency.json() == by_option.json()
    assert by_dependency.json()["type"] == QUOTA_EXCEEDED
    for header in ("retry-after", "ratelimit-policy", "ratelimit", "content-type"):
        assert by_dependency.headers[header] == by_option.headers[header], header


def test_a_route_that_uses_no_limit_dependency_is_not_wrapped(client_for: ClientFactory) -> None:
    app = user_app(RateLimit())
    client = client_for(app)
    wrapped = {route.path: route.wrapped for route in app.routes}
    assert wrapped["/me"] and not wrapped["/open"]
    assert "ratelimit" not in client.get("/open").headers


def test_one_dependency_on_a_router_is_one_quota_for_its_routes(client_for: ClientFactory) -> None:
    limiter = RateLimit()
    app = App(plugins=[limiter])
    router = Router(dependencies=[limiter.limit("3/minute")])

    @router.get("/a")
    async def a() -> str:
        return "a"

    @router.get("/b")
    async def b() -> str:
        return "b"

    app.include_router(router, prefix="/v1")
    client = client_for(app)
    statuses = [client.get(path).status_code for path in ("/v1/a", "/v1/b", "/v1/a", "/v1/b")]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.anyio
async def test_an_async_key_reading_the_request_is_awaited() -> None:
    limiter = RateLimit()
    app = App(plugins=[limiter])

    async def by_tenant(x_tenant: str = Header()) -> str:
        return x_tenant

    @app.get("/t", dependencies=[limiter.limit("1/minute", key=by_tenant)])
    async def t() -> str:
        return "t"

    with TestClient(app) as client:
        statuses = [
            client.get("/t", headers={"x-tenant": tenant}).status_code
            for tenant in ("a", "a", "b")
        ]
    assert statuses == [200, 429, 200]


@pytest.mark.parametrize(("policy", "expected"), [("open", 200), ("closed", 503)])
def test_backend_down_follows_the_policy(
    client_for: ClientFactory, dead_port: int, policy: str, expected: int
) -> None:
    dead = aioredis.Redis.from_url(f"redis://127.0.0.1:{dead_port}/0")
    limiter = RateLimit(backend=RedisBackend(dead), on_backend_error=policy)  # type: ignore[arg-type]
    app = App(plugins=[limiter])
    app.on_shutdown(dead.aclose)

    @app.get("/x", dependencies=[limiter.limit("5/minute")])
    async def x() -> str:
        return "x"

    response = client_for(app).get("/x")
    assert response.status_code == expected
    assert "ratelimit" not in response.headers
    if expected == 503:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "1"

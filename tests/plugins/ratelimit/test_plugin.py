"""The plugin in an app: which routes are limited, what a client is told, and
exactness under concurrency on both backends and across app instances."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import anyio
import http_sf
import pytest
import redis.asyncio as aioredis

from minimal_asgi import App, Request, Router, TrustedProxies
from minimal_asgi.testing import AsyncTestClient, TestClient
from minimal_asgi_ratelimit import (
    QUOTA_EXCEEDED,
    Limit,
    MemoryBackend,
    RateLimit,
    RedisBackend,
)
from minimal_asgi_redis import RedisConnection
from tests.plugins.ratelimit.conftest import Clock
from tests.types import ClientFactory

# The exactness proofs must not depend on the machine's speed: a decision that
# times out would fail open (200) and miscount. Outages are tested on their own.
SLOW_MACHINE = 10.0


def make_app(limiter: RateLimit, *more: Any) -> App:
    app = App(plugins=[*more, limiter])

    @app.get("/search", rate_limit="5/minute")
    async def search(q: str = "") -> dict[str, str]:
        return {"q": q}

    @app.get("/health")
    async def health() -> str:
        return "ok"

    return app


async def burst(apps: Sequence[App], path: str, count: int) -> list[int]:
    """``count`` requests at once, spread over ``apps`` in turn; their statuses."""
    statuses: list[int] = []
    async with contextlib.AsyncExitStack() as stack:  # closed in reverse order
        clients = [await stack.enter_async_context(AsyncTestClient(app)) for app in apps]

        async def one(index: int) -> None:
            response = await clients[index % len(clients)].get(path)
            statuses.append(response.status_code)

        async with anyio.create_task_group() as tasks:
            for index in range(count):
                tasks.start_soon(one, index)
    return statuses


def sf_list(value: str) -> dict[str, dict[str, Any]]:
    """A RateLimit header, parsed as a Structured Field list: {name: params}."""
    parsed = http_sf.parse(value.encode(), tltype="list")
    return {str(item): dict(params) for item, params in parsed}


# -- exactly 5 of 100 ---------------------------------------------------------------


@pytest.mark.anyio
async def test_100_concurrent_requests_get_5_answers_and_95_429s_in_memory() -> None:
    statuses = await burst([make_app(RateLimit())], "/search", 100)
    assert statuses.count(200) == 5 and statuses.count(429) == 95


@pytest.mark.anyio
async def test_100_concurrent_requests_get_5_answers_and_95_429s_on_redis(
    redis_url: str, prefix: str
) -> None:
    limiter = RateLimit(backend=redis_url, prefix=prefix, timeout=SLOW_MACHINE)
    statuses = await burst([make_app(limiter)], "/search", 100)
    assert statuses.count(200) == 5 and statuses.count(429) == 95


@pytest.mark.anyio
async def test_two_app_instances_sharing_redis_let_5_through_together(
    redis_url: str, prefix: str
) -> None:
    apps = [
        make_app(RateLimit(backend=redis_url, prefix=prefix, timeout=SLOW_MACHINE))
        for _ in range(2)
    ]
    statuses = await burst(apps, "/search", 100)
    assert statuses.count(200) == 5 and statuses.count(429) == 95


@pytest.mark.anyio
async def test_two_app_instances_in_memory_each_count_alone() -> None:
    # Why the in-memory backend is for one process only: each instance lets 5 through.
    statuses = await burst([make_app(RateLimit()), make_app(RateLimit())], "/search", 100)
    assert statuses.count(200) == 10


# -- what the client is told ----------------------------------------------------------


def test_limited_responses_carry_the_ratelimit_structured_fields(
    client_for: ClientFactory,
) -> None:
    client = client_for(make_app(RateLimit()))
    for expected_left in (4, 3):
        response = client.get("/search")
        assert sf_list(response.headers["ratelimit-policy"]) == {
            "5/minute": {"q": 5, "w": 60}
        }
        limit = sf_list(response.headers["ratelimit"])["5/minute"]
        assert limit["r"] == expected_left and 0 < limit["t"] <= 60
    assert "x-ratelimit-limit" not in response.headers


def test_a_429_is_a_quota_exceeded_problem_naming_the_policy(client_for: ClientFactory) -> None:
    client = client_for(make_app(RateLimit(algorithm="fixed-window")))
    for _ in range(5):
        assert client.get("/search").status_code == 200
    response = client.get("/search")
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == QUOTA_EXCEEDED and body["status"] == 429
    assert body["violated-policies"] == ["5/minute"]
    limit = sf_list(response.headers["ratelimit"])["5/minute"]
    assert limit["r"] == 0 and 0 < limit["t"] <= 60
    assert 0 < int(response.headers["retry-after"]) <= 60


@pytest.mark.parametrize("algorithm", ["fixed-window", "sliding-window", "gcra"])
def test_a_retry_after_retry_after_seconds_succeeds(
    client_for: ClientFactory, clock: Clock, algorithm: str
) -> None:
    limiter = RateLimit(backend=MemoryBackend(clock=clock), algorithm=algorithm)  # type: ignore[arg-type]
    client = client_for(make_app(limiter))
    clock.advance(7_500)
    for _ in range(5):
        client.get("/search")
    refused = client.get("/search")
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    if algorithm == "fixed-window":  # no earlier than the end of the window
        assert clock.now + wait * 1000 >= (clock.now // 60_000 + 1) * 60_000
    clock.advance(wait * 1000)
    assert client.get("/search").status_code == 200


def test_a_route_without_a_limit_is_not_wrapped_and_has_no_headers(
    client_for: ClientFactory,
) -> None:
    app = make_app(RateLimit())
    client = client_for(app)
    wrapped = {route.path: route.wrapped for route in app.routes}
    assert wrapped["/search"] and not wrapped["/health"]
    response = client.get("/health")
    assert response.status_code == 200 and "ratelimit" not in response.headers


def test_a_default_limit_applies_to_every_route_but_those_that_opt_out(
    client_for: ClientFactory,
) -> None:
    app = App(plugins=[RateLimit(default="2/minute")])

    @app.get("/a")
    async def a() -> str:
        return "a"

    @app.get("/free", rate_limit=False)
    async def free() -> str:
        return "free"

    client = client_for(app)
    assert [client.get("/a").status_code for _ in range(3)] == [200, 200, 429]
    assert [client.get("/free").status_code for _ in range(3)] == [200, 200, 200]


def test_a_router_limit_applies_to_its_routes_each_with_its_own_count(
    client_for: ClientFactory,
) -> None:
    app = App(plugins=[RateLimit()])
    api = Router(options={"rate_limit": "1/minute"})

    @api.get("/one")
    async def one() -> str:
        return "1"

    @api.get("/two", rate_limit="2/minute")
    async def two() -> str:
        return "2"

    app.include_router(api, prefix="/api")
    client = client_for(app)
    assert [client.get("/api/one").status_code for _ in range(2)] == [200, 429]
    assert [client.get("/api/two").status_code for _ in range(3)] == [200, 200, 429]


def test_several_limits_at_once_are_all_reported(client_for: ClientFactory) -> None:
    app = App(plugins=[RateLimit()])

    @app.post("/login", rate_limit="3/second; 5/hour")
    async def login() -> None:
        return None

    client = client_for(app)
    response = client.post("/login")
    assert sf_list(response.headers["ratelimit-policy"]) == {
        "3/second": {"q": 3, "w": 1},
        "5/hour": {"q": 5, "w": 3600},
    }
    assert {name: p["r"] for name, p in sf_list(response.headers["ratelimit"]).items()} == {
        "3/second": 2,
        "5/hour": 4,
    }


def test_a_limit_object_chooses_its_algorithm_and_name(client_for: ClientFactory) -> None:
    app = App(plugins=[RateLimit()])

    @app.get("/x", rate_limit=Limit(2, 10, "gcra", name="burst"))
    async def x() -> str:
        return "x"

    response = client_for(app).get("/x")
    assert sf_list(response.headers["ratelimit-policy"]) == {"burst": {"q": 2, "w": 10}}


def test_a_bad_limit_stops_the_app_at_startup_naming_the_route() -> None:
    app = App(plugins=[RateLimit()])

    @app.get("/x", rate_limit="ten a minute")
    async def x() -> str:
        return "x"

    with pytest.raises(RuntimeError, match=r"route /x: cannot read the rate limit 'ten a minute'"):
        with TestClient(app):
            pass


# -- whose quota ------------------------------------------------------------------


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    client_for: ClientFactory,
) -> None:
    client = client_for(make_app(RateLimit()), client=("203.0.113.9", 4000))
    for n in range(5):  # a different forged address each time: still one quota
        client.get("/search", headers={"x-forwarded-for": f"198.51.100.{n}"})
    assert client.get("/search", headers={"x-forwarded-for": "198.51.100.99"}).status_code == 429


def test_a_trusted_proxy_forwards_each_clients_own_quota(client_for: ClientFactory) -> None:
    limiter = RateLimit(trusted_proxies=["10.0.0.0/8"])
    client = client_for(make_app(limiter), client=("10.0.0.2", 4000))
    for _ in range(5):
        assert client.get("/search", headers={"x-forwarded-for": "198.51.100.1"}).status_code == 200
    assert client.get("/search", headers={"x-forwarded-for": "198.51.100.1"}).status_code == 429
    assert client.get("/search", headers={"x-forwarded-for": "198.51.100.2"}).status_code == 200


def test_addresses_a_client_forged_before_the_proxy_are_not_believed(
    client_for: ClientFactory,
) -> None:
    # The client sent "X-Forwarded-For: <forged>"; the proxy appended the real address.
    limiter = RateLimit(trusted_proxies=["10.0.0.2"])
    client = client_for(make_app(limiter), client=("10.0.0.2", 4000))
    for n in range(5):
        client.get("/search", headers={"x-forwarded-for": f"1.2.3.{n}, 198.51.100.7"})
    refused = client.get("/search", headers={"x-forwarded-for": "9.9.9.9, 198.51.100.7"})
    assert refused.status_code == 429


def test_the_forwarded_header_is_read_from_a_trusted_proxy(client_for: ClientFactory) -> None:
    # RFC 7239's header, from a proxy configured as writing it (the core's
    # TrustedProxies, the very object ProxyHeadersMiddleware takes).
    limiter = RateLimit(trusted_proxies=TrustedProxies(["127.0.0.1"], header="forwarded"))
    client = client_for(make_app(limiter), client=("127.0.0.1", 4000))
    headers = {"forwarded": 'for="[2001:db8::7]:4711";proto=https, for=127.0.0.1'}
    for _ in range(5):
        assert client.get("/search", headers=headers).status_code == 200
    assert client.get("/search", headers=headers).status_code == 429
    other = {"forwarded": "for=192.0.2.60"}
    assert client.get("/search", headers=other).status_code == 200


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_key_function_sync_or_async_chooses_the_quota(
    client_for: ClientFactory, asynchronous: bool
) -> None:
    def by_user(request: Request) -> str:
        return request.headers.get("x-user", "anonymous")

    async def by_user_async(request: Request) -> str:
        return by_user(request)

    limiter = RateLimit(key=by_user_async if asynchronous else by_user)
    client = client_for(make_app(limiter))
    for _ in range(5):
        client.get("/search", headers={"x-user": "alice"})
    assert client.get("/search", headers={"x-user": "alice"}).status_code == 429
    assert client.get("/search", headers={"x-user": "bob"}).status_code == 200


# -- outside routes, and injected ----------------------------------------------------


def test_hit_limits_anything_and_the_limiter_is_injectable(client_for: ClientFactory) -> None:
    app = App(plugins=[RateLimit()])

    @app.post("/login")
    async def login(email: str, limiter: RateLimit) -> dict[str, Any]:
        decision = await limiter.hit(f"login:{email}", "3/minute")
        return {"allowed": decision.allowed, "retry_after": decision.retry_after}

    client = client_for(app)
    answers = [client.post("/login?email=a@example.com").json() for _ in range(4)]
    assert [a["allowed"] for a in answers] == [True, True, True, False]
    assert answers[3]["retry_after"] > 0
    assert client.post("/login?email=b@example.com").json()["allowed"] is True


# -- Redis down ---------------------------------------------------------------------


class Switch:
    """Hands the backend either a client of the real Redis or one of a port
    where nothing listens - Redis "stopped" and "started" mid-test."""

    def __init__(self, redis_url: str, dead_port: int) -> None:
        self.live = aioredis.Redis.from_url(redis_url)
        self.dead = aioredis.Redis.from_url(f"redis://127.0.0.1:{dead_port}/0")
        self.up = True

    def __call__(self) -> aioredis.Redis:
        return self.live if self.up else self.dead

    async def aclose(self) -> None:
        await self.live.aclose()
        await self.dead.aclose()


@pytest.mark.parametrize("policy", ["open", "closed"])
def test_redis_down_mid_run_follows_the_policy_logs_once_and_recovers(
    redis_url: str,
    prefix: str,
    dead_port: int,
    policy: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    switch = Switch(redis_url, dead_port)
    backend = RedisBackend(switch, prefix=prefix, timeout=5.0)
    app = make_app(RateLimit(backend=backend, on_backend_error=policy))  # type: ignore[arg-type]
    app.on_shutdown(switch.aclose)  # the clients belong to the app's event loop
    with TestClient(app) as client:
        assert client.get("/search").status_code == 200
        switch.up = False
        with caplog.at_level("WARNING", logger="minimal_asgi_ratelimit"):
            down = [client.get("/search") for _ in range(8)]
            expected = 200 if policy == "open" else 503
            assert [r.status_code for r in down] == [expected] * 8
            if policy == "closed":
                assert down[0].json()["status"] == 503 and down[0].headers["retry-after"]
            assert len([r for r in caplog.records if "unavailable" in r.message]) == 1
            switch.up = True
            statuses = [client.get("/search").status_code for _ in range(5)]
            assert [r.message for r in caplog.records][-1] == "rate limiting is back"
        # One hit before the outage, four after it: the fifth is over the limit.
        assert statuses == [200, 200, 200, 200, 429]


def test_hit_while_the_backend_is_down_follows_the_policy(
    redis_url: str, dead_port: int
) -> None:
    for policy, allowed in (("open", True), ("closed", False)):
        dead = aioredis.Redis.from_url(f"redis://127.0.0.1:{dead_port}/0")
        limiter = RateLimit(backend=RedisBackend(dead), on_backend_error=policy)  # type: ignore[arg-type]
        App(plugins=[limiter])

        async def attempt(limiter: RateLimit = limiter, dead: aioredis.Redis = dead) -> bool:
            try:
                return (await limiter.hit("login:x", "5/minute")).allowed
            finally:
                await dead.aclose()

        assert anyio.run(attempt) is allowed


def test_a_redis_url_reuses_the_apps_shared_pool(redis_url: str) -> None:
    shared = RedisConnection(redis_url)
    app = App(plugins=[shared, RateLimit(backend=redis_url)])
    assert [p for p in app.plugins if isinstance(p, RedisConnection)] == [shared]


class SlowRedis:
    """A Redis that answers, but far too late."""

    async def evalsha(self, *args: Any) -> Any:
        await anyio.sleep(30)

    async def script_load(self, script: str) -> str:
        return ""


def test_a_slow_redis_counts_as_down_after_the_timeout(client_for: ClientFactory) -> None:
    backend = RedisBackend(SlowRedis(), timeout=0.05)
    client = client_for(make_app(RateLimit(backend=backend, on_backend_error="closed")))
    response = client.get("/search")
    assert response.status_code == 503
    assert response.json()["detail"] == "rate limiting is unavailable; retry shortly"


def test_in_memory_counters_end_with_the_app_serving() -> None:
    app = make_app(RateLimit())
    with TestClient(app) as client:
        assert [client.get("/search").status_code for _ in range(6)][-1] == 429
    with TestClient(app) as client:  # started again, as a new process would be
        assert client.get("/search").status_code == 200


def test_a_forwarded_header_is_not_read_from_an_x_forwarded_proxy(
    client_for: ClientFactory,
) -> None:
    # The default proxy writes X-Forwarded-For; a Forwarded header is the client's own.
    limiter = RateLimit(trusted_proxies=["127.0.0.1"])
    client = client_for(make_app(limiter), client=("127.0.0.1", 4000))
    for n in range(5):
        client.get("/search", headers={"forwarded": f"for=192.0.2.{n}"})
    assert client.get("/search", headers={"forwarded": "for=192.0.2.99"}).status_code == 429

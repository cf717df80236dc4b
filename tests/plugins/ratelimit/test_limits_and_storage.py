"""Reading limits; what each backend stores (TTLs, bounds, the script); and the
two backends giving the same answers to the same hits."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.exceptions import NoScriptError

from minimal_asgi import ConfigurationError
from minimal_asgi_ratelimit import ALGORITHMS, Limit, MemoryBackend, RedisBackend, parse_limits
from tests.plugins.ratelimit.conftest import Clock

# -- reading limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "window"),
    [
        ("10/minute", 10, 60),
        ("5/second", 5, 1),
        ("100 per hour", 100, 3600),
        ("1000/day", 1000, 86400),
        ("10/30s", 10, 30),
        ("10 per 2 minutes", 10, 120),
        ("3/5m", 3, 300),
    ],
)
def test_a_limit_is_read_from_text(text: str, amount: int, window: int) -> None:
    (limit,) = parse_limits(text)
    assert (limit.amount, limit.window, limit.name) == (amount, window, text)


def test_several_limits_in_one_string_and_the_algorithm_for_them() -> None:
    limits = parse_limits("100/hour; 5/second", algorithm="gcra")
    assert [(lim.amount, lim.window, lim.algorithm) for lim in limits] == [
        (100, 3600, "gcra"),
        (5, 1, "gcra"),
    ]


@pytest.mark.parametrize("text", ["", "ten/minute", "10/fortnight", "10/ms", "0/minute", "10"])
def test_an_unreadable_limit_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_limits(text)


def test_an_unknown_algorithm_is_a_configuration_error_listing_the_known() -> None:
    with pytest.raises(ConfigurationError, match="'fixed-window', 'sliding-window', 'gcra'"):
        Limit(1, 1, "leaky")  # type: ignore[arg-type]


# -- the in-memory backend stays bounded ------------------------------------------------


@pytest.mark.anyio
async def test_memory_keeps_at_most_max_keys_dropping_the_least_recently_used() -> None:
    backend = MemoryBackend(max_keys=3, clock=Clock())
    limit = (Limit(1, 60, "fixed-window"),)
    for key in ("a", "b", "c"):
        await backend.hit(key, limit)
    assert not (await backend.hit("a", limit)).allowed  # "a" refused: not touched
    await backend.hit("b", limit)  # refused as well
    await backend.hit("d", limit)  # full: the oldest entry ("a") goes
    assert len(backend) == 3
    assert (await backend.hit("a", limit)).allowed  # forgotten, so a fresh quota


@pytest.mark.anyio
async def test_memory_treats_an_expired_counter_as_absent() -> None:
    clock = Clock()
    backend = MemoryBackend(clock=clock)
    limit = (Limit(1, 1, "gcra"),)
    assert (await backend.hit("k", limit)).allowed
    clock.advance(1000)
    assert (await backend.hit("k", limit)).allowed


# -- what Redis stores ------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_every_redis_key_has_a_ttl_within_two_windows(
    redis_url: str, prefix: str, algorithm: str
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        backend = RedisBackend(client, prefix=prefix, timeout=10.0)  # Redis's own clock
        limit = Limit(3, 10, algorithm)  # type: ignore[arg-type]
        for _ in range(5):
            await backend.hit("ttl", (limit,))
        (key,) = backend.keys_for("ttl", (limit,))
        ttl = await client.pttl(key)
        assert 0 < ttl <= 20_000
    finally:
        await client.aclose()


@pytest.mark.anyio
async def test_windows_follow_the_redis_clock_not_the_apps(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    real = time.time_ns
    monkeypatch.setattr(time, "time_ns", lambda: real() + 3_600 * 10**9)  # an hour fast
    client = aioredis.Redis.from_url(redis_url)
    try:
        backend = RedisBackend(client, prefix=prefix, timeout=10.0)
        await backend.hit("skew", (Limit(5, 60, "fixed-window"),))
        (key,) = backend.keys_for("skew", (Limit(5, 60, "fixed-window"),))
        seconds, micros = await client.time()
        stored = int(await client.hget(key, "i"))
        assert stored in {(seconds * 1000 + micros // 1000) // 60_000 - d for d in (0, 1)}
    finally:
        await client.aclose()


class ForgetfulRedis(aioredis.Redis):
    """A client for a server that has not seen the script yet (restarted, or
    SCRIPT FLUSHed) - without flushing the shared server's scripts."""

    first = True

    async def evalsha(self, *args: Any) -> Any:  # type: ignore[override]
        if self.first:
            self.first = False
            raise NoScriptError("NOSCRIPT No matching script.")
        return await super().evalsha(*args)  # type: ignore[misc]


@pytest.mark.anyio
async def test_an_unknown_script_is_loaded_once_and_the_decision_still_made(
    redis_url: str, prefix: str
) -> None:
    client = ForgetfulRedis.from_url(redis_url)
    try:
        backend = RedisBackend(client, prefix=prefix, timeout=10.0)
        assert (await backend.hit("k", (Limit(1, 60),))).allowed
        assert not (await backend.hit("k", (Limit(1, 60),))).allowed
    finally:
        await client.aclose()


# -- both backends agree ------------------------------------------------------------------


@settings(
    max_examples=20, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    algorithm=st.sampled_from(ALGORITHMS),
    amount=st.integers(1, 5),
    window=st.sampled_from([1, 3, 60]),
    steps=st.lists(st.tuples(st.integers(0, 2500), st.integers(1, 2)), min_size=1, max_size=25),
)
def test_memory_and_redis_give_the_same_answers_to_the_same_hits(
    redis_url: str, prefix: str, algorithm: str, amount: int, window: int,
    steps: list[tuple[int, int]],
) -> None:
    import anyio

    async def both() -> None:
        clock = Clock()
        client = aioredis.Redis.from_url(redis_url)
        try:
            memory = MemoryBackend(clock=clock)
            on_redis = RedisBackend(client, prefix=prefix, clock=clock, timeout=10.0)
            limit = (Limit(amount, window, algorithm),)  # type: ignore[arg-type]
            key = f"diff-{uuid.uuid4().hex}"  # a fresh counter for each example
            for step, cost in steps:
                clock.advance(step)
                expected = await memory.hit(key, limit, cost)
                assert await on_redis.hit(key, limit, cost) == expected
        finally:
            await client.aclose()

    anyio.run(both)

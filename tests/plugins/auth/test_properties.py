"""Properties: refresh rotation against a model, on both stores; memory stores stay bounded."""

from __future__ import annotations

import uuid

import anyio
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minimal_asgi_auth import MemoryRefreshStore, MemorySessionStore, RedisRefreshStore
from minimal_asgi_auth.tokens import RefreshStore

DAY = 24 * 3600.0


async def replay(store: RefreshStore, picks: list[int]) -> None:
    """Present tokens of one family in the order ``picks`` says, and check each
    answer against the model: only the newest token works; presenting any
    older one revokes the family for good."""
    family = uuid.uuid4().hex
    issued = [f"{family}-0"]
    await store.start(family, "ada", "{}", issued[0], DAY, DAY)
    alive = True
    for pick in picks:
        index = pick % len(issued)
        new = f"{family}-{len(issued)}"
        outcome = (await store.rotate(family, issued[index], new, DAY)).outcome
        if not alive:
            assert outcome == "revoked"
        elif index == len(issued) - 1:
            assert outcome == "ok"
            issued.append(new)
        else:
            assert outcome == "reused"
            alive = False


@settings(max_examples=60, deadline=None)
@given(picks=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=15))
def test_memory_rotation_follows_the_model(picks: list[int]) -> None:
    anyio.run(replay, MemoryRefreshStore(), picks)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(picks=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=15))
def test_redis_rotation_follows_the_model(picks: list[int], redis_url: str,
                                          redis_prefix: str) -> None:
    async def main() -> None:
        client = aioredis.Redis.from_url(redis_url)
        try:
            await replay(RedisRefreshStore(client, prefix=redis_prefix), picks)
        finally:
            await client.aclose()

    anyio.run(main)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_memory_stores_forget_what_has_expired() -> None:
    clock = Clock()
    refresh, sessions = MemoryRefreshStore(clock), MemorySessionStore(clock)
    for n in range(600):
        await refresh.start(f"f{n}", f"user{n}", "{}", f"t{n}", 60, 60)
        await sessions.create(f"s{n}", f"user{n}", "{}", 0.0, 60, 60)
    assert len(refresh) == 1200 and len(sessions) == 600
    clock.now = 61  # every entry has expired; the next writes sweep them
    for n in range(300):
        await refresh.start(f"g{n}", "late", "{}", f"u{n}", 60, 60)
        await sessions.create(f"z{n}", "late", "{}", 61.0, 60, 60)
    assert len(refresh) < 700 and len(sessions) < 400

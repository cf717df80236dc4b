"""The backend contract: every test here runs unchanged on the in-memory
backend and on Redis (the ``backend`` fixture), on a clock the test moves."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minimal_asgi_ratelimit import (
    ALGORITHMS,
    Decision,
    Limit,
    MemoryBackend,
    RedisBackend,
    parse_limits,
)
from tests.plugins.ratelimit.conftest import Clock

pytestmark = pytest.mark.anyio

Backend = MemoryBackend | RedisBackend


async def hits(backend: Backend, key: str, limit: Limit, count: int) -> list[Decision]:
    return [await backend.hit(key, (limit,)) for _ in range(count)]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_the_quota_is_allowed_and_the_next_hit_refused(
    backend: Backend, algorithm: str
) -> None:
    limit = Limit(5, 60, algorithm)  # type: ignore[arg-type]
    decisions = await hits(backend, "client", limit, 7)
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert [d.outcomes[0].remaining for d in decisions] == [4, 3, 2, 1, 0, 0, 0]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_a_retry_at_retry_after_is_allowed_and_one_ms_earlier_is_not(
    backend: Backend, clock: Clock, algorithm: str
) -> None:
    limit = Limit(5, 60, algorithm)  # type: ignore[arg-type]
    clock.advance(12_345)  # somewhere inside a window
    await hits(backend, "client", limit, 5)
    refused = await backend.hit("client", (limit,))
    wait = refused.outcomes[0].retry_ms
    assert not refused.allowed and wait > 0
    clock.advance(wait - 1)
    assert not (await backend.hit("client", (limit,))).allowed
    clock.advance(1)
    assert (await backend.hit("client", (limit,))).allowed


async def test_fixed_window_allows_a_double_burst_across_the_window_edge(
    backend: Backend, clock: Clock
) -> None:
    limit = Limit(5, 60, "fixed-window")
    clock.now = (clock.now // 60_000 + 1) * 60_000 - 1  # 1 ms before a window ends
    before = await hits(backend, "client", limit, 5)
    clock.advance(1)
    after = await hits(backend, "client", limit, 5)
    assert all(d.allowed for d in before + after)  # 10 hits within 2 ms


@pytest.mark.parametrize("algorithm", ["sliding-window", "gcra"])
async def test_smoothing_algorithms_refuse_the_burst_at_the_window_edge(
    backend: Backend, clock: Clock, algorithm: str
) -> None:
    limit = Limit(5, 60, algorithm)  # type: ignore[arg-type]
    clock.now = (clock.now // 60_000 + 1) * 60_000 - 1
    await hits(backend, "client", limit, 5)
    clock.advance(1)
    after = await hits(backend, "client", limit, 5)
    assert not any(d.allowed for d in after)


async def test_fixed_window_retry_after_is_the_end_of_the_window(
    backend: Backend, clock: Clock
) -> None:
    limit = Limit(3, 60, "fixed-window")
    window_start = clock.now // 60_000 * 60_000
    clock.now = window_start + 20_000
    await hits(backend, "client", limit, 3)
    refused = await backend.hit("client", (limit,))
    assert refused.outcomes[0].retry_ms == 40_000
    assert refused.retry_after == 40


async def test_a_refused_hit_spends_no_other_limits_quota(backend: Backend) -> None:
    both = parse_limits("2/second; 10/minute")
    assert [d.allowed for d in [await backend.hit("c", both) for _ in range(5)]] == [
        True, True, False, False, False,
    ]
    refused = await backend.hit("c", both)
    assert [o.remaining for o in refused.outcomes] == [0, 8]  # the minute's quota: untouched
    per_minute = await backend.hit("c", parse_limits("10/minute"))
    # Only the two allowed hits counted against the minute: 10 - 2 - 1 = 7 left.
    assert per_minute.outcomes[0].remaining == 7


async def test_keys_do_not_share_a_quota(backend: Backend) -> None:
    limit = Limit(1, 60, "fixed-window")
    assert (await backend.hit("alice", (limit,))).allowed
    assert (await backend.hit("bob", (limit,))).allowed
    assert not (await backend.hit("alice", (limit,))).allowed


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_hits_in_the_same_millisecond_all_count(backend: Backend, algorithm: str) -> None:
    limit = Limit(5, 60, algorithm)  # type: ignore[arg-type]
    results: list[bool] = []

    async def one() -> None:
        results.append((await backend.hit("same-ms", (limit,))).allowed)

    async with anyio.create_task_group() as tasks:  # the clock does not move
        for _ in range(100):
            tasks.start_soon(one)
    assert results.count(True) == 5 and results.count(False) == 95


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_the_quota_comes_back_after_a_whole_window(
    backend: Backend, clock: Clock, algorithm: str
) -> None:
    limit = Limit(3, 10, algorithm)  # type: ignore[arg-type]
    await hits(backend, "client", limit, 3)
    clock.advance(20_000)
    assert all(d.allowed for d in await hits(backend, "client", limit, 3))


@settings(
    max_examples=25, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    algorithm=st.sampled_from(ALGORITHMS),
    amount=st.integers(1, 6),
    window=st.sampled_from([1, 7, 60]),
    steps=st.lists(st.integers(0, 4000), min_size=1, max_size=30),
)
async def test_remaining_is_never_negative_and_reset_never_beyond_the_window(
    backend: Backend, clock: Clock, algorithm: str, amount: int, window: int, steps: list[int]
) -> None:
    limit = Limit(amount, window, algorithm)  # type: ignore[arg-type]
    key = f"prop-{clock.now}"
    clock.advance(10**9)  # a fresh stretch of time for each example
    for step in steps:
        clock.advance(step)
        outcome = (await backend.hit(key, (limit,))).outcomes[0]
        assert 0 <= outcome.remaining <= amount
        assert 0 <= outcome.reset_ms <= window * 1000
        assert (outcome.retry_ms > 0) != outcome.allowed

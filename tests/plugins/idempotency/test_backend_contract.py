"""One contract, two stores: the four atomic steps of backends.py, on memory
and on Redis, with the same tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
import redis.asyncio as aioredis

from minimal_asgi_idempotency import IdempotencyBackend, MemoryBackend, RedisBackend, Unavailable

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[
    tuple[IdempotencyBackend, str]
]:
    if backend == "memory":
        yield MemoryBackend(), "k"
        return
    url = str(request.getfixturevalue("redis_url"))
    prefix = str(request.getfixturevalue("redis_prefix"))
    client = aioredis.Redis.from_url(url)
    try:
        yield RedisBackend(lambda: client), prefix + "k"
    finally:
        await client.aclose()


async def test_the_first_claim_wins_and_the_second_reads_the_winner(
    store: tuple[IdempotencyBackend, str],
) -> None:
    backend, key = store
    assert await backend.claim(key, b"first", 30) is None
    assert await backend.claim(key, b"second", 30) == b"first"


async def test_of_many_concurrent_claims_exactly_one_wins(
    store: tuple[IdempotencyBackend, str],
) -> None:
    backend, key = store
    results: list[bytes | None] = []

    async def claim(n: int) -> None:
        results.append(await backend.claim(key, f"claim {n}".encode(), 30))

    async with anyio.create_task_group() as tasks:
        for n in range(50):
            tasks.start_soon(claim, n)
    winners = [r for r in results if r is None]
    assert len(winners) == 1
    assert len({r for r in results if r is not None}) == 1  # all read the same winner


async def test_a_claim_expires_after_its_ttl(store: tuple[IdempotencyBackend, str]) -> None:
    backend, key = store
    assert await backend.claim(key, b"lock", 0.2) is None
    await anyio.sleep(0.6)
    assert await backend.claim(key, b"next", 30) is None


async def test_renew_keeps_a_lock_alive_only_for_its_holder(
    store: tuple[IdempotencyBackend, str],
) -> None:
    backend, key = store
    await backend.claim(key, b"lock", 0.4)
    assert not await backend.renew(key, b"someone else", 30)
    assert await backend.renew(key, b"lock", 30)
    await anyio.sleep(0.6)  # past the first ttl: renewed, still there
    assert await backend.claim(key, b"other", 30) == b"lock"


async def test_replace_swaps_the_lock_only_if_it_is_still_ours(
    store: tuple[IdempotencyBackend, str],
) -> None:
    backend, key = store
    await backend.claim(key, b"lock", 30)
    assert not await backend.replace(key, b"stale lock", b"answer", 30)
    assert await backend.replace(key, b"lock", b"answer", 30)
    assert await backend.claim(key, b"other", 30) == b"answer"


async def test_a_late_replace_after_the_lease_changes_nothing(
    store: tuple[IdempotencyBackend, str],
) -> None:
    backend, key = store
    await backend.claim(key, b"slow lock", 0.2)
    await anyio.sleep(0.6)
    assert await backend.claim(key, b"new lock", 30) is None  # another request took over
    assert not await backend.replace(key, b"slow lock", b"late answer", 30)
    assert await backend.claim(key, b"x", 30) == b"new lock"


async def test_release_deletes_only_our_lock(store: tuple[IdempotencyBackend, str]) -> None:
    backend, key = store
    await backend.claim(key, b"lock", 30)
    assert not await backend.release(key, b"not ours")
    assert await backend.release(key, b"lock")
    assert await backend.claim(key, b"again", 30) is None
    assert not await backend.release(key + "-never-claimed", b"lock")


async def test_a_redis_that_is_down_raises_unavailable(closed_port: int) -> None:
    client = aioredis.Redis.from_url(
        f"redis://127.0.0.1:{closed_port}/0", socket_connect_timeout=0.5
    )
    backend = RedisBackend(lambda: client)
    try:
        for step in (
            backend.claim("k", b"v", 1),
            backend.renew("k", b"v", 1),
            backend.replace("k", b"v", b"w", 1),
            backend.release("k", b"v"),
        ):
            with pytest.raises(Unavailable):
                await step
    finally:
        await client.aclose()


async def test_memory_drops_the_oldest_key_beyond_its_bound() -> None:
    backend = MemoryBackend(max_keys=2, sweep_every=1)
    for key in ("a", "b", "c"):
        assert await backend.claim(key, key.encode(), 30) is None
    assert await backend.claim("a", b"again", 30) is None  # "a" was dropped
    assert await backend.claim("c", b"x", 30) == b"c"

"""The backend contract: the same tests, unchanged, on MemoryBackend and RedisBackend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
import redis.asyncio as aioredis

from minimal_asgi_cache import CacheBackend, MemoryBackend, RedisBackend

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[CacheBackend]:
    if backend == "memory":
        yield MemoryBackend()
        return
    url = str(request.getfixturevalue("redis_url"))
    prefix = str(request.getfixturevalue("redis_prefix"))
    client = aioredis.Redis.from_url(url)
    try:
        yield RedisBackend(lambda: client, prefix=prefix)
    finally:
        await client.aclose()


async def test_an_absent_key_reads_as_none_and_unknown_tags_as_version_none(
    store: CacheBackend,
) -> None:
    assert await store.read("nothing", ["a", "b"]) == (None, [None, None])


async def test_a_written_value_reads_back_as_the_same_bytes(store: CacheBackend) -> None:
    await store.write("k", b"\x00value\n", ttl=60)
    value, versions = await store.read("k", [])
    assert (value, versions) == (b"\x00value\n", [])


async def test_a_value_is_gone_after_its_ttl(store: CacheBackend) -> None:
    await store.write("short", b"v", ttl=0.02)
    await store.write("long", b"v", ttl=60)
    await anyio.sleep(0.1)
    assert (await store.read("short", []))[0] is None
    assert (await store.read("long", []))[0] == b"v"


async def test_delete_forgets_the_keys_given(store: CacheBackend) -> None:
    for key in ("a", "b", "c"):
        await store.write(key, b"v", ttl=60)
    await store.delete("a", "b")
    assert [(await store.read(key, []))[0] for key in ("a", "b", "c")] == [None, None, b"v"]


async def test_bumping_a_tag_gives_it_a_new_version_and_leaves_the_others(
    store: CacheBackend,
) -> None:
    await store.bump_tags(["todos"])
    _, first = await store.read("k", ["todos", "users"])
    await store.bump_tags(["todos"])
    _, second = await store.read("k", ["todos", "users"])
    assert first[0] is not None and second[0] is not None and first[0] != second[0]
    assert first[1] is None and second[1] is None


async def test_a_lock_is_held_by_one_taker_until_its_token_frees_it(store: CacheBackend) -> None:
    token = await store.lock("k", ttl=60)
    assert token is not None
    assert await store.lock("k", ttl=60) is None
    await store.unlock("k", "not-the-token")
    assert await store.lock("k", ttl=60) is None
    await store.unlock("k", token)
    assert await store.lock("k", ttl=60) is not None


async def test_a_lock_whose_holder_died_frees_itself_after_its_ttl(store: CacheBackend) -> None:
    assert await store.lock("k", ttl=0.02) is not None
    await anyio.sleep(0.1)
    assert await store.lock("k", ttl=60) is not None


# -- the memory backend's own promise: bounded in bytes ----------------------------


async def test_memory_evicts_the_least_recently_used_to_stay_within_max_bytes() -> None:
    store = MemoryBackend(max_bytes=30)
    await store.write("a", b"x" * 9, ttl=60)  # 10 bytes with its key
    await store.write("b", b"x" * 9, ttl=60)
    await store.write("c", b"x" * 9, ttl=60)
    await store.read("a", [])  # a is now the most recently used
    await store.write("d", b"x" * 9, ttl=60)  # evicts b, the least recently used
    assert store.size <= 30
    present = [key for key in "abcd" if (await store.read(key, []))[0] is not None]
    assert present == ["a", "c", "d"]


async def test_memory_does_not_keep_a_value_larger_than_the_whole_cache() -> None:
    store = MemoryBackend(max_bytes=100)
    await store.write("small", b"x", ttl=60)
    await store.write("huge", b"x" * 200, ttl=60)
    assert (await store.read("huge", []))[0] is None
    assert (await store.read("small", []))[0] == b"x"
    assert len(store) == 1


def test_memory_refuses_a_size_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="max_bytes must be positive"):
        MemoryBackend(max_bytes=0)

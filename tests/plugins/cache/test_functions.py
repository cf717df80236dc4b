"""The function cache, ``@cache.cached``: the checklist's "caching DB queries"."""

from __future__ import annotations

import logging

import anyio
import pytest

from minimal_asgi import App
from minimal_asgi.testing import AsyncTestClient
from minimal_asgi_cache import Cache
from tests.plugins.cache.conftest import MakeCache

pytestmark = pytest.mark.anyio


class FakeDatabase:
    """Counts the queries that reach it."""

    def __init__(self) -> None:
        self.queries = 0

    async def user(self, user_id: int) -> dict[str, object]:
        self.queries += 1
        await anyio.sleep(0.05)
        return {"id": user_id, "name": f"user {user_id}", "query": self.queries}


async def test_a_cached_query_runs_once_per_distinct_arguments(make_cache: MakeCache) -> None:
    cache, db = make_cache(), FakeDatabase()
    load_user = cache.cached(ttl=60)(db.user)
    async with AsyncTestClient(App(plugins=[cache])):
        first = await load_user(1)
        assert await load_user(1) == first
        assert await load_user(user_id=1) != first  # another call shape, another key
        assert (await load_user(2))["id"] == 2
    assert db.queries == 3


async def test_a_miss_and_a_hit_return_the_same_shape(make_cache: MakeCache) -> None:
    cache = make_cache()

    @cache.cached(ttl=60)
    async def pair() -> tuple[int, int]:
        return (1, 2)

    async with AsyncTestClient(App(plugins=[cache])):
        assert await pair() == await pair() == [1, 2]  # JSON both times: a list


async def test_tags_and_explicit_keys_invalidate_cached_queries(make_cache: MakeCache) -> None:
    cache, db = make_cache(), FakeDatabase()
    load_user = cache.cached(ttl=60, key=lambda user_id: f"user:{user_id}", tags=["users"])(db.user)
    async with AsyncTestClient(App(plugins=[cache])):
        assert load_user.key_for(7) == "fn:user:7"
        await load_user(7)
        await load_user(8)
        await cache.invalidate_tags("users")
        await load_user(7)
        await load_user(8)
        assert db.queries == 4
        await load_user.invalidate(7)  # by key: only user 7
        await load_user(7)
        await load_user(8)
        assert db.queries == 5
        await cache.delete(load_user.key_for(8))
        await load_user(8)
        assert db.queries == 6


async def test_tags_can_be_computed_from_the_arguments(make_cache: MakeCache) -> None:
    cache, db = make_cache(), FakeDatabase()
    load_user = cache.cached(ttl=60, tags=lambda user_id: [f"user:{user_id}"])(db.user)
    async with AsyncTestClient(App(plugins=[cache])):
        await load_user(1)
        await load_user(2)
        await cache.invalidate_tags("user:1")
        await load_user(1)
        await load_user(2)
    assert db.queries == 3


@pytest.mark.parametrize("instances", [1, 2], ids=["one-app", "two-apps"])
async def test_a_hundred_concurrent_calls_query_once(
    make_cache: MakeCache, backend: str, instances: int
) -> None:
    if backend == "memory" and instances == 2:
        pytest.skip("two processes share entries only through Redis")
    db = FakeDatabase()
    caches = [make_cache() for _ in range(instances)]
    loaders = [cache.cached(ttl=60)(db.user) for cache in caches]
    results: list[object] = []

    async def call(index: int) -> None:
        results.append(await loaders[index % instances](42))

    async with (
        AsyncTestClient(App(plugins=[caches[0]])),
        AsyncTestClient(App(plugins=[caches[-1]])),
    ):
        async with anyio.create_task_group() as group:
            for index in range(100):
                group.start_soon(call, index)
    assert db.queries == 1
    assert results == [{"id": 42, "name": "user 42", "query": 1}] * 100


async def test_a_dead_lock_holder_delays_the_others_but_never_blocks_them(
    make_cache: MakeCache,
) -> None:
    cache, db = make_cache(lock_timeout=0.2), FakeDatabase()
    load_user = cache.cached(ttl=60)(db.user)
    async with AsyncTestClient(App(plugins=[cache])):
        # A process took the lock and died without storing anything.
        assert await cache.store.backend.lock(load_user.key_for(1), 60) is not None
        with anyio.fail_after(5):
            assert (await load_user(1))["id"] == 1
    assert db.queries == 1


async def test_stale_while_revalidate_answers_at_once_and_refreshes_in_the_background() -> None:
    now = [1000.0]
    cache = Cache(clock=lambda: now[0])
    db = FakeDatabase()
    load_user = cache.cached(ttl=10, stale=30)(db.user)
    async with AsyncTestClient(App(plugins=[cache])):
        assert (await load_user(1))["query"] == 1
        now[0] += 15  # expired, but within the stale window
        assert (await load_user(1))["query"] == 1  # the old value, at once
        assert (await load_user(1))["query"] == 1  # one refresh is under way, not two
        with anyio.fail_after(5):  # the refreshed value arrives...
            while (await load_user(1))["query"] != 2:
                await anyio.sleep(0.01)
        assert db.queries == 2  # ...from one refresh, however often it was asked for
        now[0] += 100  # past the stale window too: computed while the caller waits
        assert (await load_user(1))["query"] == 3
    assert db.queries == 3


async def test_a_result_that_is_not_json_is_a_clear_error() -> None:
    cache = Cache()

    @cache.cached(ttl=60)
    async def opaque() -> object:
        return object()

    with pytest.raises(TypeError, match=r"cannot be stored as JSON .* return dicts, lists"):
        await opaque()


async def test_arguments_that_are_not_json_ask_for_a_key() -> None:
    cache = Cache()

    @cache.cached(ttl=60)
    async def by_object(thing: object) -> int:
        return 1

    with pytest.raises(TypeError, match=r"give the key yourself"):
        await by_object(object())


async def test_with_redis_down_every_call_computes_and_the_outage_is_logged(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    cache, db = Cache(f"redis://127.0.0.1:{closed_port}/0", timeout=0.2), FakeDatabase()
    load_user = cache.cached(ttl=60)(db.user)
    with caplog.at_level(logging.WARNING, logger="minimal_asgi_cache"):
        async with AsyncTestClient(App(plugins=[cache])):
            assert [(await load_user(1))["query"] for _ in range(3)] == [1, 2, 3]
    assert len([r for r in caplog.records if r.name == "minimal_asgi_cache"]) == 1


async def test_the_redis_client_exists_only_while_the_app_runs(redis_url: str) -> None:
    cache = Cache(redis_url)
    load_user = cache.cached(ttl=60)(FakeDatabase().user)
    with pytest.raises(RuntimeError, match=r"opened at app startup"):
        await load_user(1)


async def test_write_through_stores_the_new_value_without_a_query(make_cache: MakeCache) -> None:
    cache, db = make_cache(), FakeDatabase()
    load_user = cache.cached(ttl=60, tags=["users"])(db.user)
    async with AsyncTestClient(App(plugins=[cache])):
        await load_user(1)
        renamed = {"id": 1, "name": "renamed", "query": 0}
        await load_user.update(renamed, 1)  # saved to the database, then to the cache
        assert await load_user(1) == renamed
        await cache.invalidate_tags("users")  # still under its tags
        assert (await load_user(1))["query"] == 2

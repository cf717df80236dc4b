"""The apps of the cache benchmark (benchmarks/cache_overhead.py).

One app shape, three ways: ``bare`` (no plugin), ``memory`` (``Cache()``) and
``redis`` (``Cache(BENCH_REDIS_URL)``). Four routes:

* ``/plain``: no ``cache=`` option - what a route the cache does not touch costs;
* ``/cached``: ``cache=60`` - the same handler, answered from the cache;
* ``/slow`` and ``/slow-cached``: a handler that waits 20 ms (a slow query), uncached
  and cached - the over-the-wire comparison.

On the bare app the ``cache=60`` option is an option nobody reads, so each of
its routes is its handler alone.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import anyio
import redis.asyncio as aioredis

from minimal_asgi import App
from minimal_asgi_cache import Cache, Cached
from minimal_asgi_redis import RedisConnection

KINDS = ("bare", "memory", "redis")
ITEMS = {"items": [1, 2, 3]}


def create_app(kind: str) -> App:
    if kind not in KINDS:
        raise KeyError(f"unknown app {kind!r}; choose from {KINDS}")
    plugins: list[Any] = []
    if kind == "memory":
        plugins.append(Cache())
    elif kind == "redis":
        url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
        # A prefix of its own: Redis may be shared; entries expire after their 60 s.
        plugins.append(Cache(url, prefix=f"bench:cache:{uuid.uuid4().hex}:"))
    app = App(plugins=plugins, openapi_url=None, docs_url=None)

    @app.get("/plain")
    async def plain() -> dict[str, list[int]]:
        return ITEMS

    @app.get("/cached", cache=60)
    async def cached() -> dict[str, list[int]]:
        return ITEMS

    @app.get("/slow")
    async def slow() -> dict[str, list[int]]:
        await anyio.sleep(0.02)
        return ITEMS

    @app.get("/slow-cached", cache=60)
    async def slow_cached() -> dict[str, list[int]]:
        await anyio.sleep(0.02)
        return ITEMS

    return app


def build(framework: str, case: str) -> App:
    """``BENCH_APP=cache:minimal_asgi:<kind>`` (benchmarks/serve.py);
    ``cache:minimal_asgi:workers-<memory|redis>`` for the two-worker run."""
    if case.startswith("workers-"):
        return create_two_worker_app(case.removeprefix("workers-"))
    return create_app(case)


def create_two_worker_app(backend: str) -> App:
    """The app of benchmarks/cache_two_workers.py: ``GET /price`` cached under the
    tag ``price``; ``PUT /price`` raises the price and invalidates the tag. The
    price lives in Redis (standing for the database both workers share), under
    ``BENCH_PRICE_KEY``; the cache is in memory or on Redis."""
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    price_key = os.environ["BENCH_PRICE_KEY"]
    database = RedisConnection(url)
    if backend == "memory":
        cache = Cache()
    else:
        cache = Cache(database, prefix=os.environ["BENCH_CACHE_PREFIX"])
    app = App(plugins=[database, cache], openapi_url=None, docs_url=None)

    @app.get("/price", cache=Cached(ttl=600, tags=["price"]))
    async def price(db: aioredis.Redis) -> dict[str, int]:
        return {"price": int(await db.get(price_key) or 0), "pid": os.getpid()}

    @app.put("/price")
    async def raise_price(db: aioredis.Redis, cache: Cache) -> dict[str, int]:
        value = int(await db.incr(price_key))
        await cache.invalidate_tags("price")
        return {"price": value, "pid": os.getpid()}

    return app

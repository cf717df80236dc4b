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

from minimal_asgi import App
from minimal_asgi_cache import Cache

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
    """``BENCH_APP=cache:minimal_asgi:<kind>`` (benchmarks/serve.py)."""
    return create_app(case)

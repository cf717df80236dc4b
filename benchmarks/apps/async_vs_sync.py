"""Scenario 3, async vs sync: the same endpoint written ``async def`` and ``def``.

Four kinds of work, each as ``/<work>/async`` and ``/<work>/sync``:

* ``none``  - return at once (what the thread hop alone costs);
* ``sleep`` - wait 10 ms: ``await anyio.sleep`` vs ``time.sleep``;
* ``db``    - wait 10 ms in PostgreSQL (``SELECT pg_sleep(0.01)``): asyncpg from
  its pool vs psycopg (sync) from a small thread-safe pool of the same size;
* ``cpu``   - about 1 ms of pure-Python arithmetic.

minimal_asgi runs a ``def`` endpoint in one of anyio's worker threads (40 by
default), so a blocking call does not stall the event loop - but at most 40 of
them run at once. An ``async def`` endpoint runs on the loop itself: waits
overlap for free, CPU work blocks everyone.

Read at startup from the environment, so uvicorn's workers all see it:

``BENCH_THREAD_LIMIT`` raise (or lower) the worker-thread limiter (default: anyio's 40)
``BENCH_CPU_ITERS``    loop iterations of the ``cpu`` work (the script calibrates ~1 ms)
``BENCH_DB``           ``0`` leaves out the database routes (default ``1``)
``BENCH_DB_POOL``      connections in each pool, async and sync (default 20: both
                       together stay well inside PostgreSQL's default 100)
``BENCH_DATABASE_URL`` default ``postgresql://postgres@127.0.0.1:5432/test``
"""

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import anyio.to_thread

from benchmarks.apps.common import Unavailable
from benchmarks.harness import Expected, HTTPRequest

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_POOL",
    "STYLES",
    "WORKLOADS",
    "SyncPool",
    "build",
    "burn",
    "create_app",
    "expected",
    "request",
]

WORKLOADS = ("none", "sleep", "db", "cpu")
STYLES = ("async", "sync")
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_CPU_ITERS = 20_000
WAIT_SECONDS = 0.010
QUERY = "SELECT pg_sleep(0.01)"


def request(workload: str, style: str) -> HTTPRequest:
    return HTTPRequest(path=f"/{workload}/{style}")


def expected(workload: str, style: str) -> Expected:
    return Expected(json={"work": workload, "style": style})


def burn(iterations: int) -> int:
    """Pure-Python CPU work: holds the GIL the whole time."""
    total = 0
    for i in range(iterations):
        total += i % 7
    return total


class SyncPool:
    """At most ``size`` psycopg connections shared by the worker threads.

    A thread that finds them all busy waits for one, as a coroutine waits on
    asyncpg's pool: both sides of the ``db`` case get the same connections.
    """

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[Any] = []
        self._opened: list[Any] = []

    @contextmanager
    def connection(self) -> Iterator[Any]:
        with self._slots:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:  # opened on first need, then kept
                import psycopg

                connection = psycopg.connect(self.url, autocommit=True)
                with self._lock:
                    self._opened.append(connection)
            try:
                yield connection
            finally:
                with self._lock:
                    self._idle.append(connection)

    def close(self) -> None:
        for connection in self._opened:
            connection.close()


DEFAULT_POOL = 20


def create_app(*, thread_limit: int | None = None, cpu_iters: int = DEFAULT_CPU_ITERS,
               database_url: str | None = DEFAULT_DATABASE_URL,
               pool_size: int = DEFAULT_POOL) -> Any:
    """The benchmark app; ``database_url=None`` leaves the ``db`` routes out."""
    from minimal_asgi import App

    app = App()
    pool: Any = None
    sync_pool = SyncPool(database_url, pool_size) if database_url is not None else None

    @app.on_startup
    async def start() -> None:
        nonlocal pool
        if thread_limit is not None:
            # The limiter belongs to the running event loop: set it from inside it.
            anyio.to_thread.current_default_thread_limiter().total_tokens = thread_limit
        if database_url is not None:
            import asyncpg

            pool = await asyncpg.create_pool(database_url, min_size=1, max_size=pool_size)

    @app.on_shutdown
    async def stop() -> None:
        if pool is not None:
            await pool.close()
        if sync_pool is not None:
            sync_pool.close()

    @app.get("/none/async")
    async def none_async() -> dict[str, str]:
        return {"work": "none", "style": "async"}

    @app.get("/none/sync")
    def none_sync() -> dict[str, str]:
        return {"work": "none", "style": "sync"}

    @app.get("/sleep/async")
    async def sleep_async() -> dict[str, str]:
        await anyio.sleep(WAIT_SECONDS)
        return {"work": "sleep", "style": "async"}

    @app.get("/sleep/sync")
    def sleep_sync() -> dict[str, str]:
        time.sleep(WAIT_SECONDS)
        return {"work": "sleep", "style": "sync"}

    @app.get("/cpu/async")
    async def cpu_async() -> dict[str, str]:
        burn(cpu_iters)
        return {"work": "cpu", "style": "async"}

    @app.get("/cpu/sync")
    def cpu_sync() -> dict[str, str]:
        burn(cpu_iters)
        return {"work": "cpu", "style": "sync"}

    if database_url is not None:

        @app.get("/db/async")
        async def db_async() -> dict[str, str]:
            async with pool.acquire() as connection:
                await connection.execute(QUERY)
            return {"work": "db", "style": "async"}

        @app.get("/db/sync")
        def db_sync() -> dict[str, str]:
            assert sync_pool is not None
            with sync_pool.connection() as connection:
                connection.execute(QUERY)
            return {"work": "db", "style": "sync"}

    return app


def build(framework: str, case: str = "all") -> Any:
    """The app as configured by the environment (how uvicorn's workers get it)."""
    if framework != "minimal_asgi":
        raise Unavailable("the async-vs-sync lesson is written for minimal_asgi only")
    limit = os.environ.get("BENCH_THREAD_LIMIT")
    with_db = os.environ.get("BENCH_DB", "1") != "0"
    return create_app(
        thread_limit=int(limit) if limit else None,
        cpu_iters=int(os.environ.get("BENCH_CPU_ITERS", DEFAULT_CPU_ITERS)),
        database_url=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
        if with_db else None,
        pool_size=int(os.environ.get("BENCH_DB_POOL", DEFAULT_POOL)),
    )

"""``Cache``: the plugin that ties the store to the app.

``setup(app)`` registers three things, all through the public App API:

- a route wrapper: a route with the ``cache=`` option is wrapped in a
  ``ResponseCache`` at startup; every other route keeps its handler as it is
  and pays nothing;
- a lifespan step: opens the Redis client when the backend is a URL, and a
  task group for stale-while-revalidate refreshes;
- a provider: an endpoint that takes a ``Cache`` parameter gets this one (to
  call ``invalidate_tags`` after a write).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any, ParamSpec, TypeVar

import anyio
import anyio.abc
import redis.asyncio as aioredis

from minimal_asgi import App, ASGIApp, ConfigurationError, RouteInfo
from minimal_asgi_cache.backends import CacheBackend, MemoryBackend, RedisBackend
from minimal_asgi_cache.functions import CachedFunction
from minimal_asgi_cache.responses import ResponseCache, cached_options
from minimal_asgi_cache.store import Store
from minimal_asgi_redis import RedisConnection

__all__ = ["Cache"]

P = ParamSpec("P")
R = TypeVar("R")

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class Cache:
    """``App(plugins=[Cache()])``; ``@app.get("/x", cache=30)`` caches one route.

    ``backend``: ``"memory"`` (one process, bounded by ``max_bytes``), a Redis
    URL (a client of the cache's own, opened at startup *without* failing it
    if Redis is down: the cache then misses until Redis answers), a
    ``RedisConnection`` plugin (share the app's pool; that plugin fails the
    startup if Redis is down), or any ``CacheBackend``.

    ``default_ttl``: seconds, for ``cache=True`` and ``@cache.cached()``.
    ``max_entry_bytes``: the largest response body stored. ``session_cookies``:
    the cookie names that make a request personal (default: any cookie).
    ``timeout``: how long one Redis call may take before it counts as a miss.
    ``lock_timeout``: how long concurrent misses in other processes wait for
    the one computing the value. ``prefix``: the start of every Redis key.
    """

    def __init__(
        self,
        backend: str | RedisConnection | CacheBackend = "memory",
        *,
        default_ttl: float = 60,
        max_bytes: int = 64 * 1024 * 1024,
        max_entry_bytes: int = 1024 * 1024,
        session_cookies: Iterable[str] | None = None,
        prefix: str = "cache:",
        timeout: float = 0.25,
        lock_timeout: float = 5.0,
        tag_ttl: float = 86_400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.default_ttl = _seconds(default_ttl, "Cache(default_ttl=...)", tag_ttl)
        self.max_entry_bytes = max_entry_bytes
        self.session_cookies = None if session_cookies is None else frozenset(session_cookies)
        self.tag_ttl = tag_ttl
        self.timeout = timeout
        self._url: str | None = None
        self._client: aioredis.Redis | None = None
        self._tasks: anyio.abc.TaskGroup | None = None
        if backend == "memory":
            chosen: CacheBackend = MemoryBackend(max_bytes, tag_ttl=tag_ttl)
        elif isinstance(backend, str):
            if not backend.startswith(_REDIS_SCHEMES):
                raise ConfigurationError(
                    f"Cache(backend={backend!r}): use 'memory', a Redis URL "
                    "(redis://host:6379/0), or a RedisConnection"
                )
            self._url = backend
            chosen = RedisBackend(self._own_client, prefix=prefix, timeout=timeout, tag_ttl=tag_ttl)
        elif isinstance(backend, RedisConnection):
            connection = backend
            chosen = RedisBackend(
                lambda: connection.client, prefix=prefix, timeout=timeout, tag_ttl=tag_ttl
            )
        else:
            chosen = backend
        self.store = Store(chosen, lock_timeout=lock_timeout, clock=clock)

    def setup(self, app: App) -> None:
        # Hits and misses, for a metrics exporter if the app has one (app.counters).
        app.counters.describe("cache.hit", "lookups answered from the cache")
        app.counters.describe("cache.miss", "lookups that had to compute the value")
        self.store.count = app.counters.add
        app.add_route_wrapper(self._wrap)
        app.add_lifespan(self._lifespan)
        app.provide(Cache, self._provide)

    # -- what code calls -----------------------------------------------------------

    async def invalidate_tags(self, *tags: str) -> None:
        """Make every entry stored under any of ``tags`` stale, in every process
        sharing the backend (one write per tag)."""
        await self.store.invalidate_tags(tags)

    async def invalidate_path(self, *paths: str) -> None:
        """Forget the cached responses of these paths: every query, every variant."""
        await self.store.invalidate_tags([f"path:{path}" for path in paths])

    async def delete(self, *keys: str) -> None:
        """Forget entries by key (a function cache's key is ``f.key_for(...)``)."""
        await self.store.delete(keys)

    def cached(
        self,
        ttl: float | None = None,
        *,
        key: Callable[..., str] | None = None,
        tags: Sequence[str] | Callable[..., Iterable[str]] = (),
        stale: float = 0,
    ) -> Callable[[Callable[P, Awaitable[R]]], CachedFunction[P, R]]:
        """Cache an async function's results: ``@cache.cached(ttl=60, tags=["todos"])``.

        ``key``: a function of the arguments giving the key (default: the
        function's name and its arguments as JSON). ``tags``: names, or a
        function of the arguments giving them. ``stale``: seconds an expired
        value is still returned while it is recomputed in the background.
        """
        if isinstance(tags, str):  # would be read letter by letter
            raise ConfigurationError(f"cache.cached(tags=...) takes a list of names: [{tags!r}]")
        seconds = _seconds(
            self.default_ttl if ttl is None else ttl, "cache.cached(ttl=...)", self.tag_ttl
        )

        def decorate(function: Callable[P, Awaitable[R]]) -> CachedFunction[P, R]:
            return CachedFunction(
                function,
                lambda: self.store,
                self._spawn,
                ttl=seconds,
                key=key,
                tags=tags,
                stale=stale,
            )

        return decorate

    # -- the app side ----------------------------------------------------------------

    def _wrap(self, route: RouteInfo, handler: ASGIApp) -> ASGIApp:
        where = f"route {route.path}"
        options = cached_options(route.options.get("cache"), self.default_ttl, where)
        if options is None:
            return handler  # not asked: the route keeps its handler, and pays nothing
        chosen = self.default_ttl if options.ttl is None else options.ttl
        ttl = _seconds(chosen, f"{where}: cache ttl", self.tag_ttl)
        if options.stale:
            _seconds(ttl + options.stale, f"{where}: cache ttl + stale", self.tag_ttl)
        if not route.methods & {"GET", "HEAD"}:
            raise ConfigurationError(
                f"route {route.path} ({', '.join(sorted(route.methods))}): only GET and HEAD "
                "answers are cached; invalidate from writes with cache.invalidate_tags(...)"
            )
        return ResponseCache(
            handler,
            self.store,
            options,
            ttl=ttl,
            max_bytes=options.max_bytes or self.max_entry_bytes,
            session_cookies=self.session_cookies,
            route_path=route.path,
            spawn=self._spawn,
        )

    async def _provide(self) -> Cache:
        return self

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: App) -> AsyncIterator[None]:
        if self._url is not None:
            # No PING here: a cache is an optimisation, so Redis being down at
            # startup means misses (logged on first use), not an app that will not start.
            self._client = aioredis.Redis.from_url(
                self._url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
            )
        try:
            async with anyio.create_task_group() as tasks:
                self._tasks = tasks
                yield
                tasks.cancel_scope.cancel()  # refreshes in flight are not worth waiting for
        finally:
            self._tasks = None
            if self._client is not None:
                client, self._client = self._client, None
                await client.aclose()

    def _own_client(self) -> aioredis.Redis:
        if self._client is None:
            raise RuntimeError(
                "the cache's Redis client is opened at app startup; use the cache inside "
                "the running app (a request, a startup hook, `with TestClient(app)`)"
            )
        return self._client

    def _spawn(self, job: Callable[[], Coroutine[Any, Any, None]]) -> bool:
        """Run ``job`` in the background while the app runs; False outside it."""
        if self._tasks is None:
            return False
        self._tasks.start_soon(job)
        return True


def _seconds(value: object, where: str, tag_ttl: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigurationError(f"{where}: a positive number of seconds, not {value!r}")
    if value > tag_ttl:
        # A tag's version must outlive every entry that remembers it (backends.py).
        raise ConfigurationError(
            f"{where}: {value} s is longer than tag_ttl ({tag_ttl} s); raise tag_ttl"
        )
    return float(value)

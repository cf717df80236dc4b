"""The function cache: ``@cache.cached(ttl=60, tags=["todos"])`` on an async function
(a database query, a call to a slow service).

The arguments choose the key (or ``key=`` does); the value is stored as JSON,
so what comes back is the same on a miss and on a hit - and on Redis, data,
never code (no pickle: whoever can write to the cache cannot run code in the
app). Concurrent calls with the same key compute once (store.py), and
``stale=`` serves an expired value for a while longer while one task
recomputes it in the background (stale-while-revalidate).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any, Generic, ParamSpec, TypeVar

from minimal_asgi_cache.store import Computed, Store

__all__ = ["CachedFunction"]

logger = logging.getLogger("minimal_asgi_cache")

P = ParamSpec("P")
R = TypeVar("R")


class CachedFunction(Generic[P, R]):
    """An async function whose results are cached; call it as the function.

    ``await f.invalidate(*args, **kwargs)`` forgets the entry those arguments
    choose, ``await f.update(value, *args, **kwargs)`` replaces it; tags are
    invalidated through the ``Cache``.
    """

    def __init__(
        self,
        function: Callable[P, Awaitable[R]],
        store: Callable[[], Store],
        spawn: Callable[[Callable[[], Coroutine[Any, Any, None]]], bool],
        *,
        ttl: float,
        key: Callable[..., str] | None,
        tags: Sequence[str] | Callable[..., Iterable[str]],
        stale: float,
    ) -> None:
        functools.update_wrapper(self, function)
        self.function = function
        self._store = store
        self._spawn = spawn
        self.ttl = ttl
        self.stale = stale
        self._key = key
        self._tags = tags
        self.name = f"{function.__module__}.{function.__qualname__}"
        self._refreshing: set[str] = set()

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        store = self._store()
        key = self.key_for(*args, **kwargs)
        tags = self._tags_for(*args, **kwargs)
        computed_value: list[R] = []

        async def compute() -> Computed:
            value = await self.function(*args, **kwargs)
            computed_value.append(value)
            return Computed(self._encode(value))

        entry, computed = await store.fetch(key, tags, self.ttl, compute, stale=self.stale)
        if entry is None:  # computed, and the store could not keep it
            return computed_value[0]
        if not computed and not entry.fresh(store.clock()):
            self._refresh_later(store, key, tags, compute)
        result: R = json.loads(entry.payload)
        return result

    def key_for(self, *args: Any, **kwargs: Any) -> str:
        """The cache key of a call: ``fn:`` + ``key(*args, **kwargs)``, or the
        function's name and its arguments as JSON."""
        if self._key is not None:
            return "fn:" + self._key(*args, **kwargs)
        try:
            arguments = json.dumps([args, sorted(kwargs.items())], separators=(",", ":"))
        except TypeError as exc:
            raise TypeError(
                f"@cache.cached on {self.name}: its arguments are not JSON ({exc}); "
                "give the key yourself: @cache.cached(key=lambda user, ...: f'user:{user.id}')"
            ) from None
        return f"fn:{self.name}:{arguments}"

    async def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Forget the entry these arguments choose (cache-aside: the next call recomputes)."""
        await self._store().delete([self.key_for(*args, **kwargs)])

    async def update(self, value: R, *args: P.args, **kwargs: P.kwargs) -> None:
        """Store ``value`` as the result for these arguments (write-through: call it
        right after writing the same value to the database)."""
        key = self.key_for(*args, **kwargs)
        await self._store().put(
            key, self._tags_for(*args, **kwargs), self._encode(value), self.ttl, self.stale
        )

    def _tags_for(self, *args: Any, **kwargs: Any) -> list[str]:
        return list(self._tags(*args, **kwargs) if callable(self._tags) else self._tags)

    def _encode(self, value: object) -> bytes:
        try:
            return json.dumps(value, separators=(",", ":")).encode()
        except TypeError as exc:
            raise TypeError(
                f"@cache.cached on {self.name}: its result cannot be stored as JSON ({exc}); "
                "return dicts, lists, strings, numbers, booleans or None"
            ) from None

    def _refresh_later(
        self, store: Store, key: str, tags: list[str], compute: Callable[[], Awaitable[Computed]]
    ) -> None:
        if key in self._refreshing:
            return  # one refresh per key at a time

        async def refresh() -> None:
            try:
                await store.fetch(key, tags, self.ttl, compute, use_stored=False, stale=self.stale)
            except Exception:
                # The stale value keeps being served; the next caller tries again.
                logger.exception("refreshing %s (%s) failed", self.name, key)
            finally:
                self._refreshing.discard(key)

        if self._spawn(refresh):
            self._refreshing.add(key)

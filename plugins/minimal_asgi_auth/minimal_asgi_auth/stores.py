"""What the token, session and API-key stores share: where Redis comes from,
what happens when it is down, and an in-memory map whose entries expire.

State that must survive more than one process - refresh-token families,
sessions, API keys - lives in Redis; the in-memory stores are for one process
(tests, a single worker) and lose everything on restart. Both kinds pass the
same contract tests (tests/plugins/auth/test_store_contract.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from minimal_asgi import HTTPException
from minimal_asgi_redis import RedisConnection

__all__ = ["ExpiringMap", "RedisSource", "StoreUnavailable", "redis_client", "unavailable_on_error"]

V = TypeVar("V")

# A Redis client, or the app's shared pool (opened at startup, so read late).
RedisSource = aioredis.Redis | RedisConnection


class StoreUnavailable(HTTPException):
    """The auth state store (Redis) did not answer: 503, never a 500.

    Failing *closed* is the only safe policy for authentication: a login that
    cannot be checked is refused, not waved through.
    """

    def __init__(self, what: str) -> None:
        super().__init__(
            503,
            f"the {what} store is unavailable; try again shortly",
            headers={"Retry-After": "5"},
        )


def redis_client(source: RedisSource) -> aioredis.Redis:
    return source.client if isinstance(source, RedisConnection) else source


@contextlib.contextmanager
def unavailable_on_error(what: str) -> Iterator[None]:
    """Turn any Redis error (refused, timed out, reset) into a 503."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise StoreUnavailable(what) from exc


class ExpiringMap(Generic[V]):
    """A dict whose entries expire, swept as it is written to, so that a
    process that runs for months does not keep every token it ever saw."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, sweep_every: int = 256) -> None:
        self._clock = clock
        self._items: dict[str, tuple[V, float]] = {}
        self._sweep_every = sweep_every
        self._writes = 0

    def get(self, key: str) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= self._clock():
            del self._items[key]
            return None
        return item[0]

    def ttl(self, key: str) -> float:
        """Seconds left, or 0 when the key is absent."""
        item = self._items.get(key)
        return max(0.0, item[1] - self._clock()) if item else 0.0

    def set(self, key: str, value: V, ttl: float) -> None:
        self._items[key] = (value, self._clock() + ttl)
        self._writes += 1
        if self._writes % self._sweep_every == 0:
            self.sweep()

    def pop(self, key: str) -> V | None:
        value = self.get(key)
        self._items.pop(key, None)
        return value

    def sweep(self) -> None:
        now = self._clock()
        for key in [k for k, (_, deadline) in self._items.items() if deadline <= now]:
            del self._items[key]

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        return list(self._items)



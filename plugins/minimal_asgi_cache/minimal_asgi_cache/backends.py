"""Where cached bytes live: in this process (``MemoryBackend``) or on Redis
(``RedisBackend``).

A backend stores opaque bytes under a key with a time to live, and keeps one
*version* per tag. It knows nothing of HTTP or of functions: store.py decides
what to keep and how to read it back. Both backends pass the same contract
tests (tests/plugins/cache/test_backend_contract.py).

Tags are invalidated by *versioning*, not by finding and deleting entries:
``bump_tags("todos")`` gives the tag a new random version, and every entry
remembers the versions of its tags as they were when its value was computed.
An entry whose remembered versions differ from the current ones is stale. So
invalidation is one write per tag whatever the number of entries, and a value
computed *while* its tag was being invalidated can never be served afterwards:
it was stored with the old version. A tag's version outlives every entry that
can mention it (``tag_ttl``), so a tag never silently returns to an old version.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import anyio
import redis.asyncio as aioredis

__all__ = ["CacheBackend", "MemoryBackend", "RedisBackend"]


class CacheBackend(Protocol):
    """What the cache needs from a store of bytes."""

    async def read(self, key: str, tags: Sequence[str]) -> tuple[bytes | None, list[str | None]]:
        """The value under ``key`` (None if absent or expired) and the current
        version of each tag (None for a tag never invalidated), in one step."""
        ...

    async def write(self, key: str, value: bytes, ttl: float) -> None:
        """Keep ``value`` under ``key`` for ``ttl`` seconds."""
        ...

    async def delete(self, *keys: str) -> None: ...

    async def bump_tags(self, tags: Sequence[str]) -> None:
        """Give each tag a new version: every entry stored under the old one is stale."""
        ...

    async def lock(self, key: str, ttl: float) -> str | None:
        """Take the short lock that lets one process compute ``key``: a token if
        taken, None if another holder has it. It frees itself after ``ttl``."""
        ...

    async def unlock(self, key: str, token: str) -> None:
        """Free the lock - only if ``token`` still holds it."""
        ...


class MemoryBackend:
    """One process's cache: a least-recently-used dict bounded in bytes.

    ``max_bytes`` counts the keys and values kept; writing past it evicts the
    entries used longest ago. An expired entry is dropped when it is next read
    or when eviction reaches it. Each worker process has its own: use Redis to
    share entries (and invalidations) between workers.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, tag_ttl: float = 86_400) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {max_bytes!r}")
        self.max_bytes = max_bytes
        self.tag_ttl = tag_ttl
        self.size = 0  # bytes held: keys and values
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._tags: dict[str, tuple[str, float]] = {}  # tag -> (version, expires at)
        self._locks: dict[str, tuple[str, float]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def read(self, key: str, tags: Sequence[str]) -> tuple[bytes | None, list[str | None]]:
        now = time.monotonic()
        versions = [self._version(tag, now) for tag in tags]
        found = self._entries.get(key)
        if found is None:
            return None, versions
        value, expires_at = found
        if expires_at <= now:
            self._drop(key)
            return None, versions
        self._entries.move_to_end(key)  # most recently used: evicted last
        return value, versions

    async def write(self, key: str, value: bytes, ttl: float) -> None:
        cost = len(key) + len(value)
        if cost > self.max_bytes:
            return  # larger than the whole cache: keeping it would evict everything
        self._drop(key)
        while self.size + cost > self.max_bytes:
            self._drop(next(iter(self._entries)))  # the least recently used
        self._entries[key] = (value, time.monotonic() + ttl)
        self.size += cost

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._drop(key)

    async def bump_tags(self, tags: Sequence[str]) -> None:
        now = time.monotonic()
        # Forget versions that have outlived every entry that could mention them,
        # so invalidating many distinct tags does not grow the dict for ever.
        for tag in [t for t, (_, expires_at) in self._tags.items() if expires_at <= now]:
            del self._tags[tag]
        for tag in tags:
            self._tags[tag] = (secrets.token_hex(8), now + self.tag_ttl)

    async def lock(self, key: str, ttl: float) -> str | None:
        # One process: the single flight in store.py already lets one task
        # compute; the lock exists for the contract (and for tests of it).
        now = time.monotonic()
        held = self._locks.get(key)
        if held is not None and held[1] > now:
            return None
        token = secrets.token_hex(8)
        self._locks[key] = (token, now + ttl)
        return token

    async def unlock(self, key: str, token: str) -> None:
        held = self._locks.get(key)
        if held is not None and held[0] == token:
            del self._locks[key]

    def _version(self, tag: str, now: float) -> str | None:
        found = self._tags.get(tag)
        if found is None or found[1] <= now:
            return None
        return found[0]

    def _drop(self, key: str) -> None:
        found = self._entries.pop(key, None)
        if found is not None:
            self.size -= len(key) + len(found[0])


# Deletes the lock only if it still holds our token: a holder that overran its
# lock must not free the lock another process has taken since.
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisBackend:
    """Entries, tag versions and locks on Redis, shared by every process.

    ``client`` is called for the client on each use, so the backend can ride on
    a pool opened at startup (``minimal_asgi_redis``). Keys are ``prefix`` +
    ``key``; tag versions ``prefix + "tag:" + tag``; locks ``prefix + "lock:" +
    key``. Every call gives up after ``timeout`` seconds: a slow Redis costs a
    cache miss, not a stuck request. A read is one round trip (``MGET`` of the
    entry and its tags' versions).
    """

    def __init__(
        self,
        client: Callable[[], aioredis.Redis],
        *,
        prefix: str = "cache:",
        timeout: float = 0.25,
        tag_ttl: float = 86_400,
    ) -> None:
        self._client = client
        self.prefix = prefix
        self.timeout = timeout
        self.tag_ttl = tag_ttl

    async def read(self, key: str, tags: Sequence[str]) -> tuple[bytes | None, list[str | None]]:
        names = [self.prefix + key, *(self._tag(tag) for tag in tags)]
        with anyio.fail_after(self.timeout):
            value, *versions = await self._client().mget(names)
        # (a client made with decode_responses=True hands back str: bytes either way)
        if isinstance(value, str):
            value = value.encode()
        return value, [None if v is None else _text(v) for v in versions]

    async def write(self, key: str, value: bytes, ttl: float) -> None:
        with anyio.fail_after(self.timeout):
            await self._client().set(self.prefix + key, value, px=max(1, int(ttl * 1000)))

    async def delete(self, *keys: str) -> None:
        if keys:
            with anyio.fail_after(self.timeout):
                await self._client().delete(*(self.prefix + key for key in keys))

    async def bump_tags(self, tags: Sequence[str]) -> None:
        with anyio.fail_after(self.timeout):
            async with self._client().pipeline(transaction=False) as pipe:
                for tag in tags:
                    pipe.set(self._tag(tag), secrets.token_hex(8), ex=int(self.tag_ttl))
                await pipe.execute()

    async def lock(self, key: str, ttl: float) -> str | None:
        token = secrets.token_hex(8)
        with anyio.fail_after(self.timeout):
            taken = await self._client().set(
                self.prefix + "lock:" + key, token, nx=True, px=max(1, int(ttl * 1000))
            )
        return token if taken else None

    async def unlock(self, key: str, token: str) -> None:
        with anyio.fail_after(self.timeout):
            await self._client().eval(_UNLOCK, 1, self.prefix + "lock:" + key, token)

    def _tag(self, tag: str) -> str:
        return self.prefix + "tag:" + tag


def _text(value: bytes | str) -> str:
    return value if isinstance(value, str) else value.decode()

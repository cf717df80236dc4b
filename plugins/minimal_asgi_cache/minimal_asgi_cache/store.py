"""The cache-aside loop, once for responses and functions: look up, else compute
once, store, and share.

``Store.fetch(key, tags, compute)`` is the whole algorithm:

1. Read the entry and its tags' current versions (one backend round trip). A
   fresh entry whose remembered versions match is a hit.
2. On a miss, *one* caller computes (single flight): in this process, the
   first caller becomes the leader and the others wait for its result; across
   processes, the leader also takes a short lock in the backend, and a leader
   that finds the lock taken polls for the entry the lock holder will store -
   until the lock frees itself (its holder died) or ``lock_timeout`` passes,
   after which it computes anyway: a dead holder delays, never blocks.
3. The computed value is stored with the versions read *before* computing, so a
   tag invalidated meanwhile makes it stale at once.

A backend that fails (Redis down, slow past its timeout) turns into misses:
the value is computed as if nothing were cached, a warning is logged once per
outage, and an info line when the backend answers again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from redis.exceptions import RedisError

from minimal_asgi_cache.backends import CacheBackend

__all__ = ["Computed", "Entry", "Store"]

logger = logging.getLogger("minimal_asgi_cache")

_DECODED_KEYS = 1024  # how many keys' decoded entries the store remembers

# What a failing backend raises: Redis errors, sockets, and our own timeouts.
BACKEND_ERRORS = (RedisError, OSError, TimeoutError)


@dataclass(eq=False)
class Entry:
    """A stored value, and when it was stored (wall-clock seconds, so that an
    entry stored by another process still has the right ``age``).

    ``decoded`` is a slot for whoever reads the payload to keep its parsed form
    in (the response cache keeps status and headers there): the store hands out
    the same ``Entry`` for as long as the backend hands back the same bytes.
    """

    payload: bytes
    stored_at: float
    ttl: float  # fresh for this long...
    stale: float = 0.0  # ...then served stale for this long while it is recomputed
    decoded: Any = field(default=None, repr=False)

    def age(self, now: float) -> float:
        return max(0.0, now - self.stored_at)

    def fresh(self, now: float) -> bool:
        return self.age(now) < self.ttl


@dataclass(frozen=True)
class Computed:
    """What a computation hands the store: the bytes to keep and, when the value
    itself says it goes stale sooner (``Cache-Control: max-age=5`` on a route
    cached for 60 s), for how long."""

    payload: bytes
    ttl: float | None = None  # None: the ttl the caller configured


# compute() -> the value to store, or None when this value must not be stored
Compute = Callable[[], Awaitable[Computed | None]]


@dataclass
class _Flight:
    """A computation in progress in this process; followers wait for ``done``."""

    done: anyio.Event
    entry: Entry | None = None


def _ignore(name: str) -> None:
    """No one counts: the store's default ``count``."""


class Store:
    """Entries on a backend, with versions, single flight and the error policy."""

    def __init__(
        self,
        backend: CacheBackend,
        *,
        lock_timeout: float = 5.0,
        poll_interval: float = 0.02,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.lock_timeout = lock_timeout
        self.poll_interval = poll_interval
        self.clock = clock
        self._flights: dict[str, _Flight] = {}
        # key -> (the raw bytes last read, their Entry, the versions stored in them)
        self._decoded: dict[str, tuple[bytes, Entry, list[str | None]]] = {}
        self._down = False  # in an outage: logged once, until the backend answers
        # Told "cache.hit" or "cache.miss" after each fetch (the app's counters).
        self.count: Callable[[str], object] = _ignore

    async def lookup(
        self, key: str, tags: Sequence[str]
    ) -> tuple[Entry | None, list[str | None] | None]:
        """The fresh entry under ``key`` (or None), and the tags' versions now
        (None if the backend failed: then nothing computed now may be stored)."""
        try:
            raw, versions = await self.backend.read(key, tags)
        except BACKEND_ERRORS as exc:
            self._failed("read", exc)
            return None, None
        self._answered()
        return self._decode(key, raw, versions), versions

    async def fetch(
        self,
        key: str,
        tags: Sequence[str],
        ttl: float,
        compute: Compute,
        *,
        use_stored: bool = True,
        stale: float = 0.0,
    ) -> tuple[Entry | None, bool]:
        """The entry for ``key``, computing it once if needed.

        Returns ``(entry, computed)``: ``computed`` is True when *this* call ran
        ``compute`` (whose side effects - a response streamed to a client - have
        happened); ``entry`` is then the stored value, or None if ``compute``
        returned None. ``use_stored=False`` ignores a stored entry (a request
        with ``Cache-Control: no-cache``) but still stores the new value.
        """
        entry, computed = await self._fetch(key, tags, ttl, compute, use_stored, stale)
        self.count("cache.miss" if computed else "cache.hit")
        return entry, computed

    async def _fetch(
        self,
        key: str,
        tags: Sequence[str],
        ttl: float,
        compute: Compute,
        use_stored: bool,
        stale: float,
    ) -> tuple[Entry | None, bool]:
        if use_stored:
            entry, _ = await self.lookup(key, tags)
            if entry is not None:
                return entry, False
        flight = self._flights.get(key)
        if flight is not None:  # someone in this process is computing it: wait
            await flight.done.wait()
            if flight.entry is not None and use_stored:
                return flight.entry, False
            return await self._compute(key, None, ttl, stale, compute), True
        flight = self._flights[key] = _Flight(anyio.Event())
        try:
            flight.entry, computed = await self._lead(key, tags, ttl, stale, compute, use_stored)
            return flight.entry, computed
        finally:
            del self._flights[key]
            flight.done.set()

    async def save(
        self,
        key: str,
        versions: Sequence[str | None] | None,
        payload: bytes,
        ttl: float,
        stale: float = 0.0,
    ) -> Entry:
        """Store ``payload`` for ``ttl`` (+ ``stale``) seconds, remembering ``versions``."""
        entry = Entry(payload, self.clock(), ttl, stale)
        if versions is None:
            return entry  # the backend failed when we read: do not store blind
        header = json.dumps([list(versions), entry.stored_at, ttl, stale]).encode()
        try:
            await self.backend.write(key, header + b"\n" + payload, ttl + stale)
        except BACKEND_ERRORS as exc:
            self._failed("write", exc)
        return entry

    async def put(
        self, key: str, tags: Sequence[str], payload: bytes, ttl: float, stale: float = 0.0
    ) -> None:
        """Store a value computed elsewhere (write-through: the new row, just saved)."""
        _, versions = await self.lookup(key, tags)
        await self.save(key, versions, payload, ttl, stale)

    async def invalidate_tags(self, tags: Sequence[str]) -> None:
        try:
            await self.backend.bump_tags(tags)
        except BACKEND_ERRORS as exc:
            # Entries then live until their TTL: that is what bounds staleness.
            self._failed(f"invalidate tags {list(tags)}", exc)

    async def delete(self, keys: Sequence[str]) -> None:
        try:
            await self.backend.delete(*keys)
        except BACKEND_ERRORS as exc:
            self._failed(f"delete {list(keys)}", exc)

    # -- the leader ----------------------------------------------------------------

    async def _lead(
        self,
        key: str,
        tags: Sequence[str],
        ttl: float,
        stale: float,
        compute: Compute,
        use_stored: bool,
    ) -> tuple[Entry | None, bool]:
        token: str | None = None
        deadline = anyio.current_time() + self.lock_timeout
        while True:
            try:
                token = await self.backend.lock(key, self.lock_timeout)
            except BACKEND_ERRORS as exc:
                self._failed("lock", exc)
                return await self._compute(key, None, ttl, stale, compute), True
            # Read again even when the lock is ours: the previous holder may have
            # stored the entry between our first read and the lock.
            entry, versions = await self.lookup(key, tags)
            if entry is not None and use_stored:
                if token is not None:
                    await self._unlock(key, token)
                return entry, False
            if token is not None or anyio.current_time() >= deadline:
                break  # ours to compute (or the holder is too slow: compute anyway)
            await anyio.sleep(self.poll_interval)
        try:
            return await self._compute(key, versions, ttl, stale, compute), True
        finally:
            if token is not None:
                await self._unlock(key, token)

    async def _compute(
        self,
        key: str,
        versions: Sequence[str | None] | None,
        ttl: float,
        stale: float,
        compute: Compute,
    ) -> Entry | None:
        computed = await compute()
        if computed is None:
            return None
        if computed.ttl is not None:
            ttl = min(ttl, computed.ttl)
        return await self.save(key, versions, computed.payload, ttl, stale)

    async def _unlock(self, key: str, token: str) -> None:
        with anyio.CancelScope(shield=True):  # a cancelled request still frees its lock
            try:
                await self.backend.unlock(key, token)
            except BACKEND_ERRORS as exc:
                self._failed("unlock", exc)  # it frees itself after lock_timeout

    # -- entries and errors ------------------------------------------------------

    def _decode(self, key: str, raw: bytes | None, versions: list[str | None]) -> Entry | None:
        if raw is None:
            return None
        memo = self._decoded.get(key)
        if memo is not None and memo[0] is raw:
            # PERF: the memory backend returns the very same bytes on every hit:
            # reuse their Entry (and what its reader parsed) instead of decoding
            # again - about a third of an in-memory hit. Redis returns new bytes.
            _, entry, stored_versions = memo
        else:
            header, _, payload = raw.partition(b"\n")
            try:
                stored_versions, stored_at, ttl, stale = json.loads(header)
            except (ValueError, TypeError):
                # Not written by this code (another program's key under our prefix,
                # or an older format): a miss, and the next store overwrites it.
                return None
            entry = Entry(payload, stored_at, ttl, stale)
            if len(self._decoded) >= _DECODED_KEYS:
                self._decoded.clear()  # bounded: a memo, not a second cache
            self._decoded[key] = (raw, entry, stored_versions)
        if stored_versions != versions:
            return None  # a tag was invalidated after this value was computed
        if entry.age(self.clock()) >= entry.ttl + entry.stale:
            return None
        return entry

    def _failed(self, operation: str, exc: BaseException) -> None:
        if not self._down:
            self._down = True
            logger.warning(
                "cache backend failed (%s: %s: %s); serving misses until it answers again",
                operation,
                type(exc).__name__,
                exc,
            )

    def _answered(self) -> None:
        if self._down:
            self._down = False
            logger.info("cache backend answers again; caching resumed")

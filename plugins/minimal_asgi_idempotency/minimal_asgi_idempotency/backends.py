"""Where keys live: a contract of four atomic operations, in memory and on Redis.

A key holds one value, which the plugin encodes (records.py): the lock of a
request in flight, or the finished request's stored response. Everything the
plugin needs from a store is a compare-and-set on that one value, each step
atomic on its own:

- ``claim(key, value, ttl)``: store ``value`` for ``ttl`` seconds *if the key
  holds nothing* and return None; otherwise store nothing and return what the
  key holds. Two requests with the same key claim it at once: one wins, the
  other reads the winner's lock (and answers 409).
- ``renew(key, expected, ttl)``: push the expiry of ``key`` to ``ttl`` seconds
  from now, if it still holds ``expected`` (the lease of a request still running).
- ``replace(key, expected, value, ttl)``: swap the lock for the stored response,
  if the key still holds this request's lock.
- ``release(key, expected)``: delete the lock, if it is still this request's.

The ``expected`` checks make a slow request that lost its lease harmless: its
late ``replace`` finds another request's lock and changes nothing.

On Redis, ``claim`` is ``SET key value NX PX ttl`` then, if that set nothing,
``GET`` (looping in the rare case where the key expired in between); the three
others are one Lua script each, since "compare, then act" must not be split by
another client's command. A Redis that does not answer raises ``Unavailable``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = ["IdempotencyBackend", "MemoryBackend", "RedisBackend", "Unavailable"]


class Unavailable(Exception):
    """The store did not answer (Redis down, or too slow)."""


class IdempotencyBackend(Protocol):
    async def claim(self, key: str, value: bytes, ttl: float) -> bytes | None: ...

    async def renew(self, key: str, expected: bytes, ttl: float) -> bool: ...

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: float) -> bool: ...

    async def release(self, key: str, expected: bytes) -> bool: ...


class MemoryBackend:
    """Keys in a dict of this process: right for one worker, wrong for several
    (each would have keys of its own - use Redis). Expired keys are dropped as
    they are met, and from the oldest end every ``sweep_every`` claims; beyond
    ``max_keys`` keys, the oldest is dropped (a retry of that request would run
    again). An ``OrderedDict``, in the order keys were claimed: dropping the
    oldest is O(1) there, where ``next(iter(dict))`` on a plain dict that has
    lost many entries at its front scans all the holes they left."""

    def __init__(
        self,
        *,
        max_keys: int = 100_000,
        sweep_every: int = 1_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_keys = max_keys
        self.sweep_every = sweep_every
        self.clock = clock
        self._values: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._claims = 0

    def _get(self, key: str) -> bytes | None:
        found = self._values.get(key)
        if found is None:
            return None
        if found[1] <= self.clock():
            del self._values[key]
            return None
        return found[0]

    async def claim(self, key: str, value: bytes, ttl: float) -> bytes | None:
        current = self._get(key)
        if current is not None:
            return current
        self._claims += 1
        if self._claims % self.sweep_every == 0:
            self._sweep()
        while len(self._values) >= self.max_keys:
            self._values.popitem(last=False)  # the oldest claimed
        self._values[key] = (value, self.clock() + ttl)
        return None

    async def renew(self, key: str, expected: bytes, ttl: float) -> bool:
        if self._get(key) != expected:
            return False
        self._values[key] = (expected, self.clock() + ttl)
        return True

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: float) -> bool:
        if self._get(key) != expected:
            return False
        self._values[key] = (value, self.clock() + ttl)
        return True

    async def release(self, key: str, expected: bytes) -> bool:
        if self._get(key) != expected:
            return False
        del self._values[key]
        return True

    def clear(self) -> None:
        """Forget every key (a test's fresh start)."""
        self._values.clear()

    def _sweep(self) -> None:
        """Drop expired keys from the oldest end, stopping at the first live one:
        O(what expired), not O(every key). One that expired behind a live one
        waits for the next sweep, or for a claim that meets it."""
        now = self.clock()
        while self._values:
            key, (_, expires) = next(iter(self._values.items()))
            if expires > now:
                return
            del self._values[key]


# KEYS[1] the key; ARGV[1] the expected value; ARGV[2] the new expiry in ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS[1] the key; ARGV[1] the expected value, ARGV[2] the new one, ARGV[3] ms to live.
_REPLACE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
# KEYS[1] the key; ARGV[1] the expected value.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class RedisBackend:
    """Keys on Redis, shared by every worker and instance. ``client`` is called
    for the client each time (it is opened at startup, after this is built)."""

    def __init__(self, client: Callable[[], aioredis.Redis]) -> None:
        self._client = client
        self._scripts: dict[str, object] = {}

    def _script(self, source: str) -> object:
        # register_script sends EVALSHA, and the source only when Redis lacks it.
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self._client().register_script(source)
        return script

    async def _run(self, source: str, keys: list[str], args: list[bytes | int]) -> int:
        script = self._script(source)
        try:
            return int(await script(keys=keys, args=args, client=self._client()))  # type: ignore[operator]
        except (RedisError, OSError) as exc:
            raise Unavailable(f"Redis did not answer: {exc}") from exc

    async def claim(self, key: str, value: bytes, ttl: float) -> bytes | None:
        client = self._client()
        try:
            for _ in range(3):
                if await client.set(key, value, nx=True, px=_ms(ttl)):
                    return None
                current = await client.get(key)
                if current is not None:
                    return bytes(current)  # type: ignore[arg-type]
                # Expired between SET and GET: claim again.
        except (RedisError, OSError) as exc:
            raise Unavailable(f"Redis did not answer: {exc}") from exc
        raise Unavailable(f"the key {key!r} keeps expiring as it is read")

    async def renew(self, key: str, expected: bytes, ttl: float) -> bool:
        return bool(await self._run(_RENEW, [key], [expected, _ms(ttl)]))

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: float) -> bool:
        return bool(await self._run(_REPLACE, [key], [expected, value, _ms(ttl)]))

    async def release(self, key: str, expected: bytes) -> bool:
        return bool(await self._run(_RELEASE, [key], [expected]))

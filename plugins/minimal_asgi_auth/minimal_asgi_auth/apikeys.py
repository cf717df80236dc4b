"""API keys: long-lived credentials for programs, shown once, stored as a hash.

A key looks like ``mak_3f9a1c0b7e24_<43 characters>``: a fixed label (so a
secret scanner can spot a leaked key), a short public *prefix* that finds the
record in one look-up, and 256 random bits from ``secrets``. The server keeps
only the prefix and the SHA-256 of the whole key: a copy of the store lets
nobody in. A fast hash is right here - unlike a password, a 256-bit random
key cannot be guessed, so there is nothing for a slow hash to slow down - and
it keeps the per-request check to a microsecond.

Each key has scopes (what it may do), can be revoked, and records when it was
last used, so an owner can see which keys are still in use before revoking.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Protocol

from minimal_asgi import ConfigurationError

from .stores import RedisSource, redis_client, unavailable_on_error
from .tokens import aioredis_script

__all__ = ["APIKey", "APIKeyStore", "APIKeys", "MemoryAPIKeyStore", "RedisAPIKeyStore"]

_SHAPE: Final = re.compile(r"([a-z]{2,8})_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class APIKey:
    """What the server knows about a key: everything but the key itself."""

    prefix: str
    subject: str
    name: str
    scopes: frozenset[str]
    created: float
    digest: str  # SHA-256 of the whole key, hex
    last_used: float | None = None

    def to_json(self) -> str:
        return json.dumps({"prefix": self.prefix, "subject": self.subject, "name": self.name,
                           "scopes": sorted(self.scopes), "created": self.created,
                           "digest": self.digest})

    @classmethod
    def from_json(cls, text: str | bytes, last_used: float | None) -> APIKey:
        raw = json.loads(text)
        return cls(raw["prefix"], raw["subject"], raw["name"], frozenset(raw["scopes"]),
                   raw["created"], raw["digest"], last_used)


class APIKeyStore(Protocol):
    async def add(self, key: APIKey) -> None: ...

    async def get(self, prefix: str) -> APIKey | None: ...

    async def touch(self, prefix: str, when: float) -> None:
        """Record a use."""

    async def revoke(self, prefix: str) -> bool: ...

    async def for_subject(self, subject: str) -> list[APIKey]: ...


class MemoryAPIKeyStore:
    """One process only (and lost on restart): for tests and a single worker."""

    def __init__(self) -> None:
        self._keys: dict[str, APIKey] = {}
        self._used: dict[str, float] = {}

    async def add(self, key: APIKey) -> None:
        self._keys[key.prefix] = key

    async def get(self, prefix: str) -> APIKey | None:
        key = self._keys.get(prefix)
        if key is None:
            return None
        return APIKey(key.prefix, key.subject, key.name, key.scopes, key.created, key.digest,
                      self._used.get(prefix))

    async def touch(self, prefix: str, when: float) -> None:
        if prefix in self._keys:
            self._used[prefix] = when

    async def revoke(self, prefix: str) -> bool:
        self._used.pop(prefix, None)
        return self._keys.pop(prefix, None) is not None

    async def for_subject(self, subject: str) -> list[APIKey]:
        found = [await self.get(p) for p, k in self._keys.items() if k.subject == subject]
        return sorted((k for k in found if k is not None), key=lambda k: k.created)


_TOUCH: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'last_used', ARGV[1]) end
"""


class RedisAPIKeyStore:
    """A hash per key (``record``, ``last_used``) and a set of prefixes per owner."""

    def __init__(self, redis: RedisSource, *, prefix: str = "auth:apikey:") -> None:
        self._source = redis
        self._prefix = prefix
        self._touch = aioredis_script(_TOUCH)

    def _key(self, prefix: str) -> str:
        return f"{self._prefix}key:{prefix}"

    def _owner(self, subject: str) -> str:
        return f"{self._prefix}owner:{subject}"

    async def add(self, key: APIKey) -> None:
        with unavailable_on_error("API key"):
            async with redis_client(self._source).pipeline(transaction=True) as pipe:
                pipe.hset(self._key(key.prefix), "record", key.to_json())
                pipe.sadd(self._owner(key.subject), key.prefix)
                await pipe.execute()

    async def get(self, prefix: str) -> APIKey | None:
        with unavailable_on_error("API key"):
            record, used = await redis_client(self._source).hmget(
                self._key(prefix), ["record", "last_used"]
            )
        if record is None:
            return None
        return APIKey.from_json(record, float(used) if used is not None else None)

    async def touch(self, prefix: str, when: float) -> None:
        with unavailable_on_error("API key"):
            # Only an existing key: a use racing a revocation must not resurrect it.
            await self._touch(redis_client(self._source), [self._key(prefix)], [repr(when)])

    async def revoke(self, prefix: str) -> bool:
        client = redis_client(self._source)
        with unavailable_on_error("API key"):
            found = await self.get(prefix)
            if found is None:
                return False
            await client.delete(self._key(prefix))
            await client.srem(self._owner(found.subject), prefix)
        return True

    async def for_subject(self, subject: str) -> list[APIKey]:
        with unavailable_on_error("API key"):
            prefixes = await redis_client(self._source).smembers(self._owner(subject))
        found = [await self.get(p.decode() if isinstance(p, bytes) else p) for p in prefixes]
        return sorted((k for k in found if k is not None), key=lambda k: k.created)


def _digest(presented: str) -> str:
    return hashlib.sha256(presented.encode()).hexdigest()


class APIKeys:
    """Create, check, list and revoke API keys.

    ``store``: ``"memory"`` or an ``APIKeyStore`` such as
    ``RedisAPIKeyStore(redis)``. ``label`` starts every key (``mak_...``).
    """

    def __init__(
        self,
        store: str | APIKeyStore = "memory",
        *,
        label: str = "mak",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if store == "memory":
            store = MemoryAPIKeyStore()
        elif isinstance(store, str):
            raise ConfigurationError(
                f"APIKeys(store={store!r}): use 'memory' or an APIKeyStore such as "
                "RedisAPIKeyStore(redis_client)"
            )
        if not re.fullmatch(r"[a-z]{2,8}", label):
            raise ConfigurationError(f"label={label!r}: use 2 to 8 lower-case letters")
        self.store: APIKeyStore = store
        self.label = label
        self.clock = clock

    async def create(
        self, subject: str, *, name: str, scopes: Iterable[str] = ()
    ) -> tuple[str, APIKey]:
        """A new key: the plain text, to show the owner **once**, and its record."""
        prefix = secrets.token_hex(6)
        plain = f"{self.label}_{prefix}_{secrets.token_urlsafe(32)}"
        record = APIKey(prefix, subject, name, frozenset(scopes), self.clock(), _digest(plain))
        await self.store.add(record)
        return plain, record

    async def verify(self, presented: str) -> APIKey | None:
        """The key's record if ``presented`` is a live key, else None. A use is recorded."""
        match = _SHAPE.fullmatch(presented)
        if match is None or match.group(1) != self.label:
            return None
        record = await self.store.get(match.group(2))
        # Compared in constant time: the prefix is public, the rest is the secret.
        if record is None or not hmac.compare_digest(record.digest, _digest(presented)):
            return None
        now = self.clock()
        await self.store.touch(record.prefix, now)
        return APIKey(record.prefix, record.subject, record.name, record.scopes, record.created,
                      record.digest, now)

    async def revoke(self, prefix: str) -> bool:
        return await self.store.revoke(prefix)

    async def list(self, subject: str) -> list[APIKey]:
        return await self.store.for_subject(subject)



"""Server-side sessions: a random id in a cookie, the data on the server.

The browser holds only an id - 256 bits from ``secrets`` (ASVS 5.0 V7.2.3 asks
for at least 128) - in a cookie that is ``HttpOnly`` (no script reads it),
``Secure`` (never sent over plain HTTP), ``SameSite=Lax`` (not sent with
cross-site POSTs) and named ``__Host-session``: the ``__Host-`` prefix makes
the browser refuse the cookie unless it is Secure, for ``Path=/`` and set
without ``Domain`` - so a sibling subdomain cannot plant one (RFC 6265bis).

The store keys each session by the id's SHA-256, so a dump of Redis holds no
usable id. Each session has two deadlines: **idle** (no request for
``idle_timeout`` seconds) and **absolute** (``absolute_timeout`` after login,
however busy). A login always makes a *new* id and deletes the session the
browser came with - an id an attacker planted before the login is worth
nothing after it (session fixation).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, Protocol

from minimal_asgi import ConfigurationError, HTTPConnection, Response

from .stores import ExpiringMap, RedisSource, redis_client, unavailable_on_error
from .tokens import aioredis_script

__all__ = [
    "MemorySessionStore",
    "RedisSessionStore",
    "Session",
    "SessionRecord",
    "SessionStore",
    "Sessions",
]

SESSION_ID_BYTES: Final = 32  # 256 bits
_ID_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass
class Session:
    """One signed-in browser. Change ``data`` and call ``Sessions.save``."""

    id: str = field(repr=False)  # the cookie value: a bearer secret, kept out of logs
    subject: str
    data: dict[str, Any]
    created: float


class SessionRecord(NamedTuple):
    subject: str
    data: str  # JSON
    created: float


class SessionStore(Protocol):
    """Where sessions live, keyed by the SHA-256 of their id. Times are Unix
    seconds from the caller's clock, so both stores obey the same clock."""

    async def create(
        self, key: str, subject: str, data: str, now: float, idle: float, absolute: float
    ) -> None: ...

    async def load(self, key: str, now: float, idle: float) -> SessionRecord | None:
        """The session, if neither deadline has passed - and it counts as
        activity (the idle deadline moves). An expired one is deleted."""

    async def save(self, key: str, data: str) -> bool: ...

    async def delete(self, key: str) -> bool: ...

    async def delete_subject(self, subject: str) -> int:
        """Delete every session of ``subject``; how many there were."""


# -------------------------------------------------------------- in memory


class MemorySessionStore:
    """One process only. Entries also expire on the process's own clock, so a
    session nobody comes back for is swept away."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        # key -> [subject, data, created, last seen, absolute deadline]
        self._sessions: ExpiringMap[list[Any]] = ExpiringMap(clock)
        self._subjects: ExpiringMap[set[str]] = ExpiringMap(clock)  # until the last session ends

    def __len__(self) -> int:
        """Sessions held, expired ones not yet swept included."""
        return len(self._sessions)

    async def create(
        self, key: str, subject: str, data: str, now: float, idle: float, absolute: float
    ) -> None:
        self._sessions.set(key, [subject, data, now, now, now + absolute], min(idle, absolute))
        keys = {k for k in self._subjects.get(subject) or () if self._sessions.get(k) is not None}
        keys.add(key)  # (the dead ones dropped: the set is as small as the live sessions)
        self._subjects.set(subject, keys, max(absolute, self._subjects.ttl(subject)))

    async def load(self, key: str, now: float, idle: float) -> SessionRecord | None:
        record = self._sessions.get(key)
        if record is None:
            return None
        subject, data, created, seen, deadline = record
        if now - seen > idle or now >= deadline:
            self._sessions.pop(key)
            return None
        record[3] = now
        self._sessions.set(key, record, min(idle, deadline - now))
        return SessionRecord(subject, data, created)

    async def save(self, key: str, data: str) -> bool:
        record = self._sessions.get(key)
        if record is None:
            return False
        record[1] = data
        return True

    async def delete(self, key: str) -> bool:
        return self._sessions.pop(key) is not None

    async def delete_subject(self, subject: str) -> int:
        keys = self._subjects.pop(subject) or set()
        return sum([self._sessions.pop(k) is not None for k in keys])


# -------------------------------------------------------------- on Redis

# KEYS: the session; ARGV: now, idle (seconds).
_LOAD: Final = """
local v = redis.call('HMGET', KEYS[1], 'subject', 'data', 'created', 'seen', 'deadline')
if not v[1] then return false end
local now = tonumber(ARGV[1])
local idle = tonumber(ARGV[2])
local deadline = tonumber(v[5])
if now - tonumber(v[4]) > idle or now >= deadline then
  redis.call('DEL', KEYS[1])
  return false
end
redis.call('HSET', KEYS[1], 'seen', ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(math.min(idle, deadline - now) * 1000))
return {v[1], v[2], v[3]}
"""


_SAVE: Final = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1])
return 1
"""


class RedisSessionStore:
    """A hash per session, expiring at the earlier deadline; a set of session
    keys per subject, for logout everywhere."""

    def __init__(self, redis: RedisSource, *, prefix: str = "auth:session:") -> None:
        self._source = redis
        self._prefix = prefix
        self._load = aioredis_script(_LOAD)
        self._save = aioredis_script(_SAVE)

    def _key(self, key: str) -> str:
        return f"{self._prefix}id:{key}"

    def _subject(self, subject: str) -> str:
        return f"{self._prefix}subject:{subject}"

    async def create(
        self, key: str, subject: str, data: str, now: float, idle: float, absolute: float
    ) -> None:
        fields: dict[Any, Any] = {
            "subject": subject, "data": data, "created": repr(now), "seen": repr(now),
            "deadline": repr(now + absolute),
        }
        with unavailable_on_error("session"):
            async with redis_client(self._source).pipeline(transaction=True) as pipe:
                pipe.hset(self._key(key), mapping=fields)
                pipe.pexpire(self._key(key), int(min(idle, absolute) * 1000) or 1)
                pipe.sadd(self._subject(subject), key)
                pipe.pexpire(self._subject(subject), int(absolute * 1000) or 1)
                await pipe.execute()

    async def load(self, key: str, now: float, idle: float) -> SessionRecord | None:
        with unavailable_on_error("session"):
            found = await self._load(
                redis_client(self._source), [self._key(key)], [repr(now), idle]
            )
        if not found:
            return None
        subject, data, created = (v.decode() if isinstance(v, bytes) else v for v in found)
        return SessionRecord(subject, data, float(created))

    async def save(self, key: str, data: str) -> bool:
        with unavailable_on_error("session"):
            # Only a live session: a save racing a logout must not resurrect it.
            saved = await self._save(redis_client(self._source), [self._key(key)], [data])
        return bool(saved)

    async def delete(self, key: str) -> bool:
        with unavailable_on_error("session"):
            return bool(await redis_client(self._source).delete(self._key(key)))

    async def delete_subject(self, subject: str) -> int:
        client = redis_client(self._source)
        with unavailable_on_error("session"):
            keys = await client.smembers(self._subject(subject))
            count = 0
            if keys:
                count = int(await client.delete(*(self._key(_text(k)) for k in keys)))
            await client.delete(self._subject(subject))
        return count


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# -------------------------------------------------------------- the manager


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    """Log a browser in and out, and find its session on later requests.

    ``store``: ``"memory"`` (one process) or a ``SessionStore`` such as
    ``RedisSessionStore(redis)``. ``secure=False`` is for plain-HTTP
    development on a host other than localhost, and needs a cookie name
    without the ``__Host-`` prefix (which requires ``Secure``).
    """

    def __init__(
        self,
        store: str | SessionStore = "memory",
        *,
        cookie_name: str = "__Host-session",
        idle_timeout: float = 30 * 60,
        absolute_timeout: float = 12 * 3600,
        secure: bool = True,
        samesite: str = "lax",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if store == "memory":
            store = MemorySessionStore()
        elif isinstance(store, str):
            raise ConfigurationError(
                f"Sessions(store={store!r}): use 'memory' or a SessionStore such as "
                "RedisSessionStore(redis_client)"
            )
        if cookie_name.startswith("__Host-") and not secure:
            raise ConfigurationError(
                f"the cookie {cookie_name!r} has the __Host- prefix, which browsers accept "
                "only with Secure; keep secure=True, or name the cookie without the prefix"
            )
        if idle_timeout <= 0 or absolute_timeout < idle_timeout:
            raise ConfigurationError(
                f"idle_timeout={idle_timeout} and absolute_timeout={absolute_timeout}: both "
                "must be positive, and the absolute lifetime at least the idle one"
            )
        self.store: SessionStore = store
        self.cookie_name = cookie_name
        self.idle_timeout = idle_timeout
        self.absolute_timeout = absolute_timeout
        self.secure = secure
        self.samesite = samesite
        self.clock = clock

    def _cookie_id(self, connection: HTTPConnection) -> str | None:
        value = connection.cookies.get(self.cookie_name)
        if value is None or not _ID_SHAPE.fullmatch(value):
            return None  # not one of ours: no store look-up for garbage
        return value

    async def login(
        self,
        response: Response,
        subject: str,
        data: Mapping[str, Any] | None = None,
        *,
        replacing: HTTPConnection | None = None,
    ) -> Session:
        """Start a session with a new id and set its cookie on ``response``.
        Pass the request as ``replacing``: the session it came with is ended."""
        if replacing is not None:
            old = self._cookie_id(replacing)
            if old is not None:
                await self.store.delete(_digest(old))
        session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
        now = self.clock()
        session = Session(session_id, subject, dict(data or {}), now)
        await self.store.create(
            _digest(session_id), subject, json.dumps(session.data), now, self.idle_timeout,
            self.absolute_timeout,
        )
        response.set_cookie(
            self.cookie_name,
            session_id,
            max_age=int(self.absolute_timeout),
            path="/",
            secure=self.secure,
            httponly=True,
            samesite=self.samesite,
        )
        return session

    async def load(self, connection: HTTPConnection) -> Session | None:
        """The connection's live session, or None (no cookie, unknown, expired)."""
        session_id = self._cookie_id(connection)
        if session_id is None:
            return None
        now = self.clock()
        record = await self.store.load(_digest(session_id), now, self.idle_timeout)
        if record is None:
            return None
        return Session(session_id, record.subject, json.loads(record.data), record.created)

    async def save(self, session: Session) -> bool:
        return await self.store.save(_digest(session.id), json.dumps(session.data))

    async def logout(self, connection: HTTPConnection, response: Response) -> bool:
        """End the connection's session on the server, and clear the cookie."""
        response.delete_cookie(self.cookie_name, path="/", secure=self.secure,
                               httponly=True, samesite=self.samesite)
        session_id = self._cookie_id(connection)
        if session_id is None:
            return False
        return await self.store.delete(_digest(session_id))

    async def logout_everywhere(self, subject: str) -> int:
        """End every session of ``subject`` (a password change, a disabled account)."""
        return await self.store.delete_subject(subject)

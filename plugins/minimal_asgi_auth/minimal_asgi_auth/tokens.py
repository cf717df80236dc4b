"""Access tokens and refresh tokens, with rotation and reuse detection.

An **access token** is a short-lived JWT (five minutes by default) that every
request carries; it is checked with a signature and a clock, no look-up, so it
cannot be revoked before it expires - which is why it is short. Its ``typ``
header is ``at+jwt`` (RFC 9068), so no other JWT signed with the same key
passes for one (RFC 8725 section 3.11).

A **refresh token** is long-lived and only ever sent to the token endpoint. It
is opaque - ``<family>.<secret>``, 256 random bits - and stored server-side
(only its SHA-256), so it *can* be revoked. Each use **rotates** it: the old
one is marked used and a new one issued in the same *family*. Presenting a
used one again means two parties hold it - the user and a thief - and nobody
can tell which is which, so the whole family is revoked (OAuth 2.0 Security
BCP, RFC 9700 section 4.14.2). Logout revokes the family too.

The check-and-rotate step is one atomic operation: a Lua script on Redis, a
synchronous block (no ``await`` inside) in memory. Ten concurrent uses of one
token: one wins, nine find it used, and the family is revoked.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, Protocol

from . import jwt
from .stores import ExpiringMap, RedisSource, redis_client, unavailable_on_error

# This service signs and verifies its own access tokens, so one shared HMAC
# secret (or a {kid: secret} map for rotation) does both; tokens from an identity
# provider are verified with its public keys instead (jwt.decode, jwks.py).
HMACKeyArgument = bytes | jwt.HMACKey | Mapping[str, bytes | jwt.HMACKey]

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "InvalidRefreshToken",
    "MemoryRefreshStore",
    "RedisRefreshStore",
    "RefreshStore",
    "Rotation",
    "TokenPair",
    "Tokens",
]

ACCESS_TOKEN_TYPE: Final = "at+jwt"  # RFC 9068 section 2.1


class InvalidRefreshToken(Exception):
    """A refresh token was refused; ``reason`` is ``unknown``, ``revoked``,
    ``reused`` (and then its family has just been revoked) or ``scope``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        messages = {
            "unknown": "the refresh token is not one this server issued, or it has expired",
            "revoked": "the refresh token's session was revoked (logout) or has expired",
            "reused": "the refresh token was already used; its whole family is now revoked",
            "scope": "a refresh cannot ask for a scope that was not granted at login",
        }
        super().__init__(messages.get(reason, reason))


@dataclass(frozen=True)
class TokenPair:
    """What a login or a refresh gives the client (RFC 6749 section 5.1)."""

    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"
    scope: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
        }
        if self.scope:
            body["scope"] = self.scope
        return body

    def __repr__(self) -> str:
        return f"TokenPair(<access>, <refresh>, expires_in={self.expires_in})"


class Rotation(NamedTuple):
    outcome: str  # "ok", "unknown", "revoked" or "reused"
    payload: str | None = None  # the family's stored grant, when ok


class RefreshStore(Protocol):
    """Where refresh-token families live. ``token`` arguments are SHA-256 hex
    digests: a copy of the store does not hold a single usable token."""

    async def start(
        self, family: str, subject: str, payload: str, token: str, family_ttl: float,
        token_ttl: float,
    ) -> None:
        """A new family (a login), with its first token."""

    async def rotate(self, family: str, token: str, new_token: str, token_ttl: float) -> Rotation:
        """Atomically: if ``token`` is current, mark it used and add ``new_token``;
        if it was used before, revoke the family."""

    async def revoke(self, family: str, token: str) -> bool:
        """Revoke the family, if ``token`` belongs to it (logout)."""

    async def revoke_subject(self, subject: str) -> int:
        """Revoke every family of ``subject`` (logout everywhere); how many."""


# -------------------------------------------------------------- in memory


class MemoryRefreshStore:
    """One process only; every entry expires with its TTL."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._families: ExpiringMap[tuple[str, str]] = ExpiringMap(clock)  # subject, payload
        self._tokens: ExpiringMap[tuple[str, bool]] = ExpiringMap(clock)  # family, used
        self._subjects: ExpiringMap[set[str]] = ExpiringMap(clock)

    def __len__(self) -> int:
        """Entries held (families and tokens), expired ones not yet swept included."""
        return len(self._families) + len(self._tokens)

    async def start(
        self, family: str, subject: str, payload: str, token: str, family_ttl: float,
        token_ttl: float,
    ) -> None:
        self._families.set(family, (subject, payload), family_ttl)
        self._tokens.set(token, (family, False), min(token_ttl, family_ttl))
        families = self._subjects.get(subject) or set()
        families.add(family)
        self._subjects.set(subject, families, max(family_ttl, self._subjects.ttl(subject)))

    async def rotate(self, family: str, token: str, new_token: str, token_ttl: float) -> Rotation:
        # No await below: on one event loop this block is atomic.
        grant = self._families.get(family)
        if grant is None:
            return Rotation("revoked")
        record = self._tokens.get(token)
        if record is None or record[0] != family:
            return Rotation("unknown")
        if record[1]:
            self._families.pop(family)
            return Rotation("reused")
        left = self._families.ttl(family)
        self._tokens.set(token, (family, True), left)  # remembered while the family lives
        self._tokens.set(new_token, (family, False), min(token_ttl, left))
        return Rotation("ok", grant[1])

    async def revoke(self, family: str, token: str) -> bool:
        record = self._tokens.get(token)
        if record is None or record[0] != family:
            return False
        return self._families.pop(family) is not None

    async def revoke_subject(self, subject: str) -> int:
        families = self._subjects.pop(subject) or set()
        return sum(self._families.pop(family) is not None for family in families)


# -------------------------------------------------------------- on Redis

# KEYS: family, presented token, new token; ARGV: the new token's TTL (ms).
# A used token is kept (marked) as long as its family lives, so a replay is
# recognised whenever it comes.
_ROTATE: Final = """
local payload = redis.call('HGET', KEYS[1], 'payload')
if not payload then return {'revoked'} end
local used = redis.call('GET', KEYS[2])
if not used then return {'unknown'} end
if used == '1' then
  redis.call('DEL', KEYS[1])
  return {'reused'}
end
local left = redis.call('PTTL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', left)
local ttl = tonumber(ARGV[1])
if left < ttl then ttl = left end
redis.call('SET', KEYS[3], '0', 'PX', ttl)
return {'ok', payload}
"""

# KEYS: family, presented token.
_REVOKE: Final = """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
return redis.call('DEL', KEYS[1])
"""


class RedisRefreshStore:
    """Families in Redis: a hash per family (its TTL is the absolute lifetime),
    a string per token, a set of families per subject. A family's keys share a
    hash tag, ``{family}``, so the script's keys sit in one Redis Cluster slot."""

    def __init__(self, redis: RedisSource, *, prefix: str = "auth:refresh:") -> None:
        self._source = redis
        self._prefix = prefix
        self._rotate = aioredis_script(_ROTATE)
        self._revoke = aioredis_script(_REVOKE)

    def _family(self, family: str) -> str:
        return f"{self._prefix}{{{family}}}:family"

    def _token(self, family: str, token: str) -> str:
        return f"{self._prefix}{{{family}}}:token:{token}"

    def _subject(self, subject: str) -> str:
        return f"{self._prefix}subject:{subject}"

    async def start(
        self, family: str, subject: str, payload: str, token: str, family_ttl: float,
        token_ttl: float,
    ) -> None:
        family_ms = max(1, int(family_ttl * 1000))
        with unavailable_on_error("token"):
            async with redis_client(self._source).pipeline(transaction=True) as pipe:
                pipe.hset(self._family(family), mapping={"subject": subject, "payload": payload})
                pipe.pexpire(self._family(family), family_ms)
                pipe.set(self._token(family, token), "0", px=min(family_ms, int(token_ttl * 1000)))
                pipe.sadd(self._subject(subject), family)
                # Every family lives family_ttl: the newest one lives longest.
                pipe.pexpire(self._subject(subject), family_ms)
                await pipe.execute()

    async def rotate(self, family: str, token: str, new_token: str, token_ttl: float) -> Rotation:
        keys = [self._family(family), self._token(family, token), self._token(family, new_token)]
        with unavailable_on_error("token"):
            answer = await self._rotate(
                redis_client(self._source), keys, [max(1, int(token_ttl * 1000))]
            )
        outcome = _text(answer[0])
        return Rotation(outcome, _text(answer[1]) if len(answer) > 1 else None)

    async def revoke(self, family: str, token: str) -> bool:
        with unavailable_on_error("token"):
            deleted = await self._revoke(
                redis_client(self._source), [self._family(family), self._token(family, token)], []
            )
        return bool(deleted)

    async def revoke_subject(self, subject: str) -> int:
        client = redis_client(self._source)
        with unavailable_on_error("token"):
            families = await client.smembers(self._subject(subject))
            keys = [self._family(_text(f)) for f in families]
            deleted = 0
            for key in keys:  # one by one: the families live in different cluster slots
                deleted += await client.delete(key)
            await client.delete(self._subject(subject))
        return deleted


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class aioredis_script:
    """A Lua script run by its SHA (EVALSHA), loaded again if Redis forgot it."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # Redis names scripts by SHA-1

    async def __call__(self, client: Any, keys: list[str], args: list[Any]) -> Any:
        from redis.exceptions import NoScriptError

        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.eval(self.source, len(keys), *keys, *args)


# -------------------------------------------------------------- the service


def _digest(secret: str) -> str:
    # A refresh token has 256 random bits: a fast hash is enough (no guessing
    # to slow down), and the store never holds a usable token.
    return hashlib.sha256(secret.encode()).hexdigest()


class Tokens:
    """Issues and checks access tokens; issues, rotates and revokes refresh tokens.

    ``key``: the HMAC secret (bytes, 256 bits or more) or a ``{kid: key}``
    map with ``kid`` naming the one that signs. ``store``: ``"memory"`` (one
    process) or a ``RefreshStore`` such as ``RedisRefreshStore(redis)``.
    ``access_ttl`` is short (300 s): an access token cannot be revoked.
    ``refresh_ttl`` is how long an unused refresh token lives (idle);
    ``family_ttl`` how long a login lasts at most, refreshed or not (absolute).
    """

    def __init__(
        self,
        key: HMACKeyArgument,
        *,
        store: str | RefreshStore = "memory",
        kid: str | None = None,
        algorithm: str = "HS256",
        issuer: str | None = None,
        audience: str | None = None,
        access_ttl: int = 300,
        refresh_ttl: int = 14 * 24 * 3600,
        family_ttl: int = 30 * 24 * 3600,
        leeway: float = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if store == "memory":
            store = MemoryRefreshStore()
        elif isinstance(store, str):
            raise ValueError(
                f"Tokens(store={store!r}): use 'memory' or a RefreshStore such as "
                "RedisRefreshStore(redis_client)"
            )
        self.store: RefreshStore = store
        # Checked and wrapped once: per request only the HMAC is computed.
        self._key: HMACKeyArgument = (
            {kid: jwt.HMACKey(bytes(k)) if isinstance(k, bytes | bytearray) else k
             for kid, k in key.items()}
            if isinstance(key, Mapping)
            else jwt.HMACKey(bytes(key)) if isinstance(key, bytes | bytearray) else key
        )
        self._headers: dict[str, Any] = {"typ": ACCESS_TOKEN_TYPE}
        if kid is not None:
            self._headers["kid"] = kid
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.family_ttl = family_ttl
        self.leeway = leeway
        self.clock = clock
        # A bad key fails here, at startup, not at the first login.
        jwt.encode({"probe": True}, key, algorithm, self._headers)

    # -- access tokens --------------------------------------------------------

    def access_token(
        self,
        subject: str,
        *,
        roles: Iterable[str] = (),
        scopes: Iterable[str] = (),
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        now = int(self.clock())
        body: dict[str, Any] = {
            **(claims or {}),
            "sub": subject,
            "iat": now,
            "exp": now + self.access_ttl,
            "jti": uuid.uuid4().hex,
        }
        if self.issuer is not None:
            body["iss"] = self.issuer
        if self.audience is not None:
            body["aud"] = self.audience
        roles, scopes = sorted(set(roles)), sorted(set(scopes))
        if roles:
            body["roles"] = roles
        if scopes:
            body["scope"] = " ".join(scopes)  # RFC 8693 / RFC 9068: space-separated
        return jwt.encode(body, self._key, self.algorithm, self._headers)

    def verify_access(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token; raises ``jwt.InvalidTokenError``.

        Every check is on: the signature, the algorithm allow-list (the one
        configured), ``exp``/``nbf``/``iat``, ``typ`` (``at+jwt``: a refresh
        token or an ID token never passes), ``iss`` and ``aud`` when configured.
        """
        return jwt.decode(
            token,
            self._key,
            algorithms=[self.algorithm],
            audience=self.audience,
            issuer=self.issuer,
            leeway=self.leeway,
            now=self.clock(),
            require=("exp", "iat", "sub"),
            typ=ACCESS_TOKEN_TYPE,
        )

    # -- refresh tokens -------------------------------------------------------

    async def issue(
        self,
        subject: str,
        *,
        roles: Collection[str] = (),
        scopes: Collection[str] = (),
        claims: Mapping[str, Any] | None = None,
    ) -> TokenPair:
        """A login: a new family, its first refresh token, and an access token."""
        family, secret = _new_refresh()
        grant = {"sub": subject, "roles": sorted(roles), "scopes": sorted(scopes),
                 "claims": dict(claims or {})}
        await self.store.start(
            family, subject, json.dumps(grant), _digest(secret), self.family_ttl, self.refresh_ttl
        )
        return self._pair(grant, f"{family}.{secret}")

    async def refresh(
        self, refresh_token: str, *, scopes: Collection[str] | None = None
    ) -> TokenPair:
        """Rotate: the old refresh token is spent, a new pair is returned.
        Raises ``InvalidRefreshToken`` (``reused`` revokes the family).

        ``scopes`` narrows the new access token to some of the scopes granted
        at login (RFC 6749 section 6); the family keeps the full grant. Asking
        for a scope never granted raises ``InvalidRefreshToken("scope")`` -
        after the rotation, so the presented token is spent either way.
        """
        family, secret = _split(refresh_token)
        new_secret = secrets.token_urlsafe(32)
        rotation = await self.store.rotate(
            family, _digest(secret), _digest(new_secret), self.refresh_ttl
        )
        if rotation.outcome != "ok" or rotation.payload is None:
            raise InvalidRefreshToken(rotation.outcome)
        grant = json.loads(rotation.payload)
        if scopes is not None:
            if not set(scopes) <= set(grant["scopes"]):
                raise InvalidRefreshToken("scope")
            grant = {**grant, "scopes": sorted(set(scopes))}
        return self._pair(grant, f"{family}.{new_secret}")

    async def revoke(self, refresh_token: str) -> bool:
        """Logout: revoke the refresh token's family. Access tokens already
        issued stay valid until they expire (``access_ttl``)."""
        try:
            family, secret = _split(refresh_token)
        except InvalidRefreshToken:
            return False
        return await self.store.revoke(family, _digest(secret))

    async def revoke_subject(self, subject: str) -> int:
        """Logout everywhere: every refresh-token family of ``subject``."""
        return await self.store.revoke_subject(subject)

    def _pair(self, grant: Mapping[str, Any], refresh_token: str) -> TokenPair:
        access = self.access_token(
            grant["sub"], roles=grant["roles"], scopes=grant["scopes"], claims=grant["claims"]
        )
        scope = " ".join(grant["scopes"]) or None
        return TokenPair(access, refresh_token, self.access_ttl, scope=scope)


def _new_refresh() -> tuple[str, str]:
    return secrets.token_urlsafe(16), secrets.token_urlsafe(32)


def _split(refresh_token: str) -> tuple[str, str]:
    family, dot, secret = refresh_token.partition(".")
    if not dot or not family or not secret or len(refresh_token) > 200:
        raise InvalidRefreshToken("unknown")
    return family, secret

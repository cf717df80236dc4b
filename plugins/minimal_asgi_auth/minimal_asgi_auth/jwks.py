"""A JSON Web Key Set (RFC 7517 section 5), fetched from the identity provider.

An identity provider (Auth0, Keycloak, Entra ID, Google...) signs tokens with
private keys it rotates, and publishes the public halves at a URL it
documents, e.g. ``https://idp.example/.well-known/jwks.json``::

    {"keys": [{"kty": "RSA", "kid": "2026-07", "alg": "RS256", "n": "...", "e": "AQAB"}]}

``JWKS`` fetches that document from the URL *the application
configured*, keeps the keys in memory by ``kid``, and verifies tokens with
them. Rotation works without a restart: a token naming a ``kid`` the cache
does not know triggers one new fetch - at most once a minute, so a stream
of made-up kids cannot turn the app into a flood against the provider.

What it never does: read the key, or a URL to fetch it from, out of the
token (``jwk``, ``jku``, ``x5u``, ``x5c`` headers - CVE-2018-0114 and kin).
The ``kid`` is a dictionary look-up and nothing else.

The fetch is a plain HTTP GET with the standard library (``urllib``), run in
a worker thread so the event loop never waits on the network: one request a
minute at most does not justify an HTTP client dependency. Only ``https``
URLs are accepted, plus ``http`` on the loopback interface (a sidecar, a
test server).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final

import anyio
import anyio.to_thread

from minimal_asgi import ConfigurationError

from . import jwt
from .keys import InvalidKeyError, PublicKey

__all__ = ["DEFAULT_MAX_JWKS_SIZE", "JWKS", "JWKSError", "parse_jwks"]

logger = logging.getLogger("minimal_asgi_auth.jwks")

DEFAULT_MAX_JWKS_SIZE: Final = 64 * 1024
MAX_KID_LENGTH: Final = 256
_ALGORITHM_OF_KTY: Final = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}


class JWKSError(Exception):
    """The key set could not be fetched or read: the provider's fault, answer 503, not 401."""


def parse_jwks(document: bytes, max_size: int = DEFAULT_MAX_JWKS_SIZE) -> dict[str, PublicKey]:
    """The signing keys of a JWKS document, by ``kid``.

    Keys this module cannot or must not use are skipped, each with a log line
    saying why: no ``kid``, ``use`` other than ``sig``, private or symmetric
    material, an unsupported type, or an ``alg`` that does not fit the key.
    """
    if len(document) > max_size:
        raise JWKSError(f"the JWKS document is larger than {max_size} bytes")
    try:
        value = json.loads(document)
    except (ValueError, RecursionError):
        raise JWKSError("the JWKS document is not JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        raise JWKSError('a JWKS document is a JSON object with a "keys" list')
    keys: dict[str, PublicKey] = {}
    for index, jwk in enumerate(value["keys"]):
        reason = _why_unusable(jwk, keys)
        if reason is None:
            try:
                keys[jwk["kid"]] = PublicKey.from_jwk(jwk)
                continue
            except InvalidKeyError as exc:
                reason = str(exc)
        if reason == "duplicate":
            keys.pop(jwk["kid"], None)  # two keys, one kid: trust neither
            reason = f"kid {jwk['kid']!r} appears twice"
        logger.warning("JWKS key #%d skipped: %s", index, reason)
    return keys


def _why_unusable(jwk: object, keys: Mapping[str, PublicKey]) -> str | None:
    if not isinstance(jwk, dict):
        return "not a JSON object"
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        return f"no 'kid' string of at most {MAX_KID_LENGTH} characters"
    if jwk.get("use", "sig") != "sig":
        return f"'use' is {jwk.get('use')!r}, not 'sig'"
    if kid in keys:
        return "duplicate"
    algorithm = jwk.get("alg")
    kty = jwk.get("kty")
    expected = _ALGORITHM_OF_KTY.get(kty) if isinstance(kty, str) else None
    if algorithm is not None and algorithm != expected:
        return f"'alg' {algorithm!r} does not fit a {kty!r} key (or is not supported)"
    return None


def check_url(url: str) -> str:
    """``https://...``, or ``http://`` to the loopback interface only."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and _is_loopback(host):
        return url
    raise ConfigurationError(
        f"JWKS url {url!r}: use an https:// URL (keys fetched over plain http could be "
        "swapped by anyone on the path); http:// is accepted for 127.0.0.1 and localhost only"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # The configured URL is the only place keys come from: a redirect would
    # let whoever controls it (or an open redirect) choose another.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER: Final = urllib.request.build_opener(_NoRedirects)


def http_get(url: str, timeout: float, max_size: int) -> bytes:
    """GET ``url``: its body if the answer is 200 and not over ``max_size``; JWKSError otherwise."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            if response.status != 200:
                raise JWKSError(f"GET {url} answered {response.status}, expected 200")
            body: bytes = response.read(max_size + 1)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the connection open
        raise JWKSError(f"GET {url} answered {exc.code}, expected 200") from None
    except (urllib.error.URLError, OSError) as exc:
        raise JWKSError(f"GET {url} failed: {exc}") from None
    if len(body) > max_size:
        raise JWKSError(f"the JWKS document at {url} is larger than {max_size} bytes")
    return body


class JWKS:
    """The identity provider's keys, fetched, cached and refreshed on rotation.

    ``min_refresh_interval``: seconds between two fetches, whatever happens
    (default 60). ``max_age``: keys older than this are fetched again on the
    next use, so a key the provider withdrew stops verifying; if that fetch
    fails, the cached keys keep working and a warning is logged. ``clock`` is
    injectable (monotonic seconds), and so is ``fetch(url) -> bytes``.
    """

    def __init__(
        self,
        url: str,
        *,
        min_refresh_interval: float = 60.0,
        max_age: float = 3600.0,
        timeout: float = 5.0,
        max_size: int = DEFAULT_MAX_JWKS_SIZE,
        clock: Callable[[], float] = time.monotonic,
        fetch: Callable[[str], bytes] | None = None,
    ) -> None:
        self.url = check_url(url)
        self.min_refresh_interval = min_refresh_interval
        self.max_age = max_age
        self.max_size = max_size
        self._clock = clock
        self._fetch = fetch or (lambda url: http_get(url, timeout, max_size))
        self._keys: dict[str, PublicKey] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch, successful or not
        self._lock = anyio.Lock()
        self.fetches = 0  # how many times the URL was fetched (for tests and metrics)

    @property
    def keys(self) -> Mapping[str, PublicKey]:
        return dict(self._keys)

    def _may_fetch(self) -> bool:
        return (
            self._attempted_at is None
            or self._clock() - self._attempted_at >= self.min_refresh_interval
        )

    async def refresh(self) -> None:
        """Fetch the document now (if the rate limit allows); JWKSError if it fails."""
        async with self._lock:
            await self._refresh_locked()

    async def _refresh_locked(self) -> None:
        if not self._may_fetch():
            return
        self._attempted_at = self._clock()
        self.fetches += 1
        document = await anyio.to_thread.run_sync(self._fetch, self.url)
        keys = parse_jwks(document, self.max_size)
        if not keys:
            raise JWKSError(f"the JWKS document at {self.url} has no usable signing key")
        self._keys, self._fetched_at = keys, self._clock()

    async def key(self, kid: str) -> PublicKey:
        """The key for ``kid``; fetches once if it is unknown (or the cache is old)."""
        key = self._keys.get(kid)
        stale = self._fetched_at is None or self._clock() - self._fetched_at >= self.max_age
        if key is not None and not stale:
            return key
        async with self._lock:
            # Another request may have fetched while this one waited.
            key = self._keys.get(kid)
            stale = self._fetched_at is None or self._clock() - self._fetched_at >= self.max_age
            if key is None or stale:
                try:
                    await self._refresh_locked()
                except JWKSError:
                    if not self._keys:
                        raise
                    logger.warning(
                        "JWKS refresh from %s failed; using the cached keys",
                        self.url,
                        exc_info=True,
                    )
                key = self._keys.get(kid)
        if key is None:
            if self._fetched_at is None:
                raise JWKSError(f"the keys at {self.url} could not be fetched yet; retry later")
            raise jwt.InvalidKeyIdError(f"no key in the JWKS for kid {kid[:64]!r}")
        return key

    async def decode(
        self, token: str | bytes, algorithms: Collection[str], **checks: Any
    ) -> dict[str, Any]:
        """Verify ``token`` with the key its ``kid`` names; the checks are ``jwt.decode``'s.

        Raises ``jwt.InvalidTokenError`` for a bad token (401) and
        ``JWKSError`` when the keys cannot be had (503).
        """
        header = jwt.unverified_header(token, checks.get("max_size", jwt.DEFAULT_MAX_SIZE))
        kid = header.get("kid")
        if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
            raise jwt.InvalidKeyIdError("the token has no usable 'kid' header to find its key")
        allowed = set(algorithms)
        if not allowed or not allowed <= jwt.ASYMMETRIC_ALGORITHMS.keys():
            raise InvalidKeyError(
                "a JWKS verifies RS256, ES256 and EdDSA only; "
                f"algorithms={sorted(allowed)} names others"
            )
        key = await self.key(kid)
        usable = allowed & key.algorithms
        if not usable:
            raise jwt.InvalidAlgorithmError(
                f"the key {kid[:64]!r} serves {key.algorithm}, which is not allowed"
            )
        return jwt.decode(token, {kid: key}, usable, **checks)

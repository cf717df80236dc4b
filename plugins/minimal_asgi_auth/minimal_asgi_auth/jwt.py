"""JSON Web Tokens (RFC 7519), signed (RFC 7515, RFC 7518), written by hand.

A JWT is three base64url segments, ``header.payload.signature``; the signature
covers the first two *exactly as they travel*: an HMAC (HS256/384/512, on
``hmac``), or an RSA, ECDSA or Ed25519 signature (RS256, ES256, EdDSA, whose
maths is ``cryptography``'s, see keys.py). Most published JWT
vulnerabilities are not in the maths but in the checks around it, so every
check here says which attack it stops (see docs/19-authentication.md):

- **Algorithm allow-list.** The caller names the algorithms it accepts; the
  token's ``alg`` only selects among them. ``none`` (in any letter case) is
  never accepted, even if listed (CVE-2015-9235 class).
- **Typed keys.** A key is an ``HMACKey`` or a ``PublicKey``, and
  each serves only its own algorithms; a ``str``, or bytes that look like a
  public key (PEM, DER, OpenSSH, JWK), are refused as HMAC secrets, so a
  public key can never be used to *verify* an HMAC that an attacker computed
  with it (the algorithm-confusion class: CVE-2017-11424, CVE-2022-29217,
  CVE-2022-29161). Secrets shorter than 256 bits are refused (RFC 7518 3.2).
- **Strict parsing.** Exactly three segments; only the base64url alphabet, no
  padding, canonical encodings only; header and payload JSON objects with no
  duplicate keys; unknown ``crit`` headers refused (RFC 7515 4.1.11); sizes
  checked *before* any decoding.
- **Keys come from the caller only.** ``kid`` is looked up in the caller's
  ``{kid: key}`` map and nowhere else (no files, no SQL); the ``jwk``, ``jku``,
  ``x5u`` and ``x5c`` headers are never read.
- **Claims.** ``exp``/``nbf``/``iat`` with a leeway and an injectable clock;
  ``iss`` an exact match; ``aud`` required when expected; an explicit ``typ``
  keeps access and refresh tokens apart (RFC 8725 3.11).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Final

from .keys import (
    ASYMMETRIC_ALGORITHMS,
    HMAC_ALGORITHMS,
    HMACKey,
    InvalidKeyError,
    PrivateKey,
    PublicKey,
)

__all__ = [
    "ALGORITHMS",
    "ASYMMETRIC_ALGORITHMS",
    "DEFAULT_MAX_SIZE",
    "HMAC_ALGORITHMS",
    "DecodeError",
    "ExpiredTokenError",
    "HMACKey",
    "ImmatureTokenError",
    "InvalidAlgorithmError",
    "InvalidAudienceError",
    "InvalidIssuedAtError",
    "InvalidIssuerError",
    "InvalidKeyError",
    "InvalidKeyIdError",
    "InvalidSignatureError",
    "InvalidTokenError",
    "InvalidTypeError",
    "Key",
    "MissingClaimError",
    "PrivateKey",
    "PublicKey",
    "TokenTooLargeError",
    "decode",
    "encode",
    "unverified_header",
]

DEFAULT_MAX_SIZE: Final = 8192
"""Bytes: a token larger than this is refused before any decoding."""

ALGORITHMS: Final = frozenset(HMAC_ALGORITHMS) | frozenset(ASYMMETRIC_ALGORITHMS)

# ---------------------------------------------------------------- errors


class InvalidTokenError(ValueError):
    """The token must not be trusted; the message says why."""


class TokenTooLargeError(InvalidTokenError):
    """The token is larger than the configured limit."""


class DecodeError(InvalidTokenError):
    """The token is not a well-formed, canonically encoded JWS compact token."""


class InvalidAlgorithmError(InvalidTokenError):
    """The token's ``alg`` is not one the caller allows (or does not fit the key)."""


class InvalidKeyIdError(InvalidTokenError):
    """The token's ``kid`` names no key the caller configured."""


class InvalidSignatureError(InvalidTokenError):
    """The signature does not match: the token was forged or altered."""


class ExpiredTokenError(InvalidTokenError):
    """``exp`` is in the past."""


class ImmatureTokenError(InvalidTokenError):
    """``nbf`` is in the future."""


class InvalidIssuedAtError(InvalidTokenError):
    """``iat`` is not a number, or is in the future."""


class InvalidAudienceError(InvalidTokenError):
    """``aud`` is missing or does not name this audience."""


class InvalidIssuerError(InvalidTokenError):
    """``iss`` is missing or is not exactly the expected issuer."""


class InvalidTypeError(InvalidTokenError):
    """The ``typ`` header is not the expected one (an access token used as a refresh token...)."""


class MissingClaimError(InvalidTokenError):
    """A claim the caller requires is absent."""


# ---------------------------------------------------------------- keys

# A verifying key: an HMAC secret (bytes become an HMACKey) or a public key.
# There is no automatic detection: the *type* of the key the application
# passed decides what it can do, never the token's 'alg'.
Key = bytes | HMACKey | PublicKey
KeyArgument = Key | Mapping[str, Key]
SigningKey = bytes | HMACKey | PrivateKey
SigningKeyArgument = SigningKey | Mapping[str, SigningKey]
_Verifier = HMACKey | PublicKey
_Signer = HMACKey | PrivateKey


def _as_key(key: object) -> _Verifier:
    if isinstance(key, (HMACKey, PublicKey)):
        return key
    if isinstance(key, (bytes, bytearray)):
        return HMACKey(bytes(key))
    if isinstance(key, PrivateKey):
        raise InvalidKeyError(
            "a PrivateKey signs; verify with its public half: key.public_key()"
        )
    raise InvalidKeyError(
        f"a key must be bytes, an HMACKey or a PublicKey, not {type(key).__name__} "
        "(a text or public key is never accepted as an HMAC secret)"
    )


def _as_signer(key: object) -> _Signer:
    if isinstance(key, (HMACKey, PrivateKey)):
        return key
    if isinstance(key, (bytes, bytearray)):
        return HMACKey(bytes(key))
    if isinstance(key, PublicKey):
        raise InvalidKeyError("a PublicKey can only verify; sign with a PrivateKey")
    raise InvalidKeyError(
        f"a signing key must be bytes, an HMACKey or a PrivateKey, not {type(key).__name__}"
    )


def _as_keyring(key: KeyArgument) -> _Verifier | dict[str, _Verifier]:
    if isinstance(key, Mapping):
        if not key:
            raise InvalidKeyError("the {kid: key} map is empty")
        return {str(kid): _as_key(value) for kid, value in key.items()}
    return _as_key(key)


# ---------------------------------------------------------------- base64url and JSON

_BASE64URL: Final = re.compile(rb"[A-Za-z0-9_-]*")


def _b64encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64decode(segment: bytes, what: str) -> bytes:
    # Only the base64url alphabet, no padding, no whitespace (RFC 7515 section 2).
    if _BASE64URL.fullmatch(segment) is None:
        raise DecodeError(
            f"the {what} has characters outside the base64url alphabet (or '=' padding)"
        )
    if len(segment) % 4 == 1:
        raise DecodeError(f"the {what} has an impossible base64url length")
    try:
        data = base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    except binascii.Error as exc:  # pragma: no cover - the checks above leave nothing for it
        raise DecodeError(f"the {what} is not base64url: {exc}") from None
    # Unused trailing bits must be zero: otherwise several strings decode to the
    # same bytes and the token could be altered without touching its meaning.
    if _b64encode(data) != segment:
        raise DecodeError(f"the {what} is not canonically base64url-encoded")
    return data


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise DecodeError(
                f"duplicate JSON key {name!r}: parsers would disagree about its value"
            )
        result[name] = value
    return result


def _refuse_constant(name: str) -> None:
    raise DecodeError(f"{name} is not valid JSON")


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(
            data, object_pairs_hook=_no_duplicate_keys, parse_constant=_refuse_constant
        )
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(f"the {what} is not valid UTF-8 JSON") from None
    except RecursionError:
        # 8 KB of '[' nests deeper than the parser's stack: a 400, not a 500.
        raise DecodeError(f"the {what} nests JSON too deeply") from None
    if not isinstance(value, dict):
        raise DecodeError(f"the {what} must be a JSON object, not {type(value).__name__}")
    return value


def _json_segment(value: Mapping[str, Any]) -> bytes:
    return _b64encode(json.dumps(value, separators=(",", ":"), allow_nan=False).encode())


# ---------------------------------------------------------------- encode


def encode(
    claims: Mapping[str, Any],
    key: SigningKeyArgument,
    algorithm: str = "HS256",
    headers: Mapping[str, Any] | None = None,
) -> str:
    """Sign ``claims`` into a compact JWT.

    ``key``: bytes or an ``HMACKey`` for HS256/HS384/HS512, a
    ``PrivateKey`` for RS256/ES256/EdDSA. With a ``{kid: key}`` map,
    ``headers`` must name the signing key's ``kid``.
    """
    if algorithm not in ALGORITHMS:
        raise InvalidKeyError(
            f"unsupported algorithm {algorithm!r}; use one of {sorted(ALGORITHMS)}"
        )
    if not isinstance(claims, Mapping):
        raise TypeError(f"claims must be a mapping, not {type(claims).__name__}")
    header: dict[str, Any] = {"alg": algorithm, "typ": "JWT"}
    if headers:
        header.update(headers)
        header["alg"] = algorithm  # the algorithm is the key's business, not a free header
    signer: _Signer
    if isinstance(key, Mapping):
        kid = header.get("kid")
        if not isinstance(kid, str) or kid not in key:
            raise InvalidKeyError(
                "to sign with a key map, pass headers={'kid': ...} "
                f"naming one of {sorted(key)}"
            )
        signer = _as_signer(key[kid])
    else:
        signer = _as_signer(key)
    signer.check_for(algorithm)
    signing_input = _json_segment(header) + b"." + _json_segment(claims)
    return (signing_input + b"." + _b64encode(signer.sign(algorithm, signing_input))).decode(
        "ascii"
    )


# ---------------------------------------------------------------- decode


def unverified_header(token: str | bytes, max_size: int = DEFAULT_MAX_SIZE) -> dict[str, Any]:
    """The header, parsed with every structural check but **not verified**: never trust it."""
    raw = _raw(token, max_size)
    header_segment = raw.split(b".", 1)[0]
    return _json_object(_b64decode(header_segment, "header"), "header")


def _raw(token: str | bytes, max_size: int) -> bytes:
    if isinstance(token, str):
        # PERF: the size check comes first, on the cheapest length there is.
        if len(token) > max_size:
            raise TokenTooLargeError(f"the token is longer than {max_size} bytes")
        try:
            return token.encode("ascii")
        except UnicodeEncodeError:
            raise DecodeError("the token has characters outside the base64url alphabet") from None
    if isinstance(token, (bytes, bytearray)):
        if len(token) > max_size:
            raise TokenTooLargeError(f"the token is longer than {max_size} bytes")
        return bytes(token)
    raise DecodeError(f"a token must be str or bytes, not {type(token).__name__}")


def _check_algorithms(algorithms: Iterable[str]) -> frozenset[str]:
    if isinstance(algorithms, str):
        raise TypeError("algorithms must be a list, e.g. algorithms=['HS256']")
    allowed = frozenset(algorithms)
    if not allowed:
        raise InvalidKeyError(
            "algorithms must name at least one algorithm, e.g. algorithms=['HS256']"
        )
    unknown = allowed - ALGORITHMS
    if unknown:
        raise InvalidKeyError(
            f"unsupported algorithms {sorted(unknown)}; "
            f"this module verifies {sorted(ALGORITHMS)}"
        )
    return allowed


def _check_keys(keyring: _Verifier | dict[str, _Verifier], allowed: frozenset[str]) -> None:
    """Bind the allowed algorithms to the configured keys, before looking at any token.

    One key must serve *every* allowed algorithm: ``algorithms=["RS256",
    "HS256"]`` with an RSA public key is the algorithm-confusion setup itself,
    and is refused here. In a ``{kid: key}`` map each allowed algorithm must be
    served by some key; each token is then checked against its own kid's key.
    Checked up front so a token cannot turn a configuration error into a 500
    by choosing its ``alg``.
    """
    if not isinstance(keyring, dict):
        for algorithm in allowed:
            keyring.check_for(algorithm)
        return
    served: set[str] = set()
    for each in keyring.values():
        usable = allowed & each.algorithms
        for algorithm in usable:
            each.check_for(algorithm)
        served |= usable
    if served != allowed:
        raise InvalidKeyError(
            f"no key in the map can verify {sorted(allowed - served)}; "
            "remove them from algorithms=[...] or add a key of the right type"
        )


def decode(
    token: str | bytes,
    key: KeyArgument,
    algorithms: Collection[str],
    *,
    audience: str | Collection[str] | None = None,
    issuer: str | None = None,
    leeway: float = 0,
    now: float | None = None,
    require: Collection[str] = ("exp",),
    typ: str | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
) -> dict[str, Any]:
    """Verify ``token`` and return its claims; raise an ``InvalidTokenError`` otherwise.

    ``require`` names claims that must be present (``exp`` by default: a token
    that never expires is rarely meant). ``typ``, when given, must equal the
    token's ``typ`` header (case-insensitively, RFC 7515 4.1.9), which keeps
    access and refresh tokens apart. ``now`` is a Unix time, for tests.
    """
    allowed = _check_algorithms(algorithms)
    keyring = _as_keyring(key)
    _check_keys(keyring, allowed)
    raw = _raw(token, max_size)

    segments = raw.split(b".")
    if len(segments) != 3:
        raise DecodeError(
            f"a JWS compact token has 3 dot-separated segments, this one has {len(segments)}"
        )
    header_segment, payload_segment, signature_segment = segments
    if not signature_segment:
        raise InvalidSignatureError(
            "the token has no signature (an unsecured JWT is never accepted)"
        )

    header = _json_object(_b64decode(header_segment, "header"), "header")
    algorithm = header.get("alg")
    if not isinstance(algorithm, str):
        raise InvalidAlgorithmError("the header has no 'alg' string")
    if algorithm not in allowed:
        # 'none', 'None', 'NONE', 'RS256' against an HMAC key... all end here.
        raise InvalidAlgorithmError(
            f"algorithm {algorithm!r} is not allowed (allowed: {sorted(allowed)})"
        )
    if "crit" in header:
        # We understand no extension, so any critical one must be refused (RFC 7515 4.1.11).
        raise DecodeError(f"unsupported critical header extensions {header['crit']!r}")

    if isinstance(keyring, dict):
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidKeyIdError(
                "the token has no 'kid' string, and the key is a {kid: key} map"
            )
        # A dictionary look-up and nothing else: '../../dev/null' or "' OR 1=1"
        # is just a kid that is not in the map.
        verifier = keyring.get(kid)
        if verifier is None:
            raise InvalidKeyIdError(f"no key is configured for kid {kid[:64]!r}")
    else:
        verifier = keyring
    if algorithm not in verifier.algorithms:
        # An allowed algorithm, but not this key's: HS256 against an RSA public key.
        raise InvalidAlgorithmError(
            f"algorithm {algorithm!r} does not fit the key configured for this token"
        )

    signature = _b64decode(signature_segment, "signature")
    # The signature covers the segments as received, never re-serialised JSON.
    signing_input = raw[: len(header_segment) + 1 + len(payload_segment)]
    if not verifier.verify(algorithm, signing_input, signature):
        raise InvalidSignatureError(
            "the signature does not match the token (forged, altered or signed with another key)"
        )

    claims = _json_object(_b64decode(payload_segment, "payload"), "payload")
    if typ is not None:
        token_type = header.get("typ")
        if not isinstance(token_type, str) or token_type.lower() != typ.lower():
            raise InvalidTypeError(f"expected a token of type {typ!r}, got {token_type!r}")
    _check_claims(claims, audience, issuer, leeway, time.time() if now is None else now, require)
    return claims


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        error = InvalidIssuedAtError if name == "iat" else DecodeError
        raise error(f"the {name!r} claim must be a number (seconds since the epoch), got {value!r}")
    return float(value)


def _check_claims(
    claims: Mapping[str, Any],
    audience: str | Collection[str] | None,
    issuer: str | None,
    leeway: float,
    now: float,
    require: Collection[str],
) -> None:
    for name in require:
        if name not in claims:
            raise MissingClaimError(f"the token has no {name!r} claim, which is required")
    expires = _number(claims, "exp")
    if expires is not None and now - leeway >= expires:
        raise ExpiredTokenError(
            f"the token expired at {expires:.0f} (now {now:.0f}, leeway {leeway:g} s)"
        )
    not_before = _number(claims, "nbf")
    if not_before is not None and now + leeway < not_before:
        raise ImmatureTokenError(f"the token is not valid before {not_before:.0f} (now {now:.0f})")
    issued_at = _number(claims, "iat")
    if issued_at is not None and now + leeway < issued_at:
        raise InvalidIssuedAtError(
            f"the token claims to be issued in the future ({issued_at:.0f}, now {now:.0f})"
        )
    # An exact match: 'https://idp.example' must not accept 'https://idp.example.evil'.
    if issuer is not None and claims.get("iss") != issuer:
        raise InvalidIssuerError(f"expected issuer {issuer!r}, got {claims.get('iss')!r}")
    if audience is not None:
        _check_audience(claims, audience)


def _check_audience(claims: Mapping[str, Any], audience: str | Collection[str]) -> None:
    expected = {audience} if isinstance(audience, str) else set(audience)
    token_audience = claims.get("aud")
    if token_audience is None:
        raise InvalidAudienceError("the token has no 'aud' claim but an audience is expected")
    if isinstance(token_audience, str):
        token_audience = [token_audience]
    if not isinstance(token_audience, list) or not all(isinstance(a, str) for a in token_audience):
        raise InvalidAudienceError("the 'aud' claim must be a string or a list of strings")
    if expected.isdisjoint(token_audience):
        raise InvalidAudienceError(
            f"the token is for {token_audience!r}, not for {sorted(expected)!r}"
        )

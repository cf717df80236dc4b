"""Exercise 19, solved: an HS256 JWT verified by hand, checks in a safe order."""

import base64
import binascii
import hashlib
import hmac
import json


class InvalidToken(Exception):
    """The token must not be believed."""


class ExpiredToken(InvalidToken):
    """The token was valid, and no longer is."""


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _json(part: str) -> object:
    try:
        return json.loads(b64decode(part))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken(f"not base64url JSON: {exc}") from None


def verify(token: str, key: bytes, now: float) -> dict:
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("a JWS is header.payload.signature")
    header_part, payload_part, signature_part = parts

    header = _json(header_part)
    # The server chooses the algorithm: a token saying "none" or "RS256" is refused.
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise InvalidToken("only HS256 is accepted")

    expected = hmac.new(key, f"{header_part}.{payload_part}".encode(), hashlib.sha256).digest()
    try:
        given = b64decode(signature_part)
    except (binascii.Error, ValueError):
        raise InvalidToken("the signature is not base64url") from None
    if not hmac.compare_digest(expected, given):
        raise InvalidToken("bad signature")

    claims = _json(payload_part)  # only now is the payload ours to read
    if not isinstance(claims, dict):
        raise InvalidToken("the payload is not a JSON object")
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise InvalidToken("exp is required, as a number")
    if now >= exp:
        raise ExpiredToken("the token has expired")
    if isinstance(nbf, int | float) and not isinstance(nbf, bool) and now < nbf:
        raise InvalidToken("the token is not valid yet")
    return claims

"""Exercise 19: verify an HS256 JWT by hand. See README.md."""

import base64
import json


class InvalidToken(Exception):
    """The token must not be believed."""


class ExpiredToken(InvalidToken):
    """The token was valid, and no longer is."""


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify(token: str, key: bytes, now: float) -> dict:
    # TODO: this believes whatever the token says. Check it first.
    payload = token.split(".")[1]
    return json.loads(b64decode(payload))

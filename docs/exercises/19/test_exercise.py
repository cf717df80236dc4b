"""Exercise 19: good tokens verified, every kind of bad one refused."""

import base64
import hashlib
import hmac
import json
from types import ModuleType

import pytest

from minimal_asgi_auth import jwt

KEY = b"k" * 32
NOW = 1_800_000_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, key: bytes = KEY) -> str:
    """A token written by hand (the way an attacker would)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def test_a_good_token_gives_its_claims(exercise: ModuleType) -> None:
    token = jwt.encode({"sub": "ada", "exp": NOW + 60}, KEY)
    assert exercise.verify(token, KEY, NOW) == {"sub": "ada", "exp": NOW + 60}


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "a.b",
        "a.b.c.d",
        forge({"alg": "none"}, {"sub": "admin", "exp": NOW + 60}).rsplit(".", 1)[0] + ".",
        forge({"alg": "HS512"}, {"sub": "ada", "exp": NOW + 60}),
        forge({"alg": "RS256"}, {"sub": "ada", "exp": NOW + 60}),
        forge({"alg": "HS256"}, {"sub": "ada", "exp": NOW + 60}, key=b"another key"),
        forge({"alg": "HS256"}, {"sub": "ada"}),  # no exp
        forge({"alg": "HS256"}, {"sub": "ada", "exp": "tomorrow"}),
        forge({"alg": "HS256"}, {"sub": "ada", "exp": NOW + 60, "nbf": NOW + 30}),
        forge({"alg": "HS256"}, ["not", "an", "object"]),
    ],
)
def test_bad_tokens_are_refused(exercise: ModuleType, token: str) -> None:
    with pytest.raises(exercise.InvalidToken):
        exercise.verify(token, KEY, NOW)


def test_a_tampered_payload_is_refused(exercise: ModuleType) -> None:
    header, _, signature = jwt.encode({"sub": "ada", "exp": NOW + 60}, KEY).split(".")
    admin = b64(json.dumps({"sub": "admin", "exp": NOW + 60}).encode())
    with pytest.raises(exercise.InvalidToken):
        exercise.verify(f"{header}.{admin}.{signature}", KEY, NOW)


def test_expiry_is_its_own_error(exercise: ModuleType) -> None:
    token = jwt.encode({"sub": "ada", "exp": NOW}, KEY)
    with pytest.raises(exercise.ExpiredToken):
        exercise.verify(token, KEY, NOW)
    assert exercise.verify(token, KEY, NOW - 1)["sub"] == "ada"

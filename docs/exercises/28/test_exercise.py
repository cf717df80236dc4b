"""Exercise 28: the link works until it expires, for its file, with our key only."""

import re
from types import ModuleType
from urllib.parse import parse_qs

import pytest

KEY = b"server-secret-" + b"x" * 18
NOW = 1_800_000_000


def link(module: ModuleType, path: str, expires: int, key: bytes = KEY) -> tuple[str, str]:
    query = parse_qs(module.sign(path, expires, key))
    return query["expires"][0], query["signature"][0]


def test_a_fresh_link_verifies(exercise: ModuleType) -> None:
    expires, signature = link(exercise, "/files/report.pdf", NOW + 600)
    assert expires == str(NOW + 600)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", signature)  # base64url of 32 bytes, unpadded
    assert exercise.verify("/files/report.pdf", expires, signature, KEY, NOW)


def test_an_expired_link_does_not(exercise: ModuleType) -> None:
    expires, signature = link(exercise, "/files/report.pdf", NOW)
    assert not exercise.verify("/files/report.pdf", expires, signature, KEY, NOW)
    assert exercise.verify("/files/report.pdf", expires, signature, KEY, NOW - 1)


def test_the_signature_needs_the_key(exercise: ModuleType) -> None:
    _, ours = link(exercise, "/files/report.pdf", NOW + 600)
    _, theirs = link(exercise, "/files/report.pdf", NOW + 600, key=b"a guess")
    assert ours != theirs
    assert not exercise.verify("/files/report.pdf", str(NOW + 600), theirs, KEY, NOW)


@pytest.mark.parametrize(
    ("path", "expires"),
    [("/files/other.pdf", NOW + 600), ("/files/report.pdf", NOW + 6_000_000)],
)
def test_another_file_or_a_later_expiry_fails(
    exercise: ModuleType, path: str, expires: int
) -> None:
    _, signature = link(exercise, "/files/report.pdf", NOW + 600)
    assert not exercise.verify(path, str(expires), signature, KEY, NOW)


def test_no_two_pairs_share_a_signature(exercise: ModuleType) -> None:
    _, signature = link(exercise, "/files/a1", 2_000_000_023)
    assert not exercise.verify("/files/a", "12000000023", signature, KEY, NOW)


@pytest.mark.parametrize("expires", ["", "soon", "-1", "1e99", "\uff11\uff18\uff10\uff10"])
def test_expires_must_be_digits(exercise: ModuleType, expires: str) -> None:
    assert not exercise.verify("/files/report.pdf", expires, "x" * 43, KEY, NOW)

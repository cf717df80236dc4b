"""Passwords: argon2id hashes, bcrypt migration, equal-time answers for unknown users."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import argon2
import bcrypt
import pytest

from minimal_asgi_auth import passwords

CHEAP = passwords.Hasher(passwords.CHEAP_PARAMETERS)


@pytest.fixture(autouse=True)
def cheap_default_hasher() -> Iterator[None]:
    """The module functions use a cheap profile here; restored afterwards."""
    original = passwords._default
    passwords.set_default_hasher(CHEAP)
    yield
    passwords.set_default_hasher(original)


def test_hash_is_argon2id_salted_and_verifies() -> None:
    first, second = passwords.hash("correct horse"), passwords.hash("correct horse")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert passwords.verify(first, "correct horse")
    assert not passwords.verify(first, "Correct horse")
    assert not passwords.needs_rehash(first)


def test_recommended_parameters_meet_owasp_minimum() -> None:
    # OWASP Password Storage Cheat Sheet: argon2id, at least 19 MiB, 2 iterations, 1 lane.
    parameters = passwords.RECOMMENDED_PARAMETERS
    assert parameters.type is argon2.Type.ID
    assert parameters.memory_cost >= 19 * 1024
    assert parameters.time_cost >= 2
    assert parameters.parallelism >= 1
    assert passwords.Hasher().parameters == parameters


def test_only_argon2id_is_used_for_new_hashes() -> None:
    with pytest.raises(ValueError, match="argon2id"):
        passwords.Hasher(argon2.Parameters(argon2.Type.I, 19, 16, 16, 2, 19 * 1024, 1))


def test_an_outdated_argon2_hash_is_upgraded_at_login() -> None:
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
    stronger = passwords.Hasher(dataclasses.replace(passwords.CHEAP_PARAMETERS, time_cost=2))
    assert stronger.needs_rehash(weak)
    ok, new_hash = stronger.verify_and_update(weak, "pw")
    assert ok and new_hash is not None
    assert stronger.verify(new_hash, "pw") and not stronger.needs_rehash(new_hash)


def test_a_bcrypt_hash_verifies_and_is_upgraded_on_the_next_login() -> None:
    legacy = bcrypt.hashpw(b"hunter2", bcrypt.gensalt(rounds=4)).decode()
    assert passwords.verify(legacy, "hunter2")
    assert not passwords.verify(legacy, "hunter3")
    assert passwords.needs_rehash(legacy)
    assert passwords.verify_and_update(legacy, "hunter3") == (
        False,
        None,
    )  # no upgrade without the password
    ok, upgraded = passwords.verify_and_update(legacy, "hunter2")
    assert ok and upgraded is not None and upgraded.startswith("$argon2id$")
    assert passwords.verify(upgraded, "hunter2")
    assert passwords.verify_and_update(upgraded, "hunter2") == (True, None)


def test_bcrypt_passwords_over_72_bytes_do_not_match() -> None:
    legacy = bcrypt.hashpw(b"a" * 72, bcrypt.gensalt(rounds=4)).decode()
    assert not passwords.verify(legacy, "a" * 73)  # bcrypt would have silently truncated it


@pytest.mark.parametrize(
    "stored", ["", "plain", "$argon2id$v=19$m=8,t=1,p=1$broken", "$2b$04$broken"]
)
def test_a_corrupt_stored_hash_never_matches_and_never_raises(stored: str) -> None:
    assert passwords.verify(stored, "anything") is False
    assert passwords.needs_rehash(stored)


def test_an_unknown_user_costs_one_real_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    hasher = passwords.Hasher(passwords.CHEAP_PARAMETERS)
    stored = hasher.hash("right")
    verified: list[str] = []
    real_verify = argon2.PasswordHasher.verify

    def counting_verify(self: argon2.PasswordHasher, hashed: str, password: str) -> bool:
        verified.append(hashed)
        return real_verify(self, hashed, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting_verify)
    assert hasher.verify(stored, "wrong") is False
    assert hasher.verify_unknown_user("wrong") is False
    assert (
        hasher.verify_unknown_user("a dummy password no user has") is False
    )  # even the dummy's own password
    assert len(verified) == 3  # the unknown user paid for a real argon2 verification each time
    dummy = verified[1]
    assert (
        dummy != stored and dummy.startswith("$argon2id$") and verified[2] == dummy
    )  # made once, reused
    assert passwords.verify_unknown_user("x") is False

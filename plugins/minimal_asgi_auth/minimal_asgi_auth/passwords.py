"""Password hashing: argon2id for new hashes, bcrypt verified and upgraded.

A password hash is *deliberately slow and memory-hungry*: a stolen table of
hashes must cost an attacker seconds per guess, not nanoseconds. argon2id (RFC
9106) is the current recommendation; the parameters below are RFC 9106's
"second recommended option" (64 MiB, 3 passes, 4 lanes), well above OWASP's
minimum (19 MiB, 2 passes, 1 lane). The argon2-cffi package does the maths.

Two things every real login meets, handled here:

- **Migration.** Old hashes (bcrypt ``$2b$...``, or argon2id with weaker
  parameters) still verify; ``Hasher.verify_and_update`` then returns a new
  argon2id hash to store, so the user base upgrades itself one login at a time.
- **Unknown users.** Answering "no such user" at once, and "wrong password"
  only after a 50 ms hash, tells an attacker which e-mails have accounts.
  ``Hasher.verify_unknown_user`` verifies a dummy hash (made once) so both
  paths cost the same.
"""

from __future__ import annotations

from typing import Final

import argon2
import bcrypt
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "CHEAP_PARAMETERS",
    "RECOMMENDED_PARAMETERS",
    "Hasher",
    "Parameters",
    "hash",
    "needs_rehash",
    "set_default_hasher",
    "verify",
    "verify_and_update",
    "verify_unknown_user",
]

Parameters = argon2.Parameters

RECOMMENDED_PARAMETERS: Final = argon2.profiles.RFC_9106_LOW_MEMORY
"""argon2id, 64 MiB, 3 passes, 4 lanes: RFC 9106 section 4's second recommended option."""

CHEAP_PARAMETERS: Final = argon2.profiles.CHEAPEST
"""For tests only: so cheap it protects nothing."""

_BCRYPT_PREFIXES: Final = (b"$2a$", b"$2b$", b"$2y$")


class Hasher:
    """Hashes and verifies passwords with one set of argon2id parameters."""

    def __init__(self, parameters: Parameters = RECOMMENDED_PARAMETERS) -> None:
        if parameters.type is not argon2.Type.ID:
            raise ValueError("only argon2id is used for new hashes (RFC 9106 recommends it)")
        self.parameters = parameters
        self._argon2 = argon2.PasswordHasher.from_parameters(parameters)
        self._dummy_hash: str | None = None

    def hash(self, password: str) -> str:
        """An argon2id hash of ``password``, with a fresh random salt, in PHC string form."""
        return self._argon2.hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        """Whether ``password`` matches ``hashed`` (argon2 or legacy bcrypt); never raises."""
        if hashed.encode().startswith(_BCRYPT_PREFIXES):
            return _verify_bcrypt(hashed, password)
        try:
            return self._argon2.verify(hashed, password)
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError):
            return False  # a corrupt stored hash must not let anyone in, nor crash the login

    def needs_rehash(self, hashed: str) -> bool:
        """Whether ``hashed`` should be replaced: bcrypt, or argon2 with other parameters."""
        if hashed.encode().startswith(_BCRYPT_PREFIXES):
            return True
        try:
            return self._argon2.check_needs_rehash(hashed)
        except InvalidHashError:
            return True

    def verify_and_update(self, hashed: str, password: str) -> tuple[bool, str | None]:
        """Verify, and on success return a new hash to store if the old one is outdated.

        The plain password is only available at login, so this is the one
        moment an outdated hash can be upgraded.
        """
        if not self.verify(hashed, password):
            return False, None
        return True, self.hash(password) if self.needs_rehash(hashed) else None

    def verify_unknown_user(self, password: str) -> bool:
        """Spend a real verification on a dummy hash; always ``False``.

        Call it when the user does not exist, so the answer takes as long as a
        wrong password and does not reveal which accounts exist.
        """
        if self._dummy_hash is None:
            self._dummy_hash = self.hash("a dummy password no user has")
        self.verify(self._dummy_hash, password)
        return False


def _verify_bcrypt(hashed: str, password: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        # bcrypt >= 5 refuses passwords over 72 bytes; such a password never matched.
        return False


_default = Hasher()


def set_default_hasher(hasher: Hasher) -> None:
    """Replace the hasher behind the module functions (tests use ``Hasher(CHEAP_PARAMETERS)``)."""
    global _default
    _default = hasher


def hash(password: str) -> str:
    """An argon2id hash of ``password`` (see ``Hasher.hash``)."""
    return _default.hash(password)


def verify(hashed: str, password: str) -> bool:
    """Whether ``password`` matches ``hashed`` (see ``Hasher.verify``)."""
    return _default.verify(hashed, password)


def needs_rehash(hashed: str) -> bool:
    """Whether ``hashed`` is outdated (see ``Hasher.needs_rehash``)."""
    return _default.needs_rehash(hashed)


def verify_and_update(hashed: str, password: str) -> tuple[bool, str | None]:
    """Verify and upgrade in one step (see ``Hasher.verify_and_update``)."""
    return _default.verify_and_update(hashed, password)


def verify_unknown_user(password: str) -> bool:
    """The equal-time answer for an unknown user (see ``Hasher.verify_unknown_user``)."""
    return _default.verify_unknown_user(password)

"""Unit tests of one bookshelf service: ``AccountService`` with its repository
replaced by a fake (a dict that behaves like the table), so the rule - e-mails in
lower case, admins from the settings, hashes upgraded on login - is tested
without a database. The repositories themselves are tested on SQLite and
PostgreSQL in test_bookshelf.py; chapter 31 explains the split.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from examples.bookshelf.services import AccountService
from minimal_asgi_auth import passwords

pytestmark = pytest.mark.anyio

# Cheaper than the recommended parameters, so each hash takes a millisecond; the
# service does not depend on them.
FAST = dataclasses.replace(passwords.RECOMMENDED_PARAMETERS, time_cost=1, memory_cost=1024)


class FakeUsers:
    """What AccountService needs of UserRepository, kept in a dict."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.rehashed: list[int] = []

    async def add(self, email: str, password_hash: str, role: str) -> dict[str, Any]:
        if any(row["email"] == email for row in self.rows.values()):
            raise ValueError("unique violation")  # what the table's constraint does
        row = {"id": len(self.rows) + 1, "email": email, "password_hash": password_hash,
               "role": role}
        self.rows[row["id"]] = row
        return row

    async def by_email(self, email: str) -> dict[str, Any] | None:
        return next((row for row in self.rows.values() if row["email"] == email), None)

    async def by_id(self, user_id: int) -> dict[str, Any] | None:
        return self.rows.get(user_id)

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        self.rows[user_id]["password_hash"] = password_hash
        self.rehashed.append(user_id)


def service(users: FakeUsers, parameters: passwords.Parameters = FAST) -> AccountService:
    return AccountService(users, passwords.Hasher(parameters), {"boss@example.com"})  # type: ignore[arg-type]


async def test_sign_up_stores_the_e_mail_in_lower_case_and_only_a_hash() -> None:
    users = FakeUsers()
    member = await service(users).sign_up("  Ada@Example.com ", "correct horse")
    admin = await service(users).sign_up("BOSS@example.com", "battery staple")
    assert (member["email"], member["role"]) == ("ada@example.com", "member")
    assert admin["role"] == "admin"
    assert member["password_hash"].startswith("$argon2id$")
    assert "correct horse" not in member["password_hash"]
    with pytest.raises(ValueError, match="unique"):
        await service(users).sign_up("ADA@example.com", "another")


async def test_check_finds_the_user_only_with_the_right_password() -> None:
    users = FakeUsers()
    accounts = service(users)
    await accounts.sign_up("ada@example.com", "correct horse")
    assert (await accounts.check("Ada@example.com", "correct horse"))["id"] == 1  # type: ignore[index]
    assert await accounts.check("ada@example.com", "wrong") is None
    assert await accounts.check("nobody@example.com", "correct horse") is None
    assert users.rehashed == []  # same parameters: nothing to upgrade


async def test_a_hash_made_with_older_parameters_is_upgraded_at_the_next_login() -> None:
    users = FakeUsers()
    await service(users, FAST).sign_up("ada@example.com", "correct horse")
    old = users.rows[1]["password_hash"]
    stronger = dataclasses.replace(FAST, time_cost=2)
    assert await service(users, stronger).check("ada@example.com", "correct horse") is not None
    assert users.rehashed == [1]
    assert users.rows[1]["password_hash"] != old
    assert "t=2" in users.rows[1]["password_hash"]
    # A wrong password never upgrades anything.
    assert await service(users, dataclasses.replace(FAST, time_cost=3)).check(
        "ada@example.com", "wrong") is None
    assert users.rehashed == [1]

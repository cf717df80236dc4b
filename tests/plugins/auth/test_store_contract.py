"""The store contracts: the same tests, unchanged, on the memory and the Redis stores."""

from __future__ import annotations

import time

import anyio
import pytest

from minimal_asgi_auth.apikeys import APIKey, APIKeyStore
from minimal_asgi_auth.sessions import SessionStore
from minimal_asgi_auth.tokens import RefreshStore

pytestmark = pytest.mark.anyio

DAY = 24 * 3600.0


# -- refresh-token families ------------------------------------------------------


async def test_a_current_token_rotates_once(refresh_store: RefreshStore) -> None:
    await refresh_store.start("fam", "ada", '{"sub":"ada"}', "t1", DAY, DAY)
    assert await refresh_store.rotate("fam", "t1", "t2", DAY) == ("ok", '{"sub":"ada"}')
    assert (await refresh_store.rotate("fam", "t2", "t3", DAY)).outcome == "ok"


async def test_a_used_token_presented_again_revokes_the_family(
    refresh_store: RefreshStore,
) -> None:
    await refresh_store.start("fam", "ada", "{}", "t1", DAY, DAY)
    await refresh_store.rotate("fam", "t1", "t2", DAY)
    assert (await refresh_store.rotate("fam", "t1", "x", DAY)).outcome == "reused"
    # The thief's replay also kills the token the real user holds now.
    assert (await refresh_store.rotate("fam", "t2", "t3", DAY)).outcome == "revoked"


async def test_an_unknown_token_is_refused_without_revoking_the_family(
    refresh_store: RefreshStore,
) -> None:
    await refresh_store.start("fam", "ada", "{}", "t1", DAY, DAY)
    assert (await refresh_store.rotate("fam", "guess", "x", DAY)).outcome == "unknown"
    assert (await refresh_store.rotate("fam", "t1", "t2", DAY)).outcome == "ok"


async def test_ten_concurrent_uses_one_wins_and_the_family_is_revoked(
    refresh_store: RefreshStore,
) -> None:
    await refresh_store.start("fam", "ada", "{}", "t1", DAY, DAY)
    outcomes: dict[int, str] = {}

    async def use(n: int) -> None:
        outcomes[n] = (await refresh_store.rotate("fam", "t1", f"new{n}", DAY)).outcome

    async with anyio.create_task_group() as tg:
        for n in range(10):
            tg.start_soon(use, n)
    winners = [n for n, outcome in outcomes.items() if outcome == "ok"]
    assert len(winners) == 1
    assert "reused" in outcomes.values()
    assert set(outcomes.values()) <= {"ok", "reused", "revoked"}
    # The family is revoked: even the winner's new token is dead.
    assert (await refresh_store.rotate("fam", f"new{winners[0]}", "z", DAY)).outcome == "revoked"


async def test_revoke_needs_a_token_of_the_family(refresh_store: RefreshStore) -> None:
    await refresh_store.start("fam", "ada", "{}", "t1", DAY, DAY)
    assert await refresh_store.revoke("fam", "not-a-token") is False
    assert (await refresh_store.rotate("fam", "t1", "t2", DAY)).outcome == "ok"
    assert await refresh_store.revoke("fam", "t2") is True
    assert (await refresh_store.rotate("fam", "t2", "t3", DAY)).outcome == "revoked"


async def test_revoke_subject_ends_every_family_of_that_subject_only(
    refresh_store: RefreshStore,
) -> None:
    await refresh_store.start("f1", "ada", "{}", "a1", DAY, DAY)
    await refresh_store.start("f2", "ada", "{}", "a2", DAY, DAY)
    await refresh_store.start("f3", "bob", "{}", "b1", DAY, DAY)
    assert await refresh_store.revoke_subject("ada") == 2
    assert (await refresh_store.rotate("f1", "a1", "x", DAY)).outcome == "revoked"
    assert (await refresh_store.rotate("f2", "a2", "x", DAY)).outcome == "revoked"
    assert (await refresh_store.rotate("f3", "b1", "x", DAY)).outcome == "ok"


async def test_a_family_ends_at_its_absolute_lifetime(refresh_store: RefreshStore) -> None:
    # A generous lifetime: the first rotation must happen within it even on a loaded machine.
    await refresh_store.start("fam", "ada", "{}", "t1", 2.0, DAY)
    assert (await refresh_store.rotate("fam", "t1", "t2", DAY)).outcome == "ok"
    await anyio.sleep(2.3)
    assert (await refresh_store.rotate("fam", "t2", "t3", DAY)).outcome == "revoked"


async def test_an_unused_token_ends_at_its_idle_lifetime(refresh_store: RefreshStore) -> None:
    await refresh_store.start("fam", "ada", "{}", "t1", DAY, 0.15)
    await anyio.sleep(0.3)
    assert (await refresh_store.rotate("fam", "t1", "t2", DAY)).outcome == "unknown"


# -- sessions ----------------------------------------------------------------------


async def test_a_session_loads_back_and_counts_as_activity(session_store: SessionStore) -> None:
    now = time.time()
    await session_store.create("s1", "ada", '{"a": 1}', now, 60, 3600)
    record = await session_store.load("s1", now + 50, 60)
    assert record is not None and (record.subject, record.data) == ("ada", '{"a": 1}')
    assert record.created == pytest.approx(now)
    # 50 s later again: within 60 s of the last activity, so still alive.
    assert await session_store.load("s1", now + 100, 60) is not None


async def test_asvs_7_3_1_an_idle_session_expires(session_store: SessionStore) -> None:
    now = time.time()
    await session_store.create("s1", "ada", "{}", now, 60, 3600)
    assert await session_store.load("s1", now + 61, 60) is None
    assert await session_store.load("s1", now + 1, 60) is None  # deleted, not just hidden


async def test_asvs_7_3_2_a_busy_session_still_ends_at_its_absolute_lifetime(
    session_store: SessionStore,
) -> None:
    now = time.time()
    await session_store.create("s1", "ada", "{}", now, 60, 120)
    for step in (50, 100):
        assert await session_store.load("s1", now + step, 60) is not None
    assert await session_store.load("s1", now + 121, 60) is None


async def test_the_store_itself_forgets_a_session_after_its_ttl(
    session_store: SessionStore,
) -> None:
    now = time.time()
    await session_store.create("s1", "ada", "{}", now, 0.15, 3600)
    await anyio.sleep(0.3)
    assert await session_store.load("s1", now, 0.15) is None


async def test_save_changes_data_of_a_live_session_only(session_store: SessionStore) -> None:
    now = time.time()
    await session_store.create("s1", "ada", "{}", now, 60, 3600)
    assert await session_store.save("s1", '{"cart": 2}') is True
    record = await session_store.load("s1", now, 60)
    assert record is not None and record.data == '{"cart": 2}'
    await session_store.delete("s1")
    assert await session_store.save("s1", "{}") is False
    assert await session_store.load("s1", now, 60) is None


async def test_delete_subject_ends_that_subjects_sessions_only(
    session_store: SessionStore,
) -> None:
    now = time.time()
    for key, subject in (("a1", "ada"), ("a2", "ada"), ("b1", "bob")):
        await session_store.create(key, subject, "{}", now, 60, 3600)
    assert await session_store.delete_subject("ada") == 2
    assert await session_store.load("a1", now, 60) is None
    assert await session_store.load("a2", now, 60) is None
    assert await session_store.load("b1", now, 60) is not None


# -- API keys ------------------------------------------------------------------------


def _key(prefix: str, subject: str = "ada", created: float = 1.0) -> APIKey:
    return APIKey(prefix, subject, "ci", frozenset({"todos:read"}), created, "d" * 64)


async def test_a_key_reads_back_and_records_its_last_use(apikey_store: APIKeyStore) -> None:
    await apikey_store.add(_key("aaaaaaaaaaaa"))
    found = await apikey_store.get("aaaaaaaaaaaa")
    assert found == _key("aaaaaaaaaaaa")
    await apikey_store.touch("aaaaaaaaaaaa", 1234.5)
    found = await apikey_store.get("aaaaaaaaaaaa")
    assert found is not None and found.last_used == 1234.5


async def test_a_revoked_key_is_gone_and_a_use_does_not_bring_it_back(
    apikey_store: APIKeyStore,
) -> None:
    await apikey_store.add(_key("aaaaaaaaaaaa"))
    assert await apikey_store.revoke("aaaaaaaaaaaa") is True
    await apikey_store.touch("aaaaaaaaaaaa", 1.0)
    assert await apikey_store.get("aaaaaaaaaaaa") is None
    assert await apikey_store.revoke("aaaaaaaaaaaa") is False


async def test_keys_are_listed_per_owner_oldest_first(apikey_store: APIKeyStore) -> None:
    await apikey_store.add(_key("bbbbbbbbbbbb", created=2.0))
    await apikey_store.add(_key("aaaaaaaaaaaa", created=1.0))
    await apikey_store.add(_key("cccccccccccc", subject="bob"))
    assert [k.prefix for k in await apikey_store.for_subject("ada")] == [
        "aaaaaaaaaaaa",
        "bbbbbbbbbbbb",
    ]

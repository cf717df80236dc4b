"""Database: every call on both backends, transactions, errors, failures.

Each test runs on SQLite (in memory) and on a real PostgreSQL, in a schema of
its own that is dropped afterwards.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import asyncpg
import pytest

from minimal_asgi import ConfigurationError
from minimal_asgi_sql import (
    Column,
    Database,
    DatabaseUnavailable,
    ForeignKeyViolation,
    Integer,
    IntegrityViolation,
    Table,
    Text,
    UniqueViolation,
    UnstorableValue,
    insert,
    select,
)
from tests.plugins.sql.support import HANG_GUARD, placeholders, silent_server

pytestmark = pytest.mark.anyio


@pytest.fixture
async def db(sql_url: str) -> AsyncIterator[Database]:
    async with Database(sql_url) as database:
        await database.execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)"
        )
        yield database


class Stand_in:
    """What the query builder hands to Database: anything with compile(dialect)."""

    def __init__(self, sql: str, params: list[Any]) -> None:
        self.sql, self.params = sql, params
        self.dialects: list[str] = []

    def compile(self, dialect: str) -> tuple[str, list[Any]]:
        self.dialects.append(dialect)
        sql = self.sql if dialect == "postgres" else self.sql.replace("$1", "?").replace("$2", "?")
        return sql, self.params


async def add_items(db: Database, *names: str) -> None:
    for index, name in enumerate(names):
        await db.execute(
            placeholders(db, "INSERT INTO items (id, name) VALUES ($1, $2)"), [index + 1, name]
        )


async def names(db: Database) -> list[str]:
    return [row["name"] for row in await db.fetch_all("SELECT name FROM items ORDER BY id")]


# -- the calls -------------------------------------------------------------------
async def test_fetch_all_returns_every_row_as_a_dict(db: Database) -> None:
    await add_items(db, "a", "b")
    assert await db.fetch_all("SELECT id, name FROM items ORDER BY id") == [
        {"id": 1, "name": "a"},
        {"id": 2, "name": "b"},
    ]


async def test_fetch_one_returns_the_first_row_or_none(db: Database) -> None:
    await add_items(db, "a", "b")
    query = placeholders(db, "SELECT name FROM items WHERE id >= $1 ORDER BY id")
    assert await db.fetch_one(query, [2]) == {"name": "b"}
    assert await db.fetch_one(query, [3]) is None


async def test_fetch_val_returns_the_first_column_or_none(db: Database) -> None:
    await add_items(db, "a", "b")
    assert await db.fetch_val("SELECT count(*) FROM items") == 2
    assert await db.fetch_val("SELECT name FROM items WHERE id = 99") is None


async def test_execute_returns_rows_affected_or_none(db: Database) -> None:
    await add_items(db, "a", "b", "c")
    assert await db.execute(placeholders(db, "UPDATE items SET name = name || $1"), ["!"]) == 3
    assert await db.execute("DELETE FROM items WHERE id = 1") == 1
    assert await db.execute("CREATE TABLE other (x INTEGER)") is None


async def test_execute_without_parameters_runs_a_whole_script(db: Database) -> None:
    await db.execute(
        "CREATE TABLE s (x INTEGER); -- a comment; with a semicolon\n"
        "INSERT INTO s VALUES (1); INSERT INTO s VALUES (2);"
    )
    assert await db.fetch_val("SELECT sum(x) FROM s") == 3


async def test_insert_returning_gives_back_the_new_row(db: Database) -> None:
    query = placeholders(db, "INSERT INTO items (id, name) VALUES ($1, $2) RETURNING id, name")
    assert await db.fetch_one(query, [7, "x"]) == {"id": 7, "name": "x"}
    assert await names(db) == ["x"]


async def test_execute_many_runs_the_statement_once_per_row(db: Database) -> None:
    query = placeholders(db, "INSERT INTO items (id, name) VALUES ($1, $2)")
    await db.execute_many(query, [[1, "a"], [2, "b"], [3, "c"]])
    assert await names(db) == ["a", "b", "c"]


async def test_execute_many_is_all_or_nothing(db: Database) -> None:
    query = placeholders(db, "INSERT INTO items (id, name) VALUES ($1, $2)")
    with pytest.raises(UniqueViolation):
        await db.execute_many(query, [[1, "a"], [2, "b"], [3, "a"]])
    assert await names(db) == []


async def test_execute_many_takes_a_statement_for_its_sql(db: Database) -> None:
    statement = Stand_in("INSERT INTO items (id, name) VALUES ($1, $2)", [0, "placeholder"])
    await db.execute_many(statement, [[1, "a"], [2, "b"]])
    assert await names(db) == ["a", "b"]


async def test_a_statement_is_compiled_for_the_databases_dialect(db: Database) -> None:
    await add_items(db, "a", "b")
    statement = Stand_in("SELECT name FROM items WHERE id = $1", [2])
    assert await db.fetch_all(statement) == [{"name": "b"}]
    assert statement.dialects == [db.dialect]


async def test_query_builder_statements_run_as_they_are(db: Database) -> None:
    users = Table(
        "users",
        Column("id", Integer, primary_key=True),
        Column("email", Text, nullable=False, unique=True),
    )
    await db.execute(users.create())
    await db.execute(insert(users).values(id=1, email="a@x"))
    row = await db.fetch_one(insert(users).values(id=2, email="b@x").returning(users.c.id))
    assert row == {"id": 2}
    query = select(users.c.id, users.c.email).where(users.c.email == "b@x")
    assert await db.fetch_all(query) == [{"id": 2, "email": "b@x"}]
    with pytest.raises(UniqueViolation):
        await db.execute(insert(users).values(id=3, email="a@x"))


async def test_parameters_with_a_statement_are_refused(db: Database) -> None:
    with pytest.raises(TypeError, match="carries its own"):
        await db.fetch_all(Stand_in("SELECT 1", []), [1])


async def test_values_are_never_parsed_as_sql(db: Database) -> None:
    evil = "x'); DROP TABLE items; --"
    await db.execute(placeholders(db, "INSERT INTO items (id, name) VALUES ($1, $2)"), [1, evil])
    assert await names(db) == [evil]


async def test_explain_shows_the_plan_and_the_index_it_uses(db: Database) -> None:
    await db.execute("CREATE TABLE big (x INTEGER, y INTEGER)")
    big = placeholders(db, "SELECT y FROM big WHERE x = $1")
    before = await db.explain(big, [1])
    await db.execute("CREATE INDEX big_x ON big (x)")
    async with db.connection():
        if db.dialect == "postgres":  # an empty table is cheaper to scan; forbid it
            await db.execute("SET enable_seqscan = off")
        after = await db.explain(big, [1])
        if db.dialect == "postgres":
            await db.execute("RESET enable_seqscan")
    assert "big" in before and "big_x" not in before
    assert "big_x" in after


async def test_explain_after_dropping_an_index_shows_the_plan_without_it(db: Database) -> None:
    # SQLite once answered the same EXPLAIN text from a statement prepared
    # while the index existed.
    await db.execute("CREATE TABLE big (x INTEGER, y INTEGER)")
    await db.execute("CREATE INDEX big_x ON big (x)")
    big = placeholders(db, "SELECT y FROM big WHERE x = $1")
    async with db.connection():
        if db.dialect == "postgres":
            await db.execute("SET enable_seqscan = off")
        with_index = await db.explain(big, [1])
        await db.execute("DROP INDEX big_x")
        without = await db.explain(big, [1])
        if db.dialect == "postgres":
            await db.execute("RESET enable_seqscan")
    assert "big_x" in with_index
    assert "big_x" not in without


# -- transactions -----------------------------------------------------------------------
async def test_transaction_commits_when_the_block_ends(db: Database) -> None:
    async with db.transaction():
        await add_items(db, "a")
    assert await names(db) == ["a"]


async def test_transaction_rolls_back_when_the_block_raises(db: Database) -> None:
    with pytest.raises(KeyError):
        async with db.transaction():
            await add_items(db, "a")
            assert await names(db) == ["a"]  # seen inside the transaction
            raise KeyError
    assert await names(db) == []


async def test_nested_transaction_is_a_savepoint_undone_alone(db: Database) -> None:
    async with db.transaction():
        await add_items(db, "a")
        with pytest.raises(KeyError):
            async with db.transaction():
                await db.execute(
                    placeholders(db, "INSERT INTO items (id, name) VALUES ($1, $2)"), [2, "b"]
                )
                raise KeyError
        assert await names(db) == ["a"]
    assert await names(db) == ["a"]


async def test_inner_savepoint_is_undone_with_its_outer_transaction(db: Database) -> None:
    with pytest.raises(KeyError):
        async with db.transaction():
            async with db.transaction():
                async with db.transaction():
                    await add_items(db, "a")
            raise KeyError
    assert await names(db) == []


async def test_a_constraint_error_in_a_savepoint_leaves_the_outer_transaction_usable(
    db: Database,
) -> None:
    async with db.transaction():
        await add_items(db, "a")
        with pytest.raises(UniqueViolation):
            async with db.transaction():
                await db.execute(
                    placeholders(db, "INSERT INTO items (id, name) VALUES ($1, $2)"), [2, "a"]
                )
        await db.execute(placeholders(db, "INSERT INTO items (id, name) VALUES ($1, $2)"), [3, "c"])
    assert await names(db) == ["a", "c"]


async def test_transaction_can_be_ended_by_hand(db: Database) -> None:
    tx = await db.transaction().start()
    await add_items(db, "a")
    await tx.rollback()
    assert not tx.active
    with pytest.raises(RuntimeError, match="not active"):
        await tx.commit()
    tx = await db.transaction().start()
    await add_items(db, "b")
    await tx.commit()
    assert await names(db) == ["b"]


async def test_outer_transaction_cannot_end_before_its_nested_one(db: Database) -> None:
    outer = await db.transaction().start()
    inner = await db.transaction().start()
    with pytest.raises(RuntimeError, match="still open"):
        await outer.commit()
    await inner.rollback()
    await outer.rollback()


async def test_concurrent_transactions_in_two_tasks_are_separate(db: Database) -> None:
    # A writes and fails; B, meanwhile, writes and commits. A's rollback must
    # not take B's row with it, nor B's commit keep A's. (PostgreSQL runs them
    # side by side on two connections; SQLite's one connection takes turns.)
    a_started = anyio.Event()

    async def a() -> None:
        with pytest.raises(KeyError):
            async with db.transaction():
                await db.execute(
                    placeholders(db, "INSERT INTO items (id, name) VALUES ($1, $2)"), [1, "a"]
                )
                a_started.set()
                await anyio.sleep(0.2)
                raise KeyError

    async def b() -> None:
        await a_started.wait()
        async with db.transaction():
            await db.execute(
                placeholders(db, "INSERT INTO items (id, name) VALUES ($1, $2)"), [2, "b"]
            )

    async with anyio.create_task_group() as group:
        group.start_soon(a)
        group.start_soon(b)
    assert await names(db) == ["b"]


async def test_postgres_hides_uncommitted_rows_from_other_tasks(db: Database) -> None:
    if db.dialect != "postgres":
        pytest.skip("SQLite's single connection serialises transactions instead")
    inserted, checked = anyio.Event(), anyio.Event()
    seen: list[int] = []

    async def writer() -> None:
        async with db.transaction():
            await add_items(db, "a")
            inserted.set()
            await checked.wait()

    async def reader() -> None:
        await inserted.wait()
        seen.append(await db.fetch_val("SELECT count(*) FROM items"))
        checked.set()

    async with anyio.create_task_group() as group:
        group.start_soon(writer)
        group.start_soon(reader)
    assert seen == [0]
    assert await names(db) == ["a"]


async def test_a_cancelled_transaction_gives_its_connection_back(sql_url: str) -> None:
    async with Database(sql_url, max_size=1, acquire_timeout=2) as db:
        await db.execute("CREATE TABLE t (x INTEGER)")
        with anyio.move_on_after(0.1):
            async with db.transaction():
                await db.execute("INSERT INTO t VALUES (1)")
                await anyio.sleep(5)
        # The only connection is free again, and the insert was undone.
        assert await db.fetch_val("SELECT count(*) FROM t") == 0


# -- errors ------------------------------------------------------------------------------
async def test_unique_violation_names_the_constraint(db: Database) -> None:
    await add_items(db, "a")
    with pytest.raises(UniqueViolation) as caught:
        await db.execute(placeholders(db, "INSERT INTO items (id, name) VALUES ($1, $2)"), [2, "a"])
    expected = "items_name_key" if db.dialect == "postgres" else "items.name"
    assert caught.value.constraint == expected
    assert caught.value.kind == "unique"


async def test_foreign_key_violation_is_an_integrity_violation(db: Database) -> None:
    await db.execute(
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, "
        "item_id INTEGER CONSTRAINT tags_item_fk REFERENCES items (id))"
    )
    with pytest.raises(ForeignKeyViolation) as caught:
        await db.execute("INSERT INTO tags VALUES (1, 42)")
    assert isinstance(caught.value, IntegrityViolation)
    # SQLite does not say which foreign key; PostgreSQL does.
    assert caught.value.constraint == ("tags_item_fk" if db.dialect == "postgres" else None)


async def test_other_errors_pass_through_unchanged(db: Database) -> None:
    with pytest.raises(Exception) as caught:
        await db.execute("SELEC 1")
    assert not isinstance(caught.value, IntegrityViolation | DatabaseUnavailable)


# -- values the database cannot store -> UnstorableValue -----------------------------------
async def test_an_integer_beyond_64_bits_is_an_unstorable_value_out_of_range(db: Database) -> None:
    # SQLite's sqlite3 raises OverflowError; asyncpg a DataError (SQLSTATE 22000).
    for statement in ("INSERT INTO items (id, name) VALUES ($1, 'a')",
                      "SELECT name FROM items WHERE id = $1"):
        with pytest.raises(UnstorableValue) as caught:
            await db.execute(placeholders(db, statement), [2**63])
        assert caught.value.kind == "out_of_range"
    assert await names(db) == []


async def test_an_integer_beyond_the_columns_range_is_an_unstorable_value(db: Database) -> None:
    # A 32-bit column: asyncpg refuses 2**40 before it is sent; PostgreSQL's own
    # arithmetic says 22003. (SQLite's INTEGER is always 64 bits: it stores it.)
    if db.dialect != "postgres":
        pytest.skip("SQLite's INTEGER has no 32-bit variant")
    await db.execute("CREATE TABLE small (n INTEGER)")
    for statement in ("INSERT INTO small VALUES ($1)", "SELECT $1::integer + 2147483647"):
        with pytest.raises(UnstorableValue) as caught:
            await db.execute(statement, [2**40 if "INSERT" in statement else 1])
        assert caught.value.kind == "out_of_range"


async def test_a_lone_surrogate_is_an_unstorable_value_of_invalid_text(db: Database) -> None:
    # "\ud800" is half of a UTF-16 pair: a Python str may hold it, UTF-8 cannot.
    with pytest.raises(UnstorableValue) as caught:
        await add_items(db, "a\ud800")
    assert caught.value.kind == "invalid_text"
    assert await names(db) == []


async def test_a_nul_in_text_is_unstorable_on_postgres_and_kept_by_sqlite(db: Database) -> None:
    if db.dialect == "postgres":  # SQLSTATE 22021: TEXT cannot hold a NUL
        with pytest.raises(UnstorableValue) as caught:
            await add_items(db, "b\x00")
        assert caught.value.kind == "invalid_text"
        assert await names(db) == []
    else:
        await add_items(db, "b\x00")
        assert await names(db) == ["b\x00"]


async def test_text_longer_than_its_column_is_an_unstorable_value_too_long(db: Database) -> None:
    if db.dialect != "postgres":
        pytest.skip("SQLite does not enforce VARCHAR(n)")
    await db.execute("CREATE TABLE codes (code VARCHAR(3))")
    with pytest.raises(UnstorableValue) as caught:
        await db.execute("INSERT INTO codes VALUES ($1)", ["abcd"])
    assert caught.value.kind == "too_long"


async def test_an_unstorable_value_in_a_transaction_rolls_it_back(db: Database) -> None:
    with pytest.raises(UnstorableValue):
        async with db.transaction():
            await add_items(db, "a")
            await db.execute(placeholders(db, "SELECT name FROM items WHERE id = $1"), [2**64])
    assert await names(db) == []
    await add_items(db, "b")  # the connection is usable again
    assert await names(db) == ["b"]


async def test_a_value_of_the_wrong_type_is_a_bug_not_an_unstorable_value(db: Database) -> None:
    # A str where an integer goes comes from the code, not from the client.
    if db.dialect != "postgres":
        pytest.skip("SQLite stores any type in any column")
    with pytest.raises(Exception) as caught:
        await db.execute("INSERT INTO items (id, name) VALUES ($1, 'a')", ["x"])
    assert not isinstance(caught.value, UnstorableValue)
    with pytest.raises(Exception) as caught:
        await db.execute("SELECT 1 / 0")  # also class 22, but a bug in the SQL
    assert not isinstance(caught.value, UnstorableValue)


async def test_using_a_database_before_connecting_says_how(sql_url: str) -> None:
    with pytest.raises(RuntimeError, match="not connected"):
        await Database(sql_url).fetch_all("SELECT 1")


# -- URLs ----------------------------------------------------------------------------------
def test_unknown_scheme_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unsupported database URL"):
        Database("mysql://root:hunter2@db/app")


def test_sqlite_url_without_a_path_slash_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="sqlite:///"):
        Database("sqlite://app.db")


def test_password_is_hidden_in_repr() -> None:
    db = Database("postgresql://app:hunter2@127.0.0.1:1/app")
    assert "hunter2" not in repr(db) and "***" in repr(db)


async def test_sqlite_file_keeps_its_data_between_connections(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/app.db"  # four slashes: an absolute path
    async with Database(url) as db:
        await db.execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (5)")
    async with Database(url) as db:
        assert await db.fetch_val("SELECT x FROM t") == 5


async def test_sqlite_file_that_cannot_be_opened_is_unavailable(tmp_path: Any) -> None:
    with pytest.raises(DatabaseUnavailable, match="cannot open"):
        await Database(f"sqlite:///{tmp_path}/missing/dir/app.db").connect()


# -- the server failing --------------------------------------------------------------------
async def test_unreachable_server_is_unavailable_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1:1") as caught:
        await Database("postgresql://app:hunter2@127.0.0.1:1/app").connect()
    assert time.monotonic() - started < HANG_GUARD
    assert "hunter2" not in str(caught.value)


async def test_server_that_never_answers_times_out() -> None:
    with silent_server() as port:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            db = Database(f"postgresql://postgres@127.0.0.1:{port}/x", connect_timeout=0.5)
            await db.connect()
        assert time.monotonic() - started < HANG_GUARD


async def test_no_free_connection_is_unavailable_after_acquire_timeout(sql_url: str) -> None:
    # One connection (SQLite always; PostgreSQL with max_size=1), held by a
    # transaction: a second task gives up after acquire_timeout, not never.
    async with Database(sql_url, max_size=1, acquire_timeout=0.3) as db:
        holding = anyio.Event()
        done = anyio.Event()

        async def hold() -> None:
            async with db.transaction():
                holding.set()
                await done.wait()

        async with anyio.create_task_group() as group:
            group.start_soon(hold)
            await holding.wait()
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailable, match=r"0\.3s"):
                await db.fetch_val("SELECT 1")
            assert time.monotonic() - started < HANG_GUARD
            done.set()
        assert await db.fetch_val("SELECT 1") == 1


async def test_connection_killed_mid_transaction_is_unavailable(database_url: str) -> None:
    async with Database(database_url) as db:
        admin = await asyncpg.connect(database_url)
        try:
            with pytest.raises(DatabaseUnavailable):
                async with db.transaction():
                    pid = await db.fetch_val("SELECT pg_backend_pid()")
                    await admin.execute("SELECT pg_terminate_backend($1)", pid)
                    await anyio.sleep(0.1)
                    await db.fetch_val("SELECT 1")
        finally:
            await admin.close()
        # The pool replaces the dead connection: the next call works.
        assert await db.fetch_val("SELECT 1") == 1

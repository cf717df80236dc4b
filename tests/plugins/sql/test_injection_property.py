"""SQL injection, as a property: a value is data, whatever characters it holds.

Random strings - quotes, semicolons, backslashes, comment markers, unicode,
and NUL where the database can store it - go through ``insert`` and come back
through ``select`` unchanged, on a real SQLite and a real PostgreSQL. The SQL
*text* is the same for every value: values only ever travel as parameters.

PostgreSQL's ``text`` cannot hold the NUL character (U+0000): the server
rejects it with "invalid byte sequence" whatever the client does. So NUL is
left out of the PostgreSQL strategy - not because it would inject anything,
but because no PostgreSQL string can contain it. SQLite stores it as is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_asgi_sql import (
    Column,
    Integer,
    Statement,
    Table,
    Text,
    count,
    delete,
    excluded,
    insert,
    or_,
    select,
    text,
    update,
)
from tests.plugins.sql.blog import posts, users
from tests.plugins.sql.engines import Engine, open_engine

PAYLOADS = [
    "'; DROP TABLE users; --",
    "' OR '1'='1",
    '" OR ""="',
    "Robert'); DROP TABLE students;--",
    "\\'; SELECT 1; --",
    "\\",
    "/* comment */",
    "$1",
    "?",
    "%s",
    "%",
    "_",
    "''",
    "\r\n\t",
    "é中文🙂\u202e",
]

# Characters that mean something in SQL, then any printable-or-not unicode
# (no surrogates: they are not valid UTF-8 and neither database stores them).
SQL_CHARACTERS = list("'\";\\-/*%_$?:()=,\n\r\t ")


def values(allow_nul: bool) -> st.SearchStrategy[str]:
    exclude = [] if allow_nul else ["\x00"]
    characters = st.one_of(
        st.sampled_from(SQL_CHARACTERS + (["\x00"] if allow_nul else [])),
        st.characters(codec="utf-8", exclude_characters=exclude),
    )
    payloads = [p for p in PAYLOADS if allow_nul or "\x00" not in p]
    if allow_nul:
        payloads += ["\x00", "a\x00'; DROP TABLE users; --"]
    return st.one_of(st.sampled_from(payloads), st.text(characters, max_size=60))


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Iterator[Engine]:
    with open_engine(request.param, request) as engine:
        yield engine


def test_any_string_round_trips_unchanged(db: Engine) -> None:
    # A table of its own, under a name used by no other test run.
    table = Table(
        f"injection_{uuid.uuid4().hex[:12]}",
        Column("id", Integer, primary_key=True),
        Column("value", Text),
    )
    db.run(table.create())
    insert_sql = insert(table).values(value="x").returning(table.c.id).compile(db.dialect)[0]
    inserted = 0

    @settings(max_examples=200, deadline=None)
    @given(value=values(allow_nul=db.dialect == "sqlite"))
    def round_trip(value: str) -> None:
        nonlocal inserted
        sql, params = insert(table).values(value=value).returning(table.c.id).compile(db.dialect)
        assert (sql, params) == (insert_sql, [value])  # the text never depends on the value
        [(row_id,)] = db.run_sql(sql, params)
        inserted += 1
        assert db.run(select(table.c.value).where(table.c.id == row_id)) == [(value,)]
        # ...and the value, used in a WHERE, matches its own row.
        assert (row_id,) in db.run(select(table.c.id).where(table.c.value == value))

    try:
        round_trip()
        # Nothing was dropped or deleted along the way: every row is still there.
        assert db.run(select(count()).select_from(table)) == [(inserted,)]
    finally:
        db.run(table.drop())


SQL_VALUE = "x'); DROP TABLE users; --"

STATEMENTS: dict[str, Statement] = {
    "where ==": select(users.c.id).where(users.c.email == SQL_VALUE),
    "where !=": select(users.c.id).where(users.c.email != SQL_VALUE),
    "where <, >": select(users.c.id).where(or_(users.c.name < SQL_VALUE, users.c.name > SQL_VALUE)),
    "in_": select(users.c.id).where(users.c.email.in_(["a", SQL_VALUE])),
    "not_in": select(users.c.id).where(users.c.email.not_in([SQL_VALUE])),
    "like": select(users.c.id).where(users.c.email.like(SQL_VALUE, escape="'")),
    "ilike": select(users.c.id).where(users.c.email.ilike(SQL_VALUE)),
    "between": select(users.c.id).where(users.c.name.between(SQL_VALUE, SQL_VALUE)),
    "join on": select(users.c.id).join(posts, on=posts.c.slug == SQL_VALUE),
    "having": select(users.c.name).group_by(users.c.name).having(users.c.name == SQL_VALUE),
    "keyset after": select(users.c.email).after(users.c.email, SQL_VALUE),
    "arithmetic": select((users.c.name + SQL_VALUE).label("x")),
    "insert": insert(users).values(email=SQL_VALUE, name=SQL_VALUE),
    "insert many": insert(users).values([{"email": SQL_VALUE}, {"email": "b"}]),
    "upsert": insert(users)
    .values(email=SQL_VALUE)
    .on_conflict_do_update(["email"], {"name": SQL_VALUE, "age": excluded(users.c.age)}),
    "update": update(users).values(name=SQL_VALUE).where(users.c.email == SQL_VALUE),
    "delete": delete(users).where(users.c.email == SQL_VALUE),
    "text": text('SELECT 1 FROM "users" WHERE "email" = ?', SQL_VALUE),
}


@pytest.mark.parametrize("name", STATEMENTS)
@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_a_value_never_appears_in_the_sql_text(name: str, dialect: str) -> None:
    sql, params = STATEMENTS[name].compile(dialect)
    assert SQL_VALUE not in sql
    assert "DROP" not in sql
    assert SQL_VALUE in params


def test_there_is_no_way_to_pass_a_python_bool_as_a_condition() -> None:
    # `where(user_id == 3)` on a Python variable is True or False, not SQL.
    with pytest.raises(TypeError, match="expected a SQL condition"):
        select(users.c.id).where(True)  # type: ignore[arg-type]


def test_python_and_or_refuse_sql_conditions() -> None:
    # `a == 1 and b == 2` would keep only one of the two conditions.
    condition: Any = users.c.id == 1
    with pytest.raises(TypeError, match="no Python truth value"):
        bool(condition)


def test_postgres_text_cannot_hold_nul_which_is_why_the_strategy_leaves_it_out(
    request: pytest.FixtureRequest,
) -> None:
    import asyncpg

    notes = Table(f"nul_{uuid.uuid4().hex[:12]}", Column("note", Text))
    with open_engine("postgres", request) as pg:
        pg.run(notes.create())
        with pytest.raises(asyncpg.exceptions.CharacterNotInRepertoireError):
            pg.run(insert(notes).values(note="a\x00b"))

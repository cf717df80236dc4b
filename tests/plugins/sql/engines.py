"""Run compiled statements on a real SQLite and a real PostgreSQL, the same way.

The query builder only produces ``(sql, params)``; these tests check that the
databases accept that SQL and do what it says. They use the drivers directly
(stdlib ``sqlite3``, ``asyncpg``), not the plugin's ``Database``, so a failure
here points at the compiler.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg

from minimal_asgi_sql import Statement
from minimal_asgi_sql.compiler import quote_identifier


class Engine:
    dialect: str
    integrity_error: type[Exception]

    def run(self, stmt: Statement) -> list[tuple[Any, ...]]:
        """Compile ``stmt`` for this database, execute it, return its rows."""
        sql, params = stmt.compile(self.dialect)
        return self.run_sql(sql, params)

    def run_sql(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def rolled_back(self) -> contextlib.AbstractContextManager[None]:
        """Whatever runs inside leaves no trace."""
        raise NotImplementedError


class SQLiteEngine(Engine):
    dialect = "sqlite"
    integrity_error = sqlite3.IntegrityError

    def __init__(self) -> None:
        # Autocommit (isolation_level=None): transactions only where a test asks.
        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        self.conn.execute("PRAGMA foreign_keys = ON")

    def run_sql(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.conn.execute(sql, params).fetchall()]

    @contextlib.contextmanager
    def rolled_back(self) -> Iterator[None]:
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("ROLLBACK")


class PostgresEngine(Engine):
    """One asyncpg connection, driven from sync tests by an event loop of its own,
    inside a schema made for this test run (and dropped after it)."""

    dialect = "postgres"
    integrity_error = asyncpg.IntegrityConstraintViolationError

    def __init__(self, url: str) -> None:
        self.loop = asyncio.Runner()
        self.conn: asyncpg.Connection = self.loop.run(asyncpg.connect(url))
        self.schema = quote_identifier(f"test_sql_{uuid.uuid4().hex[:12]}")
        self.loop.run(self.conn.execute(f"CREATE SCHEMA {self.schema}"))
        self.loop.run(self.conn.execute(f"SET search_path TO {self.schema}"))

    def close(self) -> None:
        try:
            self.loop.run(self.conn.execute(f"DROP SCHEMA {self.schema} CASCADE"))
            self.loop.run(self.conn.close())
        finally:
            self.loop.close()

    def run_sql(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.loop.run(self.conn.fetch(sql, *params))]

    @contextlib.contextmanager
    def rolled_back(self) -> Iterator[None]:
        tr = self.conn.transaction()
        self.loop.run(tr.start())
        try:
            yield
        finally:
            self.loop.run(tr.rollback())


@contextlib.contextmanager
def open_engine(dialect: str, request: Any) -> Iterator[Engine]:
    """An empty database of ``dialect``; PostgreSQL comes from the ``database_url``
    fixture, which skips (or, in CI, fails) when the server is down."""
    if dialect == "sqlite":
        sqlite_engine = SQLiteEngine()
        try:
            yield sqlite_engine
        finally:
            sqlite_engine.conn.close()
        return
    pg = PostgresEngine(request.getfixturevalue("database_url"))
    try:
        yield pg
    finally:
        pg.close()

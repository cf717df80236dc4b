"""Running queries: one ``Database`` API over PostgreSQL and SQLite.

``Database(url)`` picks a backend from the URL's scheme::

    postgresql://user:pw@host:5432/app   -> asyncpg, a pool of connections
    sqlite:///app.db  (relative path)    -> the stdlib sqlite3, one connection
    sqlite:////var/data/app.db           -> (absolute path: four slashes)
    sqlite://:memory:                    -> an in-memory database (the default
                                            of the SQL plugin: nothing to install)

and offers the same calls on both::

    async with Database(url) as db:
        await db.execute(users.create())                      # a statement...
        await db.execute("DELETE FROM users WHERE id = $1", [7])  # ...or raw SQL
        rows = await db.fetch_all(select(users.c.id))          # -> [{"id": 1}, ...]
        async with db.transaction():                           # BEGIN ... COMMIT
            async with db.transaction():                       # SAVEPOINT sp_1 ...
                ...

A query is either a statement from the query builder - anything with
``compile(dialect) -> (sql, params)`` - or a SQL string with its parameters
in a separate list. Either way the values travel apart from the text, so no
value is ever parsed as SQL.

**Which connection runs a query.** Outside a transaction, each call borrows
a connection for one statement and gives it back. ``db.transaction()`` (and
``db.connection()``) *pins* one connection to the current task, in a
context variable: every call made by that task - the endpoint, the
repository it calls, a nested transaction - runs on it until the
transaction ends. Another request is another task, with its own
connection, so concurrent requests never share a transaction.

**The two backends.** asyncpg is asynchronous and has a pool; the calls map
one to one. sqlite3 is blocking, so each call runs in a worker thread
(``anyio.to_thread``) and the event loop never waits on the disk. SQLite gets
*one* connection (an in-memory database exists only inside the connection
that made it, so it must be one): a thread lock keeps two statements from
running on it at once, and a one-slot semaphore gives it to one task at a
time - held for a single statement, or for a whole transaction. So SQLite
transactions in concurrent requests are isolated by taking turns; that is
the price of the embedded default, and why production uses PostgreSQL.

**Never a hang.** Every wait has a limit: ``connect_timeout`` to open a
connection, ``acquire_timeout`` for a free one, ``command_timeout`` for a
statement (PostgreSQL). Past it - or when the server refuses, or a
connection dies - the call raises ``DatabaseUnavailable`` (errors.py), which
the SQL plugin answers with a 503.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

from minimal_asgi import ConfigurationError
from minimal_asgi_sql.errors import DatabaseUnavailable, from_postgres, from_sqlite

__all__ = ["Compilable", "Database", "Query", "Transaction"]

T = TypeVar("T")
Params = Sequence[Any]


class Compilable(Protocol):
    """A statement from the query builder: it compiles itself for a dialect
    (``"postgres"``: ``$1`` placeholders; ``"sqlite"``: ``?``)."""

    def compile(self, dialect: Any, /) -> tuple[str, Sequence[Any]]: ...


Query = str | Compilable


# -- one connection, the same five calls on both backends -----------------------
class _Connection(Protocol):
    async def fetch(self, sql: str, params: Params) -> list[dict[str, Any]]: ...
    async def fetch_row(self, sql: str, params: Params) -> dict[str, Any] | None: ...
    async def fetch_val(self, sql: str, params: Params) -> Any: ...
    async def execute(self, sql: str, params: Params) -> int | None: ...
    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None: ...


class _Backend(Protocol):
    dialect: str

    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...
    async def acquire(self) -> _Connection: ...
    async def release(self, connection: _Connection) -> None: ...
    def translate(self, exc: BaseException) -> BaseException: ...


# -- PostgreSQL: asyncpg and its pool ----------------------------------------------------
_COUNTED = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE"})


def _rows_affected(status: str) -> int | None:
    """asyncpg returns the server's command tag: "INSERT 0 3", "UPDATE 2",
    "CREATE TABLE". Only data changes carry a meaningful count."""
    words = status.split()
    if words and words[0] in _COUNTED and words[-1].isdigit():
        return int(words[-1])
    return None


class _PostgresConnection:
    __slots__ = ("raw",)

    def __init__(self, raw: Any) -> None:
        self.raw = raw  # an asyncpg connection (from the pool)

    async def fetch(self, sql: str, params: Params) -> list[dict[str, Any]]:
        return list(map(dict, await self.raw.fetch(sql, *params)))

    async def fetch_row(self, sql: str, params: Params) -> dict[str, Any] | None:
        row = await self.raw.fetchrow(sql, *params)
        return None if row is None else dict(row)

    async def fetch_val(self, sql: str, params: Params) -> Any:
        return await self.raw.fetchval(sql, *params)

    async def execute(self, sql: str, params: Params) -> int | None:
        # With no parameters asyncpg uses the simple query protocol, which
        # accepts several statements at once (a migration file); with
        # parameters, the extended protocol: one statement, values apart.
        return _rows_affected(await self.raw.execute(sql, *params))

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        await self.raw.executemany(sql, rows)  # atomic: all rows or none


class _PostgresBackend:
    dialect = "postgres"

    def __init__(
        self,
        url: str,
        *,
        min_size: int,
        max_size: int,
        connect_timeout: float,
        command_timeout: float | None,
        acquire_timeout: float,
    ) -> None:
        self.url = url
        self.min_size, self.max_size = min_size, max_size
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.acquire_timeout = acquire_timeout
        self._pool: Any = None

    async def connect(self) -> None:
        try:
            import asyncpg  # type: ignore[import-untyped]
        except ImportError:
            raise ConfigurationError(
                "a postgresql:// URL needs asyncpg: pip install 'minimal-asgi[postgres]'"
            ) from None
        pool = asyncpg.create_pool(
            self.url,
            min_size=self.min_size,
            max_size=self.max_size,
            timeout=self.connect_timeout,
            command_timeout=self.command_timeout,
        )
        try:
            # The pool opens min_size connections; one query proves the server
            # answers even with min_size=0. A wrong URL fails here, at startup.
            with anyio.fail_after(self.connect_timeout * 2):
                await pool
                await pool.fetchval("SELECT 1")
        except BaseException as exc:
            pool.terminate()
            if not isinstance(exc, Exception):
                raise  # a cancellation stays one
            raise DatabaseUnavailable(
                f"cannot connect to PostgreSQL at {redact(self.url)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._pool = pool

    async def disconnect(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # close() waits for borrowed connections to come back; a leaked one
        # must not stop the app from shutting down.
        with anyio.move_on_after(self.connect_timeout, shield=True):
            await pool.close()
            return
        pool.terminate()

    async def acquire(self) -> _Connection:
        try:
            raw = await self._pool.acquire(timeout=self.acquire_timeout)
        except TimeoutError as exc:
            raise DatabaseUnavailable(
                f"no PostgreSQL connection could be had within {self.acquire_timeout}s "
                f"(pool max_size={self.max_size}; is a request holding one too long?)"
            ) from exc
        return _PostgresConnection(raw)

    async def release(self, connection: _Connection) -> None:
        assert isinstance(connection, _PostgresConnection)
        # The pool resets the connection (rolls back anything left open); a
        # connection the server already closed is simply dropped.
        with contextlib.suppress(Exception):
            await self._pool.release(connection.raw)

    def translate(self, exc: BaseException) -> BaseException:
        return from_postgres(exc)


# -- SQLite: the stdlib sqlite3, one connection, worker threads ----------------------------
def _split_statements(script: str) -> list[str]:
    """Cut a SQL script into statements, as the sqlite3 shell does.

    ``sqlite3.complete_statement`` knows about quotes, comments and
    ``CREATE TRIGGER ... BEGIN ... END;``, so a ``;`` inside them is not an
    end. (``executescript`` would do this too, but it commits any open
    transaction first - and a migration must run inside one.)
    """
    statements: list[str] = []
    start = 0
    for index, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : index + 1]):
            statements.append(script[start : index + 1])
            start = index + 1
    statements.append(script[start:])
    return [s for s in statements if _has_code(s)]


def _has_code(statement: str) -> bool:
    lines = (line.split("--", 1)[0].strip() for line in statement.splitlines())
    return any(line and line != ";" for line in lines)


class _SQLiteConnection:
    __slots__ = ("lock", "raw")

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        # One statement at a time on the connection, whichever worker thread
        # runs it (two child tasks of one transaction could otherwise race).
        self.lock = threading.Lock()

    async def fetch(self, sql: str, params: Params) -> list[dict[str, Any]]:
        return await anyio.to_thread.run_sync(self._fetch, sql, params)

    async def fetch_row(self, sql: str, params: Params) -> dict[str, Any] | None:
        return await anyio.to_thread.run_sync(self._fetch_row, sql, params)

    async def fetch_val(self, sql: str, params: Params) -> Any:
        return await anyio.to_thread.run_sync(self._fetch_val, sql, params)

    async def execute(self, sql: str, params: Params) -> int | None:
        return await anyio.to_thread.run_sync(self._execute, sql, params)

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        await anyio.to_thread.run_sync(self._execute_many, sql, rows)

    # The blocking halves, run in a worker thread.
    def _fetch(self, sql: str, params: Params) -> list[dict[str, Any]]:
        with self.lock:
            cursor = self.raw.execute(sql, params)
            try:
                names = [column[0] for column in cursor.description or ()]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            finally:
                cursor.close()

    def _fetch_row(self, sql: str, params: Params) -> dict[str, Any] | None:
        with self.lock:
            cursor = self.raw.execute(sql, params)
            try:
                row = cursor.fetchone()
                if row is None:
                    return None
                return dict(zip([c[0] for c in cursor.description], row, strict=True))
            finally:
                cursor.close()

    def _fetch_val(self, sql: str, params: Params) -> Any:
        with self.lock:
            cursor = self.raw.execute(sql, params)
            try:
                row = cursor.fetchone()
                return None if row is None else row[0]
            finally:
                cursor.close()

    def _execute(self, sql: str, params: Params) -> int | None:
        # sqlite3 runs one statement per call; a script without parameters is
        # cut into statements so that execute() accepts what asyncpg accepts.
        statements = [sql] if params else _split_statements(sql)
        count: int | None = None
        with self.lock:
            for statement in statements:
                cursor = self.raw.execute(statement, params)
                try:
                    cursor.fetchall()  # run it to the end (INSERT ... RETURNING steps lazily)
                    count = cursor.rowcount if cursor.rowcount >= 0 else None
                finally:
                    cursor.close()
        return count

    def _execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        with self.lock:
            raw = self.raw
            if raw.in_transaction:
                raw.executemany(sql, rows)  # part of the caller's transaction
                return
            # Atomic, as asyncpg's executemany is: all rows or none.
            raw.execute("BEGIN")
            try:
                raw.executemany(sql, rows)
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")


class _SQLiteBackend:
    dialect = "sqlite"

    def __init__(self, path: str, *, connect_timeout: float, acquire_timeout: float) -> None:
        self.path = path
        self.connect_timeout = connect_timeout
        self.acquire_timeout = acquire_timeout
        self._connection: _SQLiteConnection | None = None
        self._turn = anyio.Semaphore(1)

    async def connect(self) -> None:
        def open_connection() -> sqlite3.Connection:
            # isolation_level=None: sqlite3 issues no BEGIN/COMMIT of its own;
            # transactions are ours, written out (Transaction, below).
            # timeout: how long to wait for another process's write lock.
            raw = sqlite3.connect(
                self.path,
                timeout=self.connect_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            raw.execute("PRAGMA foreign_keys = ON")  # off by default, per connection
            return raw

        try:
            raw = await anyio.to_thread.run_sync(open_connection)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(
                f"cannot open the SQLite database {self.path!r}: {exc}"
            ) from exc
        self._connection = _SQLiteConnection(raw)
        self._turn = anyio.Semaphore(1)

    async def disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await anyio.to_thread.run_sync(connection.raw.close)

    async def acquire(self) -> _Connection:
        try:
            with anyio.fail_after(self.acquire_timeout):
                await self._turn.acquire()
        except TimeoutError:
            raise DatabaseUnavailable(
                f"the SQLite connection stayed busy for {self.acquire_timeout}s (it has one "
                "connection, held by a transaction for its whole length)"
            ) from None
        connection = self._connection
        if connection is None:
            self._turn.release()
            raise DatabaseUnavailable("the SQLite database was closed")
        return connection

    async def release(self, connection: _Connection) -> None:
        assert isinstance(connection, _SQLiteConnection)
        try:
            if connection.raw.in_transaction:  # left open by mistake: never hand it on
                await anyio.to_thread.run_sync(connection._execute, "ROLLBACK", ())
        except sqlite3.Error:
            pass
        finally:
            self._turn.release()

    def translate(self, exc: BaseException) -> BaseException:
        return from_sqlite(exc)


# -- URLs -------------------------------------------------------------------------------
def redact(url: str) -> str:
    """The URL with its password replaced, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _sqlite_path(url: str) -> str:
    rest = url[len("sqlite://") :]
    if rest in ("", ":memory:", "/:memory:"):
        return ":memory:"
    if rest.startswith("/"):
        return rest[1:]  # sqlite:///app.db -> app.db; sqlite:////data/app.db -> /data/app.db
    raise ConfigurationError(
        f"{url!r}: write sqlite:///relative/path.db, sqlite:////absolute/path.db or "
        "sqlite://:memory:"
    )


# -- the pinned connection ---------------------------------------------------------------
class _Pin:
    """A connection lent to one task (see the module docstring), and how many
    transactions are open on it: 0 pinned only, 1 a transaction, 2+ savepoints."""

    __slots__ = ("connection", "depth", "done")

    def __init__(self, connection: _Connection) -> None:
        self.connection = connection
        self.depth = 0
        self.done = False


class Database:
    """A database, reached through PostgreSQL (asyncpg) or SQLite (sqlite3).

    ``min_size``/``max_size``: the PostgreSQL pool's size. ``connect_timeout``:
    seconds to open a connection. ``command_timeout``: seconds one statement
    may take on PostgreSQL (None: no limit). ``acquire_timeout``: seconds to
    wait for a free connection. Past any of them: ``DatabaseUnavailable``.
    """

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
        command_timeout: float | None = 30.0,
        acquire_timeout: float = 10.0,
    ) -> None:
        self.url = url
        scheme = url.partition("://")[0].lower()
        self._backend: _Backend
        if scheme in ("postgresql", "postgres"):
            self._backend = _PostgresBackend(
                url,
                min_size=min_size,
                max_size=max_size,
                connect_timeout=connect_timeout,
                command_timeout=command_timeout,
                acquire_timeout=acquire_timeout,
            )
        elif scheme == "sqlite":
            self._backend = _SQLiteBackend(
                _sqlite_path(url), connect_timeout=connect_timeout, acquire_timeout=acquire_timeout
            )
        else:
            raise ConfigurationError(
                f"unsupported database URL {redact(url)!r}: use postgresql://user:password@host/"
                "name or sqlite:///path.db (or sqlite://:memory:)"
            )
        self.dialect: str = self._backend.dialect
        self._connected = False
        self._pin: ContextVar[_Pin | None] = ContextVar(
            f"minimal_asgi_sql.pin.{id(self):x}", default=None
        )

    def __repr__(self) -> str:
        return f"Database({redact(self.url)!r})"

    # -- opening and closing ------------------------------------------------------
    @property
    def is_connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        """Open the pool (or the SQLite file); raises ``DatabaseUnavailable``."""
        if not self._connected:
            await self._backend.connect()
            self._connected = True

    async def disconnect(self) -> None:
        if self._connected:
            self._connected = False
            await self._backend.disconnect()

    async def __aenter__(self) -> Database:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()

    # -- queries -------------------------------------------------------------------
    async def fetch_all(self, query: Query, params: Params | None = None) -> list[dict[str, Any]]:
        """Every row, each a dict keyed by column name (give two columns of
        the same name - ``users.id``, ``posts.id`` - different labels)."""
        sql, values = self._compile(query, params)
        return await self._run(lambda connection: connection.fetch(sql, values))

    async def fetch_one(self, query: Query, params: Params | None = None) -> dict[str, Any] | None:
        """The first row, or None."""
        sql, values = self._compile(query, params)
        return await self._run(lambda connection: connection.fetch_row(sql, values))

    async def fetch_val(self, query: Query, params: Params | None = None) -> Any:
        """The first column of the first row, or None."""
        sql, values = self._compile(query, params)
        return await self._run(lambda connection: connection.fetch_val(sql, values))

    async def execute(self, query: Query, params: Params | None = None) -> int | None:
        """Run a statement; the number of rows an INSERT/UPDATE/DELETE touched,
        else None. A raw SQL string without parameters may hold several
        statements (a script)."""
        sql, values = self._compile(query, params)
        return await self._run(lambda connection: connection.execute(sql, values))

    async def execute_many(self, query: Query, rows: Sequence[Params]) -> None:
        """Run one statement once per parameter list in ``rows``, atomically.

        A query-builder statement supplies only its SQL here: compile it with
        placeholder values (any), and pass the real ones in ``rows``.
        """
        sql = query if isinstance(query, str) else query.compile(self.dialect)[0]
        await self._run(lambda connection: connection.execute_many(sql, rows))

    async def explain(self, query: Query, params: Params | None = None) -> str:
        """How the database plans to run ``query`` (it is not run): the text of
        PostgreSQL's ``EXPLAIN`` or SQLite's ``EXPLAIN QUERY PLAN``. Look for a
        sequential scan ("Seq Scan", "SCAN table") where an index should be."""
        sql, values = self._compile(query, params)
        if self.dialect == "postgres":
            rows = await self.fetch_all("EXPLAIN " + sql, values)
            return "\n".join(row["QUERY PLAN"] for row in rows)
        # sqlite3 reuses a prepared statement with the same text, and SQLite
        # does not re-prepare an EXPLAIN after every schema change (after a
        # DROP INDEX it would show the old plan): the schema's version in the
        # text makes each schema get its own statement.
        version = await self.fetch_val("PRAGMA schema_version")
        rows = await self.fetch_all(f"EXPLAIN QUERY PLAN /* schema {version} */ {sql}", values)
        # Rows are (id, parent, notused, detail): a tree, drawn by indenting.
        depth: dict[int, int] = {}
        lines = []
        for row in rows:
            level = depth[row["id"]] = depth.get(row["parent"], -1) + 1
            lines.append("  " * level + row["detail"])
        return "\n".join(lines)

    def _compile(self, query: Query, params: Params | None) -> tuple[str, Params]:
        if isinstance(query, str):
            return query, () if params is None else params
        if params is not None:
            raise TypeError(
                "parameters go with a SQL string; a query-builder statement carries its own"
            )
        return query.compile(self.dialect)

    async def _run(self, work: Callable[[_Connection], Awaitable[T]]) -> T:
        """Run ``work`` on this task's pinned connection, or on one borrowed for
        this statement; driver errors come out as ours (errors.py)."""
        backend = self._require_connected()
        pin = self._pin.get()
        with self._translating():
            if pin is not None and not pin.done:
                return await work(pin.connection)
            connection = await backend.acquire()
            try:
                return await work(connection)
            finally:
                with anyio.CancelScope(shield=True):  # always give it back
                    await backend.release(connection)

    @contextlib.contextmanager
    def _translating(self) -> Iterator[None]:
        """Let a driver's error out as ours (errors.py): the same classes for
        both backends. Anything else - a bug - passes unchanged."""
        try:
            yield
        except Exception as exc:
            error = self._backend.translate(exc)
            if error is exc:
                raise
            raise error from exc

    def _require_connected(self) -> _Backend:
        if not self._connected:
            raise RuntimeError(
                f"{self!r} is not connected: `await db.connect()` first (or `async with "
                "Database(url) as db`), or let the SQL plugin connect it at app startup"
            )
        return self._backend

    # -- transactions -------------------------------------------------------------------
    def transaction(self) -> Transaction:
        """``async with db.transaction():`` - commit at the end of the block, roll
        back if it raises. Nested, it becomes a SAVEPOINT: an inner failure
        undoes only the inner block."""
        return Transaction(self)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Database]:
        """Pin one connection to this task for the block, without a transaction:
        for session state such as PostgreSQL advisory locks or ``SET``."""
        pin, token = await self._take_pin()
        try:
            yield self
        finally:
            if token is not None:
                await self._drop_pin(pin, token)

    async def _take_pin(self) -> tuple[_Pin, Token[_Pin | None] | None]:
        """This task's pin, or a new one (then with the token to undo it)."""
        pin = self._pin.get()
        if pin is not None and not pin.done:
            return pin, None
        backend = self._require_connected()
        with self._translating():
            connection = await backend.acquire()
        pin = _Pin(connection)
        return pin, self._pin.set(pin)

    async def _drop_pin(self, pin: _Pin, token: Token[_Pin | None]) -> None:
        pin.done = True  # seen by any task that copied this context meanwhile
        try:
            self._pin.reset(token)
        except ValueError:
            pass  # ended from another context; ``done`` already hides it there
        with anyio.CancelScope(shield=True):
            await self._backend.release(pin.connection)

    async def _execute_on(self, pin: _Pin, sql: str) -> None:
        with self._translating():
            await pin.connection.execute(sql, ())


class Transaction:
    """One transaction (or, nested, one savepoint) on the task's connection.

    ``async with db.transaction():`` is the usual form. ``start()``,
    ``commit()`` and ``rollback()`` are there for code that cannot use a
    block - the SQL plugin commits a request's transaction just before the
    response starts, which is not where the endpoint's block ends.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._pin: _Pin | None = None
        self._level = -1
        self._token: Token[_Pin | None] | None = None

    @property
    def active(self) -> bool:
        """Started, and neither committed nor rolled back yet."""
        return self._pin is not None

    async def start(self) -> Transaction:
        if self._level >= 0:
            raise RuntimeError("a Transaction can be started once; call db.transaction() again")
        database = self._database
        pin, token = await database._take_pin()
        level = pin.depth
        try:
            await database._execute_on(pin, "BEGIN" if level == 0 else f"SAVEPOINT sp_{level}")
        except BaseException:
            if token is not None:
                await database._drop_pin(pin, token)
            raise
        pin.depth = level + 1
        self._pin, self._level, self._token = pin, level, token
        return self

    async def commit(self) -> None:
        level = self._level
        await self._finish(["COMMIT"] if level == 0 else [f"RELEASE SAVEPOINT sp_{level}"])

    async def rollback(self) -> None:
        level = self._level
        await self._finish(
            ["ROLLBACK"]
            if level == 0
            else [f"ROLLBACK TO SAVEPOINT sp_{level}", f"RELEASE SAVEPOINT sp_{level}"]
        )

    async def _finish(self, statements: list[str]) -> None:
        pin = self._pin
        if pin is None:
            raise RuntimeError("this transaction is not active (never started, or already ended)")
        if pin.depth != self._level + 1:
            raise RuntimeError("a transaction nested in this one is still open; end it first")
        self._pin = None
        pin.depth = self._level
        database = self._database
        # Shielded: a cancelled request must still end its transaction and
        # give its connection back (each statement has command_timeout).
        with anyio.CancelScope(shield=True):
            try:
                for sql in statements:
                    await database._execute_on(pin, sql)
            except BaseException:
                if self._level == 0 and statements == ["COMMIT"]:
                    # A refused COMMIT (a deferred constraint) leaves SQLite's
                    # transaction open; PostgreSQL's is already gone.
                    with contextlib.suppress(Exception):
                        await database._execute_on(pin, "ROLLBACK")
                raise
            finally:
                if self._token is not None:
                    await database._drop_pin(pin, self._token)

    async def __aenter__(self) -> Transaction:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.active:
            return  # committed or rolled back by hand inside the block
        if exc is None:
            await self.commit()
            return
        try:
            await self.rollback()
        except Exception:
            # The block's own error is the one to report; a rollback that
            # fails (the connection died) has rolled back anyway.
            pass

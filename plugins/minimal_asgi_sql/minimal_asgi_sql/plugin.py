"""The SQL plugin: one ``Database`` for the app, and a transaction per request.

::

    from minimal_asgi import App, Depends
    from minimal_asgi_sql import SQL, Database, transaction

    sql = SQL()                      # DATABASE_URL, else sqlite://:memory:
    app = App(plugins=[sql])

    @app.get("/users")
    async def list_users(db: Database) -> list:              # injected by annotation
        return await db.fetch_all("SELECT id, email FROM users ORDER BY id")

    @app.post("/users", status_code=201)
    async def create_user(body: NewUser, db: Database = Depends(transaction)) -> dict:
        return await db.fetch_one(insert(users).values(email=body.email).returning(users.c.id))

``setup(app)`` uses public App methods only:

- ``add_lifespan``: connect at startup - a wrong URL or a server that does
  not answer fails the start, naming the URL (password hidden) - and
  disconnect at shutdown; optionally apply pending migrations in between.
- ``provide(Database, ...)``: any parameter annotated ``Database`` gets it.
- ``add_exception_handler``: ``DatabaseUnavailable`` -> 503 with
  ``Retry-After``; ``IntegrityViolation`` -> 409 naming the constraint;
  ``UnstorableValue`` (an id beyond 64 bits, a NUL in text on PostgreSQL)
  -> 422 naming the kind of value.
- ``add_route_wrapper``: commits each request's transaction (below).

When the transaction commits
----------------------------
``transaction`` is a generator dependency: it begins a transaction and
yields the ``Database`` (whose calls, in this task, now run inside it). The
obvious place to commit would be after the ``yield``. But minimal_asgi runs
that code *after the response has been sent* (dependencies.py): a COMMIT
refused there - a deferred foreign key, a serialization failure, the
connection lost - would come after the client had already read
``201 Created`` for data that does not exist.

So the commit happens at the last moment it can still change the answer:
just before the response's first message. At startup the plugin asks each
route whether its dependency plan uses ``transaction``
(``route.uses(transaction)``) and wraps only those routes: the wrapper
hands the route a ``send`` that, on ``http.response.start``, first commits
the transactions the request opened, then lets the response out. If the COMMIT fails, the exception
travels up instead of the response - the ``transaction`` teardown sees it,
and the error layer answers 409 or 503. If the endpoint raises, no
response is sent by the route; the teardown receives the exception and rolls
back, then the error layer answers. Routes without ``transaction`` are not
wrapped and pay nothing.

The code after ``yield`` still commits if nothing did before: that is the
case outside a request (``app.dependencies_scope()``), where there is no
response to wait for. Limits: a ``StreamingResponse`` commits before its
first chunk, so the generator producing the body must not write; and a
dependency override that brings ``transaction`` into a route that did not
use it is not wrapped (it commits after the response).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from minimal_asgi import (
    App,
    ASGIApp,
    ConfigurationError,
    Message,
    Receive,
    RouteInfo,
    Scope,
    Send,
)
from minimal_asgi_sql.database import Database, Transaction, redact
from minimal_asgi_sql.errors import (
    DatabaseUnavailable,
    IntegrityViolation,
    UnstorableValue,
    conflict_response,
    unavailable_response,
    unstorable_response,
)

__all__ = ["DEFAULT_URL", "SQL", "transaction"]

DEFAULT_URL = "sqlite://:memory:"

# The transactions the current request opened through ``transaction``: set by
# the route wrapper, read by the dependency (same task, so same context).
_request_transactions: ContextVar[list[Transaction] | None] = ContextVar(
    "minimal_asgi_sql.request_transactions", default=None
)


async def transaction(db: Database) -> AsyncIterator[Database]:
    """A dependency: ``db: Database = Depends(transaction)``.

    Everything the request does through ``db`` is one transaction: committed
    before the response if the endpoint returns, rolled back if it raises.
    """
    tx = await db.transaction().start()
    opened = _request_transactions.get()
    if opened is not None:
        opened.append(tx)  # the route wrapper commits it before the response
    try:
        yield db
    except BaseException:
        if tx.active:
            await tx.rollback()
        raise
    if tx.active:
        await tx.commit()  # not committed yet: outside a request, nothing to wait for


class SQL:
    """A plugin: ``App(plugins=[SQL(url)])``.

    ``url``: defaults to the ``DATABASE_URL`` environment variable, then to an
    in-memory SQLite database. ``migrations``: a directory of numbered SQL
    files to apply at startup (under PostgreSQL's advisory lock, so several
    workers starting at once apply each migration once). ``retry_after``:
    seconds a 503 asks the client to wait. Other keyword ``options`` go to
    ``Database`` (``min_size``, ``max_size``, ``connect_timeout``, ...).
    """

    # ``Depends(sql.transaction)`` and ``Depends(transaction)`` are the same
    # dependency; it gets the Database from ``provide``.
    transaction = staticmethod(transaction)

    def __init__(
        self,
        url: str | None = None,
        *,
        migrations: str | Path | None = None,
        retry_after: int = 5,
        **options: Any,
    ) -> None:
        self.url = url or os.environ.get("DATABASE_URL") or DEFAULT_URL
        self.database = Database(self.url, **options)
        self.migrations = migrations
        self.retry_after = retry_after

    def setup(self, app: App) -> None:
        app.add_lifespan(self._lifespan)
        app.provide(Database, self._provide)
        app.add_exception_handler(DatabaseUnavailable, unavailable_response(self.retry_after))
        app.add_exception_handler(IntegrityViolation, conflict_response)
        app.add_exception_handler(UnstorableValue, unstorable_response)
        app.add_route_wrapper(self._wrap_route)

    # Readiness (minimal_asgi_health finds these on any installed plugin).
    health_name = "database"

    async def health_check(self) -> None:
        """Raise unless the database answers ``SELECT 1``."""
        await self.database.fetch_val("SELECT 1")

    async def _provide(self) -> Database:
        # async, so the DI layer calls it on the loop (a sync factory would
        # be sent to a worker thread, per request).
        return self.database

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: App) -> AsyncIterator[None]:
        try:
            await self.database.connect()
        except Exception as exc:
            raise ConfigurationError(
                f"cannot connect to the database at {redact(self.url)}: {exc}. "
                + _what_to_do(self.database.dialect)
            ) from exc
        try:
            if self.migrations is not None:
                from minimal_asgi_sql.migrations import migrate

                await migrate(self.database, self.migrations)
            yield
        finally:
            await self.database.disconnect()

    def _wrap_route(self, route: RouteInfo, handler: ASGIApp) -> ASGIApp:
        if not route.uses(transaction):
            return handler  # routes without a transaction pay nothing

        async def commit_before_response(scope: Scope, receive: Receive, send: Send) -> None:
            opened: list[Transaction] = []
            token = _request_transactions.set(opened)

            async def send_after_commit(message: Message) -> None:
                if opened and message["type"] == "http.response.start":
                    pending = opened[::-1]  # innermost first
                    opened.clear()
                    for tx in pending:
                        if tx.active:
                            await tx.commit()
                await send(message)

            try:
                await handler(scope, receive, send_after_commit)
            finally:
                _request_transactions.reset(token)

        return commit_before_response


def _what_to_do(dialect: str) -> str:
    """The advice that fits: SQLite has no server to start, only a file to open."""
    if dialect == "sqlite":
        return (
            "SQLite opens a file: check that its folder exists and this process may write "
            f"there. sqlite:///app.db is relative to the working directory ({os.getcwd()}), "
            "sqlite:////var/data/app.db (four slashes) is absolute"
        )
    return (
        "Start the database server, or set DATABASE_URL (or SQL(url=...)) to one that answers"
    )

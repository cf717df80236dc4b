"""What can go wrong talking to a database, and what the client is told.

Two translations live here.

**Driver error -> our error.** asyncpg and sqlite3 raise different classes
for the same event. ``from_postgres`` and ``from_sqlite`` turn the three kinds
of failure a web app must answer differently into one class each:

=============================  =======================  ============================
event                          PostgreSQL tells us      SQLite tells us
=============================  =======================  ============================
unique / primary key clash     SQLSTATE 23505 and the   ``SQLITE_CONSTRAINT_UNIQUE``
                               constraint's name        and "table.column"
foreign key points nowhere     SQLSTATE 23503 + name    ``..._FOREIGNKEY``, no name
NOT NULL / CHECK               23502 / 23514 + name     ``..._NOTNULL`` / ``..._CHECK``
server gone, refused, timeout  class 08, 57P01-57P03,   ``SQLITE_BUSY``,
                               OSError, TimeoutError    ``SQLITE_CANTOPEN``, I/O errors
a value no column can hold:    asyncpg's DataError      ``OverflowError``
 integer beyond its type       (22000) from an
                               OverflowError; 22003
 lone surrogate, NUL in text   DataError from a         ``UnicodeEncodeError``
                               UnicodeEncodeError;      (a NUL is stored)
                               22021, 22P05
 text longer than VARCHAR(n)   22001                    ``SQLITE_TOOBIG``
=============================  =======================  ============================

SQLSTATE codes are the SQL standard's error codes; matching on them (rather
than on asyncpg's class names) is what every PostgreSQL client can do. Other
errors - a typo in SQL, a wrong type - are bugs, and pass through untouched.
That includes the rest of SQLSTATE class 22, "data exception": a division by
zero or a bad cast comes from the SQL more often than from a value, and a
bug must reach the log as a 500, not hide behind a 4xx. asyncpg checks each
value as it encodes it and raises ``DataError`` for all of them; the cause
it keeps tells a value too big for its type (``OverflowError``) or text
UTF-8 cannot hold (``UnicodeEncodeError``) from a str where the code meant
an int (``TypeError``: a bug).

**Our error -> HTTP.** The ``SQL`` plugin registers the three handlers at
the bottom: ``DatabaseUnavailable`` becomes ``503 Service Unavailable`` with
``Retry-After`` (the client may try again; a load balancer may route around
us), an ``IntegrityViolation`` becomes ``409 Conflict`` naming the constraint
(the request clashes with data already there: "that email is taken"), an
``UnstorableValue`` becomes ``422 Unprocessable Content`` naming the kind of
value (the request itself is wrong, whatever the data: "no id is that
large"). None leaks the database's own message, which may quote other users'
values - or, for a 422, echo a megabyte of the client's own.

``UnstorableValue`` is the database's safety net. Validation at the edge
(an ``int`` bounded with ``Le``, a ``MaxLen``) refuses such values earlier,
with the field's location; the net catches what a route did not bound.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable

from minimal_asgi import MinimalASGIError, ProblemResponse, Request, Response

__all__ = [
    "CheckViolation",
    "DatabaseError",
    "DatabaseUnavailable",
    "ExclusionViolation",
    "ForeignKeyViolation",
    "IntegrityViolation",
    "NotNullViolation",
    "UniqueViolation",
    "UnstorableValue",
    "conflict_response",
    "from_postgres",
    "from_sqlite",
    "unavailable_response",
    "unstorable_response",
]

logger = logging.getLogger("minimal_asgi_sql")


class DatabaseError(MinimalASGIError):
    """The root of this package's errors."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached now: refused, lost, timed out, busy.

    Raised quickly (every wait has a timeout), never after a hang. Trying
    again later may work, which is what the 503 says.
    """


class IntegrityViolation(DatabaseError):
    """A statement broke a constraint; the transaction's change was refused.

    ``constraint`` is the constraint's name when the database gives one
    (PostgreSQL always does; SQLite gives "table.column" for UNIQUE and NOT
    NULL, the name of a named CHECK, and nothing for a foreign key).
    ``kind`` is ``"unique"``, ``"foreign_key"``, ``"not_null"``, ``"check"``
    or ``"exclusion"``.
    """

    kind = "integrity"

    def __init__(
        self, message: str, *, constraint: str | None = None, table: str | None = None
    ) -> None:
        super().__init__(message)
        self.constraint = constraint
        self.table = table


class UniqueViolation(IntegrityViolation):
    kind = "unique"


class ForeignKeyViolation(IntegrityViolation):
    kind = "foreign_key"


class NotNullViolation(IntegrityViolation):
    kind = "not_null"


class CheckViolation(IntegrityViolation):
    kind = "check"


class ExclusionViolation(IntegrityViolation):
    kind = "exclusion"


class UnstorableValue(DatabaseError):
    """A value the database cannot hold in its type, to store or to compare.

    ``kind`` says which: ``"out_of_range"`` (an integer beyond 64 bits, or
    beyond its column's type: ``INTEGER`` is 32 bits on PostgreSQL; a number
    or date past its type's limits), ``"invalid_text"`` (a character UTF-8
    or the database cannot hold: a lone surrogate such as ``"\\ud800"``, a
    NUL on PostgreSQL) or ``"too_long"`` (text longer than ``VARCHAR(n)``).
    The request is at fault, not the data already stored: hence 422.
    """

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


# -- PostgreSQL (asyncpg) ---------------------------------------------------------
_PG_INTEGRITY: dict[str, type[IntegrityViolation]] = {
    "23505": UniqueViolation,
    "23503": ForeignKeyViolation,
    "23502": NotNullViolation,
    "23514": CheckViolation,
    "23P01": ExclusionViolation,
}
# 57P01 admin shutdown (pg_terminate_backend, a restart), 57P02 crash
# shutdown, 57P03 "the database system is starting up", 53300 too many
# connections. Class 08 (below) is every "connection exception".
_PG_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300"})
# The class-22 ("data exception") codes that mean a value does not fit its type.
_PG_UNSTORABLE = {
    "22003": "out_of_range",  # numeric_value_out_of_range: "integer out of range"
    "22008": "out_of_range",  # datetime_field_overflow
    "22021": "invalid_text",  # character_not_in_repertoire: a NUL in TEXT
    "22P05": "invalid_text",  # untranslatable_character
    "22001": "too_long",  # string_data_right_truncation: past VARCHAR(n)
}


def from_postgres(exc: BaseException) -> BaseException:
    """Our error for an asyncpg (or socket) error; ``exc`` itself if it is a bug."""
    if isinstance(exc, DatabaseError):
        return exc
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str):
        integrity = _PG_INTEGRITY.get(sqlstate)
        if integrity is not None:
            constraint = getattr(exc, "constraint_name", None)
            return integrity(
                f"{integrity.kind} constraint {constraint!r} violated: {exc}",
                constraint=constraint,
                table=getattr(exc, "table_name", None),
            )
        if sqlstate.startswith("08") or sqlstate in _PG_UNAVAILABLE:
            return DatabaseUnavailable(f"the PostgreSQL connection failed: {exc}")
        unstorable = _PG_UNSTORABLE.get(sqlstate)
        if unstorable is None and sqlstate == "22000":
            # asyncpg's own DataError, raised while encoding a value: what
            # went wrong is in its cause.
            unstorable = _unstorable_kind(exc.__cause__)
        if unstorable is not None:
            return UnstorableValue(f"PostgreSQL cannot hold a value: {exc}", kind=unstorable)
    elif isinstance(exc, UnicodeEncodeError):  # a surrogate in the SQL text itself
        return UnstorableValue(f"PostgreSQL cannot hold a text: {exc}", kind="invalid_text")
    if isinstance(exc, TimeoutError):
        return DatabaseUnavailable("PostgreSQL did not answer in time")
    if isinstance(exc, OSError):
        return DatabaseUnavailable(f"cannot reach PostgreSQL: {exc}")
    if type(exc).__name__ == "InterfaceError" and _connection_gone(str(exc)):
        return DatabaseUnavailable(f"the PostgreSQL connection is gone: {exc}")
    return exc


def _unstorable_kind(cause: BaseException | None) -> str | None:
    """What a value the driver could not encode was, from the error it raised."""
    if isinstance(cause, OverflowError):
        return "out_of_range"  # "Python int too large", "value out of int64 range"
    if isinstance(cause, UnicodeEncodeError):
        return "invalid_text"  # "surrogates not allowed"
    return None  # a TypeError - a str where an int goes - is a bug in the code


def _connection_gone(message: str) -> bool:
    # asyncpg has no class for "this connection died earlier": when the server
    # ends a session (pg_terminate_backend, a restart), the pool takes the dead
    # connection back at once, and the next use of it says so in words.
    return any(
        words in message
        for words in ("connection is closed", "released back to the pool", "pool is clos")
    )


# -- SQLite (stdlib sqlite3) ---------------------------------------------------------
_SQLITE_INTEGRITY: dict[str, type[IntegrityViolation]] = {
    "SQLITE_CONSTRAINT_UNIQUE": UniqueViolation,
    "SQLITE_CONSTRAINT_PRIMARYKEY": UniqueViolation,
    "SQLITE_CONSTRAINT_FOREIGNKEY": ForeignKeyViolation,
    "SQLITE_CONSTRAINT_NOTNULL": NotNullViolation,
    "SQLITE_CONSTRAINT_CHECK": CheckViolation,
}
# Busy or locked (another process writes), cannot open, disk trouble.
_SQLITE_UNAVAILABLE = (
    "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL",
)


def from_sqlite(exc: BaseException) -> BaseException:
    """Our error for a sqlite3 error; ``exc`` itself if it is a bug."""
    if isinstance(exc, DatabaseError):
        return exc
    name = getattr(exc, "sqlite_errorname", None) or ""
    if isinstance(exc, sqlite3.IntegrityError):
        integrity = _SQLITE_INTEGRITY.get(name, IntegrityViolation)
        # "UNIQUE constraint failed: users.email" -> "users.email";
        # "FOREIGN KEY constraint failed" -> no name to give.
        _, _, constraint = str(exc).partition("constraint failed: ")
        return integrity(
            f"{integrity.kind} constraint violated: {exc}", constraint=constraint or None
        )
    if isinstance(exc, sqlite3.OperationalError) and name.startswith(_SQLITE_UNAVAILABLE):
        return DatabaseUnavailable(f"SQLite is unavailable: {exc}")
    # sqlite3 raises these while binding a parameter, before SQLite sees it.
    unstorable = _unstorable_kind(exc)
    if unstorable is None and name == "SQLITE_TOOBIG":
        unstorable = "too_long"  # past SQLITE_MAX_LENGTH (a billion bytes)
    if unstorable is not None:
        return UnstorableValue(f"SQLite cannot hold a value: {exc}", kind=unstorable)
    return exc


# -- HTTP: what the SQL plugin answers --------------------------------------------------
def unavailable_response(
    retry_after: int,
) -> Callable[[Request, DatabaseUnavailable], Awaitable[Response]]:
    """The handler for ``DatabaseUnavailable``: 503 with ``Retry-After``."""

    async def handler(request: Request, exc: DatabaseUnavailable) -> Response:
        # A server-side failure: logged for the operator, with the cause.
        logger.error("database unavailable during %s %s: %s", request.method,
                     request.path, exc, exc_info=exc)
        return ProblemResponse(
            503,
            "The database is unavailable; try again shortly.",
            headers={"retry-after": str(retry_after)},
            title="Service Unavailable",
        )

    return handler


async def conflict_response(request: Request, exc: IntegrityViolation) -> Response:
    """The handler for ``IntegrityViolation``: 409 naming the constraint."""
    where = f" {exc.constraint!r}" if exc.constraint else ""
    return ProblemResponse(
        409,
        f"The request conflicts with the {exc.kind.replace('_', ' ')} constraint{where}.",
        title="Conflict",
        constraint=exc.constraint,
        kind=exc.kind,
    )


_UNSTORABLE_DETAIL = {
    "out_of_range": "A number in the request is outside the range the database can store.",
    "invalid_text": (
        "Text in the request holds a character the database cannot store "
        "(a NUL, or a lone surrogate)."
    ),
    "too_long": "Text in the request is longer than the database can store.",
}


async def unstorable_response(request: Request, exc: UnstorableValue) -> Response:
    """The handler for ``UnstorableValue``: 422 naming the kind of value refused.

    Never the value itself, nor the driver's message, which quotes it.
    """
    return ProblemResponse(
        422,
        _UNSTORABLE_DETAIL.get(exc.kind, "A value in the request cannot be stored."),
        title="Unprocessable Content",
        kind=exc.kind,
    )

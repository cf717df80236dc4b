"""The compiler: turning a statement tree into ``(sql, params)``.

Every piece of the query builder - a column, ``users.c.age >= 18``, a whole
``select(...)`` - is a small object with one method, ``_sql(compiler)``, that
returns its SQL text. The ``Compiler`` passed down the tree holds what the
pieces share while one statement is compiled:

- the **dialect**: ``"postgres"`` numbers its placeholders ``$1, $2, ...``
  (asyncpg), ``"sqlite"`` writes ``?`` (the stdlib ``sqlite3``);
- the **parameter list**: each value met in the tree is appended to it and
  replaced in the text by a placeholder. The database receives the text and
  the values separately and never parses a value as SQL - this, not escaping,
  is what stops SQL injection;
- **identifier quoting**: every table, column, index and constraint name is
  written in double quotes, so a name is never read as a keyword or operator.

One exception, kept as narrow as possible: DDL. Neither PostgreSQL nor SQLite
accepts placeholders in ``CREATE TABLE`` (a ``CHECK`` or a ``DEFAULT`` must be
written out), so a DDL compiler writes the *constants of a schema declared in
code* as SQL literals (``Compiler.literal``: numbers, booleans, and strings
with quotes doubled). Query values - anything that can come from a request -
go through ``select``/``insert``/``update``/``delete`` and are always
parameters.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from minimal_asgi import ConfigurationError

__all__ = ["DIALECTS", "Compiler", "Node", "Statement", "quote_identifier", "validate_identifier"]

DIALECTS = ("postgres", "sqlite")

# PostgreSQL silently truncates longer names (NAMEDATALEN - 1), so two long
# names could end up the same; refusing them is kinder. SQLite has no limit,
# but a schema should run on both.
MAX_IDENTIFIER_BYTES = 63


def validate_identifier(name: str, what: str = "identifier") -> str:
    """Return ``name`` if it can be a quoted SQL identifier, else raise.

    Called when a table, column or index is *declared*, so a bad name fails
    at import time, not in the middle of a request.
    """
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"a {what} name must be a non-empty string, got {name!r}")
    if "\x00" in name:
        raise ConfigurationError(f"the {what} name {name!r} contains a NUL character")
    if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        raise ConfigurationError(
            f"the {what} name {name!r} is longer than {MAX_IDENTIFIER_BYTES} bytes "
            "(PostgreSQL would truncate it); choose a shorter name"
        )
    return name


def quote_identifier(name: str) -> str:
    # Inside double quotes the only special character is the double quote
    # itself, written twice (SQL standard; same in PostgreSQL and SQLite).
    return '"' + name.replace('"', '""') + '"'


class Compiler:
    """The state shared while one statement is compiled."""

    def __init__(self, dialect: str, *, ddl: bool = False) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown SQL dialect {dialect!r}; use one of {DIALECTS}")
        self.dialect = dialect
        self.params: list[Any] = []
        # Only DDL statements set this: their constants become literals (see the
        # module docstring) and their columns bare names, as CREATE INDEX and
        # CHECK want them.
        self.ddl = ddl

    def param(self, value: Any) -> str:
        """Record ``value`` and return the placeholder that stands for it."""
        if self.ddl:
            return self.literal(value)
        self.params.append(value)
        return f"${len(self.params)}" if self.dialect == "postgres" else "?"

    def quote(self, name: str) -> str:
        return quote_identifier(name)

    def literal(self, value: Any) -> str:
        """Write a schema constant as SQL text - DDL only."""
        # bool before int: True is an int in Python, but TRUE in SQL.
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float) and math.isfinite(value):
            return repr(value)
        if isinstance(value, Decimal) and value.is_finite():
            return str(value)
        if isinstance(value, str) and "\x00" not in value:
            # Standard SQL string: a quote is written twice. Backslashes are
            # plain characters (PostgreSQL's standard_conforming_strings, on by
            # default since 9.1; SQLite has no backslash escapes).
            return "'" + value.replace("'", "''") + "'"
        raise ConfigurationError(
            f"{value!r} cannot be written into DDL; a CHECK or DEFAULT constant must be a "
            "number, a boolean, None or a string without NUL"
        )


class Node:
    """Anything that renders itself as a piece of SQL."""

    def _sql(self, c: Compiler) -> str:
        raise NotImplementedError


class Statement(Node):
    """A whole statement: the thing you pass to ``Database.execute``."""

    # DDL statements set this: see the module docstring.
    _is_ddl = False

    def compile(self, dialect: str) -> tuple[str, list[Any]]:
        """Return the SQL text for ``dialect`` and the values for its placeholders."""
        c = Compiler(dialect, ddl=self._is_ddl)
        return self._sql(c), c.params

    def __str__(self) -> str:
        # Handy in a debugger or a doc: print(query) shows the PostgreSQL text.
        return self.compile("postgres")[0]

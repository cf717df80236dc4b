"""Declaring tables, and the DDL that creates them.

    users = Table(
        "users",
        Column("id", Integer, primary_key=True),
        Column("email", Text, nullable=False, unique=True),
        Column("age", Integer),
        Column("created_at", Timestamp, nullable=False, default=now()),
        Check(lambda c: c.age >= 0, name="users_age_check"),
    )
    users.c.email               # a Column: an Expression, usable in any query
    users.create().compile("sqlite")   # ('CREATE TABLE "users" (...)', [])

A ``Table`` only *describes* a table: it holds no rows and tracks no objects
(this is not an ORM). Names are checked when they are declared, so a bad one
fails at import time. The type names each dialect gets are in the type
classes below; the differences are deliberate and commented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from minimal_asgi import ConfigurationError
from minimal_asgi_sql.compiler import Compiler, Statement, validate_identifier
from minimal_asgi_sql.expressions import Expression, Ordering, Param

__all__ = [
    "JSON",
    "UUID",
    "BigInteger",
    "Boolean",
    "Check",
    "Column",
    "ColumnCollection",
    "Date",
    "Float",
    "ForeignKey",
    "Index",
    "Integer",
    "Numeric",
    "SQLType",
    "Table",
    "Text",
    "Timestamp",
    "Unique",
    "create_index",
    "create_table",
]


# -- column types ---------------------------------------------------------------------------


class SQLType:
    """A column type, spelled for each dialect."""

    postgres = ""
    sqlite = ""

    def ddl(self, dialect: str) -> str:
        return self.postgres if dialect == "postgres" else self.sqlite

    def __repr__(self) -> str:
        return type(self).__name__


class Integer(SQLType):
    postgres = sqlite = "INTEGER"


class BigInteger(SQLType):
    # SQLite integers are all 64-bit; and only a column declared exactly
    # `INTEGER PRIMARY KEY` becomes the auto-numbered rowid.
    postgres, sqlite = "BIGINT", "INTEGER"


class Text(SQLType):
    postgres = sqlite = "TEXT"


class Boolean(SQLType):
    # SQLite accepts the name and stores 0 and 1.
    postgres = sqlite = "BOOLEAN"


class Float(SQLType):
    postgres, sqlite = "DOUBLE PRECISION", "REAL"


class Numeric(SQLType):
    """Exact decimals on PostgreSQL. SQLite accepts the name but stores a float
    when the value fits one: keep money in integer cents there."""

    def __init__(self, precision: int | None = None, scale: int | None = None) -> None:
        size = "" if precision is None else f"({precision})"
        if precision is not None and scale is not None:
            size = f"({precision}, {scale})"
        self.postgres = self.sqlite = f"NUMERIC{size}"


class Timestamp(SQLType):
    """A point in time. ``timezone=True`` (the default) is PostgreSQL's advice:
    TIMESTAMPTZ stores an instant; plain TIMESTAMP stores a wall-clock reading."""

    def __init__(self, timezone: bool = True) -> None:
        self.postgres = "TIMESTAMPTZ" if timezone else "TIMESTAMP"
        self.sqlite = "TIMESTAMP"  # SQLite has no date type: ISO-8601 text


class Date(SQLType):
    postgres = sqlite = "DATE"


class UUID(SQLType):
    postgres, sqlite = "UUID", "TEXT"


class JSON(SQLType):
    # JSONB: parsed once on write, indexable; SQLite's JSON functions read text.
    postgres, sqlite = "JSONB", "TEXT"


# -- columns, constraints, tables --------------------------------------------------------------

_FK_ACTIONS = ("CASCADE", "RESTRICT", "SET NULL", "SET DEFAULT", "NO ACTION")


class ForeignKey:
    """``REFERENCES "users" ("id") [ON DELETE ...]``: pass it to ``Column``.

    Without ``PRAGMA foreign_keys = ON`` SQLite parses foreign keys but does
    not enforce them; the Database layer turns the pragma on.
    """

    def __init__(
        self, column: Column, *, on_delete: str | None = None, on_update: str | None = None
    ) -> None:
        for action in (on_delete, on_update):
            if action is not None and action not in _FK_ACTIONS:
                raise ConfigurationError(f"foreign key action must be one of {_FK_ACTIONS}")
        self.column, self.on_delete, self.on_update = column, on_delete, on_update

    def _sql(self, c: Compiler) -> str:
        # The target's table is looked up now, not at declaration, so a column
        # can reference a column of its own table (a tree of comments).
        sql = f"REFERENCES {c.quote(self.column.table.name)} ({c.quote(self.column.name)})"
        if self.on_delete:
            sql += f" ON DELETE {self.on_delete}"
        return sql + (f" ON UPDATE {self.on_update}" if self.on_update else "")


class Column(Expression):
    """One column. In a query it is ``"table"."name"``; in DDL, ``"name" TYPE ...``.

    ``default`` is written into the DDL: a constant, or an expression such as
    ``now()``. ``autoincrement`` defaults to "yes" for a single integer primary
    key (an identity column on PostgreSQL, the rowid on SQLite).
    """

    def __init__(
        self,
        name: str,
        type_: SQLType | type[SQLType],
        *constraints: ForeignKey,
        primary_key: bool = False,
        nullable: bool | None = None,
        unique: bool = False,
        default: Any = None,
        index: bool = False,
        autoincrement: bool | None = None,
    ) -> None:
        self.name = validate_identifier(name, "column")
        self.type = type_() if isinstance(type_, type) else type_
        if not isinstance(self.type, SQLType) or len(constraints) > 1:
            raise ConfigurationError(
                f"Column({name!r}, ...) takes a type such as Integer, then at most one ForeignKey"
            )
        self.foreign_key = constraints[0] if constraints else None
        self.primary_key, self.unique, self.index = primary_key, unique, index
        self.nullable = not primary_key if nullable is None else nullable
        if not isinstance(default, Expression):
            Compiler("postgres", ddl=True).literal(default)  # refuse it now, not later
        self.default = default
        is_integer = isinstance(self.type, Integer | BigInteger)
        if autoincrement and not (primary_key and is_integer):
            raise ConfigurationError(f"column {name!r}: autoincrement needs an integer primary key")
        self.autoincrement = autoincrement
        self._table: Table | None = None

    @property
    def table(self) -> Table:
        if self._table is None:
            raise ConfigurationError(f"column {self.name!r} is not part of a Table yet")
        return self._table

    def _sql(self, c: Compiler) -> str:
        if c.ddl:  # CHECK and CREATE INDEX name columns of one table: no prefix
            return c.quote(self.name)
        return f"{c.quote(self.table.name)}.{c.quote(self.name)}"

    def __repr__(self) -> str:
        owner = self._table.name if self._table else "?"
        return f"Column({owner}.{self.name} {self.type!r})"


class ColumnCollection:
    """``table.c``: the columns by name, as attributes (``users.c.email``) or keys."""

    def __init__(self, columns: tuple[Column, ...]) -> None:
        self._by_name = {col.name: col for col in columns}

    def __getattr__(self, name: str) -> Column:
        # Python calls this only for names that are not ordinary attributes.
        columns: dict[str, Column] = self.__dict__.get("_by_name", {})
        if name not in columns:
            raise AttributeError(f"no column {name!r}; there are {list(columns)}")
        return columns[name]

    def __getitem__(self, name: str) -> Column:
        return self.__getattr__(name)

    def __iter__(self) -> Iterator[Column]:
        return iter(self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


class Check:
    """A table CHECK constraint: ``Check(lambda c: c.age >= 0, name="users_age_check")``.

    The function receives the table's columns (``table.c``), since the table
    does not exist yet while its arguments are written. Constants in the
    condition are written into the DDL (see compiler.py).
    """

    def __init__(
        self,
        condition: Expression | Callable[[ColumnCollection], Expression],
        *,
        name: str | None = None,
    ) -> None:
        self.condition = condition
        self.name = None if name is None else validate_identifier(name, "constraint")

    def resolve(self, columns: ColumnCollection) -> Expression:
        return self.condition if isinstance(self.condition, Expression) else self.condition(columns)


class Unique:
    """A UNIQUE constraint over several columns: ``Unique("user_id", "slug")``."""

    def __init__(self, *columns: str, name: str | None = None) -> None:
        if not columns:
            raise ConfigurationError("Unique() needs at least one column name")
        self.columns = columns
        self.name = None if name is None else validate_identifier(name, "constraint")


class Table:
    """A table: a name, its columns (``table.c``), and its constraints."""

    def __init__(self, name: str, *items: Column | Check | Unique) -> None:
        self.name = validate_identifier(name, "table")
        self.columns = tuple(item for item in items if isinstance(item, Column))
        if not self.columns:
            raise ConfigurationError(f"table {name!r} has no columns")
        seen: set[str] = set()
        for col in self.columns:
            if col.name in seen:
                raise ConfigurationError(f"table {name!r} declares column {col.name!r} twice")
            if col._table is not None:
                raise ConfigurationError(
                    f"column {col.name!r} already belongs to table {col._table.name!r}; "
                    "declare a new Column for each table"
                )
            seen.add(col.name)
            col._table = self
        self.c = ColumnCollection(self.columns)
        checks: list[tuple[str | None, Expression]] = []
        uniques: list[Unique] = []
        for item in items:
            if isinstance(item, Check):
                checks.append((item.name, item.resolve(self.c)))
            elif isinstance(item, Unique):
                missing = [n for n in item.columns if n not in self.c]
                if missing:
                    raise ConfigurationError(f"Unique on table {name!r}: no column {missing}")
                uniques.append(item)
            elif not isinstance(item, Column):
                raise ConfigurationError(f"Table({name!r}, ...) got {item!r}")
        self.checks, self.uniques = tuple(checks), tuple(uniques)
        self.indexes = tuple(
            Index(f"ix_{name}_{col.name}", col) for col in self.columns if col.index
        )

    @property
    def primary_key(self) -> tuple[Column, ...]:
        return tuple(col for col in self.columns if col.primary_key)

    def create(self, *, if_not_exists: bool = False) -> CreateTable:
        """The ``CREATE TABLE`` statement (indexes are separate: ``table.indexes``)."""
        return CreateTable(self, if_not_exists)

    def drop(self, *, if_exists: bool = False) -> DropTable:
        return DropTable(self, if_exists)

    def __repr__(self) -> str:
        return f"Table({self.name!r})"


class Index:
    """``CREATE INDEX "name" ON "table" (columns)``; a column may be ``col.desc()``.

    ``Column(..., index=True)`` declares a one-column index named
    ``ix_<table>_<column>``; several columns need an ``Index`` of their own.
    """

    def __init__(self, name: str, *columns: Column | Ordering, unique: bool = False) -> None:
        self.name = validate_identifier(name, "index")
        tables = []
        for item in columns:
            col = item.expr if isinstance(item, Ordering) else item
            if not isinstance(col, Column):
                raise ConfigurationError(f"Index({name!r}, ...) takes columns or col.desc()")
            tables.append(col.table)
        if not tables or any(t is not tables[0] for t in tables):
            raise ConfigurationError(f"index {name!r} needs columns of one table")
        self.table = tables[0]
        self.columns, self.unique = columns, unique

    def create(self, *, if_not_exists: bool = False) -> CreateIndex:
        return CreateIndex(self, if_not_exists)

    def drop(self, *, if_exists: bool = False) -> DropIndex:
        return DropIndex(self, if_exists)


# -- DDL statements -----------------------------------------------------------------------------


def _column_ddl(c: Compiler, col: Column, table: Table) -> str:
    sole_key = col.primary_key and len(table.primary_key) == 1
    integer_key = sole_key and isinstance(col.type, Integer | BigInteger)
    parts = [c.quote(col.name), col.type.ddl(c.dialect)]
    if c.dialect == "postgres" and integer_key and col.autoincrement is not False:
        # BY DEFAULT (not ALWAYS) still lets fixtures and migrations insert ids.
        parts.append("GENERATED BY DEFAULT AS IDENTITY")
    if sole_key:
        parts.append("PRIMARY KEY")
    # A primary key implies NOT NULL - except on SQLite, where (a historical
    # bug kept for compatibility) only INTEGER PRIMARY KEY does. Say it.
    if not col.nullable and not integer_key:
        parts.append("NOT NULL")
    if col.unique:
        parts.append("UNIQUE")
    if col.default is not None:
        # SQLite wants an expression default in parentheses; constants are bare.
        default = col.default
        parts.append(
            f"DEFAULT ({default._sql(c)})"
            if isinstance(default, Expression)
            else f"DEFAULT {Param(default)._sql(c)}"
        )
    if col.foreign_key:
        parts.append(col.foreign_key._sql(c))
    return " ".join(parts)


def _constraint(c: Compiler, name: str | None) -> str:
    return "" if name is None else f"CONSTRAINT {c.quote(name)} "


@dataclass(frozen=True, eq=False)
class CreateTable(Statement):
    table: Table
    if_not_exists: bool = False
    _is_ddl = True

    def _sql(self, c: Compiler) -> str:
        t = self.table
        parts = [_column_ddl(c, col, t) for col in t.columns]
        if len(t.primary_key) > 1:
            parts.append(f"PRIMARY KEY ({', '.join(c.quote(k.name) for k in t.primary_key)})")
        for unique in t.uniques:
            names = ", ".join(c.quote(n) for n in unique.columns)
            parts.append(f"{_constraint(c, unique.name)}UNIQUE ({names})")
        for name, condition in t.checks:
            parts.append(f"{_constraint(c, name)}CHECK ({condition._sql(c)})")
        exists = "IF NOT EXISTS " if self.if_not_exists else ""
        return f"CREATE TABLE {exists}{c.quote(t.name)} ({', '.join(parts)})"


@dataclass(frozen=True, eq=False)
class DropTable(Statement):
    table: Table
    if_exists: bool = False
    _is_ddl = True

    def _sql(self, c: Compiler) -> str:
        return f"DROP TABLE {'IF EXISTS ' if self.if_exists else ''}{c.quote(self.table.name)}"


@dataclass(frozen=True, eq=False)
class CreateIndex(Statement):
    index: Index
    if_not_exists: bool = False
    _is_ddl = True

    def _sql(self, c: Compiler) -> str:
        ix = self.index
        columns = ", ".join(col._sql(c) for col in ix.columns)
        head = "CREATE UNIQUE INDEX" if ix.unique else "CREATE INDEX"
        exists = "IF NOT EXISTS " if self.if_not_exists else ""
        return f"{head} {exists}{c.quote(ix.name)} ON {c.quote(ix.table.name)} ({columns})"


@dataclass(frozen=True, eq=False)
class DropIndex(Statement):
    index: Index
    if_exists: bool = False
    _is_ddl = True

    def _sql(self, c: Compiler) -> str:
        return f"DROP INDEX {'IF EXISTS ' if self.if_exists else ''}{c.quote(self.index.name)}"


def create_table(table: Table, *, if_not_exists: bool = False) -> CreateTable:
    """Same as ``table.create()``."""
    return table.create(if_not_exists=if_not_exists)


def create_index(index: Index, *, if_not_exists: bool = False) -> CreateIndex:
    """Same as ``index.create()``."""
    return index.create(if_not_exists=if_not_exists)

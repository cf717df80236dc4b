"""Statements: ``select``, ``insert``, ``update``, ``delete``, and ``text`` for raw SQL.

Each statement is an immutable value: every method returns a *new* statement.
So a base query can live at module level and be refined per request, and no
request's filter ever leaks into another's::

    active = select(users.c.id, users.c.email).where(users.c.active == True)
    page = active.order_by(users.c.id).limit(20)     # `active` is unchanged

``stmt.compile("postgres")`` returns ``(sql, params)``; the Database layer
sends both to the server. Clauses are written in the order SQL requires them,
whatever order the methods were called in, and every value - even LIMIT's -
is a parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

from minimal_asgi_sql.compiler import Compiler, Node, Statement
from minimal_asgi_sql.expressions import Expression, Label, Ordering, _Tuple, _wrap, and_
from minimal_asgi_sql.schema import Column, Table

__all__ = [
    "Delete",
    "Insert",
    "RawSQL",
    "Select",
    "Update",
    "delete",
    "excluded",
    "insert",
    "select",
    "text",
    "update",
]


# -- helpers shared by the statements ---------------------------------------------------------


def _conditions(conditions: tuple[Any, ...]) -> tuple[Expression, ...]:
    for condition in conditions:
        if not isinstance(condition, Expression):
            # e.g. where(user_id == 3) on a plain variable: Python already
            # evaluated it to True or False.
            raise TypeError(f"expected a SQL condition such as users.c.id == 1, got {condition!r}")
    return conditions


def _expand(items: Iterable[Expression | Table]) -> tuple[Expression, ...]:
    """A Table in a column list means all its columns."""
    out: list[Expression] = []
    for item in items:
        out.extend(item.columns if isinstance(item, Table) else (item,))
    return tuple(out)


def _column_list(c: Compiler, items: tuple[Expression, ...]) -> str:
    return ", ".join(i._definition(c) if isinstance(i, Label) else i._sql(c) for i in items)


def _column_of(table: Table, key: Column | str) -> Column:
    if isinstance(key, str) and key in table.c:
        return table.c[key]
    if isinstance(key, Column) and key._table is table:
        return key
    raise ValueError(f"table {table.name!r} has no column {key!r}")


def _returning(c: Compiler, items: tuple[Expression, ...]) -> str:
    return f" RETURNING {_column_list(c, items)}" if items else ""


def _where(c: Compiler, conditions: tuple[Expression, ...]) -> str:
    return f" WHERE {and_(*conditions)._sql(c)}" if conditions else ""


def _tables_in(node: Node, found: list[Table]) -> None:
    """Collect the tables whose columns appear in ``node``, in order of appearance.

    Every expression node is a dataclass, so its children are its fields. A
    subquery's tables are its own business: we do not look inside statements.
    """
    if isinstance(node, Column):
        if all(table is not node.table for table in found):
            found.append(node.table)
    elif is_dataclass(node) and not isinstance(node, Statement):
        for field in fields(node):
            value = getattr(node, field.name)
            for child in value if isinstance(value, tuple) else (value,):
                if isinstance(child, Node):
                    _tables_in(child, found)


def _count(value: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}")
    return value


# -- SELECT ----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Join:
    kind: str  # "JOIN" or "LEFT JOIN"
    table: Table
    on: Expression


@dataclass(frozen=True, eq=False)
class Select(Statement):
    """``SELECT ...``; build it with ``select(...)``."""

    _columns: tuple[Expression, ...]
    _from: tuple[Table, ...] = ()
    _joins: tuple[_Join, ...] = ()
    _where: tuple[Expression, ...] = ()
    _group_by: tuple[Expression, ...] = ()
    _having: tuple[Expression, ...] = ()
    _order_by: tuple[Expression | Ordering, ...] = ()
    _limit: int | None = None
    _offset: int | None = None
    _distinct: bool = False

    def select_from(self, *tables: Table) -> Select:
        """Name the FROM tables yourself (e.g. for ``select(count())``)."""
        return replace(self, _from=tables)

    def join(self, table: Table, *, on: Expression) -> Select:
        """``JOIN table ON ...``: only rows that have a match on both sides."""
        return self._join("JOIN", table, on)

    def left_join(self, table: Table, *, on: Expression) -> Select:
        """``LEFT JOIN``: every row of the left side; NULLs where ``table`` has no match."""
        return self._join("LEFT JOIN", table, on)

    def _join(self, kind: str, table: Table, on: Expression) -> Select:
        (on,) = _conditions((on,))
        return replace(self, _joins=(*self._joins, _Join(kind, table, on)))

    def where(self, *conditions: Expression) -> Select:
        """Filter rows; several conditions (or several calls) are joined with AND."""
        return replace(self, _where=self._where + _conditions(conditions))

    def group_by(self, *exprs: Expression) -> Select:
        return replace(self, _group_by=self._group_by + exprs)

    def having(self, *conditions: Expression) -> Select:
        """Filter groups, after GROUP BY (WHERE filters rows, before it)."""
        return replace(self, _having=self._having + _conditions(conditions))

    def order_by(self, *items: Expression | Ordering) -> Select:
        return replace(self, _order_by=self._order_by + items)

    def limit(self, n: int) -> Select:
        return replace(self, _limit=_count(n, "limit"))

    def offset(self, n: int) -> Select:
        return replace(self, _offset=_count(n, "offset"))

    def distinct(self) -> Select:
        return replace(self, _distinct=True)

    def after(
        self, column: Expression | Sequence[Expression], value: Any, *, descending: bool = False
    ) -> Select:
        """Keyset pagination: the rows after ``value``, in ``column`` order.

        ``OFFSET 10000`` makes the database read and discard 10,000 rows;
        ``WHERE id > $1 ORDER BY id`` starts at that position in the index.
        Pass ``value=None`` for the first page, then the last row's key. When
        the key is not unique, page by a pair - ``after((p.c.created_at,
        p.c.id), (created_at, id))`` - which compares column by column.
        Use it instead of ``order_by``: it sets the order itself.
        """
        columns = tuple(column) if isinstance(column, Sequence) else (column,)
        query = self.order_by(*(col.desc() if descending else col for col in columns))
        if value is None:
            return query
        values = tuple(value) if len(columns) > 1 else (value,)
        if len(values) != len(columns):
            raise ValueError(f"after() got {len(columns)} columns but {len(values)} values")
        if len(columns) == 1:
            left, right = columns[0], _wrap(values[0])
        else:
            left, right = _Tuple(columns), _Tuple(tuple(_wrap(v) for v in values))
        return query.where(left < right if descending else left > right)

    def _sql(self, c: Compiler) -> str:
        sql = f"SELECT {'DISTINCT ' if self._distinct else ''}{_column_list(c, self._columns)}"
        tables = list(self._from)
        if not tables:
            # Inferred: the tables of the selected columns, minus the joined ones.
            for item in self._columns:
                _tables_in(item, tables)
            tables = [t for t in tables if all(t is not j.table for j in self._joins)]
        if tables:
            sql += " FROM " + ", ".join(c.quote(t.name) for t in tables)
        for j in self._joins:
            sql += f" {j.kind} {c.quote(j.table.name)} ON {j.on._sql(c)}"
        sql += _where(c, self._where)
        if self._group_by:
            sql += " GROUP BY " + ", ".join(e._sql(c) for e in self._group_by)
        if self._having:
            sql += f" HAVING {and_(*self._having)._sql(c)}"
        if self._order_by:
            sql += " ORDER BY " + ", ".join(e._sql(c) for e in self._order_by)
        if self._limit is not None:
            sql += f" LIMIT {c.param(self._limit)}"
        elif self._offset is not None and c.dialect == "sqlite":
            sql += " LIMIT -1"  # SQLite allows OFFSET only after a LIMIT; -1 means none
        if self._offset is not None:
            sql += f" OFFSET {c.param(self._offset)}"
        return sql


def select(*columns: Expression | Table) -> Select:
    """``select(users.c.id, users.c.email)``; ``select(users)`` for every column."""
    if not columns:
        raise TypeError("select() needs at least one column, table or expression")
    return Select(_expand(columns))


# -- INSERT ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Excluded(Expression):
    column: Column

    def _sql(self, c: Compiler) -> str:
        return f"excluded.{c.quote(self.column.name)}"


def excluded(column: Column) -> Expression:
    """In an upsert's ``set_``: the value the row *would* have had (``excluded."name"``)."""
    return _Excluded(column)


@dataclass(frozen=True, eq=False)
class _OnConflict:
    target: tuple[Column, ...]
    updates: tuple[tuple[Column, Any], ...]  # empty: DO NOTHING
    where: Expression | None = None

    def _sql(self, c: Compiler) -> str:
        sql = " ON CONFLICT"
        if self.target:
            sql += " (" + ", ".join(c.quote(col.name) for col in self.target) + ")"
        if not self.updates:
            return sql + " DO NOTHING"
        sets = ", ".join(f"{c.quote(col.name)} = {_wrap(v)._sql(c)}" for col, v in self.updates)
        where = () if self.where is None else (self.where,)
        return sql + f" DO UPDATE SET {sets}" + _where(c, where)


@dataclass(frozen=True, eq=False)
class Insert(Statement):
    """``INSERT INTO ...``; build it with ``insert(table)``."""

    table: Table
    _columns: tuple[Column, ...] = ()
    _rows: tuple[tuple[Any, ...], ...] = ((),)  # one row of defaults until values()
    _conflict: _OnConflict | None = None
    _returning: tuple[Expression, ...] = ()

    def values(
        self, rows: Mapping[Any, Any] | Iterable[Mapping[Any, Any]] | None = None, /, **kw: Any
    ) -> Insert:
        """The row(s) to insert: ``values(email=e)``, ``values({"email": e})``, or a list.

        Keys are column names or columns. All rows must set the same columns;
        a list becomes one multi-row ``VALUES (...), (...)`` statement.
        """
        if rows is None:
            rows = kw
        elif kw:
            raise TypeError("values() takes a row (or a list of rows) or keywords, not both")
        all_rows = [rows] if isinstance(rows, Mapping) else list(rows)
        if not all_rows:
            raise ValueError("insert().values() got no rows")
        chosen = {_column_of(self.table, key) for key in all_rows[0]}
        ordered = tuple(col for col in self.table.columns if col in chosen)  # table order
        table_rows = []
        for i, row in enumerate(all_rows):
            by_column = {_column_of(self.table, key): value for key, value in row.items()}
            if set(by_column) != set(ordered):
                raise ValueError(f"row {i} sets other columns than row 0; all rows must match")
            table_rows.append(tuple(by_column[col] for col in ordered))
        if not ordered and len(table_rows) > 1:
            raise ValueError("a row of defaults only (DEFAULT VALUES) cannot be repeated")
        return replace(self, _columns=ordered, _rows=tuple(table_rows))

    def returning(self, *columns: Expression | Table) -> Insert:
        """Send back these columns of each inserted row (e.g. its new id)."""
        return replace(self, _returning=_expand(columns))

    def on_conflict_do_nothing(self, index_elements: Sequence[Column | str] = ()) -> Insert:
        """Skip rows that would break a unique constraint (on those columns, if given)."""
        target = tuple(_column_of(self.table, key) for key in index_elements)
        return replace(self, _conflict=_OnConflict(target, ()))

    def on_conflict_do_update(
        self,
        index_elements: Sequence[Column | str],
        set_: Mapping[Any, Any],
        where: Expression | None = None,
    ) -> Insert:
        """Upsert: when a row with the same ``index_elements`` exists, update it instead.

        ``index_elements`` must match a unique constraint or index. In ``set_``,
        ``excluded(col)`` is the value this insert tried to write.
        """
        if not index_elements or not set_:
            raise ValueError("on_conflict_do_update needs index_elements and set_")
        target = tuple(_column_of(self.table, key) for key in index_elements)
        updates = tuple((_column_of(self.table, key), value) for key, value in set_.items())
        return replace(self, _conflict=_OnConflict(target, updates, where))

    def _sql(self, c: Compiler) -> str:
        sql = f"INSERT INTO {c.quote(self.table.name)}"
        if self._columns:
            names = ", ".join(c.quote(col.name) for col in self._columns)
            rows = ", ".join(
                "(" + ", ".join(_wrap(v)._sql(c) for v in row) + ")" for row in self._rows
            )
            sql += f" ({names}) VALUES {rows}"
        else:
            sql += " DEFAULT VALUES"
        if self._conflict:
            sql += self._conflict._sql(c)
        return sql + _returning(c, self._returning)


def insert(table: Table) -> Insert:
    return Insert(table)


# -- UPDATE and DELETE -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Update(Statement):
    """``UPDATE ... SET ...``; build it with ``update(table)``.

    Without ``where`` it changes every row of the table - as in SQL.
    """

    table: Table
    _values: tuple[tuple[Column, Any], ...] = ()
    _where: tuple[Expression, ...] = ()
    _returning: tuple[Expression, ...] = ()

    def values(self, values: Mapping[Any, Any] | None = None, /, **kw: Any) -> Update:
        """The new values: ``values(name=n, visits=users.c.visits + 1)``."""
        if values is None:
            values = kw
        elif kw:
            raise TypeError("values() takes a mapping or keywords, not both")
        pairs = tuple((_column_of(self.table, k), v) for k, v in values.items())
        return replace(self, _values=pairs)

    def where(self, *conditions: Expression) -> Update:
        return replace(self, _where=self._where + _conditions(conditions))

    def returning(self, *columns: Expression | Table) -> Update:
        return replace(self, _returning=_expand(columns))

    def _sql(self, c: Compiler) -> str:
        if not self._values:
            raise ValueError("update() needs .values(...) to know what to set")
        sets = ", ".join(f"{c.quote(col.name)} = {_wrap(v)._sql(c)}" for col, v in self._values)
        sql = f"UPDATE {c.quote(self.table.name)} SET {sets}"
        return sql + _where(c, self._where) + _returning(c, self._returning)


def update(table: Table) -> Update:
    return Update(table)


@dataclass(frozen=True, eq=False)
class Delete(Statement):
    """``DELETE FROM ...``; build it with ``delete(table)``.

    Without ``where`` it deletes every row of the table - as in SQL.
    """

    table: Table
    _where: tuple[Expression, ...] = ()
    _returning: tuple[Expression, ...] = ()

    def where(self, *conditions: Expression) -> Delete:
        return replace(self, _where=self._where + _conditions(conditions))

    def returning(self, *columns: Expression | Table) -> Delete:
        return replace(self, _returning=_expand(columns))

    def _sql(self, c: Compiler) -> str:
        sql = f"DELETE FROM {c.quote(self.table.name)}"
        return sql + _where(c, self._where) + _returning(c, self._returning)


def delete(table: Table) -> Delete:
    return Delete(table)


# -- raw SQL -------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RawSQL(Statement):
    sql: str
    params: tuple[Any, ...] = ()

    def _sql(self, c: Compiler) -> str:
        c.params.extend(self.params)
        return self.sql


def text(sql: str, *params: Any) -> RawSQL:
    """Raw SQL, for what the builder cannot say; the values still travel apart.

    The text is sent as written, so write the placeholders of the database it
    runs on - ``text('SELECT * FROM "users" WHERE "id" = $1', user_id)`` on
    PostgreSQL, ``?`` on SQLite - and pass the values after it. Never format a
    value into the string: that is exactly the injection this avoids.
    """
    return RawSQL(sql, params)

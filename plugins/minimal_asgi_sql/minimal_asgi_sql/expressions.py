"""Column expressions: the pieces of WHERE, HAVING, ORDER BY and the column list.

``users.c.age >= 18`` compares nothing in Python. The operator methods of
``Expression`` build a small tree - here a ``_BinaryOp`` holding the column,
``">="`` and ``Param(18)`` - which the compiler later writes as
``"users"."age" >= $1`` with ``[18]`` beside it. Any plain Python value met on
either side of an operator becomes a ``Param``: no method writes a value into
the SQL text.

Parentheses come from precedence, not guesswork: each node knows how tightly
it binds, and a child that binds as loosely as (or more loosely than) its
parent is wrapped. ``or_(a, and_(b, c))`` becomes ``a OR (b AND c)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from minimal_asgi_sql.compiler import Compiler, Node, Statement, validate_identifier

__all__ = [
    "Expression",
    "Label",
    "Ordering",
    "Param",
    "and_",
    "asc",
    "avg",
    "count",
    "desc",
    "func",
    "max_",
    "min_",
    "not_",
    "now",
    "or_",
    "sum_",
]

# How tightly each kind of node binds, loosest first (the order of
# PostgreSQL's operator precedence table; SQLite's agrees for these).
_OR, _AND, _NOT, _COMPARE, _ADD, _MUL, _ATOM = range(1, 8)
_PRECEDENCE = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL}


def _wrap(value: Any) -> Expression:
    """An expression stays itself; any other value becomes a parameter."""
    return value if isinstance(value, Expression) else Param(value)


def _operand(c: Compiler, expr: Expression, parent: int) -> str:
    sql = expr._sql(c)
    return f"({sql})" if expr.precedence <= parent else sql


class Expression(Node):
    """Something with a value in SQL: a column, a parameter, ``a + b``, ``count(*)``."""

    @property
    def precedence(self) -> int:
        return _ATOM

    # -- comparisons. `== None` means IS NULL: `x = NULL` is never true in SQL.
    def __eq__(self, other: object) -> Expression:  # type: ignore[override]
        return self.is_null() if other is None else _BinaryOp(self, "=", _wrap(other))

    def __ne__(self, other: object) -> Expression:  # type: ignore[override]
        return self.is_not_null() if other is None else _BinaryOp(self, "<>", _wrap(other))

    def __lt__(self, other: Any) -> Expression:
        return _BinaryOp(self, "<", _wrap(other))

    def __le__(self, other: Any) -> Expression:
        return _BinaryOp(self, "<=", _wrap(other))

    def __gt__(self, other: Any) -> Expression:
        return _BinaryOp(self, ">", _wrap(other))

    def __ge__(self, other: Any) -> Expression:
        return _BinaryOp(self, ">=", _wrap(other))

    # -- arithmetic, for SET "count" = "count" + $1 and computed columns.
    def __add__(self, other: Any) -> Expression:
        return _BinaryOp(self, "+", _wrap(other))

    def __sub__(self, other: Any) -> Expression:
        return _BinaryOp(self, "-", _wrap(other))

    def __mul__(self, other: Any) -> Expression:
        return _BinaryOp(self, "*", _wrap(other))

    def __truediv__(self, other: Any) -> Expression:
        return _BinaryOp(self, "/", _wrap(other))

    # Overriding __eq__ would otherwise make expressions unhashable; columns
    # are used as dict keys (``set_={users.c.name: ...}``).
    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        # `a == 1 and b == 2` in Python would keep only one condition, silently.
        raise TypeError(
            "a SQL expression has no Python truth value: combine conditions with "
            "and_(), or_() and not_(), not Python's `and`, `or` and `not`"
        )

    # -- named operators
    def in_(self, values: Iterable[Any] | Statement) -> Expression:
        """``x IN ($1, $2)``, or ``x IN (SELECT ...)`` when given a select."""
        return _In(self, _in_items(values), negate=False)

    def not_in(self, values: Iterable[Any] | Statement) -> Expression:
        return _In(self, _in_items(values), negate=True)

    def like(self, pattern: Any, escape: str | None = None) -> Expression:
        """``x LIKE $1``. ``%`` and ``_`` in the pattern are wildcards.

        On SQLite, LIKE ignores case for ASCII letters (unless
        ``PRAGMA case_sensitive_like`` is on); on PostgreSQL it never does.
        """
        return _Like(self, "LIKE", _wrap(pattern), None if escape is None else Param(escape))

    def ilike(self, pattern: Any, escape: str | None = None) -> Expression:
        """Case-insensitive LIKE: ``ILIKE`` on PostgreSQL.

        SQLite has no ILIKE; its plain LIKE already ignores case, but only for
        ASCII letters (``'É' LIKE 'é'`` is false there), so ``ilike`` compiles
        to LIKE on SQLite.
        """
        return _Like(self, "ILIKE", _wrap(pattern), None if escape is None else Param(escape))

    def is_null(self) -> Expression:
        return _Postfix(self, "IS NULL")

    def is_not_null(self) -> Expression:
        return _Postfix(self, "IS NOT NULL")

    def between(self, low: Any, high: Any) -> Expression:
        """``x BETWEEN low AND high``, both ends included."""
        return _Between(self, _wrap(low), _wrap(high))

    def asc(self, nulls: str | None = None) -> Ordering:
        return Ordering(self, descending=False, nulls=nulls)

    def desc(self, nulls: str | None = None) -> Ordering:
        return Ordering(self, descending=True, nulls=nulls)

    def label(self, name: str) -> Label:
        """``expr AS "name"``: the key this value gets in each result row."""
        return Label(self, validate_identifier(name, "label"))


def _in_items(values: Iterable[Any] | Statement) -> tuple[Expression, ...] | Statement:
    if isinstance(values, Statement):
        return values
    if isinstance(values, str | bytes):
        # in_("abc") would otherwise mean IN ('a', 'b', 'c').
        raise TypeError("in_() takes a list of values or a select(), not a string")
    return tuple(_wrap(v) for v in values)


@dataclass(frozen=True, eq=False)
class Param(Expression):
    """A value, sent beside the SQL text; it appears there only as ``$n`` or ``?``."""

    value: Any

    def _sql(self, c: Compiler) -> str:
        return c.param(self.value)


@dataclass(frozen=True, eq=False)
class _BinaryOp(Expression):
    left: Expression
    op: str
    right: Expression

    @property
    def precedence(self) -> int:
        return _PRECEDENCE.get(self.op, _COMPARE)

    def _sql(self, c: Compiler) -> str:
        p = self.precedence
        return f"{_operand(c, self.left, p)} {self.op} {_operand(c, self.right, p)}"

    def __bool__(self) -> bool:
        # Lets `column in [a, b]` work: Python compares with == and asks bool().
        # Only a comparison of two expressions answers (by identity); one with
        # a parameter (`a == 1`) still refuses - see Expression.__bool__.
        if self.op in ("=", "<>") and not isinstance(self.right, Param):
            return (self.left is self.right) == (self.op == "=")
        return super().__bool__()


@dataclass(frozen=True, eq=False)
class _BoolOp(Expression):
    op: str  # "AND" or "OR"
    items: tuple[Expression, ...]

    @property
    def precedence(self) -> int:
        return _AND if self.op == "AND" else _OR

    def _sql(self, c: Compiler) -> str:
        # Any boolean operator inside another is parenthesised, even where SQL
        # would not need it: `a OR (b AND c)` reads the way it runs.
        return f" {self.op} ".join(_operand(c, item, _AND) for item in self.items)


def and_(*conditions: Expression) -> Expression:
    """All conditions hold: ``a AND b AND c``."""
    return _combine("AND", conditions)


def or_(*conditions: Expression) -> Expression:
    """At least one condition holds: ``a OR b``."""
    return _combine("OR", conditions)


def _combine(op: str, conditions: tuple[Expression, ...]) -> Expression:
    if not conditions:
        raise TypeError("and_() and or_() need at least one condition")
    return conditions[0] if len(conditions) == 1 else _BoolOp(op, conditions)


@dataclass(frozen=True, eq=False)
class _Not(Expression):
    item: Expression

    @property
    def precedence(self) -> int:
        return _NOT

    def _sql(self, c: Compiler) -> str:
        return f"NOT ({self.item._sql(c)})"


def not_(condition: Expression) -> Expression:
    """The condition does not hold: ``NOT (a)``."""
    return _Not(condition)


@dataclass(frozen=True, eq=False)
class _Postfix(Expression):
    item: Expression
    op: str  # "IS NULL" or "IS NOT NULL"

    @property
    def precedence(self) -> int:
        return _COMPARE

    def _sql(self, c: Compiler) -> str:
        return f"{_operand(c, self.item, _COMPARE)} {self.op}"


@dataclass(frozen=True, eq=False)
class _Between(Expression):
    item: Expression
    low: Expression
    high: Expression

    @property
    def precedence(self) -> int:
        return _COMPARE

    def _sql(self, c: Compiler) -> str:
        item, low, high = (_operand(c, e, _COMPARE) for e in (self.item, self.low, self.high))
        return f"{item} BETWEEN {low} AND {high}"


@dataclass(frozen=True, eq=False)
class _In(Expression):
    item: Expression
    items: tuple[Expression, ...] | Statement
    negate: bool

    @property
    def precedence(self) -> int:
        return _COMPARE

    def _sql(self, c: Compiler) -> str:
        op = "NOT IN" if self.negate else "IN"
        if isinstance(self.items, Statement):
            inner = self.items._sql(c)  # same compiler: placeholders keep counting
        elif not self.items:
            # `IN ()` is a syntax error in PostgreSQL. Nothing is in an empty
            # list, and everything is not in it - even NULL.
            return "1 = 1" if self.negate else "1 = 0"
        else:
            inner = ", ".join(item._sql(c) for item in self.items)
        return f"{_operand(c, self.item, _COMPARE)} {op} ({inner})"


@dataclass(frozen=True, eq=False)
class _Like(Expression):
    item: Expression
    op: str  # "LIKE" or "ILIKE"
    pattern: Expression
    escape: Expression | None

    @property
    def precedence(self) -> int:
        return _COMPARE

    def _sql(self, c: Compiler) -> str:
        op = "LIKE" if c.dialect == "sqlite" else self.op  # see Expression.ilike
        sql = f"{_operand(c, self.item, _COMPARE)} {op} {_operand(c, self.pattern, _COMPARE)}"
        return sql if self.escape is None else f"{sql} ESCAPE {self.escape._sql(c)}"


_FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, eq=False)
class Function(Expression):
    """``name(arg, ...)``; the name is a plain word, written unquoted."""

    name: str
    args: tuple[Expression, ...]
    distinct: bool = False

    def _sql(self, c: Compiler) -> str:
        args = ", ".join(a._sql(c) for a in self.args) if self.args else "*"
        return f"{self.name}({'DISTINCT ' if self.distinct else ''}{args})"


def func(name: str, *args: Any) -> Expression:
    """Any SQL function: ``func("lower", users.c.email)`` is ``lower("users"."email")``.

    Function names are not quoted (a quoted name would become case-sensitive),
    so they are checked instead: letters, digits and underscores only.
    """
    if not _FUNCTION_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid SQL function name")
    return Function(name, tuple(_wrap(a) for a in args))


def count(expr: Expression | None = None, *, distinct: bool = False) -> Expression:
    """``count(*)`` counts rows; ``count(col)`` counts non-NULL values."""
    return Function("count", () if expr is None else (expr,), distinct)


# Trailing underscores keep Python's own sum/min/max usable beside these.
def sum_(expr: Expression) -> Expression:
    return Function("sum", (expr,))


def avg(expr: Expression) -> Expression:
    return Function("avg", (expr,))


def min_(expr: Expression) -> Expression:
    return Function("min", (expr,))


def max_(expr: Expression) -> Expression:
    return Function("max", (expr,))


@dataclass(frozen=True, eq=False)
class _Keyword(Expression):
    keyword: str  # only ever one of the constants below, never user text

    def _sql(self, c: Compiler) -> str:
        return self.keyword


def now() -> Expression:
    """The current time, ``CURRENT_TIMESTAMP`` (both databases; a column DEFAULT too)."""
    return _Keyword("CURRENT_TIMESTAMP")


@dataclass(frozen=True, eq=False)
class _Tuple(Expression):
    """A row value ``(a, b)``: compares column by column, as keyset paging needs."""

    items: tuple[Expression, ...]

    def _sql(self, c: Compiler) -> str:
        return "(" + ", ".join(item._sql(c) for item in self.items) + ")"


@dataclass(frozen=True, eq=False)
class Label(Expression):
    """``expr AS "name"`` in the column list; elsewhere it stands for ``"name"``.

    That lets ``order_by(n)`` and ``group_by(n)`` refer to a labelled column.
    (SQL does not allow an output name in WHERE or HAVING: repeat the
    expression there.)
    """

    expr: Expression
    name: str

    def _sql(self, c: Compiler) -> str:
        return c.quote(self.name)

    def _definition(self, c: Compiler) -> str:
        return f"{self.expr._sql(c)} AS {c.quote(self.name)}"


@dataclass(frozen=True, eq=False)
class Ordering(Node):
    """One ORDER BY item: ``expr ASC|DESC [NULLS FIRST|LAST]``."""

    expr: Expression
    descending: bool
    nulls: str | None = None

    def __post_init__(self) -> None:
        if self.nulls not in (None, "first", "last"):
            raise ValueError(f"nulls must be 'first', 'last' or None, not {self.nulls!r}")

    def _sql(self, c: Compiler) -> str:
        sql = f"{self.expr._sql(c)} {'DESC' if self.descending else 'ASC'}"
        # Without NULLS ..., PostgreSQL puts NULLs last going up and SQLite
        # first: say it when it matters. (SQLite understands this since 3.30.)
        return sql if self.nulls is None else f"{sql} NULLS {self.nulls.upper()}"


def asc(expr: Expression, nulls: str | None = None) -> Ordering:
    return Ordering(expr, descending=False, nulls=nulls)


def desc(expr: Expression, nulls: str | None = None) -> Ordering:
    return Ordering(expr, descending=True, nulls=nulls)

"""Validation: turning untrusted input into the types an endpoint declared.

Two kinds of input, two rules:

- **Text** (path, query, header and cookie values) arrives as strings; it is
  *converted* to the annotated type: ``"42"`` becomes ``42`` for an ``int``.
- **JSON bodies** already have types; they are *checked*, not coerced across
  JSON types: ``"42"`` is not an ``int``, a number is not a ``str`` (an ``int``
  is accepted for a ``float``). Values JSON has no type for (UUID, datetime,
  date, Enum) are read from their string form.

Each annotation is compiled once, at startup, into a small validator function.
A failure never stops at the first error: every error is collected with its
location (``["body", "items", 2, "price"]``) and answered as one 422.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import inspect
import math
import re
import types
import typing
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from minimal_asgi.exceptions import ConfigurationError, HTTPException
from minimal_asgi.patterns import ecma_regex

inspect_empty: Any = inspect.Parameter.empty

__all__ = [
    "Ge",
    "Gt",
    "Le",
    "Lt",
    "MaxLen",
    "MinLen",
    "Pattern",
    "RequestValidationError",
    "compile_json",
    "compile_text",
]

Loc = tuple[str | int, ...]
Errors = list[dict[str, Any]]
INVALID: Any = object()  # what a validator returns after recording an error

MAX_DEPTH = 32
MAX_ITEMS = 10_000
MAX_REPORTED_ERRORS = 100  # a 422 lists this many errors and counts the rest


class RequestValidationError(HTTPException):
    """Input did not fit the declared types: a 422 listing every error.

    Every error, up to ``MAX_REPORTED_ERRORS``: past that the rest are only
    counted (``omitted_errors``). Without the cap a 1 MB body of 90,000 unknown
    keys would get a 5.7 MB answer - the client could make the server write
    more than it read (an amplification), and nobody reads the 101st error.
    """

    def __init__(self, errors: Errors) -> None:
        count = len(errors)
        reported = errors[:MAX_REPORTED_ERRORS]
        extra: dict[str, Any] = {"errors": reported}
        detail = f"{count} validation error{'s' if count != 1 else ''}; see 'errors'"
        if count > MAX_REPORTED_ERRORS:
            extra["omitted_errors"] = count - MAX_REPORTED_ERRORS
            detail = f"{count} validation errors; the first {MAX_REPORTED_ERRORS} are in 'errors'"
        super().__init__(422, detail, title="Unprocessable Content", extra=extra)
        self.errors = reported


def error(loc: Loc, message: str, kind: str) -> dict[str, Any]:
    return {"loc": list(loc), "msg": message, "type": kind}


# -- constraints, used as Annotated[int, Ge(0)] -------------------------------
@dataclass(frozen=True, slots=True)
class MinLen:
    value: int


@dataclass(frozen=True, slots=True)
class MaxLen:
    value: int


@dataclass(frozen=True, slots=True)
class Ge:
    value: float


@dataclass(frozen=True, slots=True)
class Gt:
    value: float


@dataclass(frozen=True, slots=True)
class Le:
    value: float


@dataclass(frozen=True, slots=True)
class Lt:
    value: float


@dataclass(frozen=True, slots=True)
class Pattern:
    """The whole value must match the regular expression."""

    regex: str


Constraint = MinLen | MaxLen | Ge | Gt | Le | Lt | Pattern
CheckFn = Callable[[Any], str | None]  # returns an error message or None


def _units(value: Any, n: int) -> str:
    unit = "character" if isinstance(value, str) else "item"
    return unit if n == 1 else unit + "s"


def _constraint_check(constraint: Constraint) -> CheckFn:
    if isinstance(constraint, MinLen):
        n = constraint.value
        return lambda v: None if len(v) >= n else f"must have at least {n} {_units(v, n)}"
    if isinstance(constraint, MaxLen):
        n = constraint.value
        return lambda v: None if len(v) <= n else f"must have at most {n} {_units(v, n)}"
    if isinstance(constraint, Ge):
        g = constraint.value
        return lambda v: None if v >= g else f"must be greater than or equal to {g}"
    if isinstance(constraint, Gt):
        g = constraint.value
        return lambda v: None if v > g else f"must be greater than {g}"
    if isinstance(constraint, Le):
        le = constraint.value
        return lambda v: None if v <= le else f"must be less than or equal to {le}"
    if isinstance(constraint, Lt):
        lt = constraint.value
        return lambda v: None if v < lt else f"must be less than {lt}"
    # As the OpenAPI document's JSON Schema reads it (patterns.py).
    pattern = re.compile(ecma_regex(constraint.regex))
    return lambda v: None if pattern.fullmatch(v) else f"must match {constraint.regex!r}"


def split_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    """``Annotated[int, Ge(0), x]`` -> ``(int, [Ge(0), x])``."""
    if get_origin(annotation) is Annotated:
        base, *extras = get_args(annotation)
        inner, more = split_annotated(base)
        return inner, [*more, *extras]
    return annotation, []


def _optional_inner(annotation: Any) -> Any | None:
    """``X | None`` -> ``X``; anything else -> None."""
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(get_args(annotation)) == 2:
            return args[0]
    return None


def check_constraints_fit(base: Any, extras: list[Any]) -> None:
    """Refuse, at startup, a constraint that cannot apply to its type
    (``Annotated[int, MinLen(1)]``) instead of failing on every request."""
    inner = _optional_inner(base)
    if inner is not None:
        base = split_annotated(inner)[0]
    origin = get_origin(base) or base
    sized = origin in (str, list, set, frozenset, tuple, dict)
    numeric = origin in (int, float) and origin is not bool
    for constraint in extras:
        if isinstance(constraint, MinLen | MaxLen) and not sized:
            wrong = "MinLen/MaxLen need a str, list or dict"
        elif isinstance(constraint, Ge | Gt | Le | Lt) and not numeric:
            wrong = "Ge/Gt/Le/Lt need an int or float"
        elif isinstance(constraint, Pattern) and origin is not str:
            wrong = "Pattern needs a str"
        else:
            continue
        raise ConfigurationError(f"{constraint!r} on {base!r}: {wrong}")


def constraints_only(extras: list[Any]) -> Callable[[Any], Any] | None:
    """A checker for a value already of the right type: its constraints only."""
    if not any(isinstance(c, Constraint) for c in extras):
        return None
    return _with_constraints(lambda value: value, extras)


def _with_constraints(convert: Callable[..., Any], extras: list[Any]) -> Callable[..., Any]:
    checks = [_constraint_check(c) for c in extras if isinstance(c, Constraint)]
    if not checks:
        return convert

    def checked(value: Any, *rest: Any) -> Any:
        result = convert(value, *rest)
        if result is INVALID:
            return result
        for check in checks:
            message = check(result)
            if message:
                raise ValueError(message)
        return result

    return checked


# -- text: path, query, header, cookie ----------------------------------------
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _text_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("must be a boolean (true/false, 1/0, yes/no, on/off)")


def _text_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("must be an integer") from None


def _text_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("must be a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    return value


def _text_uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValueError("must be a UUID") from None


def _text_datetime(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time") from None


def _text_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an ISO 8601 date (YYYY-MM-DD)") from None


def _text_enum(cls: type[enum.Enum]) -> Callable[[str], Any]:
    by_text = {str(member.value): member for member in cls}

    def convert(text: str) -> Any:
        try:
            return by_text[text]
        except KeyError:
            raise ValueError(f"must be one of {list(by_text)}") from None

    return convert


def _text_literal(choices: tuple[Any, ...]) -> Callable[[str], Any]:
    by_text = {str(choice).lower() if isinstance(choice, bool) else str(choice): choice
               for choice in choices}

    def convert(text: str) -> Any:
        try:
            return by_text[text]
        except KeyError:
            raise ValueError(f"must be one of {list(by_text)}") from None

    return convert


_TEXT_SCALARS: dict[Any, Callable[[str], Any]] = {
    str: str,
    int: _text_int,
    float: _text_float,
    bool: _text_bool,
    uuid.UUID: _text_uuid,
    dt.datetime: _text_datetime,
    dt.date: _text_date,
}


def is_text_type(annotation: Any) -> bool:
    """Can a value of this type be read from a query string or header?"""
    base, _ = split_annotated(annotation)
    inner = _optional_inner(base)
    if inner is not None:
        base, _ = split_annotated(inner)
    if get_origin(base) in (list, tuple, set, frozenset):
        args = get_args(base)
        return len(args) >= 1 and is_text_type(args[0])
    return (
        base in _TEXT_SCALARS
        or get_origin(base) is Literal
        or (isinstance(base, type) and issubclass(base, enum.Enum))
    )


def is_sequence_type(annotation: Any) -> bool:
    base, _ = split_annotated(annotation)
    base = _optional_inner(base) or base
    return get_origin(split_annotated(base)[0]) in (list, tuple, set, frozenset)


def compile_text(annotation: Any) -> Callable[[str], Any]:
    """A converter ``str -> value`` for one text value; raises ``ValueError``
    with a plain message. ``Optional`` is the caller's business (absence)."""
    base, extras = split_annotated(annotation)
    inner = _optional_inner(base)
    if inner is not None:
        check_constraints_fit(inner, extras)
        return compile_text(inner) if not extras else _with_constraints(compile_text(inner), extras)
    if base is Any or base is inspect_empty:
        convert: Callable[[str], Any] = str
    elif base in _TEXT_SCALARS:
        convert = _TEXT_SCALARS[base]
    elif get_origin(base) is Literal:
        convert = _text_literal(get_args(base))
    elif isinstance(base, type) and issubclass(base, enum.Enum):
        convert = _text_enum(base)
    else:
        raise ConfigurationError(
            f"{annotation!r} cannot be read from text; use str, int, float, bool, UUID, "
            "datetime, date, an Enum, a Literal, or Optional/list of these"
        )
    check_constraints_fit(base, extras)
    return _with_constraints(convert, extras)


def compile_text_list(annotation: Any) -> Callable[[list[str]], Any]:
    """For ``list[int]`` query parameters: every repeated value converted."""
    base, extras = split_annotated(annotation)
    base = _optional_inner(base) or base
    base, more = split_annotated(base)
    origin = get_origin(base)
    item = compile_text(get_args(base)[0])

    def convert(texts: list[str]) -> Any:
        return origin([item(t) for t in texts])

    return _with_constraints(convert, [*extras, *more])


# -- JSON bodies ---------------------------------------------------------------
JsonValidator = Callable[[Any, Loc, Errors, int], Any]


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), type(value).__name__)


def compile_json(annotation: Any, *, forbid_extra: bool = True) -> JsonValidator:
    """A validator ``(value, loc, errors, depth) -> value | INVALID`` for a JSON
    value. It appends to ``errors`` instead of raising, so that every problem in
    a body is reported at once."""
    base, extras = split_annotated(annotation)
    check_constraints_fit(base, extras)
    validator = _compile_json_base(base, forbid_extra)
    checks = [_constraint_check(c) for c in extras if isinstance(c, Constraint)]
    if not checks:
        return validator

    def checked(value: Any, loc: Loc, errors: Errors, depth: int) -> Any:
        result = validator(value, loc, errors, depth)
        if result is INVALID or result is None:  # None: an Optional left empty
            return result
        for check in checks:
            message = check(result)
            if message:
                errors.append(error(loc, message, "constraint"))
                return INVALID
        return result

    return checked


def _simple(kind: str, exact_type: type) -> JsonValidator:
    """Accept a value of exactly this JSON type: ``type(True) is bool``, so a
    boolean is not an int here, unlike ``isinstance``."""

    def validate(value: Any, loc: Loc, errors: Errors, depth: int) -> Any:
        if type(value) is exact_type:
            return value
        errors.append(error(loc, f"expected {kind}, got {_type_name(value)}", "type"))
        return INVALID

    return validate


def _from_string(kind: str, parse: Callable[[str], Any]) -> JsonValidator:
    def validate(value: Any, loc: Loc, errors: Errors, depth: int) -> Any:
        if isinstance(value, str):
            try:
                return parse(value)
            except ValueError as exc:
                errors.append(error(loc, str(exc), "value"))
                return INVALID
        errors.append(error(loc, f"expected {kind} as a string, got {_type_name(value)}", "type"))
        return INVALID

    return validate


def _any(value: Any, loc: Loc, errors: Errors, depth: int) -> Any:
    return value


def _number(value: Any, loc: Loc, errors: Errors, depth: int) -> Any:
    if type(value) is int:
        return float(value)
    if type(value) is float:
        # Python's json module reads NaN and Infinity, which JSON does not
        # have: refuse them, or they would break the JSON of the response.
        if math.isfinite(value):
            return value
        errors.append(error(loc, "must be a finite number", "value"))
        return INVALID
    errors.append(error(loc, f"expected a number, got {_type_name(value)}", "type"))
    return INVALID


# The leaf types, each with its one validator, built once and shared by every
# field of that type. An exact look-up: a bool is not an int, an IntEnum not an int.
_JSON_SCALARS: dict[type, JsonValidator] = {
    bool: _simple("a boolean", bool),
    int: _simple("an integer", int),
    float: _number,
    str: _simple("a string", str),
    type(None): _simple("null", type(None)),
    uuid.UUID: _from_string("a UUID", _text_uuid),
    dt.datetime: _from_string("a date-time", _text_datetime),
    dt.date: _from_string("a date", _text_date),
}


def _compile_json_base(base: Any, forbid_extra: bool) -> JsonValidator:
    """Pick the validator for one (un-Annotated) type: a leaf from the table
    above, or a container built around the validators of what it holds."""
    if base is Any or base is inspect_empty or base is object:
        return _any
    inner = _optional_inner(base)
    if inner is not None:
        return _optional(compile_json(inner, forbid_extra=forbid_extra))
    if isinstance(base, type) and base in _JSON_SCALARS:
        return _JSON_SCALARS[base]
    origin, args = get_origin(base), get_args(base)
    if origin is Literal:
        return _literal(args)
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return _enumeration(base)
    if origin in (list, set, frozenset) or (
        origin is tuple and len(args) == 2 and args[1] is Ellipsis  # tuple[X, ...]
    ):
        return _sequence(compile_json(args[0] if args else Any, forbid_extra=forbid_extra), origin)
    if origin is dict:
        key_type, value_type = args or (str, Any)
        if key_type is not str:
            raise ConfigurationError(f"{base!r}: JSON object keys are strings; use dict[str, ...]")
        return _mapping(compile_json(value_type, forbid_extra=forbid_extra))
    if origin is Union or origin is types.UnionType:
        return _union(base, [compile_json(a, forbid_extra=forbid_extra) for a in args])
    if dataclasses.is_dataclass(base) and isinstance(base, type):
        return _dataclass_validator(base, forbid_extra)
    raise ConfigurationError(
        f"{base!r} cannot be validated from JSON; use dataclasses, lists, dicts and "
        "str/int/float/bool/UUID/datetime/date/Enum/Literal fields"
    )


def _optional(inner: JsonValidator) -> JsonValidator:
    def optional(value: Any, loc: Loc, errors: Errors, depth: int) -> Any:
        return None if value is None else inner(value, loc, errors, depth)

    return optional


def _literal(choices: tuple[Any, ...]) -> JsonValidator:
    def literal(value: Any, loc: Loc, errors: Errors, depth: int) -> Any:
        for choice in choices:
            if value == choice and type(value) is type(choice):
                return choice
        errors.append(error(loc, f"must be one of {list(choices)}", "value"))
        return INVALID

    return literal


def _enumeration(cls: type[enum.Enum]) -> JsonValidator:
    members = list(cls)

    def enumeration(value: Any, loc: Loc, errors: Errors, depth: int) -> Any:
        for member in members:
            if value == member.value and type(value) is type(member.value):
                return member
        errors.append(error(loc, f"must be one of {[m.value for m in members]}", "value"))
        return INVALID

    return enumeration


def _mapping(item: JsonValidator) -> JsonValidator:
    def mapping(value: Any, loc: Loc, errors: Errors, depth: int) -> Any:
        if type(value) is not dict:
            errors.append(error(loc, f"expected an object, got {_type_name(value)}", "type"))
            return INVALID
        if depth >= MAX_DEPTH:
            errors.append(error(loc, f"nested deeper than {MAX_DEPTH} levels", "depth"))
            return INVALID
        out = {k: item(v, (*loc, k), errors, depth + 1) for k, v in value.items()}
        return INVALID if any(v is INVALID for v in out.values()) else out

    return mapping


def _union(base: Any, options: list[JsonValidator]) -> JsonValidator:
    def union(value: Any, loc: Loc, errors: Errors, depth: int) -> Any:
        for option in options:
            attempt: Errors = []
            result = option(value, loc, attempt, depth)
            if not attempt:
                return result
        errors.append(error(loc, f"does not match {base}", "type"))
        return INVALID

    return union


def _sequence(item: JsonValidator, origin: Any) -> JsonValidator:
    def sequence(value: Any, loc: Loc, errors: Errors, depth: int) -> Any:
        if type(value) is not list:
            errors.append(error(loc, f"expected an array, got {_type_name(value)}", "type"))
            return INVALID
        if len(value) > MAX_ITEMS:
            errors.append(error(loc, f"has more than {MAX_ITEMS} items", "length"))
            return INVALID
        if depth >= MAX_DEPTH:
            errors.append(error(loc, f"nested deeper than {MAX_DEPTH} levels", "depth"))
            return INVALID
        before = len(errors)
        out = [item(v, (*loc, i), errors, depth + 1) for i, v in enumerate(value)]
        if len(errors) > before:
            return INVALID
        return out if origin is list else origin(out)

    return sequence


# The dataclass validators being compiled right now: a recursive type (a tree
# whose nodes hold a ``list[Node]``) gets the validator under construction
# instead of compiling itself forever. MAX_DEPTH then bounds the recursion.
_COMPILING: dict[tuple[type, bool, bool], JsonValidator] = {}

# Dataclass validators are written out as straight-line code (straight_line.py).
# False builds the interpreted ones below instead: the reference that the tests
# compare the compiled ones with.
STRAIGHT_LINE = True


def json_scalar_validator(validator: JsonValidator) -> Any:
    """The type whose shared leaf validator ``validator`` is (``Any`` for
    ``_any``), or None: straight_line.py inlines the test for these."""
    if validator is _any:
        return Any
    for kind, shared in _JSON_SCALARS.items():
        if validator is shared:
            return kind
    return None


def _dataclass_validator(cls: type, forbid_extra: bool) -> JsonValidator:
    straight = STRAIGHT_LINE
    compiling = _COMPILING.get((cls, forbid_extra, straight))
    if compiling is not None:
        return compiling
    fields = [f for f in dataclasses.fields(cls) if f.init]
    plan: list[tuple[str, JsonValidator, Any, Any]] = []  # filled below, read per request
    known = frozenset(f.name for f in fields)
    missing = dataclasses.MISSING

    def validate(value: Any, loc: Loc, errors: Errors, depth: int) -> Any:
        if type(value) is not dict:
            errors.append(error(loc, f"expected an object, got {_type_name(value)}", "type"))
            return INVALID
        if depth >= MAX_DEPTH:
            errors.append(error(loc, f"nested deeper than {MAX_DEPTH} levels", "depth"))
            return INVALID
        before = len(errors)
        kwargs: dict[str, Any] = {}
        for name, validator, default, factory in plan:
            if name in value:
                kwargs[name] = validator(value[name], (*loc, name), errors, depth + 1)
            elif default is not missing:
                kwargs[name] = default
            elif factory is not missing:
                kwargs[name] = factory()
            else:
                errors.append(error((*loc, name), "field required", "missing"))
        if forbid_extra:
            for name in value:
                if name not in known:
                    errors.append(error((*loc, name), "unknown field", "extra"))
        if len(errors) > before:
            return INVALID
        try:
            return cls(**kwargs)
        except (ValueError, TypeError) as exc:
            # A check in the dataclass's own __post_init__ is validation too.
            errors.append(error(loc, str(exc) or type(exc).__name__, "value"))
            return INVALID

    # A recursive field finds this while the plan is built; once the
    # straight-line validator exists, ``compiled`` forwards to it.
    compiled: list[JsonValidator] = []

    def forward(value: Any, loc: Loc, errors: Errors, depth: int) -> Any:
        return compiled[0](value, loc, errors, depth)

    _COMPILING[(cls, forbid_extra, straight)] = forward if straight else validate
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
        for f in fields:
            validator = compile_json(hints[f.name], forbid_extra=forbid_extra)
            plan.append((f.name, validator, f.default, f.default_factory))
    finally:
        del _COMPILING[(cls, forbid_extra, straight)]
    if not straight:
        return validate
    from minimal_asgi.straight_line import compile_dataclass  # it imports this module

    compiled.append(compile_dataclass(cls, plan, known, forbid_extra, validate))
    return compiled[0]

"""Path parameter converters: ``{name}``, ``{name:int}``, ``{name:float}``,
``{name:uuid}``, ``{name:path}``.

A converter turns one path segment into a Python value (raising ``ValueError``
if the segment does not fit, so the router can try another branch) and turns a
value back into a segment for ``url_path_for``.
"""

from __future__ import annotations

import decimal
import math
import re
import uuid
from typing import Any, ClassVar
from urllib.parse import quote

__all__ = ["CONVERTORS", "Convertor"]


class Convertor:
    name: ClassVar[str]
    # Lower is tried first when several parameters could match the same
    # segment: the narrowest type wins ("12" is an int before it is a str).
    priority: ClassVar[int]

    def convert(self, segment: str) -> Any:
        raise NotImplementedError

    def to_string(self, value: Any) -> str:
        raise NotImplementedError


class StringConvertor(Convertor):
    name, priority = "str", 30

    def convert(self, segment: str) -> str:
        if not segment:
            raise ValueError("empty segment")
        return segment

    def to_string(self, value: Any) -> str:
        text = str(value)
        if not text or "/" in text:
            raise ValueError(
                f"{text!r} cannot fill a {{...}} segment (empty or contains '/'); "
                "use a {name:path} parameter for values with slashes"
            )
        return quote(text, safe="")


_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


# The largest {name:int}: a signed 64-bit integer, what a database id column
# (PostgreSQL BIGINT, SQLite INTEGER) can hold. A larger segment is no int for
# the router (so, usually, a 404), rather than a value no database accepts.
INT_MAX = 2**63 - 1


class IntegerConvertor(Convertor):
    """ASCII digits, 0 to ``INT_MAX`` (documented as int64 in OpenAPI)."""

    name, priority = "int", 10

    def convert(self, segment: str) -> int:
        # str.isdigit() alone accepts "²" and Arabic-Indic digits; a URL wants
        # ASCII digits only (two C-level checks, faster than a regex).
        if not (segment.isascii() and segment.isdigit()):
            raise ValueError(segment)
        # PERF: 18 digits or fewer are always below INT_MAX: one len() on the
        # usual id; the range check (and 19 digits' int()) only for long ones.
        if len(segment) <= 18:
            return int(segment)
        if len(segment) > 19 or int(segment) > INT_MAX:
            raise ValueError(f"larger than {INT_MAX}")
        return int(segment)

    def to_string(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT_MAX:
            raise ValueError(f"{value!r} is not an int from 0 to {INT_MAX}")
        return str(value)


class FloatConvertor(Convertor):
    name, priority = "float", 12

    def convert(self, segment: str) -> float:
        if not _DECIMAL.fullmatch(segment):
            raise ValueError(segment)
        value = float(segment)
        if value == math.inf:  # 400 nines: a float, but one no JSON can carry
            raise ValueError("too large for a float")
        return value

    def to_string(self, value: Any) -> str:
        number = float(value)
        if number < 0 or not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite non-negative number")
        text = repr(number + 0.0)  # + 0.0 turns -0.0, which would not match, into 0.0
        if not _DECIMAL.fullmatch(text):  # 1e-07, 5e-324, 1e+16 and friends
            # The shortest digits that round-trip (repr's), written out without
            # an exponent; keep a ".0" so the segment never reads as an int.
            text = format(decimal.Decimal(text), "f")
            text += "" if "." in text else ".0"
        return text


class UUIDConvertor(Convertor):
    name, priority = "uuid", 11

    def convert(self, segment: str) -> uuid.UUID:
        if not _UUID.fullmatch(segment):
            raise ValueError(segment)
        return uuid.UUID(segment)

    def to_string(self, value: Any) -> str:
        return str(uuid.UUID(str(value)))


class PathConvertor(Convertor):
    """Matches the rest of the path, slashes included; only allowed last."""

    name, priority = "path", 40

    def convert(self, segment: str) -> str:
        return segment

    def to_string(self, value: Any) -> str:
        return quote(str(value), safe="/")


CONVERTORS: dict[str, Convertor] = {
    c.name: c()
    for c in (StringConvertor, IntegerConvertor, FloatConvertor, UUIDConvertor, PathConvertor)
}

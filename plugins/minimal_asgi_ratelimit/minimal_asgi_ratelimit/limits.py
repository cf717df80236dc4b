"""Limits: "10/minute" read once, at startup, into a ``Limit``.

A limit is a quota ``amount`` per ``window`` and the algorithm that enforces
it. Several limits can guard one thing at once - "100/hour; 5/second" - and a
hit is allowed only when every one of them allows it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from minimal_asgi import ConfigurationError

__all__ = ["ALGORITHMS", "Algorithm", "Limit", "LimitSpec", "parse_limits"]

Algorithm = Literal["fixed-window", "sliding-window", "gcra"]
ALGORITHMS: tuple[Algorithm, ...] = ("fixed-window", "sliding-window", "gcra")

# Seconds in each unit a limit may name; "10/minute", "10 per 2 minutes", "10/30s".
_UNITS = {
    "s": 1, "second": 1, "sec": 1,
    "m": 60, "minute": 60, "min": 60,
    "h": 3600, "hour": 3600,
    "d": 86400, "day": 86400,
}
_LIMIT = re.compile(r"\s*(\d+)\s*(?:/|per)\s*(\d+)?\s*([a-z]+)\s*")


@dataclass(frozen=True, slots=True)
class Limit:
    """``amount`` hits per ``window`` seconds, enforced by ``algorithm``.

    ``name`` is how the limit is shown to clients (the policy name in the
    ``RateLimit`` headers and in a 429); it defaults to the text it was read
    from, like ``"10/minute"``.
    """

    amount: int
    window: int
    algorithm: Algorithm = "sliding-window"
    name: str = ""
    # Derived once, here: read on every decision.
    window_ms: int = field(init=False, repr=False, compare=False)
    id: str = field(init=False, repr=False, compare=False)  # tells its counter apart
    sf_name: bytes = field(init=False, repr=False, compare=False)  # the name, for headers

    def __post_init__(self) -> None:
        if self.amount < 1 or self.window < 1:
            raise ConfigurationError(
                f"a rate limit needs at least 1 hit per at least 1 second, not "
                f"{self.amount}/{self.window}s"
            )
        if self.algorithm not in ALGORITHMS:
            raise ConfigurationError(
                f"unknown rate-limit algorithm {self.algorithm!r}; choose one of "
                + ", ".join(repr(a) for a in ALGORITHMS)
            )
        if not self.name:
            object.__setattr__(self, "name", f"{self.amount}/{self.window}s")
        object.__setattr__(self, "window_ms", self.window * 1000)
        object.__setattr__(self, "id", f"{self.algorithm}:{self.amount}:{self.window}")
        object.__setattr__(self, "sf_name", _sf_string(self.name))


# What a user may write where a limit is expected.
LimitSpec = str | Limit | Sequence[str | Limit]


def parse_limits(spec: LimitSpec, algorithm: Algorithm = "sliding-window") -> tuple[Limit, ...]:
    """``"100/hour; 5/second"`` -> two ``Limit``s; a ``Limit`` or a list is
    taken as it is. Raises ``ConfigurationError`` naming what could not be read."""
    if isinstance(spec, Limit):
        return (spec,)
    if isinstance(spec, str):
        parts = [p for p in re.split(r"[;,]", spec) if p.strip()]
        if not parts:
            raise ConfigurationError(f"empty rate limit {spec!r}; write it like '10/minute'")
        return tuple(_parse_one(part, algorithm) for part in parts)
    limits: list[Limit] = []
    for item in spec:
        limits.extend(parse_limits(item, algorithm))
    if not limits:
        raise ConfigurationError(
            "an empty list of rate limits; give at least one, like '10/minute'"
        )
    return tuple(limits)


def _parse_one(text: str, algorithm: Algorithm) -> Limit:
    match = _LIMIT.fullmatch(text.lower())
    unit = match and _unit_seconds(match.group(3))
    if match is None or unit is None:
        raise ConfigurationError(
            f"cannot read the rate limit {text.strip()!r}; write it like '10/minute', "
            "'100/hour', '5/second' or '10 per 30 seconds' (units: second, minute, hour, day)"
        )
    count = int(match.group(2) or 1)
    return Limit(int(match.group(1)), count * unit, algorithm, name=text.strip())


def _unit_seconds(word: str) -> int | None:
    if word in _UNITS:
        return _UNITS[word]
    # A plural ("minutes"); but "ms" is not "m" (minutes) in the plural.
    if len(word) > 2 and word.endswith("s"):
        return _UNITS.get(word[:-1])
    return None


def _sf_string(text: str) -> bytes:
    """A Structured Field string (RFC 9651): printable ASCII in quotes, with
    ``"`` and ``\\`` escaped. The name is sent in headers, so it is checked here."""
    if not all(0x20 <= ord(c) <= 0x7E for c in text):
        raise ConfigurationError(
            f"rate limit name {text!r}: use printable ASCII only (it is sent in a header)"
        )
    return ('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"').encode("ascii")

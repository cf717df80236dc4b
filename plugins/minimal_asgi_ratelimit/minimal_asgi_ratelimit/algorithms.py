"""The three algorithms, as plain functions of (state, now): the arithmetic.

Each takes what is stored for one key under one limit (``None`` if nothing),
the time in milliseconds and the cost of the hit, and returns an ``Outcome``
and the state to store - or ``None`` when the hit is refused, which changes
nothing. The in-memory backend calls them directly; ``redis_backend.py``
runs the same arithmetic in Lua, inside Redis, and the contract tests check
that both give the same answers.

- **fixed window**: a counter per window (``now // window``). Cheap and easy
  to explain; a client can spend its quota at the end of one window and again
  at the start of the next - twice the limit within a few seconds.
- **sliding window counter**: the current window's count plus the previous
  window's, weighted by how much of it still overlaps the last ``window``
  seconds. Smooths the edge burst with two integers of state.
- **GCRA** (the generic cell rate algorithm, a token bucket written as one
  timestamp): hits are spaced ``window / amount`` apart on average, with a
  burst of up to ``amount``; the state is the "theoretical arrival time" of
  the next hit.

The windows use integer milliseconds, so the answer "retry after N ms" is
exact: a retry at that moment is allowed.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from minimal_asgi_ratelimit.limits import Limit

__all__ = ["ALGORITHM_FUNCTIONS", "Decision", "Outcome", "State", "decide"]

State = tuple[float, ...]


class Outcome(NamedTuple):
    """One limit's answer to one hit.

    ``remaining``: hits still allowed now (after this one, if it was allowed);
    never below 0. ``reset_ms``: milliseconds until the quota is replenished
    (never more than the window). ``retry_ms``: for a refused hit, how long
    until the same hit would be allowed; 0 when allowed.

    A named tuple rather than a dataclass - PERF: made on every decision, and
    a tuple is made in a third of the time a frozen dataclass takes.
    """

    limit: Limit
    allowed: bool
    remaining: int
    reset_ms: int
    retry_ms: int


class Decision(NamedTuple):
    """The answer to one hit against all of its limits: allowed only if every
    limit allows it (and then every limit counts it)."""

    allowed: bool
    outcomes: tuple[Outcome, ...]

    @property
    def retry_after(self) -> int:
        """Whole seconds until a retry is allowed (0 when allowed), rounded up:
        what ``Retry-After`` says."""
        waits = [o.retry_ms for o in self.outcomes if not o.allowed]
        return -(-max(waits) // 1000) if waits else 0

    @property
    def violated(self) -> tuple[Limit, ...]:
        return tuple(o.limit for o in self.outcomes if not o.allowed)


# PERF: tuple.__new__(Outcome, (...)) makes the named tuple without the Python-level
# __new__ that Outcome(...) calls: about half the cost, on every decision.
_new = tuple.__new__


def fixed_window(
    state: State | None, now: int, limit: Limit, cost: int
) -> tuple[Outcome, State | None, int]:
    window, amount = limit.window_ms, limit.amount
    index = now // window
    count = int(state[1]) if state is not None and state[0] == index else 0
    reset = (index + 1) * window - now
    if count + cost <= amount:
        outcome = _new(Outcome, (limit, True, amount - count - cost, reset, 0))
        return outcome, (index, count + cost), reset
    return _new(Outcome, (limit, False, max(0, amount - count), reset, reset)), None, 0


def sliding_window(
    state: State | None, now: int, limit: Limit, cost: int
) -> tuple[Outcome, State | None, int]:
    window, amount = limit.window_ms, limit.amount
    index = now // window
    elapsed = now - index * window
    current = previous = 0
    if state is not None and state[0] == index:
        current, previous = int(state[1]), int(state[2])
    elif state is not None and state[0] == index - 1:
        previous = int(state[1])
    # Everything times `window`, to stay in integers: the estimate of hits in
    # the last `window` ms is previous * (window - elapsed) / window + current.
    used = previous * (window - elapsed) + current * window
    reset = window - elapsed
    if used + cost * window <= amount * window:
        left = (amount * window - used - cost * window) // window
        # Kept until the end of the next window, where it still weighs as "previous".
        return (
            _new(Outcome, (limit, True, left, reset, 0)),
            (index, current + cost, previous),
            2 * window - elapsed,
        )
    left = max(0, (amount * window - used) // window)
    if current + cost <= amount:
        # Wait in this window until enough of the previous one has slid out.
        until = window - (amount - current - cost) * window // previous
        retry = max(1, until - elapsed)
    elif cost <= amount:
        # Wait for the next window, where this one's count is "previous".
        until = window - (amount - cost) * window // current
        retry = reset + max(0, until)
    else:
        retry = 2 * window  # a hit dearer than the whole quota is never allowed
    return _new(Outcome, (limit, False, left, reset, retry)), None, 0


def gcra(
    state: State | None, now: int, limit: Limit, cost: int
) -> tuple[Outcome, State | None, int]:
    window, amount = limit.window_ms, limit.amount
    interval = window / amount  # the average spacing of hits
    tat = max(state[0], now) if state is not None else now
    new_tat = tat + interval * cost
    if new_tat - now <= window:
        left = math.floor((now + window - new_tat) / interval)
        reset = math.ceil(new_tat - now)
        return _new(Outcome, (limit, True, max(0, left), reset, 0)), (new_tat,), reset
    left = max(0, math.floor((now + window - tat) / interval))
    retry = math.ceil(new_tat - window - now)
    reset = min(window, math.ceil(tat - now))
    return _new(Outcome, (limit, False, left, reset, retry)), None, 0


ALGORITHM_FUNCTIONS = {
    "fixed-window": fixed_window,
    "sliding-window": sliding_window,
    "gcra": gcra,
}


def decide(
    states: list[State | None], now: int, limits: tuple[Limit, ...], cost: int
) -> tuple[Decision, list[tuple[State, int]] | None]:
    """All limits at once: the decision, and the states to store with their
    time to live - or ``None`` when the hit is refused (nothing is counted,
    so a refused hit does not use up another limit's quota)."""
    outcomes = []
    writes: list[tuple[State, int]] = []
    for state, limit in zip(states, limits, strict=True):
        outcome, new_state, ttl = ALGORITHM_FUNCTIONS[limit.algorithm](state, now, limit, cost)
        outcomes.append(outcome)
        if new_state is not None:
            writes.append((new_state, ttl))
    if all(o.allowed for o in outcomes):
        return Decision(True, tuple(outcomes)), writes
    # Refused: nothing is counted, so the limits that would have allowed the hit
    # still have what they had before it.
    kept = [o._replace(remaining=o.remaining + cost) if o.allowed else o for o in outcomes]
    return Decision(False, tuple(kept)), None

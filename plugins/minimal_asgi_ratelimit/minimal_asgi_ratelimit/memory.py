"""The in-memory backend: counters in a dict, for one process.

Every decision runs without an ``await`` between reading a counter and
writing it back, so on one event loop it is atomic without a lock. But the
counters live in *this* process: with two workers (``--workers 2``, or two
containers) each has its own, and a "5/minute" limit lets 10 through. Use
the Redis backend as soon as there is more than one process.

Memory is bounded: at most ``max_keys`` counters are kept; when full, the
least recently used one is dropped (an idle client's counter, usually), and
expired ones count as absent.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from minimal_asgi_ratelimit.algorithms import ALGORITHM_FUNCTIONS, Decision, State, decide
from minimal_asgi_ratelimit.limits import Limit

__all__ = ["MemoryBackend"]


_time_ns = time.time_ns


class MemoryBackend:
    """Counters in this process. ``clock`` returns the time in milliseconds
    (tests pass their own to step across window edges); by default, the
    system's."""

    def __init__(self, max_keys: int = 100_000, clock: Callable[[], int] | None = None) -> None:
        if max_keys < 1:
            raise ValueError("MemoryBackend(max_keys=...) must be at least 1")
        self.max_keys = max_keys
        self.clock = clock
        # (key, limit id) -> (expires at, in ms; the algorithm's state)
        self._entries: OrderedDict[tuple[str, str], tuple[int, State]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def hit(self, key: str, limits: tuple[Limit, ...], cost: int = 1) -> Decision:
        return self.hit_now(key, limits, cost)

    def hit_now(self, key: str, limits: tuple[Limit, ...], cost: int = 1) -> Decision:
        """The decision, synchronously (the whole of ``hit``)."""
        # PERF: without a clock of its own, the time is read inline - a Python
        # function call would be a tenth of the whole decision.
        clock = self.clock
        now = _time_ns() // 1_000_000 if clock is None else clock()
        entries = self._entries
        if len(limits) == 1:
            # PERF: one limit is the common case; no lists, no second loop.
            limit = limits[0]
            name = (key, limit.id)
            entry = entries.get(name)
            state = entry[1] if entry is not None and entry[0] > now else None
            outcome, new_state, ttl = ALGORITHM_FUNCTIONS[limit.algorithm](
                state, now, limit, cost
            )
            if new_state is not None:
                entries[name] = (now + ttl, new_state)
                entries.move_to_end(name)
                if len(entries) > self.max_keys:
                    entries.popitem(last=False)
            return tuple.__new__(Decision, (outcome.allowed, (outcome,)))  # PERF: as Outcome
        names = [(key, limit.id) for limit in limits]
        states: list[State | None] = []
        for name in names:
            entry = entries.get(name)
            states.append(entry[1] if entry is not None and entry[0] > now else None)
        decision, writes = decide(states, now, limits, cost)
        if writes is not None:
            for name, (state, ttl) in zip(names, writes, strict=True):
                entries[name] = (now + ttl, state)
                entries.move_to_end(name)
            while len(entries) > self.max_keys:
                entries.popitem(last=False)
        return decision

    def clear(self) -> None:
        """Forget every counter (tests, or a deliberate reset)."""
        self._entries.clear()

    async def aclose(self) -> None:
        self.clear()

"""Exercise 17, solved: a token bucket per key, refilled by arithmetic, not timers."""

import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self, rate: float, capacity: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.capacity, self.clock = rate, capacity, clock
        self.buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def _tokens(self, key: str) -> float:
        """The key's tokens now: what it had, plus what has dripped in since."""
        now = self.clock()
        tokens, then = self.buckets.get(key, (float(self.capacity), now))
        tokens = min(float(self.capacity), tokens + (now - then) * self.rate)
        self.buckets[key] = (tokens, now)
        return tokens

    def allow(self, key: str) -> bool:
        tokens = self._tokens(key)
        if tokens < 1:
            return False
        self.buckets[key] = (tokens - 1, self.buckets[key][1])
        return True

    def retry_after(self, key: str) -> float:
        missing = 1 - self._tokens(key)
        return max(0.0, missing / self.rate)

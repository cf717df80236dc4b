"""Exercise 17: replace a fixed window with a token bucket. See README.md."""

import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self, rate: float, capacity: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.capacity, self.clock = rate, capacity, clock
        self.windows: dict[str, tuple[int, int]] = {}  # key -> (second, requests in it)

    # TODO: this is a fixed window, not a bucket.
    def allow(self, key: str) -> bool:
        second = int(self.clock())
        window, used = self.windows.get(key, (second, 0))
        if window != second:
            window, used = second, 0
        if used >= self.capacity:
            return False
        self.windows[key] = (window, used + 1)
        return True

    def retry_after(self, key: str) -> float:
        second = int(self.clock())
        window, used = self.windows.get(key, (second, 0))
        if window != second or used < self.capacity:
            return 0.0
        return second + 1 - self.clock()

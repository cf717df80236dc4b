"""Exercise 25: a retry policy with capped, jittered backoff. See README.md."""

import random as _random
from collections.abc import Callable


def backoff(
    attempt: int,
    base: float = 0.5,
    cap: float = 60.0,
    random: Callable[[], float] = _random.random,
) -> float:
    return base * 2**attempt  # TODO: the first retry waits up to base; a cap; full jitter


def next_step(attempt: int, max_attempts: int) -> str:
    return "retry" if attempt <= max_attempts else "dead-letter"  # TODO: count the runs

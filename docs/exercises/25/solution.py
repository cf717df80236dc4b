"""Exercise 25, solved: capped exponential backoff with full jitter, and a dead letter."""

import random as _random
from collections.abc import Callable


def backoff(
    attempt: int,
    base: float = 0.5,
    cap: float = 60.0,
    random: Callable[[], float] = _random.random,
) -> float:
    # 2 ** (attempt - 1) is an int: exact and unbounded. Python compares an int
    # with a float exactly, without converting it; only a doubling below the
    # cap is ever multiplied into a float, so no attempt number overflows.
    doubling = 2 ** max(attempt - 1, 0)
    ceiling = cap if doubling >= cap / base else base * doubling
    # Full jitter: anywhere from 0 to the ceiling, so workers that failed
    # together spread their retries out instead of failing together again.
    return random() * ceiling


def next_step(attempt: int, max_attempts: int) -> str:
    return "retry" if attempt < max_attempts else "dead-letter"

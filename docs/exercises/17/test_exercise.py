"""Exercise 17: a token bucket, driven by a clock the test moves."""

from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_new_key_may_burst_up_to_capacity(exercise: ModuleType) -> None:
    limiter = exercise.TokenBucket(rate=1, capacity=3, clock=Clock())
    assert [limiter.allow("ada") for _ in range(4)] == [True, True, True, False]


def test_tokens_drip_back_at_the_rate(exercise: ModuleType) -> None:
    clock = Clock()
    limiter = exercise.TokenBucket(rate=2, capacity=2, clock=clock)
    assert limiter.allow("ada") and limiter.allow("ada")
    assert not limiter.allow("ada")
    assert limiter.retry_after("ada") == pytest.approx(0.5)
    clock.now += 0.25
    assert not limiter.allow("ada")
    assert limiter.retry_after("ada") == pytest.approx(0.25)
    clock.now += 0.25
    assert limiter.retry_after("ada") == pytest.approx(0.0)
    assert limiter.allow("ada")
    assert not limiter.allow("ada")


def test_a_long_rest_refills_only_to_capacity(exercise: ModuleType) -> None:
    clock = Clock()
    limiter = exercise.TokenBucket(rate=1, capacity=3, clock=clock)
    for _ in range(3):
        limiter.allow("ada")
    clock.now += 3600
    assert [limiter.allow("ada") for _ in range(4)] == [True, True, True, False]


def test_keys_have_their_own_buckets(exercise: ModuleType) -> None:
    limiter = exercise.TokenBucket(rate=1, capacity=1, clock=Clock())
    assert limiter.allow("ada")
    assert not limiter.allow("ada")
    assert limiter.allow("grace")


def test_no_double_burst_across_a_second_boundary(exercise: ModuleType) -> None:
    clock = Clock(now=1000.9)
    limiter = exercise.TokenBucket(rate=1, capacity=3, clock=clock)
    first = sum(limiter.allow("ada") for _ in range(3))
    clock.now = 1001.0  # a tenth of a second later, in the next clock second
    second = sum(limiter.allow("ada") for _ in range(3))
    assert first + second == 3  # a fixed window lets 6 through here


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
@given(steps=st.lists(st.floats(min_value=0, max_value=2), min_size=1, max_size=40))
def test_never_more_than_capacity_plus_what_dripped_in(
    exercise: ModuleType, steps: list[float]
) -> None:
    clock = Clock()
    limiter = exercise.TokenBucket(rate=1.5, capacity=4, clock=clock)
    allowed = 0
    for step in steps:
        clock.now += step
        allowed += limiter.allow("ada")
    assert allowed <= 4 + 1.5 * (clock.now - 1000.0) + 1e-9

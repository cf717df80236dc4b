"""Exercise 25: jittered, capped, overflow-free backoff; a dead letter after max_attempts."""

from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def test_the_ceiling_doubles_from_base_then_stops_at_cap(exercise: ModuleType) -> None:
    ceilings = [exercise.backoff(n, base=0.5, cap=6, random=lambda: 1.0) for n in range(1, 7)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 6, 6]


def test_full_jitter_spreads_from_zero_to_the_ceiling(exercise: ModuleType) -> None:
    assert exercise.backoff(4, base=1, cap=60, random=lambda: 0.0) == 0.0
    assert exercise.backoff(4, base=1, cap=60, random=lambda: 0.25) == pytest.approx(2.0)
    draws = iter([0.1, 0.9])
    first, second = (exercise.backoff(3, base=1, random=lambda: next(draws)) for _ in range(2))
    assert first != second  # two workers, two different waits


def test_a_huge_attempt_number_is_capped_not_an_overflow(exercise: ModuleType) -> None:
    assert exercise.backoff(5000, base=0.5, cap=60, random=lambda: 1.0) == 60


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    draw=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_every_delay_is_between_zero_and_cap(
    exercise: ModuleType, attempt: int, draw: float
) -> None:
    assert 0 <= exercise.backoff(attempt, base=0.5, cap=30, random=lambda: draw) <= 30


def test_three_runs_then_the_dead_letter_queue(exercise: ModuleType) -> None:
    steps = [exercise.next_step(attempt, max_attempts=3) for attempt in (1, 2, 3)]
    assert steps == ["retry", "retry", "dead-letter"]
    assert exercise.next_step(1, max_attempts=1) == "dead-letter"

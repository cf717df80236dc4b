"""Exercise 32: the same durations accepted; every refusal says what to do."""

from types import ModuleType

import pytest


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("250ms", 0.25), ("1h30m", 5400), ("1m500ms", 60.5)],
)
def test_durations_are_read(exercise: ModuleType, text: str, seconds: float) -> None:
    assert exercise.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("90 s", "' s'"),  # a space makes ' s' the unit: not one of ours
        ("90sec", "'sec'"),
        ("10d", "'d'"),
        ("90", "no unit"),
        ("30m1h", "largest first"),
        ("1h1h", "once"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_each_refusal_quotes_the_input_says_why_and_shows_what_works(
    exercise: ModuleType, text: str, says: str
) -> None:
    with pytest.raises(ValueError) as refused:
        exercise.parse_duration(text)
    message = str(refused.value)
    assert repr(text) in message
    assert says in message
    assert message.endswith("write e.g. '90s', '15m', '1h30m' or '250ms'")

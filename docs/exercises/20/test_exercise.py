"""Exercise 20: the numbers are the report's, and the ratio is recomputed from them."""

from pathlib import Path
from types import ModuleType

import pytest

REPORT = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "jwt_verify.md"


def row(label: str) -> tuple[float, float, float]:
    """(median, min, max) of one row of the report's table, parsed here on its own."""
    for line in REPORT.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"| {label} |"):
            cells = line.strip().strip("|").split("|")[1:]
            median, low, high = (float(c.strip().rstrip("x").replace(",", "")) for c in cells)
            return median, low, high
    raise AssertionError(f"{REPORT} has no row {label!r}: run python -m benchmarks.jwt_verify")


def test_the_report_says_where_it_came_from() -> None:
    text = REPORT.read_text(encoding="utf-8")
    assert "Command: `python -m benchmarks.jwt_verify`" in text
    assert "- machine:" in text and "- date (UTC):" in text


def test_the_rates_are_the_reports(exercise: ModuleType) -> None:
    assert row("HS256: ours, tokens per second")[0] == exercise.OURS_PER_SECOND
    assert row("HS256: PyJWT, tokens per second")[0] == exercise.PYJWT_PER_SECOND


def test_the_reported_ratio_is_the_reports_and_inside_its_range(exercise: ModuleType) -> None:
    median, low, high = row("HS256: ours / PyJWT, tokens verified per second")
    assert median == exercise.REPORTED_RATIO
    assert low <= exercise.REPORTED_RATIO <= high


def test_the_ratio_of_medians_is_recomputed(exercise: ModuleType) -> None:
    ours = row("HS256: ours, tokens per second")[0]
    theirs = row("HS256: PyJWT, tokens per second")[0]
    assert exercise.ratio_of_medians() == pytest.approx(ours / theirs)

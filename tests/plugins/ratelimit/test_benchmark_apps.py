"""The rate-limit benchmarks still build and answer correctly (nothing is timed)."""

from __future__ import annotations

import importlib

import pytest

from benchmarks import ratelimit_overhead


@pytest.mark.parametrize("script", ["ratelimit_overhead", "ratelimit_workers"])
def test_benchmark_script_imports(script: str) -> None:
    assert callable(importlib.import_module(f"benchmarks.{script}").main)


def test_every_overhead_case_answers_with_or_without_ratelimit_headers(redis_url: str) -> None:
    names = ratelimit_overhead.kinds()
    assert "redis" in names
    assert ratelimit_overhead.check_all(names) == []


@pytest.mark.anyio
async def test_the_two_worker_app_limits_search_and_not_whoami() -> None:
    from benchmarks import harness
    from benchmarks.apps import ratelimit_workers

    app = ratelimit_workers.app
    search = await harness.request_in_lifespan(app, harness.HTTPRequest(path="/search"))
    whoami = await harness.request_in_lifespan(app, harness.HTTPRequest(path="/whoami"))
    assert search.status == 200 and search.header("ratelimit") is not None
    assert whoami.status == 200 and whoami.header("ratelimit") is None


@pytest.mark.parametrize("case", ["bare", "memory:gcra", "decision:sliding-window", "harness"])
def test_the_count_child_calls_a_case_and_says_it_did(case: str) -> None:
    from benchmarks import harness

    cases = ratelimit_overhead._cases(["bare", "memory:gcra"])
    assert harness.count_child(["--count", case, "50"], cases)
    assert not harness.count_child(["--quick"], {})


"""The app whose worker the job-metrics test runs as a separate process:
``python -m minimal_asgi_jobs worker tests.plugins.metrics.jobs_app:jobs`` with
``PROMETHEUS_MULTIPROC_DIR`` set, JOBS_URL (Redis) and JOBS_QUEUE."""

from __future__ import annotations

import os
from collections import Counter

from minimal_asgi import App
from minimal_asgi_jobs import Jobs
from minimal_asgi_metrics import Metrics

jobs = Jobs(os.environ.get("JOBS_URL"), queue=os.environ.get("JOBS_QUEUE", "default"),
            retry_base=0.05, tick=0.1)
app = App(plugins=[Metrics(), jobs])
tries: Counter[str] = Counter()  # one worker process: its own count is the truth


@jobs.handler(max_attempts=5)
async def flaky(payload: dict[str, int]) -> None:
    """Fails its first ``failures`` tries, then succeeds."""
    tries["flaky"] += 1
    if tries["flaky"] <= payload["failures"]:
        raise RuntimeError(f"try {tries['flaky']} fails on purpose")


@jobs.handler(max_attempts=1)
async def doomed(payload: None) -> None:
    raise RuntimeError("always fails")

"""The job queue's counts on /metrics: in the app's process, and from a worker
that is a process of its own (prometheus-client's multiprocess directory)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import anyio

from minimal_asgi import App
from minimal_asgi.testing import TestClient
from minimal_asgi_jobs import Jobs
from minimal_asgi_metrics import Metrics
from tests.plugins.jobs.conftest import _cleanup
from tests.plugins.metrics.test_metrics import value

ROOT = Path(__file__).resolve().parents[3]
NAMES = ["enqueued", "duplicate", "succeeded", "retried", "dead"]
WAIT = 60.0  # generous: the machine is shared and slow at times


def counts(metrics: Metrics) -> dict[str, float]:
    text = metrics.render().decode()
    return {name: value(text, f"minimal_asgi_jobs_{name}_total") for name in NAMES}


def wait_for_counts(metrics: Metrics, until: dict[str, float]) -> dict[str, float]:
    deadline = time.monotonic() + WAIT
    while True:
        found = counts(metrics)
        if all(found[name] >= n for name, n in until.items()) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_the_job_counters_are_exported_at_zero_before_any_job() -> None:
    metrics = Metrics()
    with TestClient(App(plugins=[metrics, Jobs()])) as client:
        text = client.get("/metrics").text
    assert "# HELP minimal_asgi_jobs_retried_total failed tries scheduled to run again" in text
    assert counts(metrics) == dict.fromkeys(NAMES, 0.0)


def test_an_embedded_worker_counts_retries_dead_letters_and_duplicates() -> None:
    metrics = Metrics()
    jobs = Jobs(embedded_workers=2, retry_base=0.01, tick=0.02)
    app = App(plugins=[jobs, metrics])
    failures_left = [2]

    @jobs.handler(max_attempts=5)
    async def flaky(payload: None) -> None:
        if failures_left[0]:
            failures_left[0] -= 1
            raise RuntimeError("fails on purpose")

    @jobs.handler(max_attempts=2)
    async def doomed(payload: None) -> None:
        raise RuntimeError("always fails")

    @app.post("/jobs/{name}")
    async def enqueue(name: str, jobs: Jobs) -> dict[str, str | None]:
        return {"id": await jobs.enqueue(name, idempotency_key=f"once-{name}")}

    with TestClient(app) as client:
        for name in ["flaky", "doomed", "flaky"]:  # the second flaky is a duplicate
            assert client.post(f"/jobs/{name}").status_code == 200
        found = wait_for_counts(metrics, {"succeeded": 1, "dead": 1})
        text = client.get("/metrics").text
    assert "once-" not in text  # counted by name, never labelled by job id
    # flaky: 2 failed tries retried, then success; doomed: 1 retry, then dead.
    assert found == {"enqueued": 2, "duplicate": 1, "succeeded": 1, "retried": 3, "dead": 1}


def test_a_worker_process_counts_reach_the_apps_metrics(
    redis_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    """The worker (``python -m minimal_asgi_jobs worker``) and the web app share
    PROMETHEUS_MULTIPROC_DIR: the worker writes its counts there, and the app's
    /metrics - the ``Metrics`` made below, as the web process makes it - adds
    them in. One job fails twice then succeeds: 2 retries; one is dead-lettered."""
    queue = f"metrics-{uuid.uuid4().hex[:12]}"
    shared = tmp_path / "prometheus"
    shared.mkdir()
    log = tmp_path / "worker.log"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared), "JOBS_URL": redis_url,
           "JOBS_QUEUE": queue}
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "minimal_asgi_jobs", "worker",
             "tests.plugins.metrics.jobs_app:jobs", "--concurrency", "2"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:

        async def enqueue() -> None:
            async with Jobs(redis_url, queue=queue).started() as jobs:
                await jobs.enqueue("flaky", {"failures": 2})
                await jobs.enqueue("doomed")

        anyio.run(enqueue)
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
        found = wait_for_counts(Metrics(), {"succeeded": 1, "dead": 1})
        assert worker.poll() is None, log.read_text()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        anyio.run(_cleanup, redis_url, queue)
    # The enqueues happened in this test's process, which is not in
    # multiprocess mode: only the worker's counts are in the directory.
    assert found == {"enqueued": 0, "duplicate": 0, "succeeded": 1, "retried": 2, "dead": 1}, (
        log.read_text())
    assert any(name.startswith("counter_") for name in os.listdir(shared))

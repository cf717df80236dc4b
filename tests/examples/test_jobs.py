"""examples/jobs: the web app answers 202 at once, a real worker process
builds the report, the same Idempotency-Key queues it once."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from types import ModuleType

import anyio
import pytest

from minimal_asgi.testing import TestClient
from tests.plugins.jobs.conftest import _cleanup
from tests.plugins.jobs.support import ROOT


@pytest.fixture
def example(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    queue = f"test-{uuid.uuid4().hex[:12]}"
    prefix = f"test:{queue}:reports:"
    for name, value in {"REDIS_URL": redis_url, "JOBS_QUEUE": queue,
                        "REPORT_PREFIX": prefix, "REPORT_SECONDS": "0.5"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("JOBS_URL", raising=False)
    import examples.jobs.app as module

    yield importlib.reload(module)
    anyio.run(_cleanup, redis_url, queue)
    import redis

    with redis.Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)


def test_a_report_is_queued_at_once_and_built_by_a_worker_process(example: ModuleType) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-m", "minimal_asgi_jobs", "worker", "examples.jobs.app:jobs"],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with TestClient(example.app) as client:
            response = client.post("/reports?month=2026-11", headers={"Idempotency-Key": "nov"})
            assert response.status_code == 202
            assert response.json() == {"report": "nov", "queued": True, "url": "/reports/nov"}
            again = client.post("/reports?month=2026-11", headers={"Idempotency-Key": "nov"})
            assert again.json()["queued"] is False
            assert client.get("/reports/nov").json()["status"] == "pending"
            deadline = time.monotonic() + 60
            while (report := client.get("/reports/nov").json())["status"] != "done":
                assert time.monotonic() < deadline, "the worker never built the report"
                time.sleep(0.1)
            assert report["result"]["month"] == "2026-11"
    finally:
        worker.terminate()
        assert worker.wait(timeout=60) == 0  # SIGTERM: a graceful stop

"""The plugin inside an app: a broker that is down, the embedded worker, the
command line's dead-letter commands."""

from __future__ import annotations

import subprocess
import sys

import anyio
import pytest

from minimal_asgi import App, ConfigurationError
from minimal_asgi.testing import AsyncTestClient
from minimal_asgi_jobs import Jobs
from tests.plugins.jobs.conftest import started, until
from tests.plugins.jobs.support import ROOT, free_port

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
async def test_enqueue_with_the_broker_down_answers_503_not_500(scheme: str) -> None:
    jobs = Jobs(f"{scheme}://127.0.0.1:{free_port()}/")
    app = App(plugins=[jobs])

    @app.post("/orders")
    async def create(jobs: Jobs) -> dict:
        return {"job": await jobs.enqueue("send_receipt", {})}

    async with AsyncTestClient(app) as client:  # the app starts all the same
        response = await client.post("/orders")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert "cannot enqueue 'send_receipt'" in response.json()["detail"]


async def test_an_embedded_worker_runs_jobs_inside_the_app_process() -> None:
    jobs = Jobs(embedded_workers=2)
    ran: list[int] = []

    @jobs.handler()
    async def note(n: int) -> None:
        ran.append(n)

    app = App(plugins=[jobs])
    async with started(jobs, app):
        for n in range(5):
            await jobs.enqueue("note", n)
        await until(lambda: len(ran) == 5)
    assert sorted(ran) == list(range(5))


def test_options_are_checked_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="must start with redis://"):
        Jobs("postgres://localhost/db")
    with pytest.raises(ConfigurationError, match="max_attempts"):
        Jobs(max_attempts=0)


async def test_enqueue_refuses_a_negative_delay() -> None:
    jobs = Jobs()
    async with started(jobs):
        with pytest.raises(ValueError, match="must not be negative"):
            await jobs.enqueue("x", delay=-1)


def test_the_command_line_lists_and_requeues_dead_jobs(redis_url: str) -> None:
    import uuid

    from tests.plugins.jobs.conftest import _cleanup

    queue = f"test-{uuid.uuid4().hex[:12]}"

    async def bury_one() -> None:
        jobs = Jobs(redis_url, queue=queue, max_attempts=1)
        async with jobs.started():
            await jobs.enqueue("unknown_job", {"n": 1})
            worker = jobs.worker(1)
            async with anyio.create_task_group() as group:
                group.start_soon(worker.run)
                with anyio.fail_after(30):
                    while not await jobs.dead():
                        await anyio.sleep(0.05)
                worker.stop()

    anyio.run(bury_one)
    env = {"JOBS_URL": redis_url, "JOBS_QUEUE": queue, "PATH": ""}

    def cli(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "minimal_asgi_jobs", *args], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=60, check=True).stdout

    try:
        listing = cli("dead", "list", "tests.plugins.jobs.worker_app:jobs")
        assert "unknown_job" in listing and "no handler is registered" in listing
        dead_id = listing.split()[0]
        assert cli("dead", "requeue", "tests.plugins.jobs.worker_app:jobs", dead_id) == (
            f"{dead_id}: requeued\n")
        assert cli("dead", "list", "tests.plugins.jobs.worker_app:jobs") == ""
    finally:
        anyio.run(_cleanup, redis_url, queue)

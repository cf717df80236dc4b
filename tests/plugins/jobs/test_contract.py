"""One contract, every backend: each test runs on memory and on Redis (and on
RabbitMQ, see the ``make_jobs`` fixture)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable

import anyio
import pytest

from minimal_asgi.testing import AsyncTestClient
from minimal_asgi_jobs import Jobs
from tests.plugins.jobs.conftest import make_app, started, until, working

pytestmark = pytest.mark.anyio

MakeJobs = Callable[..., Jobs]


@dataclasses.dataclass
class Outbox:
    """A dependency the app provides; handlers get it injected."""

    sent: list[str] = dataclasses.field(default_factory=list)


async def test_a_job_enqueued_from_an_endpoint_runs_with_its_dependencies_injected(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs()
    outbox = Outbox()
    app = make_app(jobs)
    app.provide(Outbox, lambda: outbox)

    @jobs.handler("send_receipt")
    async def send_receipt(order: dict, box: Outbox) -> None:
        box.sent.append(order["email"])

    @app.post("/orders")
    async def create_order(jobs: Jobs) -> dict:
        return {"job": await jobs.enqueue("send_receipt", {"email": "a@example.com"})}

    async with AsyncTestClient(app) as client:
        response = await client.post("/orders")
        assert response.status_code == 200 and response.json()["job"]
        async with working(jobs) as worker:
            await until(lambda: worker.processed == 1)
        assert outbox.sent == ["a@example.com"]
        assert await jobs.dead() == []


async def test_a_sync_handler_runs_too(make_jobs: MakeJobs) -> None:
    jobs = make_jobs()
    seen: list[int] = []

    @jobs.handler()
    def add(n: int) -> None:
        seen.append(n)

    async with started(jobs), working(jobs) as worker:
        await jobs.enqueue("add", 7)
        await until(lambda: worker.processed == 1)
    assert seen == [7]


async def test_a_job_that_fails_twice_then_succeeds_is_retried_and_acked_once(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs(max_attempts=5)
    tries: list[int] = []
    done: list[str] = []

    @jobs.handler()
    async def flaky(payload: str) -> None:
        tries.append(1)
        if len(tries) <= 2:
            raise RuntimeError(f"failure {len(tries)}")
        done.append(payload)

    async with started(jobs), working(jobs) as worker:
        await jobs.enqueue("flaky", "x")
        await until(lambda: worker.processed == 1)
        await anyio.sleep(0.5)  # a second ack or a stray redelivery would show here
    assert len(tries) == 3 and done == ["x"] and worker.processed == 1
    async with started(jobs):
        assert await jobs.dead() == []


async def test_a_job_that_always_fails_is_dead_lettered_with_its_error_after_n_tries(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs()
    tries: list[int] = []

    @jobs.handler(max_attempts=3)
    async def doomed(payload: dict) -> None:
        tries.append(1)
        raise ValueError("the card was declined")

    async with started(jobs), working(jobs):
        job_id = await jobs.enqueue("doomed", {"order": 42})
        await until(lambda: len(tries) == 3)
        dead = []

        async def buried() -> None:
            while not dead:
                dead.extend(await jobs.dead())
                await anyio.sleep(0.05)

        with anyio.fail_after(10):
            await buried()
        await anyio.sleep(0.3)
    assert len(tries) == 3
    [entry] = dead
    assert entry.job.id == job_id and entry.job.payload == {"order": 42}
    assert entry.attempts == 3
    assert entry.error == "ValueError: the card was declined"


async def test_a_dead_job_requeued_runs_again_with_fresh_tries(make_jobs: MakeJobs) -> None:
    jobs = make_jobs()
    healthy = False
    done: list[str] = []

    @jobs.handler(max_attempts=1)
    async def charge(payload: str) -> None:
        if not healthy:
            raise ConnectionError("payment service down")
        done.append(payload)

    async with started(jobs), working(jobs):
        await jobs.enqueue("charge", "order-1")

        async def dead_ids() -> list[str]:
            return [dead.id for dead in await jobs.dead()]

        with anyio.fail_after(10):
            while not (ids := await dead_ids()):
                await anyio.sleep(0.05)
        healthy = True
        assert await jobs.requeue_dead(ids[0]) is True
        assert await jobs.requeue_dead(ids[0]) is False  # already gone
        await until(lambda: done == ["order-1"])
        assert await jobs.dead() == []


async def test_the_same_idempotency_key_enqueued_twice_runs_once(make_jobs: MakeJobs) -> None:
    jobs = make_jobs()
    runs: list[str] = []

    @jobs.handler()
    async def send(payload: str) -> None:
        runs.append(payload)

    async with started(jobs):
        first = await jobs.enqueue("send", "first", idempotency_key="order-7-receipt")
        second = await jobs.enqueue("send", "second", idempotency_key="order-7-receipt")
        assert first == "order-7-receipt" and second is None
        async with working(jobs) as worker:
            await until(lambda: worker.processed == 1)
            await anyio.sleep(0.3)
    assert runs == ["first"]


async def test_a_delayed_job_waits_for_its_time(make_jobs: MakeJobs) -> None:
    jobs = make_jobs()
    ran_at: list[float] = []

    @jobs.handler()
    async def later(payload: None) -> None:
        ran_at.append(anyio.current_time())

    async with started(jobs), working(jobs):
        start = anyio.current_time()
        await jobs.enqueue("later", delay=1.0)
        await until(lambda: bool(ran_at))
    assert ran_at[0] - start >= 1.0


async def test_stopping_a_worker_finishes_the_jobs_in_hand_and_takes_no_new_one(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs()
    began: list[int] = []
    finished: list[int] = []

    @jobs.handler()
    async def slow(n: int) -> None:
        began.append(n)
        await anyio.sleep(0.5)
        finished.append(n)

    async with started(jobs):
        for n in range(6):
            await jobs.enqueue("slow", n)
        async with working(jobs, concurrency=2) as worker:
            await until(lambda: len(began) == 2)
            worker.stop()
        # `working` has returned: the worker ended, after its jobs in hand.
        assert sorted(finished) == sorted(began) and len(began) == 2
        async with working(jobs, concurrency=4) as second:
            await until(lambda: second.processed == 4)
    assert sorted(finished) == list(range(6))  # none ran twice, none lost


async def test_a_job_with_no_handler_is_dead_lettered_not_retried(make_jobs: MakeJobs) -> None:
    jobs = make_jobs()
    async with started(jobs), working(jobs):
        await jobs.enqueue("nobody_handles_this", 1)
        with anyio.fail_after(10):
            while not (dead := await jobs.dead()):
                await anyio.sleep(0.05)
    assert "no handler" in dead[0].error


async def test_1000_jobs_enqueued_by_concurrent_requests_are_each_processed(
    make_jobs: MakeJobs,
) -> None:
    jobs = make_jobs()
    app = make_app(jobs)
    processed: Counter[int] = Counter()

    @jobs.handler()
    async def record(n: int) -> None:
        processed[n] += 1

    @app.post("/work/{n:int}")
    async def enqueue(n: int, jobs: Jobs) -> dict:
        return {"job": await jobs.enqueue("record", n, idempotency_key=f"work-{n}")}

    async with AsyncTestClient(app) as client:
        statuses: list[int] = []

        async def send(first: int) -> None:
            for n in range(first, 1000, 50):
                statuses.append((await client.post(f"/work/{n}")).status_code)

        async with anyio.create_task_group() as group:
            for first in range(50):  # 50 concurrent clients, 20 requests each
                group.start_soon(send, first)
        assert statuses == [200] * 1000
        async with working(jobs, concurrency=20):
            await until(lambda: len(processed) == 1000, timeout=60)
    assert set(processed) == set(range(1000))
    assert max(processed.values()) == 1  # no crash here, so no redelivery either


def test_a_handler_must_take_the_payload_first() -> None:
    from minimal_asgi import ConfigurationError

    jobs = Jobs()
    with pytest.raises(ConfigurationError, match="first parameter receives the payload"):

        @jobs.handler()
        async def nothing() -> None: ...


def test_a_handler_name_is_registered_once() -> None:
    from minimal_asgi import ConfigurationError

    jobs = Jobs()

    @jobs.handler("x")
    async def one(payload: None) -> None: ...

    with pytest.raises(ConfigurationError, match="registered twice"):

        @jobs.handler("x")
        async def two(payload: None) -> None: ...

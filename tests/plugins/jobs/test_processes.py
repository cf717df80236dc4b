"""The proofs that need real processes: workers started with
``python -m minimal_asgi_jobs worker ...``, killed with SIGKILL, stopped with
SIGTERM, and a broker restarted under them.

Handlers (worker_app.py) note each start and each finish in the shared Redis,
so the test can count runs whatever happens to the worker or the broker.
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
import redis

from minimal_asgi_jobs import Jobs
from tests.plugins.jobs.conftest import _cleanup
from tests.plugins.jobs.support import (
    PrivateRabbitMQ,
    PrivateRedis,
    Record,
    Workers,
    wait_for,
    worker_env,
)

LEASE = 2.0


def enqueue(url: str, queue: str, jobs: list[tuple[str, Any]], delay: float = 0) -> None:
    async def main() -> None:
        async with Jobs(url, queue=queue).started() as queue_:
            for name, payload in jobs:
                await queue_.enqueue(name, payload, delay=delay)

    anyio.run(main)


def waiting_and_pending(url: str, queue: str) -> tuple[int, int]:
    """Jobs ready for any worker, and jobs handed out but not acknowledged."""

    async def main() -> tuple[int, int]:
        if url.startswith("redis"):
            import redis.asyncio as aioredis

            async with aioredis.Redis.from_url(url) as client:
                stream = "{jobs:" + queue + "}:stream"
                pending = (await client.xpending(stream, "workers"))["pending"]
                return int(await client.xlen(stream)) - pending, pending
        import aio_pika

        async with await aio_pika.connect(url) as connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(f"jobs.{queue}", passive=True)
            ready = declared.declaration_result.message_count
            return ready, 0  # RabbitMQ counts only ready messages here

    return anyio.run(main)


def dead_letters(url: str, queue: str) -> list[Any]:
    async def main() -> list[Any]:
        async with Jobs(url, queue=queue).started() as jobs:
            return await jobs.dead()

    return anyio.run(main)


class Setup:
    def __init__(self, url: str, record: Record, queue: str, **env: str) -> None:
        self.url, self.record, self.queue = url, record, queue
        self.workers = Workers(worker_env(url, queue, record.prefix, JOBS_LEASE=str(LEASE), **env))


@pytest.fixture
def record(redis_url: str) -> Iterator[Record]:
    client = redis.Redis.from_url(redis_url)
    prefix = f"test-record-{uuid.uuid4().hex}"
    yield Record(client, prefix)
    client.delete(f"{prefix}:started", f"{prefix}:done")
    client.close()


@pytest.fixture(params=["redis", "rabbitmq"])
def setup(request: pytest.FixtureRequest, record: Record) -> Iterator[Callable[..., Setup]]:
    url = request.getfixturevalue("redis_url" if request.param == "redis" else "rabbitmq_url")
    made: list[Setup] = []

    def make(broker: str | None = None, **env: str) -> Setup:
        made.append(Setup(broker or url, record, f"test-{uuid.uuid4().hex[:12]}", **env))
        return made[-1]

    yield make
    for each in made:
        each.workers.close()
        if each.url == url:
            anyio.run(_cleanup, url, each.queue)


@pytest.fixture
def private_setup(record: Record) -> Iterator[Callable[[str], Setup]]:
    """Workers on a private broker (it goes away with the test: no cleanup)."""
    made: list[Setup] = []

    def make(url: str) -> Setup:
        made.append(Setup(url, record, "private"))
        return made[-1]

    yield make
    for each in made:
        each.workers.close()


def test_100_two_second_jobs_survive_a_sigkill_halfway_and_a_restart(
    setup: Callable[..., Setup],
) -> None:
    s = setup()
    concurrency = 20  # 100 jobs x 2 s at 20 at a time: 10 s of work
    enqueue(s.url, s.queue, [("sleep", {"n": n, "seconds": 2}) for n in range(100)])
    first = s.workers.start(concurrency)
    wait_for(lambda: len(s.record.numbers("done")) >= 50, 120, "half the jobs")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    s.workers.start(concurrency)
    wait_for(lambda: set(s.record.numbers("done")) == set(range(100)), 120, "every job")
    done = Counter(s.record.numbers("done"))
    duplicates = sum(done.values()) - 100
    # Only the jobs in the killed worker's hands run twice: at most its concurrency.
    assert duplicates <= concurrency


def test_sigterm_finishes_the_jobs_in_hand_and_none_runs_again(
    setup: Callable[..., Setup],
) -> None:
    s = setup()
    enqueue(s.url, s.queue, [("sleep", {"n": n, "seconds": 2}) for n in range(10)])
    worker = s.workers.start(concurrency=4)
    wait_for(lambda: len(s.record.numbers("started")) == 4, 60, "four jobs in hand")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    in_hand = sorted(s.record.numbers("started"))
    assert sorted(s.record.numbers("done")) == in_hand  # finished, not abandoned
    # Acknowledged, and whatever was prefetched is back in the queue already: the
    # other six wait for the next worker now, not after a lease.
    assert waiting_and_pending(s.url, s.queue) == (10 - len(in_hand), 0)
    s.workers.start(concurrency=4)
    wait_for(lambda: len(s.record.numbers("done")) >= 10, 60, "the other six")
    time.sleep(LEASE * 1.5)  # long enough for a wrongly pending job to be claimed
    assert sorted(s.record.numbers("started")) == list(range(10))  # none ran twice


def test_a_worker_sigkilled_mid_job_has_the_job_finished_by_another(
    setup: Callable[..., Setup],
) -> None:
    s = setup()
    first = s.workers.start(concurrency=1)
    enqueue(s.url, s.queue, [("sleep", {"n": 1, "seconds": 1})])
    wait_for(lambda: bool(s.record.lines("started")), 60, "the job to start")
    [(_, pid, _)] = s.record.lines("started")
    assert pid == first.pid
    second = s.workers.start(concurrency=1)
    first.send_signal(signal.SIGKILL)
    wait_for(lambda: bool(s.record.lines("done")), 60, "another worker to finish it")
    [(n, finisher, _)] = s.record.lines("done")
    assert n == 1 and finisher == second.pid


def test_a_job_that_crashes_its_worker_every_time_is_dead_lettered_after_n_deliveries(
    setup: Callable[..., Setup],
) -> None:
    s = setup(JOBS_MAX_ATTEMPTS="3")
    enqueue(s.url, s.queue, [("crash", {"n": 7})])
    deadline = time.monotonic() + 120
    while not dead_letters(s.url, s.queue):
        assert time.monotonic() < deadline, "the job was never dead-lettered"
        worker = s.workers.start(concurrency=1)
        try:
            worker.wait(timeout=LEASE * 3)  # dies on the job, or buries it and waits
        except subprocess.TimeoutExpired:
            pass
    [dead] = dead_letters(s.url, s.queue)
    assert dead.job.payload == {"n": 7}
    assert s.record.numbers("started") == [7, 7, 7]  # three deliveries, no fourth run


# -- a broker restart: a private redis-server, with workers of its own ---------------
# or a private RabbitMQ node.


def test_consumption_resumes_within_10_s_after_a_redis_restart(
    private_setup: Callable[[str], Setup], private_redis: Callable[[bool], PrivateRedis],
) -> None:
    server = private_redis(False)  # not persistent: the restart loses the group too
    s = private_setup(server.url)
    s.workers.start(concurrency=2)
    enqueue(s.url, s.queue, [("sleep", {"n": 1, "seconds": 0})])
    wait_for(lambda: s.record.numbers("done") == [1], 60, "the first job")
    server.restart()
    restarted = time.monotonic()
    enqueue(s.url, s.queue, [("sleep", {"n": 2, "seconds": 0})])
    wait_for(lambda: s.record.numbers("done") == [1, 2], 60, "the job after the restart")
    assert time.monotonic() - restarted < 10


def test_a_delayed_job_of_three_leases_runs_once_on_time_across_a_redis_restart(
    private_setup: Callable[[str], Setup], private_redis: Callable[[bool], PrivateRedis],
) -> None:
    server = private_redis(True)  # append-only file: the delayed job survives the restart
    s = private_setup(server.url)
    s.workers.start(concurrency=2)
    s.workers.start(concurrency=2)  # two workers: still once
    delay = 3 * LEASE
    before = time.time()
    enqueue(s.url, s.queue, [("sleep", {"n": 1, "seconds": 0})], delay=delay)
    after = time.time()  # the job was enqueued between these two instants
    time.sleep(LEASE)
    server.restart()
    wait_for(lambda: bool(s.record.lines("done")), 60, "the delayed job")
    time.sleep(LEASE * 1.5)  # a second run would show by now
    [(_, _, started_at)] = s.record.lines("started")
    assert started_at >= before + delay - 0.01  # not early (the record rounds to ms)
    assert started_at <= after + delay + 1.0  # within a second of its time


def test_consumption_resumes_within_10_s_after_a_rabbitmq_restart(
    private_setup: Callable[[str], Setup],
) -> None:
    server = PrivateRabbitMQ()
    server.start()
    try:
        s = private_setup(server.url)
        s.workers.start(concurrency=2)
        enqueue(s.url, s.queue, [("sleep", {"n": 1, "seconds": 0})])
        wait_for(lambda: s.record.numbers("done") == [1], 120, "the first job")
        server.restart()
        restarted = time.monotonic()
        enqueue(s.url, s.queue, [("sleep", {"n": 2, "seconds": 0})])
        wait_for(lambda: s.record.numbers("done") == [1, 2], 120, "the job after the restart")
        assert time.monotonic() - restarted < 10
    finally:
        server.remove()

"""Fixtures for the job queue: a started ``Jobs`` on each backend, and a
worker running beside the test."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from minimal_asgi import App
from minimal_asgi_jobs import Jobs, Worker
from minimal_asgi_redis import RedisConnection
from tests.plugins.jobs.support import PrivateRedis

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
WAIT = 30.0  # generous: the machine is shared and slow at times


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    import os

    from tests.conftest import _require

    return _require(os.environ.get("RABBITMQ_URL", RABBITMQ_URL),
                    "start RabbitMQ (e.g. `rabbitmq-server -detached`) or set RABBITMQ_URL")


@pytest.fixture(params=["memory", "redis", "rabbitmq"])
def make_jobs(request: pytest.FixtureRequest) -> Iterator[Callable[..., Jobs]]:
    """``make_jobs(**options)``: a ``Jobs`` on this test's backend, on a queue
    of its own (Redis keys and RabbitMQ queues are removed afterwards)."""
    url = None
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
    elif request.param == "rabbitmq":
        url = request.getfixturevalue("rabbitmq_url")
    queue = f"test-{uuid.uuid4().hex[:12]}"

    def make(**options: Any) -> Jobs:
        options = {"queue": queue, "lease": 2.0, "retry_base": 0.05, "tick": 0.05, **options}
        if request.param == "rabbitmq":  # the idempotency keys live in Redis
            options["redis"] = RedisConnection(request.getfixturevalue("redis_url"))
        return Jobs(url, **options)

    yield make
    if url is not None:
        anyio.run(_cleanup, url, queue)
    if request.param == "rabbitmq":
        anyio.run(_cleanup, request.getfixturevalue("redis_url"), f"jobs.{queue}")


async def _cleanup(url: str, queue: str) -> None:
    if url.startswith("redis"):
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(url)
        async with client:
            tag = queue if queue.startswith("jobs.") else f"jobs:{queue}"
            keys = [key async for key in client.scan_iter(match="{" + tag + "}*")]
            if keys:
                await client.delete(*keys)
    else:
        import aio_pika

        connection = await aio_pika.connect(url)
        async with connection:
            channel = await connection.channel()
            for suffix in ("", ".dead"):
                await channel.queue_delete(f"jobs.{queue}{suffix}")
            await channel.exchange_delete(f"jobs.{queue}.dlx")


@contextlib.asynccontextmanager
async def started(jobs: Jobs, app: App | None = None) -> AsyncIterator[Jobs]:
    """The app (a bare one if none is given) started, with ``jobs`` in it."""
    if app is None:
        app = make_app(jobs)
    async with app.lifespan_context():
        yield jobs


def make_app(jobs: Jobs) -> App:
    """An app with ``jobs`` installed (after the Redis pool it uses, if any)."""
    return App(plugins=[plugin for plugin in (jobs.redis, jobs) if plugin is not None])


@contextlib.asynccontextmanager
async def working(jobs: Jobs, concurrency: int = 4) -> AsyncIterator[Worker]:
    """A worker running beside the test, stopped gracefully at the end."""
    worker = jobs.worker(concurrency)
    async with anyio.create_task_group() as group:
        group.start_soon(worker.run)
        try:
            yield worker
        finally:
            worker.stop()


async def until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.02)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable[[bool], PrivateRedis]]:
    """``private_redis(persist)``: a started redis-server of this test's own."""
    started: list[PrivateRedis] = []

    def make(persist: bool) -> PrivateRedis:
        server = PrivateRedis(tmp_path, persist)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()

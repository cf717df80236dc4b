"""The Redis backend on a three-node Redis Cluster (the shared ``cluster``
fixture, tests/redis_cluster.py): every key of a queue shares one hash tag,
so each script's keys are in one slot, and different queues spread over the
nodes."""

from __future__ import annotations

import uuid
from collections import Counter

import anyio
import pytest
from redis.asyncio.cluster import RedisCluster

from minimal_asgi_jobs import Jobs
from tests.plugins.jobs.conftest import started, until, working

pytestmark = pytest.mark.anyio


async def test_the_keys_of_a_queue_share_a_slot_and_queues_spread_over_nodes(
    cluster: int,
) -> None:
    client = RedisCluster(host="127.0.0.1", port=cluster)
    try:
        await client.initialize()
        nodes = set()
        for n in range(30):
            jobs = Jobs(client=client, queue=f"q{n}-{uuid.uuid4().hex[:6]}")
            async with jobs.started():
                backend = jobs.backend
                keys = [*backend.keys, backend.marker_prefix + "some-id"]
                assert len({client.keyslot(key) for key in keys}) == 1
                nodes.add(client.get_node_from_key(keys[0]).name)
        assert len(nodes) == 3
    finally:
        await client.aclose()


async def test_jobs_retries_delays_dedupe_and_dead_letters_work_on_a_cluster(
    cluster: int,
) -> None:
    client = RedisCluster(host="127.0.0.1", port=cluster)
    jobs = Jobs(client=client, queue=f"test-{uuid.uuid4().hex[:8]}", lease=2.0,
                retry_base=0.05, tick=0.05)
    done: Counter[int] = Counter()
    failed_once: set[int] = set()

    @jobs.handler(max_attempts=3)
    async def work(n: int) -> None:
        if n % 10 == 0 and n not in failed_once:
            failed_once.add(n)
            raise RuntimeError("first try fails")
        if n == 99:
            raise ValueError("always fails")
        done[n] += 1

    try:
        async with started(jobs), working(jobs, concurrency=8):
            for n in range(100):
                await jobs.enqueue("work", n, delay=0.5 if n % 7 == 0 else 0,
                                   idempotency_key=f"work-{n}")
            assert await jobs.enqueue("work", 1, idempotency_key="work-1") is None
            await until(lambda: len(done) == 99)
            with anyio.fail_after(30):
                while not (dead := await jobs.dead()):
                    await anyio.sleep(0.05)
        assert set(done) == set(range(99)) and max(done.values()) == 1
        [entry] = dead
        assert entry.job.payload == 99 and entry.attempts == 3
    finally:
        await client.aclose()

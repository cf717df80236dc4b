"""The worker app of benchmarks/jobs.py: two handlers and nothing else, so a
worker's memory is the framework's, the plugin's and the client's.

``python -m minimal_asgi_jobs worker benchmarks.apps.jobs:jobs --concurrency 10``
with BENCH_JOBS_URL (the broker), BENCH_JOBS_QUEUE and BENCH_JOBS_COUNTER (a
key in the Redis at BENCH_REDIS_URL that each finished job increments - the
benchmark watches it).
"""

from __future__ import annotations

import asyncio
import os

import redis.asyncio as aioredis

from minimal_asgi import App
from minimal_asgi_jobs import Jobs
from minimal_asgi_redis import RedisConnection

COUNTER = os.environ.get("BENCH_JOBS_COUNTER", "bench:jobs:done")

jobs = Jobs(os.environ.get("BENCH_JOBS_URL"), queue=os.environ.get("BENCH_JOBS_QUEUE", "bench"))
app = App(plugins=[
    RedisConnection(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")), jobs])


@jobs.handler()
async def noop(payload: None, r: aioredis.Redis) -> None:
    await r.incr(COUNTER)


@jobs.handler()
async def wait_100ms(payload: None, r: aioredis.Redis) -> None:
    await asyncio.sleep(0.1)
    await r.incr(COUNTER)


@app.post("/enqueue")
async def enqueue(jobs: Jobs) -> dict[str, str | None]:
    return {"job": await jobs.enqueue("noop")}


@app.post("/plain")
async def plain() -> dict[str, str | None]:
    return {"job": None}

"""The app the process tests run workers of:
``python -m minimal_asgi_jobs worker tests.plugins.jobs.worker_app:jobs``.

Configured by environment variables: JOBS_URL (the broker), JOBS_QUEUE,
JOBS_LEASE, JOBS_MAX_ATTEMPTS, and JOBS_RECORD, a key prefix in the shared
Redis (REDIS_URL) where handlers note what they did - that Redis is never
restarted, so the record survives whatever the test does to the broker. The
Redis client reaches the handlers through the app's dependency injection.
"""

from __future__ import annotations

import os
import signal
import time

import anyio
import redis.asyncio as aioredis

from minimal_asgi import App
from minimal_asgi_jobs import Jobs
from minimal_asgi_redis import RedisConnection

RECORD = os.environ.get("JOBS_RECORD", "jobs-record")

jobs = Jobs(
    os.environ.get("JOBS_URL"),
    queue=os.environ.get("JOBS_QUEUE", "default"),
    lease=float(os.environ.get("JOBS_LEASE", "2")),
    max_attempts=int(os.environ.get("JOBS_MAX_ATTEMPTS", "3")),
    retry_base=0.05,
    tick=0.1,
)
app = App(plugins=[RedisConnection(os.environ.get("REDIS_URL")), jobs])


async def note(r: aioredis.Redis, what: str, n: object) -> None:
    await r.rpush(f"{RECORD}:{what}", f"{n} {os.getpid()} {time.time():.3f}")


@jobs.handler()
async def sleep(payload: dict, r: aioredis.Redis) -> None:
    await note(r, "started", payload["n"])
    await anyio.sleep(payload["seconds"])
    await note(r, "done", payload["n"])


@jobs.handler()
async def crash(payload: dict, r: aioredis.Redis) -> None:
    await note(r, "started", payload["n"])
    os.kill(os.getpid(), signal.SIGKILL)  # the worker dies with the job in hand

"""The app test_processes.py runs in four uvicorn processes sharing one Redis.

``POST /charges`` counts its runs in Redis (``INCR``, atomic across processes)
and sleeps a while, so that duplicates sent to other processes arrive while
it runs. Settings come from the environment, which the test sets:
``IDEMPOTENCY_TEST_PREFIX`` (this test's Redis keys), ``IDEMPOTENCY_TEST_LEASE``
and ``IDEMPOTENCY_TEST_DELAY`` (seconds), ``REDIS_URL``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import anyio
import redis.asyncio as aioredis

from minimal_asgi import App
from minimal_asgi_idempotency import Idempotency
from minimal_asgi_redis import RedisConnection

PREFIX = os.environ.get("IDEMPOTENCY_TEST_PREFIX", "test:idempotency:processes:")
DELAY = float(os.environ.get("IDEMPOTENCY_TEST_DELAY", "0.5"))

redis_connection = RedisConnection(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
app = App(
    plugins=[
        redis_connection,
        Idempotency(
            redis_connection,
            prefix=PREFIX,
            lease=float(os.environ.get("IDEMPOTENCY_TEST_LEASE", "30")),
            # One client behind one address: every duplicate is the same client's.
            identity=lambda scope: "the test client",
        ),
    ]
)


@dataclass
class Charge:
    amount: int


@app.post("/charges", idempotency="required", status_code=201)
async def charge(new: Charge, client: aioredis.Redis) -> dict[str, int]:
    run = int(await client.incr(PREFIX + "runs"))
    await anyio.sleep(DELAY)
    return {"run": run, "amount": new.amount, "pid": os.getpid()}


@app.post("/stuck", idempotency="required", status_code=201)
async def stuck(client: aioredis.Redis) -> dict[str, int]:
    """The first run hangs (its process is killed meanwhile); later runs answer."""
    run = int(await client.incr(PREFIX + "stuck"))
    if run == 1:
        await anyio.sleep_forever()
    return {"run": run, "pid": os.getpid()}

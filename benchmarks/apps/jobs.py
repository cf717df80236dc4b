"""The worker app of benchmarks/jobs.py: two handlers and nothing else, so a
worker's memory is the framework's, the plugin's and the client's.

``python -m minimal_asgi_jobs worker benchmarks.apps.jobs:jobs --concurrency 10``
with BENCH_JOBS_URL (the broker), BENCH_JOBS_QUEUE and BENCH_JOBS_COUNTER (a
file each finished job appends one byte to - the benchmark watches its size;
a file rather than a Redis counter, so that a RabbitMQ worker loads no Redis
client).
"""

from __future__ import annotations

import asyncio
import os

from minimal_asgi import App
from minimal_asgi_jobs import Jobs

COUNTER = os.environ.get("BENCH_JOBS_COUNTER", "/tmp/bench-jobs-done")

jobs = Jobs(os.environ.get("BENCH_JOBS_URL"), queue=os.environ.get("BENCH_JOBS_QUEUE", "bench"))
app = App(plugins=[jobs])


def count_one() -> None:
    # One byte per job, appended (O_APPEND: writes of several workers never
    # overwrite each other); a local file write takes microseconds.
    with open(COUNTER, "ab") as file:
        file.write(b".")


@jobs.handler()
async def noop(payload: None) -> None:
    count_one()


@jobs.handler()
async def wait_100ms(payload: None) -> None:
    await asyncio.sleep(0.1)
    count_one()


@app.post("/enqueue")
async def enqueue(jobs: Jobs) -> dict[str, str | None]:
    return {"job": await jobs.enqueue("noop")}


@app.post("/plain")
async def plain() -> dict[str, str | None]:
    return {"job": None}

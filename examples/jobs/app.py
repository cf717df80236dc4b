"""An endpoint that hands slow work to a job, and the worker that runs it.

``POST /reports`` answers 202 at once with the job's id; a worker builds the
report (slowly) and stores it in Redis; ``GET /reports/{id}`` says "pending"
until then. The web process and the workers share this module::

    uvicorn examples.jobs.app:app
    python -m minimal_asgi_jobs worker examples.jobs.app:jobs --concurrency 10

JOBS_URL picks the broker (default: the Redis at REDIS_URL; ``amqp://...``
for RabbitMQ), JOBS_QUEUE the queue; REPORT_SECONDS how long a report takes
(every setting: examples/jobs/settings.py).
"""

from __future__ import annotations

import json
import os

import anyio
import redis.asyncio as aioredis

from examples.jobs import settings as jobs_settings
from minimal_asgi import App, Header, JSONResponse
from minimal_asgi_jobs import Jobs
from minimal_asgi_redis import RedisConnection

settings = jobs_settings.load()
REPORT_SECONDS = settings.report_seconds
RESULTS = settings.report_prefix

redis_plugin = RedisConnection(settings.redis_url)
broker, queue = settings.jobs_url, settings.jobs_queue
jobs = (Jobs(broker, redis=redis_plugin, queue=queue) if broker.startswith("amqp")
        else Jobs(broker, queue=queue) if broker else Jobs(redis=redis_plugin, queue=queue))
app = App(plugins=[redis_plugin, jobs])


@jobs.handler("build_report", max_attempts=3)
async def build_report(request: dict, r: aioredis.Redis) -> None:
    """Idempotent: it writes the report under the job's own key, so running it
    twice (a worker died after writing, before its ack) rewrites the same value."""
    await anyio.sleep(REPORT_SECONDS)  # the slow part: queries, rendering, ...
    report = {"month": request["month"], "orders": 42, "total": "1234.50"}
    await r.set(RESULTS + request["report_id"], json.dumps(report), ex=3600)


@app.post("/reports")
async def order_report(
    month: str, jobs: Jobs, idempotency_key: str | None = Header(None)
) -> JSONResponse:
    """Queue a report; the same ``Idempotency-Key`` header queues it once."""
    report_id = idempotency_key or os.urandom(8).hex()
    job_id = await jobs.enqueue("build_report", {"month": month, "report_id": report_id},
                                idempotency_key=f"report-{report_id}")
    body = {"report": report_id, "queued": job_id is not None, "url": f"/reports/{report_id}"}
    return JSONResponse(body, status_code=202)


@app.get("/reports/{report_id}")
async def get_report(report_id: str, r: aioredis.Redis) -> dict:
    stored = await r.get(RESULTS + report_id)
    if stored is None:
        return {"report": report_id, "status": "pending"}
    return {"report": report_id, "status": "done", "result": json.loads(stored)}

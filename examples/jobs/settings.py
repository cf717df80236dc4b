"""What the jobs example reads from its environment, in one typed class.

Every variable the example uses is a field here, so ``deploy/settings_table.py``
can write the table in docs/30-containers-and-ci.md and ``.env.example`` from
it, and a test fails when they drift apart. The web process and the workers
read the same settings: they must agree on the broker and the queue.
"""

from __future__ import annotations

from typing import Literal

from minimal_asgi.config import Settings, env

PREFIX = ""


class JobsSettings(Settings):
    environment: Literal["development", "production"] = env(
        "ENVIRONMENT",
        default="development",
        description="production turns on the checks that refuse laptop defaults",
    )
    redis_url: str = env(
        "REDIS_URL",
        default="redis://127.0.0.1:6379/0",
        required_in_production=True,
        description="the Redis that keeps the reports (and the queue, unless JOBS_URL is amqp://)",
    )
    jobs_url: str = env(
        "JOBS_URL",
        default="",
        description="the broker: an amqp:// URL for RabbitMQ; empty: the Redis at REDIS_URL",
    )
    jobs_queue: str = env("JOBS_QUEUE", default="reports", description="the queue's name")
    report_seconds: float = env(
        "REPORT_SECONDS", default=2.0, description="how long building one report takes (a stand-in)"
    )
    report_prefix: str = env(
        "REPORT_PREFIX", default="example:reports:", description="Redis key prefix of the reports"
    )


def load() -> JobsSettings:
    return JobsSettings.from_env(prefix=PREFIX)

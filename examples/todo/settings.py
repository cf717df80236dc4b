"""What the todo API reads from its environment, in one typed class.

Every variable the todo API uses is a field here, so ``deploy/settings_table.py``
can write the table in docs/30-containers-and-ci.md and ``.env.example``
from it, and a test fails when they drift apart.
"""

from __future__ import annotations

from typing import Literal

from minimal_asgi.config import Settings, env

PREFIX = "TODO_"


class TodoSettings(Settings):
    environment: Literal["development", "production"] = env(
        "ENVIRONMENT",
        default="development",
        description="production turns on the checks that refuse laptop defaults",
    )
    write_limit: str = env(
        default="10/minute", description="writes each client may make (POST /v1/todos)"
    )
    ratelimit_backend: str = env(
        default="memory",
        required_in_production=True,
        description="memory (one process), or a redis:// URL shared by every worker",
    )
    idempotency_backend: str = env(
        default="memory",
        required_in_production=True,
        description="where Idempotency-Key answers are kept: memory, or a redis:// URL",
    )
    trusted_proxies: list[str] = env(
        default=[],
        description="addresses or networks of the proxies whose X-Forwarded-* headers are believed",
    )
    cors_origins: list[str] = env(
        default=["http://localhost:5173"],
        required_in_production=True,
        description="origins of the browser front-ends that may call the API",
    )
    allowed_hosts: list[str] = env(
        default=["localhost", "127.0.0.1", "[::1]", "testserver"],
        required_in_production=True,
        description="host names the API answers for; any other Host is a 400",
    )


def load() -> TodoSettings:
    return TodoSettings.from_env(prefix=PREFIX)

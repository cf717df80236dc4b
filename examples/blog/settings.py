"""What the blog reads from its environment, in one typed class.

Every variable the blog uses is a field here, so ``deploy/settings_table.py``
can write the table in docs/30-containers-and-ci.md and ``.env.example``
from it, and a test fails when they drift apart.
"""

from __future__ import annotations

from typing import Literal

from minimal_asgi.config import Settings, env

PREFIX = "BLOG_"


class BlogSettings(Settings):
    environment: Literal["development", "production"] = env(
        "ENVIRONMENT",
        default="development",
        description="production turns on the checks that refuse laptop defaults",
    )
    database_url: str = env(
        "DATABASE_URL",
        default="sqlite://:memory:",
        required_in_production=True,
        description="where the posts live; the default is an in-memory SQLite database",
    )
    redis_url: str | None = env(
        "REDIS_URL",
        default=None,
        required_in_production=True,
        description="the tag-count cache, shared by every worker; unset: in this process only",
    )
    migrate_on_startup: bool = env(
        default=True,
        description="apply pending migrations at startup; off where a migration job runs first",
    )


def load() -> BlogSettings:
    return BlogSettings.from_env(prefix=PREFIX)

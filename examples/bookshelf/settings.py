"""What bookshelf reads from its environment, in one typed class.

Every variable is a field here, so ``deploy/settings_table.py`` can write the
table in docs/30-containers-and-ci.md and ``.env.example`` from it.

With nothing set, bookshelf runs on a laptop with no services: an in-memory
SQLite database, every plugin in memory, covers on local disk, random keys
made at startup (tokens and signed links then die with the process, and two
workers would not accept each other's - set the two keys for that). With
``ENVIRONMENT=production`` the database, Redis and both keys must be set.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Literal

from minimal_asgi import Secret
from minimal_asgi.config import Settings, env

PREFIX = "BOOKSHELF_"

logger = logging.getLogger("examples.bookshelf")

HERE = Path(__file__).resolve().parent

# Made once per process; production refuses them (they are defaults in the code).
_DEVELOPMENT_JWT_KEY = Secret(secrets.token_urlsafe(32))
_DEVELOPMENT_SIGNING_KEY = Secret(secrets.token_urlsafe(32))


class BookshelfSettings(Settings):
    environment: Literal["development", "production"] = env(
        "ENVIRONMENT",
        default="development",
        description="production turns on the checks that refuse laptop defaults",
    )
    database_url: str = env(
        "DATABASE_URL",
        default="sqlite://:memory:",
        required_in_production=True,
        description="the app's database; the default is an in-memory SQLite database",
    )
    redis_url: str | None = env(
        "REDIS_URL",
        default=None,
        required_in_production=True,
        description="the state every worker shares (the cache; bookshelf: also limits, tokens, "
        "jobs, events); unset: in this process only",
    )
    redis_prefix: str = env(
        default="bookshelf:", description="the start of every Redis key and channel bookshelf uses"
    )
    jwt_secret: Secret = env(
        default=_DEVELOPMENT_JWT_KEY,
        min_length=32,
        description="signs the access tokens (HS256); unset in development: a random key "
        "per process",
    )
    storage_signing_key: Secret = env(
        default=_DEVELOPMENT_SIGNING_KEY,
        min_length=32,
        description="signs the cover download links; unset in development: a random key "
        "per process",
    )
    storage_root: str = env(
        default=str(HERE / "storage"), description="the folder the cover images are kept in"
    )
    admin_emails: list[str] = env(
        default=[], description="e-mail addresses that sign up with the admin role"
    )
    secure_cookies: bool = env(
        default=True,
        description="Secure, __Host- session cookie; off only for plain-HTTP development "
        "on a host other than localhost",
    )
    cache_catalogue: bool = env(
        default=True,
        description="cache the public catalogue (off: every read goes to the database)",
    )
    write_limit: str = env(
        default="30/minute", description="writes one user may make (books, loans, reviews)"
    )
    login_limit: str = env(
        default="5/minute; 20/hour", description="login attempts per e-mail address"
    )
    embedded_workers: int = env(
        default=2,
        description="job workers run inside each web process (0: run "
        "`python -m minimal_asgi_jobs worker examples.bookshelf.app:jobs` instead)",
    )
    json_logs: bool = env(default=True, description="log one JSON object per line")


def load() -> BookshelfSettings:
    settings = BookshelfSettings.from_env(prefix=PREFIX)
    for name, default in (("JWT_SECRET", _DEVELOPMENT_JWT_KEY),
                          ("STORAGE_SIGNING_KEY", _DEVELOPMENT_SIGNING_KEY)):
        if getattr(settings, name.lower()) == default:  # only reachable in development
            logger.warning(
                "%s%s is not set: using a random key made for this process (development "
                "only; it dies with the process, and another worker has a different one)",
                PREFIX, name,
            )
    return settings

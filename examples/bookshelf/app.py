"""Bookshelf: a library's API, assembled from the framework's plugins.

Run it with nothing installed (SQLite in memory, every plugin in memory)::

    .venv/bin/uvicorn examples.bookshelf.app:app

and for real, shared by two workers (README.md beside this file)::

    DATABASE_URL=postgresql://... REDIS_URL=redis://... BOOKSHELF_JWT_SECRET=... \\
    BOOKSHELF_STORAGE_SIGNING_KEY=... uvicorn examples.bookshelf.app:app --workers 2

The layers, one module each: routes/ (HTTP in, HTTP out) -> services.py (the
rules, the transactions) -> repositories.py (the SQL) -> schema.py and
migrations/ (the tables). dependencies.py injects each layer into the next.
This module only assembles: settings, plugins, middleware, routes.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minimal_asgi import (
    App,
    FormLimits,
    JSONFormatter,
    RequestIdFilter,
    RequestLoggingMiddleware,
)
from minimal_asgi_auth import (
    RBAC,
    APIKeys,
    Auth,
    RedisAPIKeyStore,
    RedisRefreshStore,
    RedisSessionStore,
    Sessions,
    Tokens,
    passwords,
)
from minimal_asgi_auth.csrf import CSRFMiddleware
from minimal_asgi_cache import Cache
from minimal_asgi_events import Events
from minimal_asgi_health import Health
from minimal_asgi_idempotency import Idempotency
from minimal_asgi_jobs import Jobs
from minimal_asgi_metrics import Metrics
from minimal_asgi_ratelimit import RateLimit
from minimal_asgi_redis import RedisConnection
from minimal_asgi_security import SecurityHeaders
from minimal_asgi_sql import SQL, Database
from minimal_asgi_storage import LocalStorage, Storage, URLSigner

from . import receipts
from .routes import Parts, accounts, catalogue, covers, feed, lending, pages
from .settings import BookshelfSettings, load

__all__ = ["Bookshelf", "app", "build", "create_app", "jobs"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MAX_BODY_BYTES = 5 * 1024 * 1024 + 64 * 1024  # a cover image, and a little


@dataclass(frozen=True)
class Bookshelf:
    app: App
    parts: Parts


def build(settings: BookshelfSettings | None = None, *,
          hasher: passwords.Hasher | None = None) -> Bookshelf:
    """The app and its parts. ``hasher``: tests pass cheap argon2 parameters."""
    settings = settings or load()
    configure_logging(settings)
    prefix = settings.redis_prefix
    plugins: list[Any] = []
    redis: RedisConnection | None = None
    if settings.redis_url:
        # One pool for every plugin that keeps state across workers.
        redis = RedisConnection(settings.redis_url)
        plugins.append(redis)

    sql = SQL(url=settings.database_url, migrations=MIGRATIONS / Database(
        settings.database_url).dialect)
    key = settings.jwt_secret.get_secret_value().encode()
    cookie = "__Host-session" if settings.secure_cookies else "session"
    if redis is not None:
        tokens = Tokens(key, store=RedisRefreshStore(redis, prefix=f"{prefix}refresh:"))
        sessions = Sessions(RedisSessionStore(redis, prefix=f"{prefix}session:"),
                            secure=settings.secure_cookies, cookie_name=cookie)
        api_keys = APIKeys(RedisAPIKeyStore(redis, prefix=f"{prefix}apikey:"))
    else:
        tokens = Tokens(key)
        sessions = Sessions(secure=settings.secure_cookies, cookie_name=cookie)
        api_keys = APIKeys()
    auth = Auth(
        tokens=tokens, api_keys=api_keys, sessions=sessions,
        rbac=RBAC({"member": {"books:borrow"}, "admin": {"books:write"}},
                  inherits={"admin": {"member"}}),
        scopes={"loans:read": "read the loan report"},
    )
    backend: str | RedisConnection = redis if redis is not None else "memory"
    cache = Cache(backend, prefix=f"{prefix}cache:")
    limiter = RateLimit(backend=backend, prefix=f"{prefix}ratelimit")
    idempotency = Idempotency(backend, prefix=f"{prefix}idempotency:")
    events = (Events(redis=redis, prefix=f"{prefix}events:") if redis is not None
              else Events())
    jobs = (Jobs(redis=redis, prefix=f"{prefix}jobs", queue="receipts",
                 embedded_workers=settings.embedded_workers)
            # In memory, the queue lives in this process: only a worker inside it
            # can run its jobs, so there is always at least one.
            if redis is not None else Jobs(embedded_workers=settings.embedded_workers or 1))
    receipts.register(jobs)
    storage = Storage(LocalStorage(settings.storage_root,
                                   signer=URLSigner(settings.storage_signing_key)))

    app = App(
        title="Bookshelf API",
        version="1.0.0",
        max_body_size=MAX_BODY_BYTES,
        form_limits=FormLimits(max_body_size=16 * 1024, max_parts=4),
        plugins=[*plugins, sql, auth, cache, limiter, idempotency, events, jobs, storage,
                 Health(), Metrics(), SecurityHeaders()],
    )
    app.provide(BookshelfSettings, lambda: settings)
    chosen_hasher = hasher or passwords.Hasher()
    app.provide(passwords.Hasher, lambda: chosen_hasher)

    parts = Parts(settings=settings, auth=auth, tokens=tokens, sessions=sessions,
                  api_keys=api_keys, cache=cache, limiter=limiter, events=events, jobs=jobs,
                  storage=storage)
    for module in (accounts, catalogue, lending, covers, feed, pages):
        module.register(app, parts)

    # The session cookie rides along on requests other sites' pages make:
    # refuse a state-changing request a browser marks as cross-origin.
    app.add_middleware(CSRFMiddleware)
    # Added last, so outermost: every request gets an id and one log line.
    app.add_middleware(RequestLoggingMiddleware)
    return Bookshelf(app, parts)


def create_app(settings: BookshelfSettings | None = None, *,
               hasher: passwords.Hasher | None = None) -> App:
    return build(settings, hasher=hasher).app


def configure_logging(settings: BookshelfSettings) -> None:
    """JSON lines (or text) for the app's loggers and the access log, each
    stamped with the request id. A second call replaces the first's handlers."""
    for name in ("examples.bookshelf", "minimal_asgi.access", "minimal_asgi.trace",
                 "minimal_asgi_jobs"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [h for h in logger.handlers if not getattr(h, "bookshelf", False)]
        handler = _StderrHandler()
        if settings.json_logs:
            handler.setFormatter(JSONFormatter())
        else:
            handler.addFilter(RequestIdFilter())
            handler.setFormatter(logging.Formatter(
                "%(levelname)s [%(request_id)s] %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when each line is written, not as it
    was at startup (a test harness, or a process manager, may replace it)."""

    bookshelf = True  # marks the handlers configure_logging added

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


_bookshelf = build()
app = _bookshelf.app
# For `python -m minimal_asgi_jobs worker examples.bookshelf.app:jobs`.
jobs = _bookshelf.parts.jobs

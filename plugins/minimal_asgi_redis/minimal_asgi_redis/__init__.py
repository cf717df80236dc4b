"""One Redis connection pool for the whole app, opened and closed with it.

Several plugins keep state that must outlive one process - rate-limit
counters, cached responses, sessions, revoked tokens - and all of them want
Redis. Rather than each opening its own pool, they share this one::

    from minimal_asgi import App
    from minimal_asgi_redis import RedisConnection
    import redis.asyncio as aioredis

    redis_plugin = RedisConnection("redis://127.0.0.1:6379/0")
    app = App(plugins=[redis_plugin])

    @app.get("/hits")
    async def hits(r: aioredis.Redis) -> dict:      # injected by annotation
        return {"hits": await r.incr("hits")}

The pool opens at startup (a PING proves the server answers, so a wrong URL
fails the start, not the first request) and closes at shutdown. It uses only
the public App API: ``add_lifespan`` and ``provide``. The provider is an
``async def``: handing out the client never blocks, and a sync provider would
be sent to a worker thread on every injection.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from minimal_asgi import App, ConfigurationError

__all__ = ["DEFAULT_URL", "RedisConnection"]

DEFAULT_URL = "redis://127.0.0.1:6379/0"


class RedisConnection:
    """A plugin: ``App(plugins=[RedisConnection(url)])``.

    ``url`` defaults to the ``REDIS_URL`` environment variable, then to the
    local server. After startup, ``plugin.client`` is the shared client; it is
    also injected into any parameter annotated ``redis.asyncio.Redis``.
    """

    def __init__(self, url: str | None = None, **options: Any) -> None:
        self.url = url or os.environ.get("REDIS_URL", DEFAULT_URL)
        self.options = options
        self._client: aioredis.Redis | None = None

    @property
    def client(self) -> aioredis.Redis:
        if self._client is None:
            raise RuntimeError(
                "the Redis connection is opened at app startup; use it inside a request, "
                "a startup hook, or `with TestClient(app)`"
            )
        return self._client

    def setup(self, app: App) -> None:
        app.add_lifespan(self._lifespan)
        app.provide(aioredis.Redis, self._provide)

    # Readiness (minimal_asgi_health finds these on any installed plugin).
    health_name = "redis"

    async def health_check(self) -> None:
        """Raise unless Redis answers a PING."""
        await self.client.ping()

    async def _provide(self) -> aioredis.Redis:
        return self.client

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: App) -> AsyncIterator[None]:
        client = aioredis.Redis.from_url(self.url, **self.options)
        try:
            await client.ping()
        except Exception as exc:
            await client.aclose()
            raise ConfigurationError(
                f"cannot reach Redis at {_redact(self.url)}: {str(exc).rstrip('.')}. "
                "Start it (redis-server) or set REDIS_URL"
            ) from exc
        self._client = client
        try:
            yield
        finally:
            self._client = None
            await client.aclose()


def _redact(url: str) -> str:
    """The URL with its password replaced by ``***``, for messages and logs (as the
    SQL plugin does for its URLs):
    ``redis://:s3cret@host:6379/0`` -> ``redis://:***@host:6379/0``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()

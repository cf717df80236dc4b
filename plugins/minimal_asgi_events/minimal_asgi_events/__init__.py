"""Publish and subscribe: in one process, or across workers through Redis.

::

    from minimal_asgi import App
    from minimal_asgi_events import Events

    events = Events()                      # in memory: one process
    app = App(plugins=[events])

    @app.post("/rooms/{room}")
    async def say(room: str, text: str, events: Events) -> dict:   # injected
        return {"delivered_to": await events.publish(room, text)}

and in a WebSocket endpoint::

    async with events.subscribe(room) as messages:
        async for message in messages:
            await websocket.send_text(message)

``Events(redis=redis_plugin)`` shares the pool of ``minimal_asgi_redis`` (list
that plugin first), ``Events(url="redis://...")`` opens its own client; either
way every worker connected to that Redis sees every message.

On Redis Cluster, ``Events(client=RedisCluster(...))`` or
``Events("redis://node:7000", cluster=True)`` publishes with SPUBLISH and
subscribes with SSUBSCRIBE (sharded pub/sub, Redis >= 7), falling back to
PUBLISH/SUBSCRIBE on an older server.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from minimal_asgi import App, ConfigurationError
from minimal_asgi_redis import RedisConnection

from ._cluster import ClusterBackend
from ._memory import MemoryBackend
from ._queue import Messages
from ._redis import EventsUnavailable, RedisBackend

__all__ = ["DEFAULT_MAX_QUEUE", "Events", "EventsUnavailable", "Messages"]

DEFAULT_MAX_QUEUE = 1000


class Backend(Protocol):
    async def publish(self, channel: str, message: str) -> int: ...
    def subscribe(
        self, channel: str, max_queue: int
    ) -> contextlib.AbstractAsyncContextManager[Messages]: ...
    async def aclose(self) -> None: ...


class Events:
    """A plugin: ``App(plugins=[Events()])``; injected into any parameter
    annotated ``Events``.

    ``max_queue`` bounds each subscriber's queue; a subscriber that falls
    further behind loses its oldest messages (``messages.dropped`` counts them).
    ``prefix`` is put before every Redis channel name.

    ``client=`` takes a client you made: a ``redis.asyncio.RedisCluster`` for a
    cluster (or a plain ``redis.asyncio.Redis``); ``cluster=True`` makes ``url``
    the address of one cluster node. ``sharded`` (cluster only): None uses
    sharded pub/sub unless the server does not know it; True or False forces it.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        redis: RedisConnection | None = None,
        client: aioredis.Redis | RedisCluster | None = None,
        cluster: bool = False,
        sharded: bool | None = None,
        prefix: str = "events:",
        max_queue: int = DEFAULT_MAX_QUEUE,
    ) -> None:
        if sum(x is not None for x in (url, redis, client)) > 1:
            raise ConfigurationError("Events(): give only one of url=, redis= or client=")
        if cluster and url is None:
            raise ConfigurationError("Events(cluster=True): give the url of one cluster node")
        if max_queue < 1:
            raise ConfigurationError(f"Events(max_queue={max_queue}): must be at least 1")
        self.url = url
        self.redis = redis
        self.client = client
        self.cluster = cluster
        self.sharded = sharded
        self.prefix = prefix
        self.max_queue = max_queue
        self._backend: Backend | None = None

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            raise RuntimeError(
                "Events is started with the app; use it inside a request, "
                "a startup hook, or `with TestClient(app)`"
            )
        return self._backend

    def setup(self, app: App) -> None:
        app.add_lifespan(self._lifespan)
        app.provide(Events, self._provide)

    async def _provide(self) -> Events:
        return self

    async def publish(self, channel: str, message: str) -> int:
        """Send ``message`` to every current subscriber of ``channel``; returns
        how many received it (with Redis: how many subscribed connections)."""
        return await self.backend.publish(channel, message)

    def subscribe(
        self, channel: str, *, max_queue: int | None = None
    ) -> contextlib.AbstractAsyncContextManager[Messages]:
        """Messages published to ``channel`` from the moment this is entered."""
        return self.backend.subscribe(channel, max_queue or self.max_queue)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: App) -> AsyncIterator[None]:
        own_client: aioredis.Redis | RedisCluster | None = None
        if self.cluster and self.url is not None:
            # Like the single-Redis case below, no round trip here: the slot
            # map is read by the first publish or subscribe.
            own_client = RedisCluster.from_url(self.url)
            self._backend = ClusterBackend(own_client, self.prefix, self.sharded)
        elif isinstance(self.client, RedisCluster):
            self._backend = ClusterBackend(self.client, self.prefix, self.sharded)
        elif self.client is not None:
            self._backend = RedisBackend(self.client, self.prefix)
        elif self.redis is not None:
            self._backend = RedisBackend(self.redis.client, self.prefix)
        elif self.url is not None:
            # No PING here, on purpose: pub/sub being down must not stop the
            # app from serving everything else. Each publish/subscribe fails
            # on its own with EventsUnavailable (a 503) until Redis is back.
            own_client = aioredis.Redis.from_url(self.url)
            self._backend = RedisBackend(own_client, self.prefix)
        else:
            self._backend = MemoryBackend()
        try:
            yield
        finally:
            await self._backend.aclose()
            self._backend = None
            if own_client is not None:
                await own_client.aclose()

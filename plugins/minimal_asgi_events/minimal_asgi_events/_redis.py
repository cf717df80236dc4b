"""The Redis pub/sub backend: a message published by any worker, on any
machine, reaches the subscribers of every worker connected to the same Redis.

Redis pub/sub is fire-and-forget: a subscriber that is not connected at the
moment of publishing never sees the message (use a job queue or a stream when
a message must not be lost). Each subscription holds one connection of its
own, because a connection in subscribed mode can do nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import anyio
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from minimal_asgi import HTTPException

from ._queue import Messages

CONFIRM_TIMEOUT = 5.0  # seconds to wait for Redis to confirm a subscription


class EventsUnavailable(HTTPException):
    """Redis cannot be reached. Raised by ``publish`` and ``subscribe``. It is an
    ``HTTPException``: inside a request the client gets a 503 problem response
    with ``Retry-After``, never a 500 with a traceback."""

    def __init__(self, detail: str) -> None:
        super().__init__(503, detail, {"Retry-After": "5"})


class RedisBackend:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix  # keeps apps (and tests) sharing one Redis apart

    async def publish(self, channel: str, message: str) -> int:
        try:
            return int(await self.client.publish(self.prefix + channel, message))
        except (RedisError, OSError) as exc:
            raise EventsUnavailable(f"cannot publish to Redis: {exc}") from exc

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str, max_queue: int) -> AsyncIterator[Messages]:
        messages = Messages(channel, max_queue)
        pubsub = self.client.pubsub()
        try:
            # Wait for Redis to confirm: once `subscribe()` is entered, a
            # publish made by anyone is never missed.
            await pubsub.subscribe(self.prefix + channel)
            with anyio.fail_after(CONFIRM_TIMEOUT):
                await _confirmed(pubsub)
        except (RedisError, OSError, TimeoutError) as exc:
            await pubsub.aclose()
            raise EventsUnavailable(f"cannot subscribe on Redis: {exc}") from exc
        reader = asyncio.create_task(self._read(pubsub, messages))
        try:
            yield messages
        finally:
            await stop_reading(reader, pubsub)

    async def _read(self, pubsub: aioredis.client.PubSub, messages: Messages) -> None:
        try:
            async for item in pubsub.listen():
                if item["type"] == "message":
                    data = item["data"]
                    messages.put(data.decode() if isinstance(data, bytes) else data)
        except (RedisError, OSError) as exc:
            messages.fail(EventsUnavailable(f"lost the Redis subscription: {exc}"))

    async def aclose(self) -> None:
        pass  # the client belongs to whoever made it


async def stop_reading(reader: asyncio.Task[None], pubsub: aioredis.client.PubSub) -> None:
    """End a subscription: the reader task first (it is inside ``listen()``),
    then the connection. A Redis that has gone away changes nothing here: the
    subscriber is leaving anyway. (The cluster backend calls this too.)"""
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    with contextlib.suppress(RedisError, OSError):
        await pubsub.aclose()


async def _confirmed(pubsub: aioredis.client.PubSub) -> None:
    """Return once Redis has answered the SUBSCRIBE just sent."""
    while True:
        reply = await pubsub.get_message(timeout=CONFIRM_TIMEOUT)
        if reply is not None and reply["type"] == "subscribe":
            return

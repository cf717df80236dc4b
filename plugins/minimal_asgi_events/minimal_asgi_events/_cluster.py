"""The Redis Cluster backend: sharded pub/sub, so a message stays on one shard.

On a cluster, plain PUBLISH is copied to every node over the cluster bus:
each node then delivers it to its own subscribers. That works, but every node
pays for every message, so pub/sub traffic does not scale with the nodes.
Redis 7 added *sharded* pub/sub: a channel name is hashed to a slot like a key,
SPUBLISH goes to the node that owns that slot, and a subscriber sends
SSUBSCRIBE to that same node. The message never leaves its shard.

Publishing is one command routed by the cluster client like any key command
(it follows MOVED by itself). Subscribing needs a connection of its own to
the owner of the channel's slot: this module asks the cluster client which
node that is and opens a plain pub/sub connection there. redis-py's
``RedisCluster.pubsub()`` can also do sharded subscriptions, but it multiplexes
every channel of a subscriber and repairs the topology behind the caller's
back; one connection per subscription to a known node keeps the failure
policy the same as the single-Redis backend: a node that goes away is an
``EventsUnavailable`` (503), never a 500 and never a silent stall.

Resharding: when a slot moves, the old owner ends the subscriptions of its
channels (it sends SUNSUBSCRIBE; a publish made there meanwhile is answered
MOVED, which the cluster client follows). The subscriber then gets
``EventsUnavailable`` after the messages already queued, and the next
``subscribe`` - after a fresh read of the slot map - connects to the new owner.

A server older than 7.0 does not know SPUBLISH; the first ``unknown command``
answer switches this backend to plain PUBLISH/SUBSCRIBE (broadcast to every
node), for the life of the process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import anyio
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import (
    MovedError,
    RedisClusterException,
    RedisError,
    ResponseError,
    SlotNotCoveredError,
)

from ._queue import Messages
from ._redis import CONFIRM_TIMEOUT, EventsUnavailable, stop_reading


def _unknown_command(error: ResponseError) -> bool:
    return "unknown command" in str(error).lower()


class ClusterBackend:
    def __init__(self, client: RedisCluster, prefix: str, sharded: bool | None = None) -> None:
        self.client = client
        self.prefix = prefix
        # None: sharded until the server says it does not know SPUBLISH.
        self.sharded = sharded
        self._stale_slots = False  # set when a channel moved: reread the slot map

    async def publish(self, channel: str, message: str) -> int:
        name = self.prefix + channel
        try:
            if self.sharded is not False:
                try:
                    return int(await self.client.spublish(name, message))
                except ResponseError as exc:
                    if self.sharded or not _unknown_command(exc):
                        raise
                    self.sharded = False  # Redis < 7: no sharded pub/sub
            return int(await self.client.publish(name, message))
        except (RedisError, RedisClusterException, OSError) as exc:
            raise EventsUnavailable(f"cannot publish to Redis Cluster: {exc}") from exc

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str, max_queue: int) -> AsyncIterator[Messages]:
        messages = Messages(channel, max_queue)
        name = self.prefix + channel
        try:
            # A MOVED answer means the slot map is out of date: reread it and
            # try the new owner once.
            try:
                pubsub = await self._subscribed(name)
            except MovedError:
                self._stale_slots = True
                pubsub = await self._subscribed(name)
        except (RedisError, RedisClusterException, OSError, TimeoutError) as exc:
            self._stale_slots = True  # the node may have been replaced: ask again
            raise EventsUnavailable(f"cannot subscribe on Redis Cluster: {exc}") from exc
        reader = asyncio.create_task(self._read(pubsub, messages))
        try:
            yield messages
        finally:
            await stop_reading(reader, pubsub)
            # This subscription's pool is its own (one node's), unlike the
            # plain backend's: it goes too.
            with contextlib.suppress(RedisError, OSError):
                await pubsub.connection_pool.disconnect()

    async def _subscribed(self, name: str) -> PubSub:
        """A pub/sub connection to the node owning ``name``'s slot, subscribed
        to it, once the node has confirmed."""
        if self._stale_slots:
            self._stale_slots = False
            await self.client.nodes_manager.initialize()
        else:
            await self.client.initialize()  # learns the slot map once
        node = self.client.get_node_from_key(name)
        if node is None:
            raise SlotNotCoveredError(f"no Redis Cluster node serves the slot of {name!r}")
        if self.sharded is not False:
            try:
                return await self._open(node, "ssubscribe", name)
            except ResponseError as exc:
                if self.sharded or not _unknown_command(exc):
                    raise
                self.sharded = False  # Redis < 7: no sharded pub/sub
        return await self._open(node, "subscribe", name)

    async def _open(self, node: ClusterNode, command: str, name: str) -> PubSub:
        pool = aioredis.ConnectionPool(
            connection_class=node.connection_class, **node.connection_kwargs)
        pubsub = PubSub(pool)
        try:
            await self._confirm(pubsub, command, name)
        except BaseException:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
            with contextlib.suppress(RedisError, OSError):
                await pool.disconnect()
            raise
        return pubsub

    async def _confirm(self, pubsub: PubSub, command: str, name: str) -> None:
        """Send (S)SUBSCRIBE and return once the node has answered it: from then
        on, nothing published is missed."""
        await (pubsub.ssubscribe(name) if command == "ssubscribe" else pubsub.subscribe(name))
        with anyio.fail_after(CONFIRM_TIMEOUT):
            while True:
                reply = await pubsub.get_message(timeout=CONFIRM_TIMEOUT)
                if reply is not None and reply["type"] == command:
                    return

    async def _read(self, pubsub: PubSub, messages: Messages) -> None:
        try:
            async for item in pubsub.listen():
                if item["type"] in ("smessage", "message"):
                    data = item["data"]
                    messages.put(data.decode() if isinstance(data, bytes) else data)
                elif item["type"] in ("sunsubscribe", "unsubscribe"):
                    # We never unsubscribe while reading: the node did, because
                    # the channel's slot moved away from it.
                    self._stale_slots = True
                    messages.fail(EventsUnavailable(
                        "the channel moved to another Redis Cluster node; subscribe again"))
                    return
            # Unreachable while subscribed; a reader must never hang silently.
            messages.fail(EventsUnavailable("the Redis Cluster subscription ended"))
        except (RedisError, OSError) as exc:
            self._stale_slots = True  # a replica may take over the node's slots
            messages.fail(EventsUnavailable(f"lost the Redis Cluster subscription: {exc}"))

    async def aclose(self) -> None:
        pass  # the client belongs to whoever made it

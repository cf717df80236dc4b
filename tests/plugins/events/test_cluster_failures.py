"""Events on a Redis Cluster that changes under it: a slot moved to another
node, a node gone. These tests break their cluster, so they have a module (and
a cluster from tests/redis_cluster.py) of their own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import anyio
import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster

from minimal_asgi import App
from minimal_asgi.testing import TestClient
from minimal_asgi_events import Events, EventsUnavailable

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(cluster: int) -> AsyncIterator[RedisCluster]:
    client = RedisCluster(host="127.0.0.1", port=cluster)
    await client.initialize()
    try:
        yield client
    finally:
        await client.aclose()


def owner_of(client: RedisCluster, name: str) -> ClusterNode:
    node = client.get_node_from_key(name)
    assert node is not None
    return node


async def test_after_a_slot_moves_the_subscriber_is_told_and_resubscribing_follows_it(
    cluster: int, client: RedisCluster,
) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    events = Events(client=client, prefix=prefix)
    # Another app whose client learnt the slot map before the move, and is not
    # told: its first SSUBSCRIBE goes to the old owner and is answered MOVED.
    stale_client = RedisCluster(host="127.0.0.1", port=cluster)
    await stale_client.initialize()
    stale = Events(client=stale_client, prefix=prefix)
    name = prefix + "room"
    slot = client.keyslot(name)
    old = owner_of(client, name)
    new = next(node for node in client.get_primaries() if node != old)
    async with App(plugins=[events]).lifespan_context(), \
            App(plugins=[stale]).lifespan_context():
        async with events.subscribe("room") as messages:
            assert await events.publish("room", "before") == 1
            # Move the (keyless) slot: the new owner first, then every node.
            async with Redis(host=new.host, port=new.port) as direct:
                new_id = await direct.execute_command("CLUSTER", "MYID")
            for node in (new, *(n for n in client.get_primaries() if n != new)):
                async with Redis(host=node.host, port=node.port) as direct:
                    await direct.execute_command("CLUSTER", "SETSLOT", slot, "NODE", new_id)
            with anyio.fail_after(10):
                assert await messages.get() == "before"  # what was queued comes first
                with pytest.raises(EventsUnavailable, match="moved"):
                    await messages.get()
        # The next subscription reads the new slot map and lands on the new owner.
        async with events.subscribe("room") as messages, stale.subscribe("room") as late:
            assert await events.publish("room", "after") == 2
            with anyio.fail_after(10):
                assert await messages.get() == "after"
                assert await late.get() == "after"
        assert owner_of(client, name) == new
        assert owner_of(stale_client, name) == new
    await stale_client.aclose()


async def test_a_node_gone_gives_events_unavailable_and_a_503_never_a_500(
    cluster: int, client: RedisCluster,
) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    # The channel must live on a node other than the one the URL names, so
    # that the app can still reach the cluster to learn its slot map.
    channel = next(f"room-{n}" for n in range(1000)
                   if owner_of(client, f"{prefix}room-{n}").port != cluster)
    doomed = owner_of(client, prefix + channel)
    events = Events(f"redis://127.0.0.1:{cluster}", cluster=True, prefix=prefix)
    app = App(plugins=[events])

    @app.post("/rooms/{room}")
    async def say(room: str, events: Events) -> dict[str, int]:
        return {"delivered_to": await events.publish(room, "hi")}

    async with app.lifespan_context(), events.subscribe(channel) as messages:
        async with Redis(host=doomed.host, port=doomed.port) as direct:
            with pytest.raises(Exception):  # noqa: B017 - the node closes the connection
                await direct.execute_command("SHUTDOWN", "NOSAVE")
        with anyio.fail_after(30):
            with pytest.raises(EventsUnavailable, match="lost the Redis Cluster subscription"):
                await messages.get()
        with pytest.raises(EventsUnavailable):
            async with events.subscribe(channel):
                pass

    def answer() -> tuple[int, str, str]:
        with TestClient(app) as http:
            response = http.post(f"/rooms/{channel}")
            return (response.status_code, response.headers["content-type"],
                    response.headers.get("retry-after", ""))

    assert await anyio.to_thread.run_sync(answer) == (503, "application/problem+json", "5")

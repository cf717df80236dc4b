"""Events on Redis Cluster: three local nodes from the shared fixture in
tests/redis_cluster.py (skipped, with the reason, where they cannot start).
The contract suite (test_contract.py) also runs on this backend; here: what is
particular to a cluster."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from minimal_asgi import App
from minimal_asgi.testing import TestClient
from minimal_asgi_events import Events, EventsUnavailable
from tests.plugins.events.test_app import free_port, make_app
from tests.redis_cluster import _free_ports, _listening, _wait

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(cluster: int) -> AsyncIterator[RedisCluster]:
    client = RedisCluster(host="127.0.0.1", port=cluster)
    await client.initialize()  # learn which node holds which slots
    try:
        yield client
    finally:
        await client.aclose()


def channels_on_every_node(client: RedisCluster, prefix: str) -> dict[str, str]:
    """One channel name per node: {node name: channel}."""
    found: dict[str, str] = {}
    n = 0
    while len(found) < 3:
        node = client.get_node_from_key(f"{prefix}room-{n}")
        assert node is not None
        found.setdefault(node.name, f"room-{n}")
        n += 1
    return found


async def test_channels_on_different_nodes_all_deliver(client: RedisCluster) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    events = Events(client=client, prefix=prefix)
    channels = channels_on_every_node(client, prefix)
    async with App(plugins=[events]).lifespan_context():
        for node_name, channel in channels.items():
            async with events.subscribe(channel) as messages:
                assert await events.publish(channel, f"to {node_name}") == 1
                with anyio.fail_after(5):
                    assert await messages.get() == f"to {node_name}"


async def test_a_sharded_subscription_lives_only_on_the_node_owning_its_slot(
    client: RedisCluster,
) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    events = Events(client=client, prefix=prefix)
    channel = "news"
    owner = client.get_node_from_key(prefix + channel)
    assert owner is not None
    async with App(plugins=[events]).lifespan_context(), events.subscribe(channel):
        counts = {}
        for node in client.get_primaries():
            async with Redis(host=node.host, port=node.port) as direct:
                # PUBSUB SHARDNUMSUB: the node's own sharded subscribers only.
                reply = await direct.execute_command("PUBSUB", "SHARDNUMSUB", prefix + channel)
                counts[node.name] = int(reply[1])
                plain = await direct.execute_command("PUBSUB", "NUMSUB", prefix + channel)
                assert int(plain[1]) == 0  # not a broadcast subscription
    assert counts == {node.name: int(node.name == owner.name)
                      for node in client.get_primaries()}


async def test_a_message_published_by_one_app_reaches_a_subscriber_of_another(
    cluster: int, client: RedisCluster,
) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    # One app opens its own cluster client from a URL, the other is given one;
    # each knows a different node first.
    other_port = next(node.port for node in client.get_primaries() if node.port != cluster)
    first = Events(f"redis://127.0.0.1:{other_port}", cluster=True, prefix=prefix)
    second = Events(client=client, prefix=prefix)
    async with App(plugins=[first]).lifespan_context(), \
            App(plugins=[second]).lifespan_context():
        async with second.subscribe("room") as on_two, first.subscribe("room") as on_one:
            assert await first.publish("room", "from one") == 2
            assert await second.publish("room", "from two") == 2
            with anyio.fail_after(5):
                assert [await on_two.get(), await on_two.get()] == ["from one", "from two"]
                assert [await on_one.get(), await on_one.get()] == ["from one", "from two"]


async def test_the_broadcast_fallback_reaches_a_subscriber_on_any_node(
    client: RedisCluster,
) -> None:
    """sharded=False is what a server without SPUBLISH (Redis < 7) gets: plain
    PUBLISH, which the cluster copies to every node."""
    prefix = f"test:{uuid.uuid4().hex}:"
    events = Events(client=client, prefix=prefix, sharded=False)
    async with App(plugins=[events]).lifespan_context(), events.subscribe("room") as messages:
        owner = client.get_node_from_key(prefix + "room")
        elsewhere = next(node for node in client.get_primaries() if node != owner)
        # Published on a node that does not own the slot, still delivered.
        async with Redis(host=elsewhere.host, port=elsewhere.port) as direct:
            assert await direct.publish(prefix + "room", "broadcast") == 0
        with anyio.fail_after(5):
            assert await messages.get() == "broadcast"


def test_a_cluster_that_cannot_be_reached_gives_a_503_problem_not_a_500() -> None:
    events = Events(f"redis://127.0.0.1:{free_port()}", cluster=True)  # nothing listens
    app = make_app(events)
    with TestClient(app) as client:  # the app starts anyway
        response = client.post("/rooms/a")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "cannot publish to Redis Cluster" in response.json()["detail"]


async def test_subscribing_to_a_cluster_that_cannot_be_reached_raises_events_unavailable(
) -> None:
    events = Events(f"redis://127.0.0.1:{free_port()}", cluster=True)
    async with App(plugins=[events]).lifespan_context():
        with pytest.raises(EventsUnavailable, match="cannot subscribe on Redis Cluster"):
            async with events.subscribe("room"):
                pass


@pytest.fixture
def node_without_sharded_pubsub(tmp_path: Path) -> Iterator[int]:
    """A one-node cluster whose SPUBLISH and SSUBSCRIBE are renamed away: what
    a Redis 6 server answers ("unknown command"), on the machine's Redis 7."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.skip("redis-server and redis-cli are needed to start a cluster node")
    (port,) = _free_ports(1)
    node = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
         "--cluster-config-file", "nodes.conf", "--dir", str(tmp_path),
         "--save", "", "--appendonly", "no",
         "--rename-command", "SPUBLISH", "", "--rename-command", "SSUBSCRIBE", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: _listening(port), "the node to listen")
        subprocess.run([cli, "-p", str(port), "cluster", "addslotsrange", "0", "16383"],
                       check=True, capture_output=True, timeout=30)
        _wait(lambda: "cluster_state:ok" in subprocess.run(
            [cli, "-p", str(port), "cluster", "info"],
            capture_output=True, text=True, timeout=5).stdout, "the cluster to be ready")
        yield port
    finally:
        node.terminate()  # only the process this fixture started
        node.wait(timeout=10)


@pytest.mark.parametrize("first", ["publish", "subscribe"])
async def test_a_server_without_sharded_pubsub_gets_plain_publish_and_subscribe(
    node_without_sharded_pubsub: int, first: str,
) -> None:
    events = Events(f"redis://127.0.0.1:{node_without_sharded_pubsub}", cluster=True,
                    prefix=f"test:{uuid.uuid4().hex}:")
    async with App(plugins=[events]).lifespan_context():
        if first == "publish":  # the fallback is learnt from whichever comes first
            assert await events.publish("room", "nobody") == 0
        async with events.subscribe("room") as messages:
            assert await events.publish("room", "plain") == 1
            with anyio.fail_after(5):
                assert await messages.get() == "plain"


async def bus_publishes(client: RedisCluster) -> int:
    """Pub/sub messages the nodes have sent each other over the cluster bus."""
    total = 0
    for node in client.get_primaries():
        async with Redis(host=node.host, port=node.port, decode_responses=True) as direct:
            info = await direct.execute_command("CLUSTER", "INFO")
        text = info if isinstance(info, str) else "\n".join(f"{k}:{v}" for k, v in info.items())
        for line in text.splitlines():
            if line.startswith(("cluster_stats_messages_publish_sent",
                                "cluster_stats_messages_publishshard_sent")):
                total += int(line.split(":")[1])
    return total


@pytest.mark.parametrize(("sharded", "copies_per_message"), [(True, 0), (False, 2)])
async def test_a_sharded_message_never_crosses_the_cluster_bus(
    client: RedisCluster, sharded: bool, copies_per_message: int,
) -> None:
    """The point of sharded pub/sub: SPUBLISH stays on the shard (no replicas
    here, so no copy at all), where PUBLISH is copied to the two other masters."""
    events = Events(client=client, prefix=f"test:{uuid.uuid4().hex}:", sharded=sharded)
    async with App(plugins=[events]).lifespan_context(), events.subscribe("room") as messages:
        before = await bus_publishes(client)
        for n in range(10):
            assert await events.publish("room", str(n)) == 1
        with anyio.fail_after(5):
            assert [await messages.get() for _ in range(10)] == [str(n) for n in range(10)]
        assert await bus_publishes(client) - before == 10 * copies_per_message

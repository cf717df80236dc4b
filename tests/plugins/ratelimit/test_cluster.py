"""The same Lua script on Redis Cluster: three nodes started here, on
127.0.0.1:7101-7103, from the machine's redis-server (skipped, with the
reason, where that cannot be done)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio.cluster import RedisCluster

from minimal_asgi_ratelimit import Limit, RateLimit, RedisBackend
from tests.plugins.ratelimit.test_plugin import SLOW_MACHINE, burst, make_app

PORTS = (7101, 7102, 7103)  # reserved for this test on shared machines


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A three-master cluster; yields the port of one node."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.skip("redis-server and redis-cli are needed to start a cluster")
    busy = [port for port in PORTS if _listening(port)]
    if busy:
        pytest.skip(f"ports {busy} are taken; the cluster test needs 7101-7103 free")
    folder = tmp_path_factory.mktemp("cluster")
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        for port in PORTS:
            data = Path(folder, str(port))
            data.mkdir()
            nodes.append(subprocess.Popen(
                [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--dir", str(data),
                 "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
        _wait(lambda: all(_listening(port) for port in PORTS), "the nodes to listen")
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{port}" for port in PORTS),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=30,
        )

        def ready() -> bool:
            info = subprocess.run([cli, "-p", str(PORTS[0]), "cluster", "info"],
                                  capture_output=True, text=True, timeout=5).stdout
            return "cluster_state:ok" in info

        _wait(ready, "the cluster to be ready")
        yield PORTS[0]
    finally:
        for node in nodes:  # only the processes this fixture started
            node.terminate()
        for node in nodes:
            node.wait(timeout=10)


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.skip(f"gave up waiting for {what}")


@pytest.mark.anyio
async def test_100_concurrent_requests_on_redis_cluster_get_exactly_5_answers(
    cluster: int,
) -> None:
    client = RedisCluster(host="127.0.0.1", port=cluster)
    try:
        prefix = f"test-{uuid.uuid4().hex}"
        backend = RedisBackend(client, prefix=prefix, timeout=SLOW_MACHINE)
        apps = [make_app(RateLimit(backend=backend)) for _ in range(2)]
        statuses = await burst(apps, "/search", 100)
        assert statuses.count(200) == 5 and statuses.count(429) == 95
    finally:
        await client.aclose()


@pytest.mark.anyio
async def test_the_keys_of_one_decision_share_a_slot_and_keys_spread_over_nodes(
    cluster: int,
) -> None:
    client = RedisCluster(host="127.0.0.1", port=cluster)
    try:
        await client.initialize()  # learn which node holds which slots
        backend = RedisBackend(client, prefix=f"test-{uuid.uuid4().hex}", timeout=SLOW_MACHINE)
        limits = (Limit(3, 1), Limit(10, 60, "gcra"), Limit(100, 3600, "fixed-window"))
        nodes = set()
        for n in range(30):
            keys = backend.keys_for(f"client-{n}", limits)
            slots = {client.keyslot(key) for key in keys}
            assert len(slots) == 1
            nodes.add(client.get_node_from_key(keys[0]).name)
            assert (await backend.hit(f"client-{n}", limits)).allowed
        assert len(nodes) == 3
    finally:
        await client.aclose()

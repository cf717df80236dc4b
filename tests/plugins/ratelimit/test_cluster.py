"""The same Lua script on Redis Cluster: three nodes started by the shared
fixture in tests/redis_cluster.py, on free ports, from the machine's
redis-server (skipped, with the reason, where that cannot be done)."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio.cluster import RedisCluster

from minimal_asgi_ratelimit import Limit, RateLimit, RedisBackend
from tests.plugins.ratelimit.test_plugin import SLOW_MACHINE, burst, make_app


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

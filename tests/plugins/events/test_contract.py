"""One contract, every backend: everything here runs on memory, on Redis, and on
a local three-node Redis Cluster (tests/redis_cluster.py) both with sharded
pub/sub and with the plain PUBLISH/SUBSCRIBE it falls back to."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import anyio
import pytest

from minimal_asgi import App
from minimal_asgi_events import Events

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["memory", "redis", "cluster-sharded", "cluster-broadcast"])
async def events(request: pytest.FixtureRequest) -> AsyncIterator[Events]:
    prefix = f"test:{uuid.uuid4().hex}:"
    if request.param == "memory":
        plugin = Events(max_queue=3)
    elif request.param.startswith("cluster"):
        port = request.getfixturevalue("cluster")
        sharded = request.param == "cluster-sharded"
        plugin = Events(f"redis://127.0.0.1:{port}", cluster=True, sharded=sharded,
                        prefix=prefix, max_queue=3)
    else:
        url = request.getfixturevalue("redis_url")
        plugin = Events(url, prefix=prefix, max_queue=3)
    app = App(plugins=[plugin])
    async with app.lifespan_context():
        yield plugin


async def test_a_subscriber_receives_what_is_published_in_order(events: Events) -> None:
    async with events.subscribe("room") as messages:
        assert await events.publish("room", "one") == 1
        await events.publish("room", "two")
        with anyio.fail_after(5):
            assert [await messages.get(), await messages.get()] == ["one", "two"]


async def test_every_subscriber_gets_a_copy_and_other_channels_are_apart(events: Events) -> None:
    async with events.subscribe("a") as first, events.subscribe("a") as second:
        async with events.subscribe("b") as other:
            assert await events.publish("a", "hello") == 2
            await events.publish("b", "elsewhere")
            with anyio.fail_after(5):
                assert await first.get() == "hello"
                assert await second.get() == "hello"
                assert await other.get() == "elsewhere"


async def test_publishing_to_nobody_is_not_an_error(events: Events) -> None:
    assert await events.publish("empty", "lost") == 0


async def test_a_slow_subscriber_loses_the_oldest_messages_not_memory(events: Events) -> None:
    async with events.subscribe("fast") as messages:
        for n in range(10):
            await events.publish("fast", str(n))
        # Wait for the last one to arrive (Redis delivers through a reader task).
        with anyio.fail_after(5):
            while messages.dropped + 3 < 10:
                await anyio.sleep(0.01)
        assert messages.dropped == 7
        assert [await messages.get() for _ in range(3)] == ["7", "8", "9"]


async def test_after_leaving_a_subscription_no_one_is_subscribed(events: Events) -> None:
    async with events.subscribe("room"):
        pass
    assert await events.publish("room", "nobody") == 0

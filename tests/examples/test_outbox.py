"""Side effects before commit: the bug, and the outbox that fixes it (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from examples.outbox.shop import create_app, relay
from minimal_asgi.testing import AsyncTestClient
from minimal_asgi_sql import SQL, Database


class Broker:
    """Records what was published; ``fail_after`` makes it fail from then on."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.messages: list[dict[str, object]] = []
        self.fail_after = fail_after

    async def publish(self, topic: str, message: str) -> None:
        if self.fail_after is not None and len(self.messages) >= self.fail_after:
            raise ConnectionError("the broker went away")
        assert topic == "orders"
        self.messages.append(json.loads(message))


async def order_ids(db: Database) -> list[int]:
    return [row["id"] for row in await db.fetch_all("SELECT id FROM orders ORDER BY id")]


async def outbox_size(db: Database) -> int:
    return int(await db.fetch_val("SELECT count(*) FROM outbox"))


@pytest.mark.anyio
async def test_a_broadcast_inside_the_transaction_announces_a_rolled_back_order(
    sql_url: str,
) -> None:
    broker, sql = Broker(), SQL(sql_url)
    async with AsyncTestClient(create_app(sql, broker.publish, use_outbox=False)) as client:
        assert (await client.post("/orders?item=lamp")).status_code == 201
        assert (await client.post("/orders?item=lamp")).status_code == 409  # no lamp left
        stored = await order_ids(sql.database)
    announced = [message["order"] for message in broker.messages]
    assert len(stored) == 1 and len(announced) == 2
    assert [order for order in announced if order not in stored] == [announced[1]]


@pytest.mark.anyio
async def test_with_the_outbox_only_committed_orders_are_announced_after_commit(
    sql_url: str,
) -> None:
    broker, sql = Broker(), SQL(sql_url)
    async with AsyncTestClient(create_app(sql, broker.publish, use_outbox=True, lamps=2)) as client:
        statuses = [(await client.post("/orders?item=lamp")).status_code for _ in range(3)]
        assert statuses == [201, 201, 409]
        assert broker.messages == []  # nothing is published by a request
        assert await outbox_size(sql.database) == 2  # the 409 left no row
        assert await relay(sql.database, broker.publish) == 2
        assert await relay(sql.database, broker.publish) == 0
        stored = await order_ids(sql.database)
        assert await outbox_size(sql.database) == 0
    assert [message["order"] for message in broker.messages] == stored  # in commit order


@pytest.mark.anyio
async def test_a_relay_that_fails_midway_publishes_again_at_least_once(sql_url: str) -> None:
    broker, sql = Broker(fail_after=1), SQL(sql_url)
    async with AsyncTestClient(create_app(sql, broker.publish, use_outbox=True, lamps=2)) as client:
        for _ in range(2):
            assert (await client.post("/orders?item=lamp")).status_code == 201
        with pytest.raises(ConnectionError):
            await relay(sql.database, broker.publish)
        assert await outbox_size(sql.database) == 2  # nothing deleted
        broker.fail_after = None
        assert await relay(sql.database, broker.publish) == 2
        first, second = await order_ids(sql.database)
    # The first message went out, the relay failed on the second and deleted
    # nothing; the next run sent both: the first one twice.
    assert [message["order"] for message in broker.messages] == [first, first, second]

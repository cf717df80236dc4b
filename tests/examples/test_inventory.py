"""The inventory lesson (examples/inventory): 100 concurrent buyers, 10 items.

The wrong version is made to fail every time: a barrier holds every buyer
between its read and its write until all 100 have read. The right versions
get the same crowd (with a yield at the same spot) and never oversell.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import anyio
import pytest
import redis.asyncio as aioredis

from examples.inventory import stock
from minimal_asgi_sql import Database

pytestmark = pytest.mark.anyio

BUYERS = 100
STOCK = 10


class Barrier:
    """Releases everyone once ``parties`` have arrived."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0
        self.all_here = anyio.Event()

    async def wait(self) -> None:
        self.arrived += 1
        if self.arrived == self.parties:
            self.all_here.set()
        with anyio.fail_after(30):
            await self.all_here.wait()


async def yield_once() -> None:
    await anyio.sleep(0)


async def crowd(buy: Callable[[], Awaitable[bool]]) -> int:
    """Run BUYERS concurrent purchases; how many were told they bought."""
    sold = 0

    async def one() -> None:
        nonlocal sold
        bought = await buy()
        # Not `sold += await buy()`: that reads `sold` before the await, and
        # writes back a stale total after it - the very race under test.
        sold += bought

    async with anyio.create_task_group() as tasks:
        for _ in range(BUYERS):
            tasks.start_soon(one)
    return sold


async def test_redis_read_modify_write_oversells(redis_url: str) -> None:
    r = aioredis.Redis.from_url(redis_url)
    key = f"test:{uuid.uuid4().hex}:stock"
    try:
        await r.set(key, STOCK)
        barrier = Barrier(BUYERS)
        sold = await crowd(lambda: stock.buy_read_modify_write_redis(r, key, barrier.wait))
        assert sold == BUYERS  # every buyer read 10: a hundred sales of ten items
        assert int(await r.get(key)) == STOCK - 1  # and the counter says one was sold
    finally:
        await r.delete(key)
        await r.aclose()


async def test_redis_atomic_script_sells_exactly_the_stock(redis_url: str) -> None:
    r = aioredis.Redis.from_url(redis_url)
    key = f"test:{uuid.uuid4().hex}:stock"
    try:
        await r.set(key, STOCK)
        sold = await crowd(lambda: stock.buy_atomic_redis(r, key, yield_once))
        assert sold == STOCK
        assert int(await r.get(key)) == 0
    finally:
        await r.delete(key)
        await r.aclose()


async def fresh_items(pg_url: str) -> Database:
    db = Database(pg_url)
    await db.connect()
    await db.execute(stock.CREATE_TABLE)
    await db.execute("INSERT INTO items (id, stock) VALUES (1, $1)", [STOCK])
    return db


async def test_sql_read_modify_write_oversells(pg_url: str) -> None:
    db = await fresh_items(pg_url)
    try:
        barrier = Barrier(BUYERS)
        sold = await crowd(lambda: stock.buy_read_modify_write_sql(db, 1, barrier.wait))
        assert sold == BUYERS
        assert await db.fetch_val("SELECT stock FROM items WHERE id = 1") == STOCK - 1
    finally:
        await db.disconnect()


@pytest.mark.parametrize("buy", [stock.buy_select_for_update, stock.buy_conditional_update])
async def test_sql_locking_and_conditional_update_sell_exactly_the_stock(
    pg_url: str, buy: Callable[..., Awaitable[bool]]
) -> None:
    db = await fresh_items(pg_url)
    try:
        sold = await crowd(lambda: buy(db, 1, yield_once))
        assert sold == STOCK
        assert await db.fetch_val("SELECT stock FROM items WHERE id = 1") == 0
    finally:
        await db.disconnect()

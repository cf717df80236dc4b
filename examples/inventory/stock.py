"""Selling the last items: four ways to decrement a stock counter, one wrong.

Every function sells one item if any is left and returns whether it sold.
``between`` runs between reading the stock and writing it: in production it
is whatever the code does there (a price lookup, an await); the tests pass a
barrier there to make the race happen every time instead of once a month.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from minimal_asgi_sql import Database

Pause = Callable[[], Awaitable[None]]


async def no_pause() -> None:
    return None


# --- Redis -----------------------------------------------------------------


async def buy_read_modify_write_redis(
    r: aioredis.Redis, key: str, between: Pause = no_pause
) -> bool:
    """WRONG: two buyers both read 1, both write 0, both sold the last item."""
    stock = int(await r.get(key) or 0)
    await between()
    if stock <= 0:
        return False
    await r.set(key, stock - 1)
    return True


# The check and the decrement run as one script: Redis runs one script at a
# time, so no other command can slip between them.
_DECREMENT_IF_POSITIVE = """
local stock = tonumber(redis.call('GET', KEYS[1]) or '0')
if stock <= 0 then return 0 end
redis.call('DECR', KEYS[1])
return 1
"""


async def buy_atomic_redis(r: aioredis.Redis, key: str, between: Pause = no_pause) -> bool:
    """RIGHT: read, check and write in one atomic step on the server."""
    await between()
    return bool(await r.eval(_DECREMENT_IF_POSITIVE, 1, key))


# --- PostgreSQL ------------------------------------------------------------

CREATE_TABLE = "CREATE TABLE items (id int PRIMARY KEY, stock int NOT NULL)"


async def buy_read_modify_write_sql(db: Database, item: int, between: Pause = no_pause) -> bool:
    """WRONG: the same race in SQL - the value read is stale by the time it is written."""
    stock = await db.fetch_val("SELECT stock FROM items WHERE id = $1", [item])
    await between()
    if stock <= 0:
        return False
    await db.execute("UPDATE items SET stock = $1 WHERE id = $2", [stock - 1, item])
    return True


async def buy_select_for_update(db: Database, item: int, between: Pause = no_pause) -> bool:
    """RIGHT: lock the row; a second buyer waits at its SELECT until the first commits."""
    async with db.transaction():
        stock = await db.fetch_val("SELECT stock FROM items WHERE id = $1 FOR UPDATE", [item])
        await between()
        if stock <= 0:
            return False
        await db.execute("UPDATE items SET stock = stock - 1 WHERE id = $1", [item])
        return True


async def buy_conditional_update(db: Database, item: int, between: Pause = no_pause) -> bool:
    """RIGHT, and the cheapest: one statement that only decrements a positive stock.
    PostgreSQL re-checks ``stock > 0`` on the row's latest version after any wait."""
    await between()
    sold = await db.execute(
        "UPDATE items SET stock = stock - 1 WHERE id = $1 AND stock > 0", [item]
    )
    return sold == 1

"""Exercise 22: a purchase that cannot oversell. See README.md."""

import anyio

from minimal_asgi_sql import Column, Database, Integer, Table, Text, select, update

items = Table(
    "items",
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("stock", Integer, nullable=False),
)


async def buy(db: Database, item_id: int) -> bool:
    # TODO: read-check-write, with an await in between: a race.
    row = await db.fetch_one(select(items.c.stock).where(items.c.id == item_id))
    if row is None or row["stock"] <= 0:
        return False
    await anyio.sleep(0)  # any awaited call here lets another buyer run
    await db.execute(update(items).values(stock=row["stock"] - 1).where(items.c.id == item_id))
    return True

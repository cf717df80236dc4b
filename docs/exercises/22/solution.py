"""Exercise 22, solved: the check and the write in one conditional UPDATE."""

from minimal_asgi_sql import Column, Database, Integer, Table, Text, update

items = Table(
    "items",
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("stock", Integer, nullable=False),
)


async def buy(db: Database, item_id: int) -> bool:
    # One statement: the database checks and decrements atomically, so no
    # other buyer can slip in between. It changes one row, or none.
    changed = await db.execute(
        update(items)
        .values(stock=items.c.stock - 1)
        .where(items.c.id == item_id, items.c.stock > 0)
    )
    return changed == 1

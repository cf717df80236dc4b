"""Announcing an order: from inside the transaction (wrong), or through an outbox.

An order is written, announced ("order 7: a lamp"), and the stock goes one
down - all in one request's transaction. If the announcement is sent inside
the transaction and the stock update then fails, the transaction rolls back
and the order never existed; the announcement is already out. Subscribers,
emails and other services have been told about data that is not there.

The outbox: the endpoint writes the announcement as a row of ``outbox``, in
the same transaction as the order. Either both commit or neither does. A
relay, running apart from requests, publishes what committed transactions
left there and deletes it afterwards. A relay that dies between publishing
and deleting publishes again on its next run: delivery is at-least-once, so
subscribers recognise a message they have seen (it carries the order id).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from minimal_asgi import App, Depends
from minimal_asgi_sql import (
    SQL,
    Check,
    Column,
    Database,
    Integer,
    Table,
    Text,
    delete,
    insert,
    select,
    transaction,
    update,
)

# publish(topic, message): the broadcast - pub/sub, a webhook, an email.
Publish = Callable[[str, str], Awaitable[None]]

stock = Table(
    "stock",
    Column("item", Text, primary_key=True),
    Column("available", Integer, nullable=False),
    Check(lambda c: c.available >= 0, name="stock_available_check"),
)
orders = Table(
    "orders",
    Column("id", Integer, primary_key=True),
    Column("item", Text, nullable=False),
)
outbox = Table(
    "outbox",
    Column("id", Integer, primary_key=True),  # the order messages are published in
    Column("topic", Text, nullable=False),
    Column("payload", Text, nullable=False),
)


def create_app(sql: SQL, publish: Publish, *, use_outbox: bool, lamps: int = 1) -> App:
    """The shop on ``sql``'s database. ``use_outbox=False`` is the bug; ``True`` the fix."""
    app = App(plugins=[sql])

    @app.on_startup
    async def create_schema() -> None:  # runs after the plugin connected
        db = sql.database
        for table in (stock, orders, outbox):
            await db.execute(table.create())
        await db.execute(insert(stock).values(item="lamp", available=lamps))

    @app.post("/orders", status_code=201)
    async def place_order(item: str, db: Database = Depends(transaction)) -> dict[str, Any]:
        order_id = await db.fetch_val(insert(orders).values(item=item).returning(orders.c.id))
        message = json.dumps({"order": order_id, "item": item})
        if use_outbox:
            # Written in this transaction: it commits with the order, or not at all.
            await db.execute(insert(outbox).values(topic="orders", payload=message))
        else:
            # WRONG: sent now, while the transaction can still roll back.
            await publish("orders", message)
        # The last step can fail: no lamp left breaks stock_available_check,
        # the plugin answers 409 and rolls the whole transaction back.
        await db.execute(
            update(stock).values(available=stock.c.available - 1).where(stock.c.item == item)
        )
        return {"id": order_id}

    return app


async def relay(db: Database, publish: Publish, *, batch: int = 100) -> int:
    """Publish what committed transactions left in the outbox, oldest first,
    then delete it; returns how many were published.

    Only committed rows are visible here, so nothing rolled back is ever
    announced. Run it in a loop (a task started at startup, a worker, a cron
    job). With several relays at once, PostgreSQL's ``FOR UPDATE SKIP
    LOCKED`` on the select lets each take different rows.
    """
    async with db.transaction():
        rows = await db.fetch_all(select(outbox).order_by(outbox.c.id).limit(batch))
        for row in rows:
            await publish(row["topic"], row["payload"])
        if rows:
            await db.execute(delete(outbox).where(outbox.c.id.in_([row["id"] for row in rows])))
    return len(rows)

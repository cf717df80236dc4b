"""Exercise 22: twenty buyers, five items - five sales."""

from types import ModuleType

import anyio

from minimal_asgi_sql import Database, insert, select


def sell(module: ModuleType, stock: int, buyers: int) -> tuple[list[bool], int]:
    async def main() -> tuple[list[bool], int]:
        async with Database("sqlite://:memory:") as db:
            await db.execute(module.items.create())
            await db.execute(insert(module.items).values(id=1, name="kettle", stock=stock))
            results: list[bool] = []

            async def buyer() -> None:
                results.append(await module.buy(db, 1))

            async with anyio.create_task_group() as tasks:
                for _ in range(buyers):
                    tasks.start_soon(buyer)
            left = await db.fetch_val(select(module.items.c.stock).where(module.items.c.id == 1))
            return results, left

    return anyio.run(main)


def test_one_buyer_buys(exercise: ModuleType) -> None:
    assert sell(exercise, stock=1, buyers=1) == ([True], 0)


def test_concurrent_buyers_never_oversell(exercise: ModuleType) -> None:
    results, left = sell(exercise, stock=5, buyers=20)
    assert results.count(True) == 5
    assert results.count(False) == 15
    assert left == 0


def test_nothing_to_sell(exercise: ModuleType) -> None:
    results, left = sell(exercise, stock=0, buyers=3)
    assert results == [False, False, False]
    assert left == 0


def test_buying_a_missing_item_is_false(exercise: ModuleType) -> None:
    async def main() -> bool:
        async with Database("sqlite://:memory:") as db:
            await db.execute(exercise.items.create())
            return await exercise.buy(db, 99)

    assert anyio.run(main) is False

"""Exercise 31: one contract suite, run on the real repository and on the fake."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import ModuleType
from typing import Any

import anyio
import pytest

from minimal_asgi_sql import Column, Database, Integer, Table, Text, insert, select, update

books = Table(
    "books",
    Column("id", Integer, primary_key=True),
    Column("title", Text, nullable=False),
    Column("copies", Integer, nullable=False),
)


class SqlBooks:
    """The real repository, on SQLite: what the fake must behave like."""

    def __init__(self, db: Database, book: type) -> None:
        self.db, self.book = db, book

    async def add(self, title: str, copies: int) -> Any:
        row = await self.db.fetch_one(
            insert(books).values(title=title, copies=copies).returning(*books.c)
        )
        return self.book(**row)

    async def get(self, book_id: int) -> Any:
        row = await self.db.fetch_one(select(books).where(books.c.id == book_id))
        return None if row is None else self.book(**row)

    async def take_copy(self, book_id: int) -> bool:
        changed = await self.db.execute(
            update(books)
            .values(copies=books.c.copies - 1)
            .where(books.c.id == book_id, books.c.copies > 0)
        )
        return changed == 1


Repository = Callable[[], AbstractAsyncContextManager[Any]]


def repositories(module: ModuleType) -> dict[str, Repository]:
    @asynccontextmanager
    async def real() -> AsyncIterator[SqlBooks]:
        async with Database("sqlite://:memory:") as db:
            await db.execute(books.create())
            yield SqlBooks(db, module.Book)

    @asynccontextmanager
    async def fake() -> AsyncIterator[Any]:
        yield module.FakeBooks()

    return {"real": real, "fake": fake}


KINDS = ["real", "fake"]


def check(module: ModuleType, kind: str, scenario: Callable[[Any], Any]) -> None:
    async def main() -> None:
        async with repositories(module)[kind]() as repository:
            await scenario(repository)

    anyio.run(main)


@pytest.mark.parametrize("kind", KINDS)
def test_add_numbers_books_and_get_finds_them(exercise: ModuleType, kind: str) -> None:
    async def scenario(repository: Any) -> None:
        first = await repository.add("Dune", 2)
        second = await repository.add("Emma", 1)
        assert (first.id, second.id) == (1, 2)
        assert await repository.get(2) == exercise.Book(2, "Emma", 1)
        assert await repository.get(99) is None

    check(exercise, kind, scenario)


@pytest.mark.parametrize("kind", KINDS)
def test_take_copy_until_none_is_left(exercise: ModuleType, kind: str) -> None:
    async def scenario(repository: Any) -> None:
        await repository.add("Dune", 2)
        assert [await repository.take_copy(1) for _ in range(3)] == [True, True, False]
        assert (await repository.get(1)).copies == 0

    check(exercise, kind, scenario)


@pytest.mark.parametrize("kind", KINDS)
def test_take_copy_of_an_unknown_book_is_false(exercise: ModuleType, kind: str) -> None:
    async def scenario(repository: Any) -> None:
        assert await repository.take_copy(7) is False

    check(exercise, kind, scenario)


@pytest.mark.parametrize("kind", KINDS)
def test_a_book_read_is_the_callers_own_copy(exercise: ModuleType, kind: str) -> None:
    async def scenario(repository: Any) -> None:
        await repository.add("Dune", 2)
        book = await repository.get(1)
        book.copies = 100
        assert (await repository.get(1)).copies == 2

    check(exercise, kind, scenario)

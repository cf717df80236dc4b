"""The repositories: the only code that writes SQL.

Each takes the ``Database`` and answers in plain dicts. Nothing here knows
about HTTP, tokens or caches: a test can run them on SQLite and PostgreSQL
alike (tests/examples/test_bookshelf.py), and a service test can replace
them with fakes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from minimal_asgi_sql import Database, Select, insert, now, select, update

from .schema import authors, books, loans, reviews, users

Row = dict[str, Any]
Sort = Literal["newest", "title", "year"]

BOOK_COLUMNS = (
    books.c.id, books.c.title, books.c.author_id, authors.c.name.label("author"),
    books.c.year, books.c.copies, books.c.available, books.c.version, books.c.cover,
)  # fmt: skip


def timestamp(value: str | dt.datetime | None) -> dt.datetime | None:
    """PostgreSQL gives a TIMESTAMPTZ as an aware datetime; SQLite gives
    CURRENT_TIMESTAMP's text ("2025-01-31 12:00:00", in UTC)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, email: str, password_hash: str, role: str) -> Row:
        # A taken e-mail breaks users_email_key: the SQL plugin answers 409.
        query = insert(users).values(email=email, password_hash=password_hash, role=role)
        row = await self.db.fetch_one(query.returning(users.c.id, users.c.email, users.c.role))
        assert row is not None
        return row

    async def by_email(self, email: str) -> Row | None:
        return await self.db.fetch_one(select(users).where(users.c.email == email))

    async def by_id(self, user_id: int) -> Row | None:
        query = select(users.c.id, users.c.email, users.c.role).where(users.c.id == user_id)
        return await self.db.fetch_one(query)

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        query = update(users).values(password_hash=password_hash).where(users.c.id == user_id)
        await self.db.execute(query)


class AuthorRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, name: str) -> Row:
        row = await self.db.fetch_one(
            insert(authors).values(name=name).returning(authors.c.id, authors.c.name))
        assert row is not None
        return row

    async def all(self) -> list[Row]:
        return await self.db.fetch_all(select(authors).order_by(authors.c.name, authors.c.id))


class BookRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, title: str, author_id: int, year: int, copies: int) -> Row:
        query = insert(books).values(
            title=title, author_id=author_id, year=year, copies=copies, available=copies
        ).returning(books.c.id)
        row = await self.db.fetch_one(query)
        assert row is not None
        found = await self.get(row["id"])
        assert found is not None
        return found

    async def get(self, book_id: int) -> Row | None:
        query = (select(*BOOK_COLUMNS).join(authors, on=authors.c.id == books.c.author_id)
                 .where(books.c.id == book_id))
        return await self.db.fetch_one(query)

    def page_query(
        self, *, sort: Sort, after: tuple[Any, int] | None, limit: int,
        author_id: int | None = None, title: str | None = None, available: bool | None = None,
    ) -> Select:
        """One page in ``sort`` order, after the row whose key is ``after``.

        Keyset pagination: ``WHERE (title, id) > ($1, $2) ORDER BY title, id``
        starts where the last page ended, read from the index in that order -
        page 1,000 costs what page 1 costs, and a book added meanwhile neither
        repeats nor skips a row (as OFFSET would). The id breaks ties, so the
        key is unique.
        """
        query = select(*BOOK_COLUMNS).join(authors, on=authors.c.id == books.c.author_id)
        if sort == "newest":
            query = query.after(books.c.id, None if after is None else after[1], descending=True)
        else:
            column = books.c.title if sort == "title" else books.c.year
            query = query.after((column, books.c.id), after)
        if author_id is not None:
            query = query.where(books.c.author_id == author_id)
        if title:
            # LIKE's own wildcards in the search text are escaped: "100%" means 100%.
            escaped = title.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(books.c.title.ilike(f"%{escaped}%", escape="\\"))
        if available is not None:
            query = query.where(books.c.available > 0 if available else books.c.available == 0)
        return query.limit(limit)

    async def page(self, **criteria: Any) -> list[Row]:
        return await self.db.fetch_all(self.page_query(**criteria))

    async def update(self, book_id: int, version: int, changes: dict[str, Any]) -> Row | None:
        """Apply ``changes`` if the book is still at ``version`` (optimistic
        concurrency): one conditional UPDATE, so two editors who both read
        version 3 cannot both write - the second finds version 4 and changes
        nothing. None when no row matched."""
        values: dict[str, Any] = {**changes, "version": books.c.version + 1}
        if "copies" in changes:  # more or fewer copies owned: as many more or fewer on the shelf
            values["available"] = books.c.available + changes["copies"] - books.c.copies
        query = (update(books).values(values)
                 .where(books.c.id == book_id, books.c.version == version).returning(books.c.id))
        return await self.db.fetch_one(query)

    async def set_cover(self, book_id: int, cover: str) -> bool:
        query = (update(books).values(cover=cover, version=books.c.version + 1)
                 .where(books.c.id == book_id))
        return bool(await self.db.execute(query))

    async def take_copy(self, book_id: int) -> bool:
        """Take one copy off the shelf, if one is there.

        The check and the decrement are ONE statement: two members borrowing
        the last copy at once both send it, the database runs them one after
        the other on that row (PostgreSQL re-checks ``available > 0`` on the
        row's newest version after waiting for the first), and only one
        changes a row. Reading ``available`` first and writing it after would
        let both read 1 and both borrow (docs/22-race-conditions.md).
        """
        query = (update(books).values(available=books.c.available - 1)
                 .where(books.c.id == book_id, books.c.available > 0))
        return await self.db.execute(query) == 1

    async def put_back(self, book_id: int) -> None:
        query = (update(books).values(available=books.c.available + 1)
                 .where(books.c.id == book_id))
        await self.db.execute(query)

    async def exists(self, book_id: int) -> bool:
        return await self.db.fetch_val(select(books.c.id).where(books.c.id == book_id)) is not None


class LoanRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, book_id: int, user_id: int) -> Row:
        query = insert(loans).values(book_id=book_id, user_id=user_id).returning(loans.c.id)
        row = await self.db.fetch_one(query)
        assert row is not None
        loan = await self.get(row["id"])
        assert loan is not None
        return loan

    async def get(self, loan_id: int) -> Row | None:
        return await self.db.fetch_one(select(loans).where(loans.c.id == loan_id))

    async def of_user(self, user_id: int) -> list[Row]:
        query = select(loans).where(loans.c.user_id == user_id).order_by(loans.c.id.desc())
        return await self.db.fetch_all(query)

    async def close(self, loan_id: int, user_id: int) -> bool:
        """Mark a loan returned, once: a second return changes no row."""
        query = update(loans).values(returned_at=now()).where(
            loans.c.id == loan_id, loans.c.user_id == user_id, loans.c.returned_at.is_null())
        return await self.db.execute(query) == 1

    async def mark_receipt_sent(self, loan_id: int) -> bool:
        """True the first time only: a job run twice does not count twice."""
        query = update(loans).values(receipt_sent_at=now()).where(
            loans.c.id == loan_id, loans.c.receipt_sent_at.is_null())
        return await self.db.execute(query) == 1


class ReviewRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, book_id: int, user_id: int, rating: int, body: str) -> Row:
        # A second review of one book by one reader breaks
        # reviews_book_id_user_id_key: a 409 naming it.
        query = insert(reviews).values(
            book_id=book_id, user_id=user_id, rating=rating, body=body
        ).returning(reviews.c.id, reviews.c.book_id, reviews.c.user_id, reviews.c.rating,
                    reviews.c.body, reviews.c.created_at)
        row = await self.db.fetch_one(query)
        assert row is not None
        return row

    async def of_book(self, book_id: int, *, after: int | None, limit: int) -> list[Row]:
        query = (select(reviews.c.id, reviews.c.user_id, reviews.c.rating, reviews.c.body,
                        reviews.c.created_at)
                 .where(reviews.c.book_id == book_id)
                 .after(reviews.c.id, after).limit(limit))
        return await self.db.fetch_all(query)

"""The services: the rules and the transactions, no SQL and no HTTP routing.

A service gets its repositories (and the database, for transactions) from
dependency injection; tests replace a repository with a fake through
``app.dependency_overrides``. The rules live here: who is an admin, what a
cursor is, when an update is stale, what borrowing the last copy means.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import anyio.to_thread

from minimal_asgi import HTTPException
from minimal_asgi_auth import passwords
from minimal_asgi_sql import Database, ForeignKeyViolation

from .repositories import (
    AuthorRepository,
    BookRepository,
    LoanRepository,
    ReviewRepository,
    Row,
    Sort,
    UserRepository,
    timestamp,
)


class AccountService:
    def __init__(self, users: UserRepository, hasher: passwords.Hasher, admins: set[str]) -> None:
        self.users, self.hasher, self.admins = users, hasher, admins

    async def sign_up(self, email: str, password: str) -> Row:
        # Stored in lower case, so the unique constraint also stops
        # "Ada@example.com" beside "ada@example.com".
        email = email.strip().lower()
        role = "admin" if email in self.admins else "member"
        # argon2 is slow on purpose (tens of milliseconds of CPU and memory):
        # in a worker thread, the event loop serves other requests meanwhile.
        hashed = await anyio.to_thread.run_sync(self.hasher.hash, password)
        return await self.users.add(email, hashed, role)

    async def check(self, email: str, password: str) -> Row | None:
        """The user if the password is right. An unknown e-mail costs one argon2
        verification too, so the time taken does not say who has an account."""
        user = await self.users.by_email(email.strip().lower())
        if user is None:
            await anyio.to_thread.run_sync(self.hasher.verify_unknown_user, password)
            return None
        ok, upgraded = await anyio.to_thread.run_sync(
            self.hasher.verify_and_update, user["password_hash"], password)
        if ok and upgraded is not None:  # stronger parameters since: store the new hash
            await self.users.set_password_hash(user["id"], upgraded)
        return user if ok else None


def roles_of(role: str) -> list[str]:
    """An admin is a member too (RBAC's inherits says the same for permissions)."""
    return ["admin", "member"] if role == "admin" else ["member"]


# -- the catalogue -------------------------------------------------------------


def etag(book: Row) -> str:
    """The book's entity tag: its version, which every change increments."""
    return f'"v{book["version"]}"'


def encode_cursor(sort: Sort, book: Row) -> str:
    """The next page's ``after``: the last row's sort key, opaque to clients
    (base64 of JSON), so the API may change what is inside."""
    key = {"newest": None, "title": book["title"], "year": book["year"]}[sort]
    raw = json.dumps([sort, key, book["id"]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: Sort, cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, key, book_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise HTTPException(422, "after: not a cursor this API gave out") from None
    expected = {"newest": type(None), "title": str, "year": int}[sort]
    if (cursor_sort != sort or type(key) is not expected or type(book_id) is not int
            or not -(2**63) <= book_id < 2**63
            or (type(key) is int and not -(2**31) <= key < 2**31)):
        raise HTTPException(422, f"after: not a cursor of a page sorted by {sort}")
    return key, book_id


class CatalogueService:
    def __init__(self, db: Database, authors: AuthorRepository, books: BookRepository) -> None:
        self.db, self.authors, self.books = db, authors, books

    async def add_author(self, name: str) -> Row:
        return await self.authors.add(name.strip())

    async def all_authors(self) -> list[Row]:
        return await self.authors.all()

    async def add_book(self, title: str, author_id: int, year: int, copies: int) -> Row:
        try:
            return await self.books.add(title.strip(), author_id, year, copies)
        except ForeignKeyViolation:
            raise HTTPException(422, f"there is no author {author_id}") from None

    async def book(self, book_id: int) -> Row:
        book = await self.books.get(book_id)
        if book is None:
            raise HTTPException(404, f"there is no book {book_id}")
        return book

    async def page(self, *, sort: Sort, after: str | None, limit: int,
                   **filters: Any) -> tuple[list[Row], str | None]:
        """A page and the cursor of the next one (None on the last page)."""
        key = None if after is None else decode_cursor(sort, after)
        # One row more than asked: if it comes back, there is a next page.
        rows = await self.books.page(sort=sort, after=key, limit=limit + 1, **filters)
        rows, more = rows[:limit], len(rows) > limit
        return rows, encode_cursor(sort, rows[-1]) if more else None

    async def update_book(self, book_id: int, if_match: str | None, changes: dict[str, Any]) -> Row:
        """Change a book, if the client saw its current version.

        ``If-Match`` is required (428 without it): an editor who read version 3
        must not overwrite version 4 with stale fields unseen (the lost
        update). A stale tag is a 412, and the client reads the book again.
        """
        if if_match is None:
            raise HTTPException(428, "send If-Match with the ETag of the book you read")
        current = await self.book(book_id)
        version = _version_in(if_match, current)
        if version is None:
            raise HTTPException(412, "the book changed since you read it; read it again")
        if "copies" in changes and changes["copies"] < current["copies"] - current["available"]:
            raise HTTPException(409, "more copies are on loan than that")
        if await self.books.update(book_id, version, changes) is None:
            # Someone else's update won between our read and our write.
            raise HTTPException(412, "the book changed since you read it; read it again")
        return await self.book(book_id)


def _version_in(if_match: str, current: Row) -> int | None:
    """The version ``If-Match`` names if it is the current one (or ``*``)."""
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags or etag(current) in tags:
        return int(current["version"])
    return None


# -- loans and reviews ---------------------------------------------------------------


def loan_json(loan: Row) -> Row:
    return {"id": loan["id"], "book_id": loan["book_id"], "user_id": loan["user_id"],
            "borrowed_at": timestamp(loan["borrowed_at"]),
            "returned_at": timestamp(loan["returned_at"]),
            "receipt_sent_at": timestamp(loan["receipt_sent_at"])}


class LendingService:
    def __init__(self, db: Database, books: BookRepository, loans: LoanRepository) -> None:
        self.db, self.books, self.loans = db, books, loans

    async def borrow(self, book_id: int, user_id: int) -> Row:
        """Take a copy and record the loan, both or neither (one transaction)."""
        async with self.db.transaction():
            if not await self.books.take_copy(book_id):
                if not await self.books.exists(book_id):
                    raise HTTPException(404, f"there is no book {book_id}")
                raise HTTPException(409, "every copy of this book is on loan")
            loan = await self.loans.add(book_id, user_id)
        return loan_json(loan)

    async def give_back(self, loan_id: int, user_id: int) -> Row:
        async with self.db.transaction():
            loan = await self.loans.get(loan_id)
            if loan is None or loan["user_id"] != user_id:
                raise HTTPException(404, f"you have no loan {loan_id}")
            if not await self.loans.close(loan_id, user_id):
                raise HTTPException(409, "this loan was returned already")
            await self.books.put_back(loan["book_id"])
            closed = await self.loans.get(loan_id)
        assert closed is not None
        return loan_json(closed)

    async def loan(self, loan_id: int, user_id: int) -> Row:
        loan = await self.loans.get(loan_id)
        if loan is None or loan["user_id"] != user_id:
            raise HTTPException(404, f"you have no loan {loan_id}")
        return loan_json(loan)

    async def loans_of(self, user_id: int) -> list[Row]:
        return [loan_json(loan) for loan in await self.loans.of_user(user_id)]


class ReviewService:
    def __init__(self, books: BookRepository, reviews: ReviewRepository) -> None:
        self.books, self.reviews = books, reviews

    async def add(self, book_id: int, user_id: int, rating: int, body: str) -> Row:
        if not await self.books.exists(book_id):
            raise HTTPException(404, f"there is no book {book_id}")
        row = await self.reviews.add(book_id, user_id, rating, body)
        return {**row, "created_at": timestamp(row["created_at"])}

    async def of_book(self, book_id: int, *, after: int | None,
                      limit: int) -> tuple[list[Row], int | None]:
        if not await self.books.exists(book_id):
            raise HTTPException(404, f"there is no book {book_id}")
        rows = await self.reviews.of_book(book_id, after=after, limit=limit + 1)
        rows, more = rows[:limit], len(rows) > limit
        items = [{**row, "created_at": timestamp(row["created_at"])} for row in rows]
        return items, rows[-1]["id"] if more else None

"""Bookshelf's tables, declared for the query builder.

The migrations (``migrations/<dialect>/*.sql``) make the tables; these
declarations describe the same tables to Python, so the repositories build
queries from ``books.c.title`` rather than strings.

::

    users 1 ──< loans >── 1 books >── 1 authors
    users 1 ──< reviews >── 1 books

``books.available`` is how many copies are on the shelf: a loan takes one with
a conditional UPDATE (``... WHERE available > 0``), and a CHECK keeps it
between 0 and ``copies`` whatever code runs. ``books.version`` grows with
every change: it is the book's ETag, and ``If-Match`` compares against it.
"""

from __future__ import annotations

from minimal_asgi_sql import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    Table,
    Text,
    Timestamp,
    Unique,
    now,
)

users = Table(
    "users",
    Column("id", BigInteger, primary_key=True),
    Column("email", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", Text, nullable=False),  # "admin" or "member"
    Column("created_at", Timestamp, nullable=False, default=now()),
    Unique("email", name="users_email_key"),
)

authors = Table(
    "authors",
    Column("id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Unique("name", name="authors_name_key"),
)

books = Table(
    "books",
    Column("id", BigInteger, primary_key=True),
    Column("title", Text, nullable=False),
    Column("author_id", BigInteger, ForeignKey(authors.c.id), nullable=False),
    Column("year", Integer, nullable=False),
    Column("copies", Integer, nullable=False),
    Column("available", Integer, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("cover", Text),  # the storage key of the cover's folder, once uploaded
    Column("created_at", Timestamp, nullable=False, default=now()),
)

loans = Table(
    "loans",
    Column("id", BigInteger, primary_key=True),
    Column("book_id", BigInteger, ForeignKey(books.c.id, on_delete="CASCADE"), nullable=False),
    Column("user_id", BigInteger, ForeignKey(users.c.id, on_delete="CASCADE"), nullable=False),
    Column("borrowed_at", Timestamp, nullable=False, default=now()),
    Column("returned_at", Timestamp),
    Column("receipt_sent_at", Timestamp),  # set by the receipt job
)

reviews = Table(
    "reviews",
    Column("id", BigInteger, primary_key=True),
    Column("book_id", BigInteger, ForeignKey(books.c.id, on_delete="CASCADE"), nullable=False),
    Column("user_id", BigInteger, ForeignKey(users.c.id, on_delete="CASCADE"), nullable=False),
    Column("rating", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False, default=now()),
    Unique("book_id", "user_id", name="reviews_book_id_user_id_key"),
)

TABLES = (users, authors, books, loans, reviews)

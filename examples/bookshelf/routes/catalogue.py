"""The catalogue: authors and books, read by anyone, written by admins.

- ``GET /books`` pages through the books (keyset pagination: pass the page's
  ``next`` as ``after``), filtered by author, title and availability, sorted
  by newest, title or year. It is cached for anonymous readers (the cache
  plugin; a request with credentials is personal and skips the cache), and
  every write invalidates the tag ``catalogue`` - on every worker when the
  cache is on Redis.
- ``GET /books/{id}`` sends the book's ``ETag`` (its version);
  ``PATCH /books/{id}`` needs ``If-Match`` with it, so two admins editing at
  once cannot overwrite each other unseen (412 for the second).
- ``POST /books`` takes an optional ``Idempotency-Key`` (a retry after a lost
  answer gets the first answer, not a second book), counts against the
  admin's write quota, and announces the book on the feed (routes/feed.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from minimal_asgi import (
    App,
    Ge,
    Header,
    HTTPException,
    JSONResponse,
    Le,
    MaxLen,
    MinLen,
    Pattern,
    Request,
    Response,
)
from minimal_asgi_cache import Cached

from ..dependencies import Catalogue, by_user
from ..repositories import Sort
from ..services import etag
from . import BOOKS_CHANNEL, CATALOGUE_TAG, Parts

# Text both databases store: PostgreSQL's TEXT cannot hold a NUL.
StoredText = Annotated[str, Pattern(r"[^\x00]*")]
BigInt = Annotated[int, Ge(1), Le(2**63 - 1)]
Year = Annotated[int, Ge(-3000), Le(3000)]
Copies = Annotated[int, Ge(0), Le(10_000)]
Limit = Annotated[int, Ge(1), Le(100)]


@dataclass
class NewAuthor:
    name: Annotated[StoredText, MinLen(1), MaxLen(200)]


@dataclass
class NewBook:
    title: Annotated[StoredText, MinLen(1), MaxLen(300)]
    author_id: BigInt
    year: Year
    copies: Copies = 1


@dataclass
class BookChanges:
    title: Annotated[StoredText, MinLen(1), MaxLen(300)] | None = None
    year: Year | None = None
    copies: Copies | None = None


def book_json(book: dict[str, Any]) -> dict[str, Any]:
    """A book as the API shows it (the storage key of the cover stays inside)."""
    return {key: book[key] for key in ("id", "title", "author_id", "author", "year", "copies",
                                       "available", "version")} | {
        "has_cover": book["cover"] is not None}


def register(app: App, parts: Parts) -> None:
    auth, cache, events = parts.auth, parts.cache, parts.events
    admin = auth.requires("admin")
    writes = parts.limiter.limit(parts.settings.write_limit, key=by_user, name="writes")
    catalogue_cache = (Cached(ttl=60, tags=[CATALOGUE_TAG])
                       if parts.settings.cache_catalogue else None)

    @app.get("/authors", cache=catalogue_cache)
    async def list_authors(catalogue: Catalogue) -> list[dict[str, Any]]:
        """Every author, by name."""
        return await catalogue.all_authors()

    @app.post("/authors", status_code=201, dependencies=[admin, writes],
              responses={409: "That author exists."})
    async def create_author(body: NewAuthor, catalogue: Catalogue) -> dict[str, Any]:
        """Add an author (admins)."""
        author = await catalogue.add_author(body.name)
        await cache.invalidate_tags(CATALOGUE_TAG)
        return author

    @app.get("/books", cache=catalogue_cache)
    async def list_books(
        catalogue: Catalogue,
        sort: Sort = "newest",
        after: Annotated[str, MaxLen(400)] | None = None,
        limit: Limit = 20,
        author_id: BigInt | None = None,
        title: Annotated[StoredText, MaxLen(100)] | None = None,
        available: bool | None = None,
    ) -> dict[str, Any]:
        """The catalogue, a page at a time: pass ``next`` back as ``after``."""
        rows, following = await catalogue.page(sort=sort, after=after, limit=limit,
                                               author_id=author_id, title=title,
                                               available=available)
        return {"items": [book_json(row) for row in rows], "next": following}

    @app.post("/books", status_code=201, dependencies=[admin, writes], idempotency=True,
              responses={422: "There is no author with that id."})
    async def create_book(body: NewBook, catalogue: Catalogue) -> Response:
        """Add a book (admins); it is announced on ``/feed`` to every worker's clients."""
        book = book_json(await catalogue.add_book(body.title, body.author_id, body.year,
                                                  body.copies))
        await cache.invalidate_tags(CATALOGUE_TAG)
        await events.publish(BOOKS_CHANNEL, json.dumps({"event": "book.created", "book": book}))
        return _with_etag(book, 201, location=f"/books/{book['id']}")

    @app.get("/books/{book_id:int}", responses={304: "Not modified (If-None-Match).",
                                                 404: "There is no book with that id."})
    async def read_book(book_id: int, catalogue: Catalogue, request: Request) -> Response:
        """One book, with its ETag; ``If-None-Match`` with it answers 304."""
        book = book_json(await catalogue.book(book_id))
        tag = etag(book)
        if tag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers={"etag": tag})
        return _with_etag(book, 200)

    @app.patch("/books/{book_id:int}", dependencies=[admin, writes],
               responses={404: "There is no book with that id.",
                          409: "More copies are on loan than that.",
                          412: "The book changed since you read it (If-Match).",
                          428: "Send If-Match."})
    async def update_book(
        book_id: int, body: BookChanges, catalogue: Catalogue,
        if_match: Annotated[str, MaxLen(200)] | None = Header(None),
    ) -> Response:
        """Change a book (admins), if ``If-Match`` names its current ETag."""
        changes = {k: v for k, v in vars(body).items() if v is not None}
        if "title" in changes:
            changes["title"] = changes["title"].strip()
            if not changes["title"]:
                raise HTTPException(422, "title: say something besides spaces")
        book = book_json(await catalogue.update_book(book_id, if_match, changes))
        await cache.invalidate_tags(CATALOGUE_TAG)
        return _with_etag(book, 200)


def _with_etag(book: dict[str, Any], status: int, location: str | None = None) -> Response:
    headers = {"etag": etag(book)}
    if location:
        headers["location"] = location
    return JSONResponse(book, status_code=status, headers=headers)

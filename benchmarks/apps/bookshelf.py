"""The app of benchmarks/bookshelf_read.py: examples/bookshelf, its catalogue
cached or not, on in-memory SQLite with 200 books added at startup.

``BENCH_APP=bookshelf:minimal_asgi:cached`` or ``...:uncached``
(benchmarks/serve.py). Everything else is the example as it ships: the same
plugins, middleware and JSON access log on every request.
"""

from __future__ import annotations

import tempfile

from examples.bookshelf.app import build as build_bookshelf
from examples.bookshelf.dependencies import get_catalogue
from examples.bookshelf.settings import BookshelfSettings
from minimal_asgi import App, Secret

BOOKS = 200
CASES = ("cached", "uncached")


def build(framework: str, case: str) -> App:
    if case not in CASES:
        raise KeyError(f"unknown case {case!r}; choose from {CASES}")
    settings = BookshelfSettings(
        jwt_secret=Secret("j" * 43), storage_signing_key=Secret("s" * 43),
        storage_root=tempfile.mkdtemp(prefix="bookshelf-bench-"),
        cache_catalogue=case == "cached", embedded_workers=1,
    )
    app = build_bookshelf(settings).app

    @app.on_startup
    async def add_books() -> None:
        async with app.dependencies_scope() as scope:
            catalogue = await scope.resolve(get_catalogue)
            author = await catalogue.add_author("Anonymous")
            for number in range(BOOKS):
                await catalogue.add_book(f"Book {number:03}", author["id"], 1900 + number % 120,
                                         copies=1 + number % 3)

    return app

"""Cover images: uploaded by admins, served through signed links.

``PUT /books/{id}/cover`` takes the image as the raw body. It is checked by
its bytes (the ``Content-Type`` header is the client's claim), a 256-pixel
thumbnail is made in a worker thread, and both are stored by the storage
plugin - on local disk by default, S3 the same way (see examples/gallery).
The answer, and ``GET /books/{id}/cover``, hold *signed* links: anyone with
the link may download the file until it expires (10 minutes), and nobody can
forge a link to another file, or extend one.
"""

from __future__ import annotations

from typing import Any

from minimal_asgi import App, HTTPException, Request
from minimal_asgi_storage import MEDIA_TYPES, ImageRejected, Storage, image_format, thumbnail

from ..dependencies import Catalogue
from . import CATALOGUE_TAG, Parts

LINK_SECONDS = 600
MAX_COVER_BYTES = 5 * 1024 * 1024
ACCEPTED_TYPES = sorted(set(MEDIA_TYPES.values()))


def register(app: App, parts: Parts) -> None:
    cache = parts.cache
    admin = parts.auth.requires("admin")

    @app.put("/books/{book_id:int}/cover", dependencies=[admin],
             responses={404: "There is no book with that id.", 415: "Not an image type.",
                        422: "The bytes are not an image."})
    async def upload_cover(book_id: int, request: Request, files: Storage,
                           catalogue: Catalogue) -> dict[str, Any]:
        """Store a book's cover (the raw body: image/png, image/jpeg, ...) and a thumbnail."""
        await catalogue.book(book_id)  # 404 before reading a large body
        declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if declared not in ACCEPTED_TYPES:
            raise HTTPException(415, f"send the cover as one of {', '.join(ACCEPTED_TYPES)}")
        data = await request.body()
        try:
            kind = image_format(data)  # from the bytes: the header may lie
            small = await thumbnail(data, size=(256, 256))
        except ImageRejected as exc:
            raise HTTPException(422, str(exc)) from None
        # Keys made by the app from a validated id and the format the bytes
        # have: never from a client's file name.
        original = f"covers/{book_id}/original.{kind.lower()}"
        await files.save(original, data, content_type=MEDIA_TYPES[kind])
        await files.save(_thumbnail_key(book_id), small, content_type="image/png")
        await catalogue.books.set_cover(book_id, original)
        await cache.invalidate_tags(CATALOGUE_TAG)
        return await _links(files, book_id, original)

    @app.get("/books/{book_id:int}/cover",
             responses={404: "There is no book with that id, or it has no cover."})
    async def cover_links(book_id: int, files: Storage, catalogue: Catalogue) -> dict[str, Any]:
        """Fresh signed links to a book's cover and its thumbnail."""
        book = await catalogue.book(book_id)
        if book["cover"] is None:
            raise HTTPException(404, f"book {book_id} has no cover")
        return await _links(files, book_id, book["cover"])



def _thumbnail_key(book_id: int) -> str:
    return f"covers/{book_id}/thumbnail.png"


async def _links(files: Storage, book_id: int, original: str) -> dict[str, Any]:
    return {
        "book_id": book_id,
        "original": await files.url(original, expires_in=LINK_SECONDS),
        "thumbnail": await files.url(_thumbnail_key(book_id), expires_in=LINK_SECONDS),
        "expires_in": LINK_SECONDS,
    }

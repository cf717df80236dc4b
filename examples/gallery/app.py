"""A photo gallery: images stored on local disk or S3, thumbnails, signed links.

    GALLERY_STORAGE_SIGNING_KEY=$(python -c "import secrets; print(secrets.token_urlsafe(32))") \\
        uvicorn examples.gallery.app:app

``POST /images`` takes an image from a ``multipart/form-data`` form (the field
``image``, as a browser's ``<input type="file">`` sends it); ``PUT /images/{id}``
takes one as the raw request body. Either way the image is checked by its
bytes, the original and a 256-pixel thumbnail are stored, and the answer holds
signed links to both. Where files go is configuration (``GALLERY_STORAGE_BACKEND``:
``local`` or ``s3``; see examples/gallery/README.md).
"""

from __future__ import annotations

import logging
import os
import secrets
import uuid
from typing import Literal

from minimal_asgi import (
    App,
    ConfigurationError,
    File,
    FormLimits,
    HTTPException,
    Request,
    Secret,
    StaticFiles,
    UploadFile,
)
from minimal_asgi_storage import (
    MEDIA_TYPES,
    DocumentRejected,
    ImageRejected,
    LocalStorage,
    Storage,
    StorageSettings,
    backend_from_settings,
    image_format,
    pdf_page_count,
    thumbnail,
)

logger = logging.getLogger("examples.gallery")

HERE = os.path.dirname(os.path.abspath(__file__))
LINK_SECONDS = 600  # signed links live ten minutes: long enough to load a page
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Checked from the header first (a cheap 415), then from the bytes (Pillow).
ACCEPTED_TYPES = frozenset(MEDIA_TYPES.values())


class GallerySettings(StorageSettings):
    environment: Literal["development", "production"] = "development"
    storage_root: str = os.path.join(HERE, "storage")


def create_app(settings: GallerySettings | None = None) -> App:
    settings = settings or GallerySettings.from_env(prefix="GALLERY_", env_file=".env")
    if settings.storage_backend == "local" and settings.storage_signing_key is None:
        if settings.is_production:
            raise ConfigurationError(
                "GALLERY_STORAGE_SIGNING_KEY is required in production: generate one with "
                'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        # Development only: a key for this process, so links die on restart.
        logger.warning("no GALLERY_STORAGE_SIGNING_KEY: using a random key for this run")
        settings = settings.replace(storage_signing_key=Secret(secrets.token_urlsafe(32)))
    storage = Storage(backend_from_settings(settings))
    app = App(
        plugins=[storage],
        max_body_size=MAX_UPLOAD_BYTES,
        # A form carries one image and nothing else of size: refuse more early.
        form_limits=FormLimits(
            max_file_size=MAX_UPLOAD_BYTES, max_body_size=MAX_UPLOAD_BYTES + 64 * 1024, max_parts=4
        ),
    )
    app.mount("/static", StaticFiles(directory=os.path.join(HERE, "static"), html=True))

    @app.post("/images", status_code=201)
    async def upload_image_form(
        files: Storage, image: UploadFile = File(media_types=sorted(ACCEPTED_TYPES))
    ) -> dict[str, str]:
        """Store an image sent in a form (field ``image``), and a thumbnail of it.

        ``File(media_types=...)`` has already looked at the first bytes (a 422
        for anything else, whatever the part's Content-Type said); the file
        itself waits on disk past 1 MiB, never whole in memory while it arrives.
        """
        return await _store(files, uuid.uuid4(), await image.read())

    @app.put("/images/{image_id:uuid}", status_code=201)
    async def upload_image(image_id: uuid.UUID, request: Request, files: Storage) -> dict[str, str]:
        """Store an image sent as the raw body, and a thumbnail of it."""
        declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if declared not in ACCEPTED_TYPES:
            raise HTTPException(
                415, f"send the image as one of {', '.join(sorted(ACCEPTED_TYPES))}"
            )
        return await _store(files, image_id, await request.body())

    @app.get("/images/{image_id:uuid}")
    async def image_links(image_id: uuid.UUID, files: Storage) -> dict[str, str]:
        """Fresh signed links to an image and its thumbnail."""
        original = await _find_original(files, image_id)
        if original is None:
            raise HTTPException(404, "no such image")
        return await _links(files, image_id, original)

    @app.delete("/images/{image_id:uuid}")
    async def delete_image(image_id: uuid.UUID, files: Storage) -> None:
        original = await _find_original(files, image_id)
        if original is None:
            raise HTTPException(404, "no such image")
        await files.delete(original)
        await files.delete(_thumbnail_key(image_id))

    @app.post("/documents/pages")
    async def count_pages(request: Request) -> dict[str, int]:
        """The page count of a PDF sent as the raw body (document processing)."""
        try:
            return {"pages": await pdf_page_count(await request.body())}
        except DocumentRejected as exc:
            raise HTTPException(422, str(exc)) from None

    if isinstance(storage.backend, LocalStorage):
        logger.info("storing files in %s", storage.backend.root)
    return app


async def _store(files: Storage, image_id: uuid.UUID, data: bytes) -> dict[str, str]:
    """Check the image by its bytes, store it and its thumbnail: the signed links."""
    try:
        kind = image_format(data)  # from the bytes: the header may lie
        small = await thumbnail(data, size=(256, 256))  # in a worker thread
    except ImageRejected as exc:
        raise HTTPException(422, str(exc)) from None
    # The extension comes from the bytes, so the file is served with the right
    # type from disk (which keeps no metadata) as well as from S3.
    original = _original_key(image_id, kind)
    for other in MEDIA_TYPES:  # a re-upload in another format replaces the old one
        if other != kind:
            await files.delete(_original_key(image_id, other))
    await files.save(original, data, content_type=MEDIA_TYPES[kind])
    await files.save(_thumbnail_key(image_id), small, content_type="image/png")
    return await _links(files, image_id, original)


# Keys chosen by the app, from a validated UUID and the format read from the
# bytes: never from a client's file name.
def _original_key(image_id: uuid.UUID, kind: str) -> str:
    return f"images/{image_id.hex}/original.{kind.lower()}"


def _thumbnail_key(image_id: uuid.UUID) -> str:
    return f"images/{image_id.hex}/thumbnail.png"


async def _find_original(files: Storage, image_id: uuid.UUID) -> str | None:
    for kind in MEDIA_TYPES:
        key = _original_key(image_id, kind)
        if await files.exists(key):
            return key
    return None


async def _links(files: Storage, image_id: uuid.UUID, original: str) -> dict[str, str]:
    return {
        "id": str(image_id),
        "original": await files.url(original, expires_in=LINK_SECONDS),
        "thumbnail": await files.url(_thumbnail_key(image_id), expires_in=LINK_SECONDS),
    }


app = create_app()

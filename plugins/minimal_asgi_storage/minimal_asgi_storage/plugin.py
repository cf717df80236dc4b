"""``Storage``: the plugin that puts a backend in the app.

``setup(app)`` uses only the public App API:

- a provider: an endpoint with a ``Storage`` parameter gets this one;
- the download route ``GET {url_prefix}/{key:path}`` when the backend is local
  and signs its links: it checks the signature (403 if it is wrong, expired or
  for another file) and sends the file with ``FileResponse`` (ranges, ETag);
- exception handlers: ``StorageUnavailable`` -> 503 with ``Retry-After``,
  ``FileNotFound`` -> 404, ``InvalidKey`` -> 404 - so a route that calls the
  storage needs no try/except for them.

A route that does not use the storage pays nothing: nothing wraps routes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from minimal_asgi import App, FileResponse, HTTPException, ProblemResponse, Request, Response
from minimal_asgi_storage.backends import (
    FileNotFound,
    StorageBackend,
    StorageUnavailable,
    StoredFile,
    StoredReader,
)
from minimal_asgi_storage.content import Content
from minimal_asgi_storage.keys import InvalidKey
from minimal_asgi_storage.local import LocalStorage
from minimal_asgi_storage.s3 import S3Storage
from minimal_asgi_storage.settings import StorageSettings, backend_from_settings
from minimal_asgi_storage.signing import ExpiredSignature, SignatureError

__all__ = ["Storage"]


class Storage:
    """``App(plugins=[Storage(LocalStorage(...))])`` or ``Storage(settings=...)``.

    Either a ``backend`` or ``settings`` (``StorageSettings``; default: read
    from the environment with ``prefix``). ``url_prefix``: where the download
    route of a local backend lives.
    """

    def __init__(
        self,
        backend: StorageBackend | None = None,
        *,
        settings: StorageSettings | None = None,
        prefix: str = "",
        url_prefix: str = "/files",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if backend is None:
            settings = settings or StorageSettings.from_env(prefix=prefix)
            backend = backend_from_settings(settings, url_prefix=url_prefix, clock=clock)
        self.backend = backend
        self.url_prefix = url_prefix.rstrip("/")

    def setup(self, app: App) -> None:
        app.provide(Storage, self._provide)
        app.add_exception_handler(StorageUnavailable, _unavailable)
        app.add_exception_handler(FileNotFound, _not_found)
        app.add_exception_handler(InvalidKey, _not_found)
        backend = self.backend
        if isinstance(backend, LocalStorage) and backend.signer is not None:
            if backend.url_prefix != self.url_prefix:
                backend.url_prefix = self.url_prefix
            app.add_route(
                self.url_prefix + "/{key:path}",
                self._download,
                methods=["GET"],
                name="storage_download",
                include_in_schema=False,
            )

    def _provide(self) -> Storage:
        return self

    async def _download(self, key: str, request: Request) -> Response:
        backend = self.backend
        assert isinstance(backend, LocalStorage) and backend.signer is not None
        try:
            backend.signer.verify(key, request.query_params, method="GET")
        except SignatureError as exc:
            reason = "expired" if isinstance(exc, ExpiredSignature) else "invalid"
            raise HTTPException(403, str(exc), extra={"reason": reason}) from None
        return FileResponse(
            backend.path_for(key),
            # Private, and only for as long as the link lives: no shared cache
            # (a CDN) may keep a copy to give to someone without the link.
            headers={"cache-control": "private, no-store"},
            content_disposition_type="inline",
        )

    # -- the storage calls, for endpoints -------------------------------------

    async def save(
        self, key: str, content: Content, *, content_type: str | None = None
    ) -> StoredFile:
        return await self.backend.save(key, content, content_type=content_type)

    async def open(self, key: str) -> StoredReader:
        return await self.backend.open(key)

    async def delete(self, key: str) -> bool:
        return await self.backend.delete(key)

    async def exists(self, key: str) -> bool:
        return await self.backend.exists(key)

    async def url(self, key: str, *, expires_in: float = 3600) -> str:
        return await self.backend.url(key, expires_in=expires_in)

    async def upload_url(
        self, key: str, *, expires_in: float = 600, content_type: str | None = None
    ) -> str:
        """A presigned PUT for a browser to upload straight to S3 (S3 only)."""
        if not isinstance(self.backend, S3Storage):
            raise RuntimeError("upload_url() needs the S3 backend: local disk has no upload URL")
        return await self.backend.upload_url(
            key, expires_in=expires_in, content_type=content_type
        )


async def _unavailable(request: Request, exc: StorageUnavailable) -> Response:
    return ProblemResponse(
        503, "File storage is unavailable; try again shortly.", headers={"retry-after": "5"}
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    return ProblemResponse(404, "No such file.")

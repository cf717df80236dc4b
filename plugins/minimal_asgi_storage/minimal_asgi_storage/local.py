"""Local disk: files under one directory, written atomically.

``save`` streams the content into a temporary file in the target's own
directory and renames it into place (``os.replace``): a reader sees the old
file or the new one, never half of one, and a crash mid-upload leaves no file
under the key (only a ``.tmp-*`` file, removed on the error path).

Every key is checked twice: as text (keys.py), then as a path - the resolved
path must lie inside the root, so a symbolic link placed in the storage
directory cannot lead a key out of it.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import tempfile
from typing import BinaryIO
from urllib.parse import quote, urlencode

import anyio
import anyio.to_thread

from minimal_asgi_storage.backends import FileNotFound, StoredFile, StoredReader
from minimal_asgi_storage.content import Content, chunks
from minimal_asgi_storage.keys import InvalidKey, safe_key
from minimal_asgi_storage.signing import URLSigner

__all__ = ["LocalStorage", "guess_type"]


def guess_type(key: str) -> str:
    return mimetypes.guess_type(key, strict=False)[0] or "application/octet-stream"


def _open_with_size(path: str) -> tuple[BinaryIO, int]:
    file = open(path, "rb")  # noqa: SIM115 - closed by the StoredReader
    return file, os.fstat(file.fileno()).st_size


class LocalStorage:
    """Files under ``root`` (created if missing).

    ``signer`` and ``url_prefix``: ``url(key)`` returns
    ``{url_prefix}/{key}?expires=...&signature=...``, the download route the
    ``Storage`` plugin adds. Without a signer, ``url`` raises: a private file
    on disk has no address of its own.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        signer: URLSigner | None = None,
        url_prefix: str = "/files",
    ) -> None:
        os.makedirs(root, exist_ok=True)
        self.root = os.path.realpath(root)
        self.signer = signer
        self.url_prefix = url_prefix.rstrip("/")

    def path_for(self, key: str) -> str:
        """The file's path on disk; ``InvalidKey`` if the key would leave the root."""
        path = os.path.join(self.root, *safe_key(key).split("/"))
        real = os.path.realpath(path)
        if real != path and not real.startswith(self.root + os.sep):
            raise InvalidKey(f"{key!r} leads outside the storage directory")
        return path

    async def save(
        self, key: str, content: Content, *, content_type: str | None = None
    ) -> StoredFile:
        path = self.path_for(key)
        directory = os.path.dirname(path)
        await anyio.to_thread.run_sync(lambda: os.makedirs(directory, exist_ok=True))
        descriptor, temporary = await anyio.to_thread.run_sync(
            lambda: tempfile.mkstemp(prefix=".tmp-", dir=directory)
        )
        size = 0
        try:
            async with await anyio.open_file(descriptor, "wb") as file:
                async for chunk in chunks(content):
                    await file.write(chunk)
                    size += len(chunk)
            await anyio.to_thread.run_sync(os.replace, temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return StoredFile(key, size, content_type or guess_type(key))

    async def open(self, key: str) -> StoredReader:
        path = self.path_for(key)
        try:
            raw, size = await anyio.to_thread.run_sync(_open_with_size, path)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise FileNotFound(key) from None
        file = anyio.wrap_file(raw)
        return StoredReader(key, size, guess_type(key), file.read, file.aclose)

    async def delete(self, key: str) -> bool:
        path = self.path_for(key)
        try:
            await anyio.to_thread.run_sync(os.unlink, path)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return False
        return True

    async def exists(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(os.path.isfile, self.path_for(key))

    async def url(self, key: str, *, expires_in: float = 3600) -> str:
        if self.signer is None:
            raise RuntimeError(
                "LocalStorage.url() needs a signer: set a signing key "
                "(StorageSettings.storage_signing_key) so links can be signed"
            )
        params = self.signer.sign(safe_key(key), expires_in=expires_in)
        return f"{self.url_prefix}/{quote(key)}?{urlencode(params)}"

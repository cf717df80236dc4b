"""The storage interface every backend implements, and what it returns.

Five calls, the same on local disk and on S3, so an app can start on disk and
move to a bucket by changing configuration, not code:

- ``await save(key, content, content_type=None) -> StoredFile``: write (or
  replace) the file; ``content`` is bytes, a binary file, an object with an
  async ``read`` (an ``UploadFile``) or an async iterator of bytes;
- ``await open(key) -> StoredReader``: read it back, a chunk at a time;
- ``await delete(key) -> bool``: remove it; ``False`` if it was not there;
- ``await exists(key) -> bool``;
- ``await url(key, expires_in=...) -> str``: a link a browser can fetch for
  ``expires_in`` seconds without any other credential (a signed link to the
  plugin's download route on disk; a presigned S3 URL on S3).

Errors: ``FileNotFound`` (a ``LookupError``) for a missing key,
``InvalidKey`` (a ``ValueError``, keys.py) for a malformed one, and
``StorageUnavailable`` when the service cannot be reached - the plugin turns
the last into a 503 problem.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, runtime_checkable

from minimal_asgi_storage.content import CHUNK_SIZE, Content

__all__ = [
    "FileNotFound",
    "StorageBackend",
    "StorageError",
    "StorageUnavailable",
    "StoredFile",
    "StoredReader",
]


class StorageError(Exception):
    """Something went wrong storing or reading a file."""


class FileNotFound(StorageError, LookupError):
    """No file is stored under this key."""


class StorageUnavailable(StorageError):
    """The storage service could not be reached (or timed out); try again later."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What ``save`` wrote: the key, its size in bytes and its media type."""

    key: str
    size: int
    content_type: str


class StoredReader:
    """A stored file being read: ``size``, ``content_type``, ``await read(n)``
    and ``async for chunk in reader``. Close it (``async with`` does)."""

    def __init__(
        self,
        key: str,
        size: int,
        content_type: str,
        read: Callable[[int], Awaitable[bytes]],
        close: Callable[[], Awaitable[None]],
    ) -> None:
        self.key, self.size, self.content_type = key, size, content_type
        self._read, self._close = read, close

    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all the rest with -1); ``b""`` at the end."""
        if size >= 0:
            return await self._read(size)
        parts = [chunk async for chunk in self]
        return b"".join(parts)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self._read(CHUNK_SIZE):
            yield chunk

    async def aclose(self) -> None:
        await self._close()

    async def __aenter__(self) -> StoredReader:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


@runtime_checkable
class StorageBackend(Protocol):
    """What ``Storage`` needs from a backend (``LocalStorage``, ``S3Storage``)."""

    async def save(
        self, key: str, content: Content, *, content_type: str | None = None
    ) -> StoredFile: ...

    async def open(self, key: str) -> StoredReader: ...

    async def delete(self, key: str) -> bool: ...

    async def exists(self, key: str) -> bool: ...

    async def url(self, key: str, *, expires_in: float = 3600) -> str: ...

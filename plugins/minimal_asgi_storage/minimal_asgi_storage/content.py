"""What ``save`` accepts, turned into one thing: an async stream of chunks.

A caller may have the whole file as ``bytes``, an open file (``open(...,
"rb")``, ``io.BytesIO``, a ``SpooledTemporaryFile``), an object with an
*async* ``read`` (an uploaded file: ``UploadFile``) or an async iterator of
bytes (a request body as it arrives: ``request.stream()``). Backends read all
of them the same way, a chunk at a time, so a large upload is never held in
memory at once.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, Protocol, runtime_checkable

import anyio.to_thread

__all__ = ["CHUNK_SIZE", "Content", "chunks"]

CHUNK_SIZE = 1024 * 1024


@runtime_checkable
class _Readable(Protocol):
    def read(self, size: int = -1, /) -> Any: ...


Content = bytes | bytearray | memoryview | _Readable | AsyncIterable[bytes]


async def chunks(content: Content, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    """The bytes of ``content``, ``chunk_size`` at a time (a last one shorter)."""
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]
        return
    if isinstance(content, AsyncIterable):
        async for chunk in content:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise TypeError(f"an async iterator given to save() yielded {type(chunk)}")
            if chunk:
                yield bytes(chunk)
        return
    if isinstance(content, _Readable):
        read = content.read
        asynchronous = inspect.iscoroutinefunction(read)
        while True:
            # A plain file's read blocks (a disk, a spooled temporary file): a
            # worker thread keeps it off the event loop.
            chunk = await read(chunk_size) if asynchronous else await anyio.to_thread.run_sync(
                read, chunk_size
            )
            if not chunk:
                return
            yield bytes(chunk)
    raise TypeError(
        f"save() takes bytes, a file opened in binary mode, an object with an async "
        f"read(), or an async iterator of bytes; got {type(content).__name__}"
    )

"""Uploaded files: what a ``multipart/form-data`` part becomes, and its limits.

formparsers.py reads the body and, for each part that carries a filename,
writes the bytes into an ``UploadFile``: a ``SpooledTemporaryFile`` that keeps
a small upload in memory and moves a large one to an anonymous temporary file
on disk, so no upload is ever held whole in memory. The endpoint gets the
``UploadFile`` (from ``await request.form()`` or as a parameter), and the
framework closes it - deleting the file - after the response.

Two things a client says about a file are not to be trusted, and this module
gives what to use instead:

- its name (``filename``): ``safe_filename`` makes a harmless basename of it;
- its type (``content_type``): ``media_type`` is sniffed from the first bytes
  with the signature table ``SIGNATURES``; ``require_media_type`` refuses the
  rest.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

import anyio.to_thread

from minimal_asgi.datastructures import Headers
from minimal_asgi.exceptions import HTTPException

__all__ = [
    "SIGNATURES",
    "FormLimits",
    "UploadFile",
    "safe_filename",
    "sniff_media_type",
]

KiB = 1024
MiB = 1024 * KiB


@dataclass(frozen=True, slots=True)
class FormLimits:
    """What a form body may hold. Each limit answers a known way of exhausting
    a server with a form (chapter 27, "The limits"); going over one is a 413
    problem that names it. ``App(form_limits=FormLimits(...))`` sets them for
    the app, ``await request.form(limits=...)`` for one call.

    ``max_body_size`` is the whole body of a form, apart from ``App(max_body_size=...)``,
    which bounds JSON and raw bodies (a form may carry files; JSON never should).
    """

    max_body_size: int = 32 * MiB  # the whole form body, files included
    max_file_size: int = 10 * MiB  # one file
    max_field_size: int = 64 * KiB  # one text field (held in memory), name included
    max_parts: int = 1000  # fields and files together
    max_part_header_size: int = 4 * KiB  # one header line of one part
    max_part_headers: int = 8  # header lines in one part
    spool_size: int = 1 * MiB  # a file larger than this moves from memory to disk
    upload_dir: str | None = None  # where spooled files go (None: the system's temp dir)

    def __post_init__(self) -> None:
        for name in ("max_body_size", "max_file_size", "max_field_size", "max_parts",
                     "max_part_header_size", "max_part_headers"):
            if getattr(self, name) < 1:
                raise ValueError(f"FormLimits({name}=...) must be at least 1")
        if self.spool_size < 0:
            raise ValueError("FormLimits(spool_size=...) cannot be negative")
        if self.upload_dir is not None and not os.path.isdir(self.upload_dir):
            # Found now, at startup, rather than as a 500 when the first large
            # upload spills to disk.
            raise ValueError(
                f"FormLimits(upload_dir={self.upload_dir!r}): no such directory; create it "
                "(writable by the server) or leave upload_dir=None for the system's temp dir"
            )


# -- what the bytes say a file is ------------------------------------------------------
# (offset, magic bytes, media type): the first bytes of each format, from its
# specification. A file matches when every listed (offset, magic) pair does.
SIGNATURES: tuple[tuple[tuple[tuple[int, bytes], ...], str], ...] = (
    (((0, b"\x89PNG\r\n\x1a\n"),), "image/png"),
    (((0, b"\xff\xd8\xff"),), "image/jpeg"),
    (((0, b"GIF87a"),), "image/gif"),
    (((0, b"GIF89a"),), "image/gif"),
    (((0, b"RIFF"), (8, b"WEBP")), "image/webp"),
    (((0, b"%PDF-"),), "application/pdf"),
    (((0, b"PK\x03\x04"),), "application/zip"),
    (((0, b"PK\x05\x06"),), "application/zip"),  # an empty archive
    (((0, b"\x1f\x8b"),), "application/gzip"),
    (((0, b"II*\x00"),), "image/tiff"),
    (((0, b"MM\x00*"),), "image/tiff"),
)
SNIFF_LENGTH = 16  # bytes kept from the start of each file: enough for every signature


def sniff_media_type(head: bytes) -> str | None:
    """The media type the first bytes of a file show, or None if no signature
    of ``SIGNATURES`` matches. Never what the client claimed."""
    for checks, media_type in SIGNATURES:
        if all(head.startswith(magic, offset) for offset, magic in checks):
            return media_type
    return None


# -- what the client's name for a file may become --------------------------------------
_UNSAFE = re.compile(r"[^\w.\- ]", re.ASCII)
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)]
)


def safe_filename(filename: str | None, *, default: str = "upload", max_length: int = 200) -> str:
    """A basename made from a client's filename that is safe to join to a
    directory: one path component, never ``.``/``..``/hidden, ASCII letters,
    digits, ``.``, ``-``, ``_`` only, no Windows device name, at most
    ``max_length`` characters with the extension kept; ``default`` if nothing
    is left. Two uploads may still get the same name: store under a name of
    your own (a uuid) and keep this one for display, or refuse to overwrite."""
    name = unicodedata.normalize("NFKD", filename or "")
    # Both separators, whatever the server's OS: the client's may differ.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = name.encode("ascii", "ignore").decode("ascii")
    name = _UNSAFE.sub("_", name).strip(" ._")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    if stem.split(".")[0].upper() in _WINDOWS_DEVICES:
        stem = "_" + stem
    extension = extension[:16]
    stem = stem[: max(1, max_length - len(extension) - 1)]
    name = f"{stem}.{extension}" if dot and stem else stem or extension
    return name or default


# -- the uploaded file -----------------------------------------------------------------
class UploadFile:
    """One uploaded file. ``filename`` and ``content_type`` are what the client
    said (untrusted); ``media_type`` is what the first bytes show; ``size`` is
    the number of bytes received. Read it with ``await read()``/``seek()``;
    the framework closes it after the response."""

    __slots__ = ("content_type", "field_name", "file", "filename", "head", "headers", "size")

    def __init__(
        self,
        file: IO[bytes] | None = None,
        *,
        filename: str | None = None,
        content_type: str = "application/octet-stream",
        field_name: str = "",
        headers: Headers | None = None,
        spool_size: int = 1 * MiB,
        upload_dir: str | None = None,
    ) -> None:
        if file is None:
            # max_size=0 would mean "never roll over": spool_size=0 is "always on disk".
            file = (
                tempfile.SpooledTemporaryFile(max_size=spool_size, dir=upload_dir)  # noqa: SIM115
                if spool_size > 0
                else tempfile.TemporaryFile(dir=upload_dir)  # noqa: SIM115
            )
        self.file: IO[bytes] = file
        self.filename = filename
        self.content_type = content_type
        self.field_name = field_name
        self.headers = headers or Headers()
        self.size = 0
        self.head = b""

    @property
    def media_type(self) -> str | None:
        """The type the content shows (``sniff_media_type``), or None if unknown."""
        return sniff_media_type(self.head)

    @property
    def in_memory(self) -> bool:
        """Whether the file is still held in memory (not yet spooled to disk)."""
        return not getattr(self.file, "_rolled", True)

    def _would_block(self, extra: int = 0) -> bool:
        # A file on disk, or a spooled one about to move there, does real I/O:
        # that goes to a worker thread, off the event loop. (``_rolled`` and
        # ``_max_size`` are SpooledTemporaryFile's own state; Starlette reads
        # them too. Anything else is taken to be on disk.)
        file: Any = self.file
        rolled = getattr(file, "_rolled", None)
        if rolled is None:
            return True
        limit = getattr(file, "_max_size", 0)
        return bool(rolled) or bool(limit and file.tell() + extra > limit)

    async def write(self, data: bytes) -> None:
        """Append ``data`` (the parser does this, as the bytes arrive)."""
        if len(self.head) < SNIFF_LENGTH:
            self.head += data[: SNIFF_LENGTH - len(self.head)]
        self.size += len(data)
        if self._would_block(len(data)):
            await anyio.to_thread.run_sync(self.file.write, data)
        else:
            self.file.write(data)

    async def read(self, size: int = -1) -> bytes:
        if self._would_block():
            return await anyio.to_thread.run_sync(self.file.read, size)
        return self.file.read(size)

    async def seek(self, offset: int) -> None:
        if self._would_block():
            await anyio.to_thread.run_sync(self.file.seek, offset)
        else:
            self.file.seek(offset)

    async def close(self) -> None:
        self.close_now()

    def close_now(self) -> None:
        """Close (and so delete) the file, without awaiting: what the framework
        calls after the response, even from a cancelled request."""
        self.file.close()

    @property
    def closed(self) -> bool:
        return self.file.closed

    @property
    def safe_filename(self) -> str:
        """``safe_filename(self.filename)``: the client's name, made harmless."""
        return safe_filename(self.filename)

    def require_media_type(self, *allowed: str) -> str:
        """The sniffed media type if it is one of ``allowed``; else a 415
        problem. What the client put in ``Content-Type`` plays no part."""
        found = self.media_type
        if found not in allowed:
            raise HTTPException(
                415,
                f"the file {self.field_name!r} is {_describe(found)} (read from its first "
                f"bytes), expected {_one_of(allowed)}",
                extra={"field": self.field_name, "detected": found, "allowed": list(allowed)},
            )
        assert found is not None  # it is one of the allowed types
        return found

    def __repr__(self) -> str:
        return (
            f"UploadFile(filename={self.filename!r}, size={self.size}, "
            f"content_type={self.content_type!r}, media_type={self.media_type!r})"
        )


def _describe(media_type: str | None) -> str:
    return media_type or "of no known type"


def _one_of(allowed: Iterable[str]) -> str:
    return "one of " + ", ".join(allowed)


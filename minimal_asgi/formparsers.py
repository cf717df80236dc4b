"""Reading a form body, as it arrives, under limits.

``Request.form()`` (requests.py) hands this module the body as a stream of
chunks. Both kinds of HTML form body are read here:

- ``application/x-www-form-urlencoded``: ``a=1&b=two``, text only;
- ``multipart/form-data``: parts separated by a boundary, each with its own
  headers; a part with a ``filename`` is a file, written into an
  ``UploadFile`` (uploads.py) chunk by chunk, never held whole in memory.

The byte-level state machines are python-multipart's, an optional extra of the
core (``pip install 'minimal-asgi[forms]'``). This is the only module that
imports it, and only when a form is first read, so an app without forms never
loads it. What this module adds is policy: every limit of ``FormLimits``
checked as the bytes arrive (each a 413 problem naming the limit), malformed
bodies answered 400, and every temporary file closed if reading fails half-way
(a limit, a malformed part, a client that went away).
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from minimal_asgi.datastructures import FormData, Headers
from minimal_asgi.exceptions import HTTPException
from minimal_asgi.uploads import FormLimits, UploadFile

__all__ = ["INSTALL_HINT", "parse_form", "parse_header_params", "require_multipart_parser"]

INSTALL_HINT = (
    "reading forms needs python-multipart, an optional extra of minimal_asgi: "
    "pip install 'minimal-asgi[forms]'"
)
MAX_BOUNDARY_LENGTH = 70  # RFC 2046, 5.1.1
# RFC 2046's bchars: what a boundary may be made of.
_BCHARS = frozenset(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? "
)


def require_multipart_parser() -> Any:
    """The python_multipart module, or a RuntimeError that says what to install."""
    try:
        import python_multipart
        import python_multipart.exceptions
    except ImportError:
        raise RuntimeError(INSTALL_HINT) from None
    return python_multipart


def limit_exceeded(limit: str, value: int, what: str) -> HTTPException:
    """A 413 problem naming the limit that was crossed, and how to raise it."""
    return HTTPException(
        413,
        f"{what} is over the limit of {value} (FormLimits({limit}=...) sets it)",
        extra={"limit": limit, "max": value},
        # The rest of the body is still on an HTTP/1.1 connection: close it.
        headers={"connection": "close"},
    )


def malformed(detail: str) -> HTTPException:
    return HTTPException(400, f"malformed form body: {detail}")


# -- header parameters, without a regular expression ----------------------------------
def parse_header_params(value: str) -> tuple[str, dict[str, str]]:
    """``'form-data; name="a"; filename="b.txt"'`` -> ``('form-data', {...})``.

    One linear pass (python-multipart's regex-based parser of this header was
    a denial-of-service advisory, CVE-2024-24762). Semicolons inside quotes
    belong to the value; ``\\"`` is a quote. ``name*=UTF-8''...`` (RFC 8187)
    is decoded and wins over ``name=``.
    """
    segments: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
            current.append(char)
        elif char == ";" and not quoted:
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
    segments.append("".join(current))
    main = segments[0].strip().lower()
    params: dict[str, str] = {}
    extended: dict[str, str] = {}
    for segment in segments[1:]:
        key, sep, raw = segment.partition("=")
        key, raw = key.strip().lower(), raw.strip()
        if not sep or not key:
            continue
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1]
        if key.endswith("*"):
            charset, _, rest = raw.partition("'")
            _language, _, encoded = rest.partition("'")
            try:
                codecs.lookup(charset)
                extended[key[:-1]] = unquote(encoded, encoding=charset, errors="strict")
            except (LookupError, UnicodeDecodeError):
                continue  # an unknown charset or bad bytes: fall back to the plain form
        else:
            params.setdefault(key, raw)
    params.update(extended)
    return main, params


# -- the body, chunk by chunk -------------------------------------------------------------
async def parse_form(
    content_type: str, chunks: AsyncIterator[bytes], limits: FormLimits
) -> FormData:
    """Read a form body; ``chunks`` is the body, already bounded to
    ``limits.max_body_size`` by the caller."""
    media, params = parse_header_params(content_type)
    if media == "multipart/form-data":
        boundary = params.get("boundary", "")
        if not 1 <= len(boundary) <= MAX_BOUNDARY_LENGTH or not set(boundary) <= _BCHARS:
            raise malformed(
                "multipart/form-data needs a boundary of 1 to 70 letters, digits or "
                f"'()+_,-./:=? (RFC 2046), got {len(boundary)} characters"
            )
        return await _parse_multipart(boundary.encode("ascii"), chunks, limits)
    return await _parse_urlencoded(chunks, limits)


async def _parse_urlencoded(chunks: AsyncIterator[bytes], limits: FormLimits) -> FormData:
    """``a=1&b=two``, split on ``&`` as the chunks arrive: no field is held
    longer than ``max_field_size``, and empty fields (``&&&``) count toward
    ``max_parts`` like any other. Plain stdlib: no extra needed for this kind."""
    items: list[tuple[str, Any]] = []
    fields = 0
    rest = b""

    def add(field: bytes) -> None:
        nonlocal fields
        fields += 1
        if fields > limits.max_parts:
            raise limit_exceeded("max_parts", limits.max_parts, "the number of form fields")
        if len(field) > limits.max_field_size:
            raise limit_exceeded(
                "max_field_size", limits.max_field_size, "a form field, in bytes"
            )
        try:
            text = field.decode("utf-8")
            items.extend(parse_qsl(text, keep_blank_values=True, errors="strict"))
        except UnicodeDecodeError:
            raise malformed("a urlencoded field is not valid UTF-8") from None

    async for chunk in chunks:
        # One field at a time (not split(), which would build every field of
        # a chunk of "&&&&..." before the count could stop it).
        buffer = rest + chunk
        start = 0
        while (end := buffer.find(b"&", start)) >= 0:
            add(buffer[start:end])
            start = end + 1
        rest = buffer[start:]
        if len(rest) > limits.max_field_size:
            add(rest)  # refused: over the limit before its end has even arrived
    if rest:
        add(rest)
    return FormData(items)


async def _parse_multipart(
    boundary: bytes, chunks: AsyncIterator[bytes], limits: FormLimits
) -> FormData:
    multipart = require_multipart_parser()
    reader = _MultipartReader(limits)
    try:
        parser = multipart.MultipartParser(
            boundary,
            reader.callbacks(),
            max_header_count=limits.max_part_headers,
            max_header_size=limits.max_part_header_size,
        )
        delimiters = _DelimiterCount(boundary, limits)
        async for chunk in chunks:
            if reader.ended:
                continue  # the epilogue after the closing boundary: ignored (RFC 2046)
            delimiters.feed(chunk)
            try:
                parser.write(chunk)
            except multipart.exceptions.FormParserError as exc:
                raise _parse_error(str(exc), limits) from None
            # The parser's callbacks cannot await: the file data they saw is
            # written now, before the next chunk is read (so memory holds at
            # most one chunk of it).
            for upload, data in reader.take_pending():
                await upload.write(data)
        if not reader.ended:
            raise malformed("the body ended before the closing boundary")
        for upload in reader.uploads:
            await upload.seek(0)  # ready to be read from the start
    except BaseException:
        # A limit, a malformed part, a client gone, a cancellation: whatever
        # stopped the reading, no temporary file outlives it.
        for upload in reader.uploads:
            upload.close_now()
        raise
    return FormData(reader.items)


class _DelimiterCount:
    """A cheap first check of ``max_parts``, before the parser sees a chunk.

    Counting delimiters with ``bytes.count`` (C speed) refuses a body of
    thousands of tiny parts before the parser builds a single one of them;
    the parser's own count (``on_part_begin``) stays the exact rule. RFC 2046
    forbids the delimiter inside a part, so a conforming body is never
    refused by this count. ``tail`` keeps the end of the previous chunk, for
    a delimiter cut in two by the chunking.
    """

    def __init__(self, boundary: bytes, limits: FormLimits) -> None:
        self.delimiter = b"\r\n--" + boundary
        self.limits = limits
        self.count = 0
        self.tail = b""
        self.at_start = True

    def feed(self, chunk: bytes) -> None:
        window = self.tail + chunk
        self.count += window.count(self.delimiter)
        if self.at_start:
            # The first delimiter may open the body with no CRLF before it.
            opens = window.startswith(self.delimiter[2:])
            self.count += opens
            self.at_start = not opens and len(window) < len(self.delimiter)
        self.tail = window[-(len(self.delimiter) - 1) :]
        # n parts have n + 1 delimiters, the closing one included.
        if self.count - 1 > self.limits.max_parts:
            raise limit_exceeded("max_parts", self.limits.max_parts, "the number of parts")


def _parse_error(message: str, limits: FormLimits) -> HTTPException:
    # python-multipart enforces the two header limits byte by byte (a 1 MB
    # header line is refused after 4 KiB, not after it is all buffered).
    if message.startswith("Maximum header size"):
        return limit_exceeded(
            "max_part_header_size", limits.max_part_header_size, "a part's header line, in bytes"
        )
    if message.startswith("Maximum header count"):
        return limit_exceeded(
            "max_part_headers", limits.max_part_headers, "the number of a part's headers"
        )
    return malformed(message)


class _MultipartReader:
    """The parser's callbacks: they build each part from its headers and data."""

    def __init__(self, limits: FormLimits) -> None:
        self.limits = limits
        self.items: list[tuple[str, Any]] = []
        self.uploads: list[UploadFile] = []
        self.pending: list[tuple[UploadFile, bytes]] = []
        self.parts = 0
        self.ended = False
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.headers: list[tuple[bytes, bytes]] = []
        self.field_name = ""
        self.field: bytearray | None = None  # the text of a field part
        self.upload: UploadFile | None = None  # the file of a file part
        self.file_size = 0

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def take_pending(self) -> list[tuple[UploadFile, bytes]]:
        pending, self.pending = self.pending, []
        return pending

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise limit_exceeded("max_parts", self.limits.max_parts, "the number of parts")
        self.headers = []
        self.header_name.clear()
        self.header_value.clear()
        self.field = None
        self.upload = None
        self.file_size = 0

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers.append((bytes(self.header_name).strip().lower(), bytes(self.header_value)))
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        headers = Headers(raw=self.headers)
        disposition, params = parse_header_params(_text(headers.get("content-disposition", "")))
        name = params.get("name")
        if disposition != "form-data" or name is None:
            raise malformed('each part needs "Content-Disposition: form-data; name=..."')
        self.field_name = name
        if "filename" not in params:
            self.field = bytearray()
            return
        limits = self.limits
        upload = UploadFile(
            filename=params["filename"],
            content_type=_text(headers.get("content-type", "application/octet-stream")),
            field_name=name,
            headers=headers,
            spool_size=limits.spool_size,
            upload_dir=limits.upload_dir,
        )
        self.uploads.append(upload)
        self.items.append((name, upload))
        self.upload = upload

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        if self.upload is not None:
            self.file_size += size
            if self.file_size > self.limits.max_file_size:
                raise limit_exceeded(
                    "max_file_size", self.limits.max_file_size,
                    f"the file {self.field_name!r}, in bytes",
                )
            self.pending.append((self.upload, data[start:end]))
        elif self.field is not None:
            if len(self.field) + size > self.limits.max_field_size:
                raise limit_exceeded(
                    "max_field_size", self.limits.max_field_size,
                    f"the field {self.field_name!r}, in bytes",
                )
            self.field += data[start:end]

    def on_part_end(self) -> None:
        if self.field is not None:
            try:
                text = self.field.decode("utf-8")
            except UnicodeDecodeError:
                raise malformed(f"the field {self.field_name!r} is not valid UTF-8") from None
            self.items.append((self.field_name, text))
            self.field = None

    def on_end(self) -> None:
        self.ended = True


def _text(value: str) -> str:
    """A part header's value: HTTP headers are latin-1 to ``Headers``, but
    browsers send a part's filename as raw UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value

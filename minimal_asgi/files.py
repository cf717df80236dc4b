"""Files: a response whose body is a file on disk, sent piece by piece.

An endpoint returns ``FileResponse(path)``; the route calls it like any other
response (responses.py). When called, it looks at the file (in a worker thread)
and at the request's headers, and decides what to send:

- ``304 Not Modified``, no body: the client's cached copy is still good
  (``If-None-Match`` / ``If-Modified-Since``, RFC 9110 section 13);
- ``206 Partial Content``: only the byte ranges asked for (``Range``, RFC 9110
  section 14), one range as is, several as ``multipart/byteranges``;
- ``416 Range Not Satisfiable``: no range asked for exists in the file;
- otherwise the whole file.

The bytes are read in chunks by worker threads, so a large file never blocks
the event loop and is never held in memory at once.
"""

from __future__ import annotations

import datetime as dt
import errno
import mimetypes
import os
import re
import secrets
import stat as stat_module
import unicodedata
from collections.abc import Mapping
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import quote

import anyio
import anyio.to_thread
from anyio import AsyncFile

from minimal_asgi.background import BackgroundTasks
from minimal_asgi.datastructures import Headers
from minimal_asgi.errors import RESPONSE_STARTED
from minimal_asgi.exceptions import HTTPException
from minimal_asgi.responses import BackgroundCallable, Response
from minimal_asgi.types import Receive, Scope, Send

__all__ = ["MAX_RANGES", "FileResponse", "parse_range"]

# More ranges than this (after merging) and the Range header is ignored: many
# tiny ranges cost the server far more than the client (RFC 9110, section 14.2
# lets a server ignore such requests), and the whole file is a valid answer.
MAX_RANGES = 16

# A span of the file to send, as Python slices it: bytes [start, stop).
Span = tuple[int, int]
# The body as a plan: literal bytes (multipart boundaries) and spans of the file.
Piece = bytes | Span

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
_ETAG = re.compile(r'(?:W/)?"[^"]*"')
# RFC 5987 attr-char: what may stand unencoded in a filename*= value.
_ATTR_CHAR_SAFE = "!#$&+^`|"


def parse_range(header: str, size: int) -> list[Span] | None:
    """The bytes a ``Range`` header selects in a file of ``size`` bytes.

    Returns sorted ``(start, stop)`` spans, with overlapping and adjacent ones
    merged; ``[]`` when no range is satisfiable (answer 416); ``None`` when the
    header is not a valid ``bytes`` range set (ignore it and send everything).
    """
    unit, equals, specs = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    spans: list[Span] = []
    seen_spec = False
    for spec in specs.split(","):
        spec = spec.strip(" \t")
        if not spec:
            continue  # empty list elements are allowed (RFC 9110, section 5.6.1)
        seen_spec = True
        try:
            span = _parse_spec(spec, size)
        except ValueError:
            return None  # one bad spec makes the whole header invalid
        if span is not None:
            spans.append(span)
    return _merge(spans) if seen_spec else None


def _parse_spec(spec: str, size: int) -> Span | None:
    """One ``first-last``, ``first-`` or ``-suffix``; ``None`` if unsatisfiable."""
    match = _SPEC.fullmatch(spec)
    if match is None or match.group() == "-":
        raise ValueError(spec)
    first, last = match.groups()
    if not first:  # "-n": the last n bytes
        suffix = int(last)
        return (max(size - suffix, 0), size) if suffix > 0 and size > 0 else None
    start = int(first)
    stop = int(last) + 1 if last else size
    if last and stop <= start:
        raise ValueError(spec)  # "5-3": last before first is a syntax error
    return (start, min(stop, size)) if start < size else None


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:  # overlaps or touches the previous span
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def guess_media_type(name: str) -> str:
    media_type, encoding = mimetypes.guess_type(name, strict=False)
    if media_type is None or encoding is not None:
        # "notes.txt.gz" guesses text/plain + gzip: the bytes on disk are gzip,
        # not text, and saying text/plain would make browsers show garbage.
        return "application/octet-stream"
    return media_type


def content_disposition(disposition: str, filename: str) -> str:
    """The ``Content-Disposition`` value for ``filename`` (RFC 6266).

    A plain ASCII name goes in ``filename="..."``. Any other name is
    percent-encoded as UTF-8 in ``filename*=`` (RFC 5987), after an ASCII
    ``filename=`` fallback for clients that do not read ``filename*``.
    """
    if not _TOKEN.fullmatch(disposition):
        raise ValueError(f"{disposition!r} is not a disposition type; use 'attachment' or 'inline'")
    if filename.isascii() and filename.isprintable() and not any(c in filename for c in '"\\'):
        return f'{disposition}; filename="{filename}"'
    encoded = quote(filename, safe=_ATTR_CHAR_SAFE)
    return f"{disposition}; filename=\"{_ascii_fallback(filename)}\"; filename*=utf-8''{encoded}"


def _ascii_fallback(filename: str) -> str:
    # "résumé.pdf" -> "resume.pdf": decompose accents and drop the marks;
    # anything still not plain ASCII (or a quote) becomes "_".
    decomposed = unicodedata.normalize("NFKD", filename)
    kept = (c for c in decomposed if not unicodedata.combining(c))
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in kept)


def _etag_for(info: os.stat_result) -> str:
    # mtime and size change whenever the file is rewritten; hashing the content
    # would be stronger, but would mean reading the whole file for every request.
    return f'"{info.st_mtime_ns:x}-{info.st_size:x}"'


def _http_date(value: str) -> int | None:
    """Seconds since the epoch of an HTTP date, or None if it is not one."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" parses as naive; HTTP dates are all GMT
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp())


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def _none_match(header: str, etag: str) -> bool:
    """Weak comparison (RFC 9110, 8.8.3.2): ``W/"x"`` matches ``"x"``."""
    if header.strip() == "*":
        return True
    ours = _opaque(etag)
    return any(_opaque(tag) == ours for tag in _ETAG.findall(header))


def _if_range_holds(value: str, etag: str | None, modified: int) -> bool:
    """RFC 9110, 13.1.5: an ETag must match strongly, a date exactly."""
    value = value.strip()
    if value.startswith(('"', "W/")):
        return etag is not None and value == etag and not etag.startswith("W/")
    return _http_date(value) == modified


class FileResponse(Response):
    """Send the file at ``path``, streamed from disk in ``chunk_size`` pieces.

    With ``filename``, the response carries ``Content-Disposition``
    (``content_disposition_type`` is ``"attachment"`` - download it - or
    ``"inline"`` - show it). A path that names no regular file - missing, a
    directory, a NUL in it, a name longer than ``NAME_MAX``, a symbolic-link
    loop - raises ``HTTPException(404)`` before anything is sent; a file the
    server may not read, ``HTTPException(403)``. Neither quotes the path.
    Conditional and range requests are answered only when ``status_code`` is
    200: a file sent as, say, a 404 page is always sent whole.

    **``path`` is not contained anywhere.** ``FileResponse`` sends whatever
    file the path names: ``../../etc/passwd``, an absolute path, a symbolic
    link out of your directory. Never build ``path`` from request input
    (a path parameter, a query string, an uploaded filename) by joining it to
    a directory: that is a path-traversal hole (OWASP, CWE-22). Serve files
    chosen by the client only through ``StaticFiles`` (staticfiles.py), which
    resolves each path and refuses any that leaves its directory. Or
    look the name up in a list of your own (a database row's stored path).

    ``stat_result``: the file's ``os.stat`` if the caller has just taken it,
    to save a second look (and a worker-thread hop) per request.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        filename: str | None = None,
        background: BackgroundCallable | BackgroundTasks | None = None,
        content_disposition_type: str = "attachment",
        chunk_size: int = 64 * 1024,
        stat_result: os.stat_result | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1 byte")
        self.path = os.fspath(path)
        self.status_code = status_code
        self.media_type = media_type or guess_media_type(filename or self.path)
        self.filename = filename
        self.background = background
        self.chunk_size = chunk_size
        self.stat_result = stat_result
        self.body = b""
        self.raw_headers = self._initial_headers(headers)
        if filename is not None:
            value = content_disposition(content_disposition_type, filename)
            self.raw_headers.append((b"content-disposition", value.encode("latin-1")))

    def _initial_headers(self, headers: Mapping[str, str] | None) -> list[tuple[bytes, bytes]]:
        # The base class counted an empty body; the real length is known once
        # the file is looked at, per request.
        return [(k, v) for k, v in super()._initial_headers(headers) if k != b"content-length"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        info = await self._stat()
        headers = self._file_headers(info)
        request = Headers(raw=scope.get("headers", []))
        method = scope.get("method", "GET")
        status = self.status_code
        pieces: list[Piece] = [(0, info.st_size)]
        if self.status_code == 200:
            etag = _header(headers, b"etag")
            if self._not_modified(method, request, etag, info):
                await self._send_headers_only(scope, send, 304, _not_modified_headers(headers))
                return
            status, pieces = self._select(method, request, etag, info, headers)
        _set_header(headers, b"content-length", str(_body_length(pieces)))
        if method == "HEAD":
            await self._send_headers_only(scope, send, status, headers)
        else:
            await self._send_file(scope, receive, send, status, headers, pieces)

    # -- what to send -------------------------------------------------------
    async def _stat(self) -> os.stat_result:
        if self.stat_result is not None and stat_module.S_ISREG(self.stat_result.st_mode):
            return self.stat_result  # the caller has just looked (StaticFiles does)
        try:
            info = await anyio.to_thread.run_sync(os.stat, self.path)
        except (ValueError, OSError) as exc:
            raise _not_servable(exc) from None
        if not stat_module.S_ISREG(info.st_mode):
            raise HTTPException(404, _NOT_FOUND)
        return info

    def _file_headers(self, info: os.stat_result) -> list[tuple[bytes, bytes]]:
        """This response's headers plus what the file says about itself.
        A validator set by the caller (its own ``ETag``) wins over ours."""
        headers = list(self.raw_headers)
        modified = formatdate(int(info.st_mtime), usegmt=True)
        for name, value in (
            (b"last-modified", modified),
            (b"etag", _etag_for(info)),
            (b"accept-ranges", "bytes"),
        ):
            if _header(headers, name) is None:
                headers.append((name, value.encode("latin-1")))
        return headers

    def _not_modified(
        self, method: str, request: Headers, etag: str | None, info: os.stat_result
    ) -> bool:
        """RFC 9110, 13.2.2: If-None-Match first; If-Modified-Since only without it."""
        # A list-valued header may arrive split over several lines.
        if_none_match = ", ".join(request.getlist("if-none-match")) or None
        if if_none_match is not None:
            if etag is None or not _none_match(if_none_match, etag):
                return False
            if method in ("GET", "HEAD"):
                return True
            raise HTTPException(412, "The resource matches If-None-Match.")
        if_modified_since = request.get("if-modified-since")
        if if_modified_since is None or method not in ("GET", "HEAD"):
            return False
        since = _http_date(if_modified_since)
        return since is not None and int(info.st_mtime) <= since

    def _select(
        self,
        method: str,
        request: Headers,
        etag: str | None,
        info: os.stat_result,
        headers: list[tuple[bytes, bytes]],
    ) -> tuple[int, list[Piece]]:
        """The status and body plan: the whole file, one range or several.
        For a range, it also sets Content-Range or the multipart Content-Type."""
        whole: tuple[int, list[Piece]] = (200, [(0, info.st_size)])
        range_header = request.get("range")
        # Range is defined for GET only (RFC 9110, 14.2); an empty file has no
        # byte to select, and the whole (empty) file is a valid answer.
        if range_header is None or method != "GET" or info.st_size == 0:
            return whole
        if_range = request.get("if-range")
        if if_range is not None and not _if_range_holds(if_range, etag, int(info.st_mtime)):
            return whole  # the client's partial copy is stale: it needs all of it
        spans = parse_range(range_header, info.st_size)
        if spans is None or len(spans) > MAX_RANGES:
            return whole
        if not spans:
            raise HTTPException(
                416,
                f"No requested range is within the file's {info.st_size} bytes.",
                {"content-range": f"bytes */{info.st_size}"},
            )
        if len(spans) == 1:
            start, stop = spans[0]
            _set_header(headers, b"content-range", f"bytes {start}-{stop - 1}/{info.st_size}")
            return 206, [spans[0]]
        return 206, _multipart(spans, info.st_size, headers)

    # -- sending ------------------------------------------------------------
    async def _send_headers_only(
        self, scope: Scope, send: Send, status: int, headers: list[tuple[bytes, bytes]]
    ) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        scope[RESPONSE_STARTED] = True
        await send({"type": "http.response.body", "body": b""})
        if self.background is not None:
            await self.background()

    async def _send_file(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        headers: list[tuple[bytes, bytes]],
        pieces: list[Piece],
    ) -> None:
        if len(pieces) == 1 and not isinstance(pieces[0], bytes):
            start, stop = pieces[0]
            if stop - start <= self.chunk_size:
                await self._send_small(scope, send, status, headers, start, stop)
                return
        try:
            file = await anyio.open_file(self.path, "rb")
        except (ValueError, OSError) as exc:
            # Unreadable (stat needs no read permission), or removed or replaced
            # since the stat; nothing is sent yet, so a 404 or 403 still can be.
            raise _not_servable(exc) from None
        async with file:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            scope[RESPONSE_STARTED] = True
            await self._stream(file, pieces, receive, send)
        # Even if the client left early: a task that cleans up (say, deletes a
        # temporary file that was just sent) must still run.
        if self.background is not None:
            await self.background()

    async def _send_small(
        self,
        scope: Scope,
        send: Send,
        status: int,
        headers: list[tuple[bytes, bytes]],
        start: int,
        stop: int,
    ) -> None:
        """A body that fits in one chunk: opened, read and closed in one worker-thread
        call, then sent as one message."""
        # PERF: one thread hop instead of three (open, read, close) and no task
        # listening for a disconnect - a single send has nothing to stop early.
        # Most static files (icons, scripts, styles) take this path.
        try:
            body = await anyio.to_thread.run_sync(_read_span, self.path, start, stop)
        except (ValueError, OSError) as exc:
            raise _not_servable(exc) from None
        if len(body) != stop - start:
            # Nothing is sent yet: better a 500 than a body shorter than promised.
            raise RuntimeError(f"{self.path} became shorter while it was being sent")
        await send({"type": "http.response.start", "status": status, "headers": headers})
        scope[RESPONSE_STARTED] = True
        await send({"type": "http.response.body", "body": body, "more_body": False})
        if self.background is not None:
            await self.background()

    async def _stream(
        self, file: AsyncFile[bytes], pieces: list[Piece], receive: Receive, send: Send
    ) -> None:
        """Send the body, stopping early if the client disconnects."""
        failure: Exception | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
            try:
                await self._send_pieces(file, pieces, send)
            except Exception as exc:
                # Re-raised below, outside the task group, so that the server
                # sees this error itself and not an ExceptionGroup around it.
                failure = exc
            group.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _send_pieces(self, file: AsyncFile[bytes], pieces: list[Piece], send: Send) -> None:
        position = 0  # where a freshly opened file reads from
        for piece in pieces:
            if isinstance(piece, bytes):
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            else:
                if piece[0] != position:
                    await file.seek(piece[0])  # PERF: a thread hop, skipped for a whole file
                await self._send_span(file, piece, send)
                position = piece[1]
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _send_span(self, file: AsyncFile[bytes], span: Span, send: Send) -> None:
        start, stop = span
        remaining = stop - start
        while remaining > 0:
            chunk = await file.read(min(self.chunk_size, remaining))
            if not chunk:
                # Content-Length promised more than the file now holds. Raising
                # makes the server cut the connection, so the client sees a
                # truncated response rather than taking it as complete.
                raise RuntimeError(f"{self.path} became shorter while it was being sent")
            remaining -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})


def _read_span(path: str, start: int, stop: int) -> bytes:
    with open(path, "rb") as file:
        file.seek(start)
        return file.read(stop - start)


_NOT_FOUND = "The requested file does not exist."
# The name cannot lead to a file: it does not exist, or cannot be a name at all.
_NO_SUCH_NAME = frozenset({
    errno.ENOENT,  # nothing there
    errno.ENOTDIR,  # a "directory" on the way is a file: data.bin/child
    errno.EISDIR,  # a directory (opened after the stat saw a file)
    errno.ENAMETOOLONG,  # a part over NAME_MAX (255 bytes), or the whole over PATH_MAX
    errno.ELOOP,  # symbolic links that point at each other
})


def _not_servable(exc: ValueError | OSError) -> Exception:
    """The 404 or 403 for a path the OS refused; any other error as it is.

    The name usually comes from the request, so a bad one is the client's
    fault: a 4xx, never a 500. The answer never quotes the path: it would
    show the client where the server keeps its files.
    """
    if isinstance(exc, ValueError):
        # os.stat refuses "a\x00b" (embedded null byte) and "\ud800" (no
        # encoding can spell it) before asking the OS: no file has such a name.
        return HTTPException(404, _NOT_FOUND)
    if exc.errno in _NO_SUCH_NAME:
        return HTTPException(404, _NOT_FOUND)
    if exc.errno in (errno.EACCES, errno.EPERM):
        # The file may exist; the server may not read it (or enter its directory).
        return HTTPException(403, "The requested file cannot be read.")
    return exc  # EIO, EMFILE, ...: the server's trouble, a 500 and a log line


async def _cancel_on_disconnect(receive: Receive, cancel: anyio.CancelScope) -> None:
    # Servers on older ASGI versions drop sends to a client that has gone away
    # instead of raising; without this, a large file would be read to the end.
    while (await receive())["type"] != "http.disconnect":
        pass
    cancel.cancel()


def _multipart(spans: list[Span], size: int, headers: list[tuple[bytes, bytes]]) -> list[Piece]:
    """The body plan of a ``multipart/byteranges`` response (RFC 9110, 14.6).

    Each part is a delimiter line, its own Content-Type and Content-Range, a
    blank line, then the bytes. The boundary is random, so it cannot be
    guessed by whoever wrote the file (and so cannot appear in it by design).
    """
    boundary = secrets.token_hex(16)
    part_type = _header(headers, b"content-type") or "application/octet-stream"
    _set_header(headers, b"content-type", f"multipart/byteranges; boundary={boundary}")
    pieces: list[Piece] = []
    for index, (start, stop) in enumerate(spans):
        # The CRLF before a delimiter belongs to the delimiter (RFC 2046, 5.1.1).
        lead = "\r\n" if index else ""
        head = (
            f"{lead}--{boundary}\r\n"
            f"Content-Type: {part_type}\r\n"
            f"Content-Range: bytes {start}-{stop - 1}/{size}\r\n\r\n"
        )
        pieces += [head.encode("latin-1"), (start, stop)]
    pieces.append(f"\r\n--{boundary}--\r\n".encode("latin-1"))
    return pieces


def _body_length(pieces: list[Piece]) -> int:
    return sum(len(p) if isinstance(p, bytes) else p[1] - p[0] for p in pieces)


def _not_modified_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    # A 304 describes no body: drop what describes one (RFC 9110, 15.4.5), but
    # keep the validators and caching headers, so the client can refresh its copy.
    return [
        (k, v)
        for k, v in headers
        if not k.startswith(b"content-") or k == b"content-location"
    ]


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in headers if k == name), None)


def _set_header(headers: list[tuple[bytes, bytes]], name: bytes, value: str) -> None:
    headers[:] = [(k, v) for k, v in headers if k != name]
    headers.append((name, value.encode("latin-1")))


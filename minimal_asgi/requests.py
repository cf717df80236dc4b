"""The request: a lazy, read-only view of one HTTP request.

The server gives us a ``scope`` dict and a ``receive`` callable. ``Request``
parses nothing up front: headers, cookies, the query string and the URL are
decoded the first time they are read, and the body is pulled from ``receive``
only when the handler awaits it. A handler that reads nothing costs nothing.

What a request and a WebSocket have in common - the URL, headers, query
string, cookies, client address, path parameters - lives in
``HTTPConnection``, the base of both (``WebSocket`` is in websockets.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from http.cookies import _unquote
from typing import Any

from minimal_asgi.datastructures import URL, Address, FormData, Headers, QueryParams, State
from minimal_asgi.exceptions import HTTPException
from minimal_asgi.types import Message, Receive, Scope
from minimal_asgi.uploads import FormLimits

__all__ = ["DEFAULT_MAX_BODY_SIZE", "ClientDisconnect", "HTTPConnection", "Request"]

DEFAULT_MAX_BODY_SIZE = 1024 * 1024  # 1 MiB


class ClientDisconnect(Exception):
    """The client went away before the whole body arrived."""


async def _empty_receive() -> Message:
    raise RuntimeError("this Request was built without a receive channel; it has no body")


class HTTPConnection:
    """What every connection's scope says, parsed when first read: the base of
    ``Request`` and ``WebSocket``. Middleware can wrap any ``http`` or
    ``websocket`` scope in one to read its headers or URL."""

    __slots__ = ("_cookies", "_headers", "_query_params", "_url", "scope")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._headers: Headers | None = None
        self._query_params: QueryParams | None = None
        self._cookies: dict[str, str] | None = None
        self._url: URL | None = None

    @property
    def path(self) -> str:
        return self.scope["path"]  # type: ignore[no-any-return]

    @property
    def url(self) -> URL:
        """``http(s)://...`` for a request, ``ws(s)://...`` for a WebSocket."""
        if self._url is None:
            self._url = URL.from_scope(self.scope)
        return self._url

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(raw=self.scope.get("headers", []))
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        if self._query_params is None:
            self._query_params = QueryParams(self.scope.get("query_string", b""))
        return self._query_params

    @property
    def path_params(self) -> dict[str, Any]:
        return self.scope.get("path_params", {})  # type: ignore[no-any-return]

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            self._cookies = parse_cookie_header(
                "; ".join(self.headers.getlist("cookie"))
            )
        return self._cookies

    @property
    def client(self) -> Address | None:
        client = self.scope.get("client")
        return Address(client[0], client[1]) if client else None

    @property
    def state(self) -> State:
        """Per-connection storage shared by middleware, hooks and the endpoint."""
        values = self.scope.get("state")
        if isinstance(values, State):  # pragma: no cover - set by older code
            return values
        if not isinstance(values, dict):
            values = self.scope["state"] = {}
        return State(values)

    @property
    def app(self) -> Any:
        return self.scope.get("app")

    def url_for(self, name: str, /, **path_params: Any) -> str:
        """The absolute URL of the route called ``name``."""
        path = self.scope["app"].url_path_for(name, **path_params)
        return str(self.url.replace(path=path, query="", fragment=""))


class Request(HTTPConnection):
    """An incoming HTTP request. ``await request.json()`` and friends read the body."""

    __slots__ = (
        "_body",
        "_form",
        "_json",
        "_receive",
        "_received",
        "_stream_consumed",
        "max_body_size",
    )

    def __init__(
        self,
        scope: Scope,
        receive: Receive = _empty_receive,
        *,
        max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        # Every attribute set here rather than through super().__init__(): a
        # Request is made per request, and one call frame less is measurable.
        self.scope = scope
        self._receive = receive
        self.max_body_size = max_body_size
        self._headers = None
        self._query_params = None
        self._cookies = None
        self._url = None
        self._body: bytes | None = None
        self._json: Any = _UNSET
        self._form: FormData | None = None
        self._stream_consumed = False
        self._received = 0

    @property
    def method(self) -> str:
        return self.scope["method"]  # type: ignore[no-any-return]

    @property
    def receive(self) -> Receive:
        return self._receive

    # -- the body ------------------------------------------------------------
    async def stream(self) -> AsyncIterator[bytes]:
        """Yield the body as it arrives, enforcing ``max_body_size``.

        The size is checked twice: up front against ``Content-Length`` (so an
        honest oversized upload is refused before a byte is read) and while
        reading (so a lying or chunked one is cut off at the limit, without the
        rest ever being held in memory).
        """
        if self._body is not None:
            yield self._body
            return
        self._start_reading()
        more = True
        while more:
            chunk, more = await self._next_chunk()
            if chunk:
                yield chunk

    async def body(self) -> bytes:
        """The whole body (read once, then kept)."""
        if self._body is None:
            # Not written with stream(): an async generator costs more than the
            # usual single-message body itself.
            self._start_reading()
            # PERF: the first message awaited here and read by a plain call:
            # the usual body is one message, and awaiting _next_chunk for it
            # cost one coroutine more (about 600 instructions, counted).
            first = self._chunk_of(await self._receive())
            body, more = first if first is not None else await self._next_chunk()
            if more:
                chunks = [body]
                while more:
                    chunk, more = await self._next_chunk()
                    chunks.append(chunk)
                body = b"".join(chunks)
            self._body = body
        return self._body

    def _start_reading(self) -> None:
        if self._stream_consumed:
            raise RuntimeError("the request body was already consumed by stream()")
        self._stream_consumed = True
        limit = self.max_body_size
        if limit is not None:
            declared = self._raw_header(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise _too_large(limit, self.scope)

    def _raw_header(self, name: bytes) -> bytes | None:
        """The first value of the header ``name`` (lower-case bytes), undecoded.
        PERF: for the body's own headers, read on every body: a plain scan of
        the scope's list skips building ``headers`` and lower-casing and
        encoding the name for each look-up."""
        for key, value in self.scope.get("headers", ()):
            if key == name:
                return value  # type: ignore[no-any-return]
        return None

    async def _next_chunk(self) -> tuple[bytes, bool]:
        """The next piece of the body and whether more follows."""
        while True:
            found = self._chunk_of(await self._receive())
            if found is not None:
                return found

    def _chunk_of(self, message: Message) -> tuple[bytes, bool] | None:
        """The piece of the body in ``message`` and whether more follows, counted
        against ``max_body_size``; None for a message that carries no body."""
        kind = message["type"]
        if kind == "http.request":
            chunk: bytes = message.get("body", b"")
            self._received += len(chunk)
            limit = self.max_body_size
            if limit is not None and self._received > limit:
                raise _too_large(limit, self.scope)
            return chunk, message.get("more_body", False)
        if kind == "http.disconnect":
            raise ClientDisconnect()
        return None

    async def json(self) -> Any:
        """The body parsed as JSON. Malformed JSON is a 400 problem-details error."""
        if self._json is _UNSET:
            return self._json_of(await self.body())
        return self._json

    def _json_of(self, body: bytes) -> Any:
        """``json()`` once the body is read: the resolver (resolution.py) calls
        it with the body it awaited, saving the second ``body()`` await."""
        if self._json is _UNSET:
            try:
                # JSON text is UTF-8 (RFC 8259, 8.1; a BOM is ignored). A
                # UnicodeDecodeError is a ValueError: bad bytes are a 400 too.
                # PERF: the "utf-8-sig" codec is written in Python; the BOM is
                # rare, so it is tested for and the C UTF-8 decoder does the rest.
                if body[:3] == _BOM:
                    body = body[3:]
                self._json = _decode_json(body.decode("utf-8"))
            except (ValueError, RecursionError) as exc:
                # RecursionError: a body like [[[[...]]]] nested deeper than the
                # interpreter allows. It is bad input, not a server error.
                raise HTTPException(400, f"The request body is not valid JSON: {exc}") from None
        return self._json

    async def form(self, *, limits: FormLimits | None = None) -> FormData:
        """The fields of a form body: text fields as ``str``, files (the parts of
        a ``multipart/form-data`` body that have a filename) as ``UploadFile``.

        Read as it arrives, under ``limits`` (else the route's ``form_limits=``
        option, else ``App(form_limits=...)``): a limit crossed is a 413
        problem naming it, a malformed body a 400, any other content type a
        415. The files are closed after the response; formparsers.py has the
        details.
        """
        if self._form is None:
            from minimal_asgi.formparsers import parse_form  # only when a form is read

            if limits is None:
                # The route's (``@app.post(..., form_limits=...)``), else the app's.
                options = getattr(self.scope.get("route"), "options", None) or {}
                limits = (
                    options.get("form_limits")
                    or getattr(self.app, "form_limits", None)
                    or FormLimits()
                )
            content_type = self.headers.get("content-type", "")
            media = content_type.split(";", 1)[0].strip().lower()
            if media not in _FORM_TYPES:
                raise HTTPException(
                    415,
                    f"expected a form (multipart/form-data or "
                    f"application/x-www-form-urlencoded), got {media!r}",
                )
            self._form = await parse_form(content_type, self._form_chunks(limits), limits)
        return self._form

    async def _form_chunks(self, limits: FormLimits) -> AsyncIterator[bytes]:
        """The body for a form parser, bounded by the form's own limit."""
        if self._body is not None:  # already read by body(): parse what was kept
            if len(self._body) > limits.max_body_size:
                raise _form_too_large(limits)
            yield self._body
            return
        if self._stream_consumed:
            raise RuntimeError("the request body was already consumed by stream()")
        self._stream_consumed = True
        declared = self.headers.get("content-length")
        if declared is not None:
            # A negative or non-numeric length is a framing error (RFC 9110, 8.6).
            if not declared.isdigit():
                raise HTTPException(400, f"Content-Length must be a whole number, got {declared!r}")
            if int(declared) > limits.max_body_size:
                raise _form_too_large(limits)
        received = 0
        while True:
            message = await self._receive()
            kind = message["type"]
            if kind == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limits.max_body_size:
                    raise _form_too_large(limits)
                if chunk:
                    yield chunk
                if not message.get("more_body", False):
                    return
            elif kind == "http.disconnect":
                raise ClientDisconnect()

    async def close(self) -> None:
        """Close the files of a parsed form (the framework does this after the
        response; a middleware that reads a form with its own Request must)."""
        self.close_form()

    def close_form(self) -> None:
        """``close()`` without awaiting, safe in a cancelled request's cleanup."""
        if self._form is not None:
            self._form.close_files()

    async def is_disconnected(self) -> bool:
        """Non-blocking check whether the client has gone away (best effort)."""
        import anyio

        with anyio.move_on_after(0):
            message = await self._receive()
            if message["type"] == "http.disconnect":
                return True
        return False

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"


_UNSET: Any = object()


def _refuse_constant(name: str) -> Any:
    # Python's parser accepts NaN and Infinity; JSON (RFC 8259) does not.
    raise ValueError(f"{name} is not valid JSON")


# PERF: built once: json.loads(body, parse_constant=...) would build a decoder per call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
_scan_once = _DECODER.scan_once  # type: ignore[attr-defined]  # the C scanner, when available


def _decode_json(text: str) -> Any:
    """``JSONDecoder.decode`` without its Python-level whitespace handling in the
    usual case (a body that starts and ends with the value); anything else
    takes the full path, with its precise error messages."""
    # PERF: the C scanner called directly saves the decoder's regex passes;
    # a hypothesis test checks the answers equal json.loads's.
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:
        return _DECODER.decode(text)  # leading whitespace, or not JSON: full path
    if end != len(text):
        return _DECODER.decode(text)  # trailing whitespace, or extra data
    return value


_BOM = b"\xef\xbb\xbf"  # UTF-8's byte order mark
_FORM_TYPES = frozenset(["multipart/form-data", "application/x-www-form-urlencoded", ""])


def _form_too_large(limits: FormLimits) -> HTTPException:
    from minimal_asgi.formparsers import limit_exceeded

    return limit_exceeded("max_body_size", limits.max_body_size, "the form body, in bytes")


def _too_large(limit: int, scope: Scope) -> HTTPException:
    # On HTTP/1.x the unread rest of the body is still on the connection and
    # would be parsed as the next request: ask the server to close it. HTTP/2
    # and 3 end one stream, not the connection, and forbid connection-specific
    # headers (RFC 9113, 8.2.2): there a client rejects a response that has one.
    # A scope without http_version is taken as 1.1, as servers mostly speak it.
    http_1 = scope.get("http_version", "1.1") in ("1.0", "1.1")
    return HTTPException(
        413,
        f"The request body is larger than the limit of {limit} bytes "
        "(App(max_body_size=...) sets it).",
        headers={"connection": "close"} if http_1 else None,
    )


def parse_cookie_header(header: str) -> dict[str, str]:
    """Parse a ``Cookie`` request header into a dict (first value of a name wins,
    as browsers send the most specific cookie first)."""
    cookies: dict[str, str] = {}
    for chunk in header.split(";"):
        name, sep, value = chunk.partition("=")
        name = name.strip()
        if not sep or not name:
            continue
        if name not in cookies:
            cookies[name] = _unquote(value.strip())
    return cookies

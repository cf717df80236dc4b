"""One HTTP/1.1 connection over h11: bytes in, ASGI ``http`` scopes out, and back.

``main.py`` accepts a socket and calls ``HTTP11Protocol.run``. From there, for
each request on the connection, in order:

1. **Read the head** (``_next_request``). An idle connection waits up to
   ``keep_alive_timeout`` for a first byte; from that byte on, the whole head
   must arrive within ``read_timeout``; ``_Head`` looks at each byte of it
   once, however it trickles in. Before h11 parses the head,
   ``head_problem`` checks the limits and the framing rules h11 is lenient
   about, and after, ``request_problem`` the method and the target form; a
   bad head gets a 4xx from ``_refuse`` and the connection closes - the app
   never hears of it.
2. **Call the app** in a task of its own (``_Cycle.run``), with a ``receive``
   and a ``send`` made for this request. A task, not a plain call, because the
   response can be complete while the app still runs (background tasks): the
   next request on the connection should not wait for them.
3. **Hand over the body**: in one message if it came with the head
   (``_whole_body``), else streamed as the app asks for it, one chunk ahead at
   most (``_feed_body``), answering ``Expect: 100-continue`` on the first
   ``receive()``; the lines of a chunked body are checked as they arrive
   (``_ChunkLines``).
4. **Watch the socket** (``_watch``) while the app works: a read returns
   either nothing - the client has gone, and ``receive()`` answers
   ``http.disconnect`` - or the beginning of the next request, kept in h11's
   buffer until its turn.
5. **Keep alive or close** (``_response_complete``): if both sides are done
   and nobody asked to close, the read in progress becomes the keep-alive wait,
   ``h11.start_next_cycle()``, and back to 1.

This task is the only one that reads the socket; writes come from the app's
``send`` (and from the server's own answers) through ``Transport.write``.
h11 does the parsing and the framing: ``Content-Length`` or chunked on the way
in and on the way out, ``Connection: close``, HEAD without a body, and the
rule that HTTP/1.0 connections close after one response.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.abc
import h11
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from minimal_asgi.server.accesslog import log_request
from minimal_asgi.server.config import Config
from minimal_asgi.server.connection import ClientDisconnected, Transport
from minimal_asgi.server.websocket import WebSocketSession, is_websocket_upgrade
from minimal_asgi.types import ASGIApp, Message, Scope

__all__ = ["HTTP11Protocol", "head_problem", "request_problem"]

logger = logging.getLogger("minimal_asgi.server")

_ABSOLUTE_FORM = re.compile(  # RFC 9112 section 3.2.2: http(s)://host[:port][/path][?query]
    rb"[Hh][Tt][Tt][Pp][Ss]?://"
    rb"(?P<authority>(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(?::[0-9]*)?)"
    rb"(?P<rest>[/?].*)?"
)
_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")
_FRAMING_HEADER = re.compile(rb"\n(content-length|transfer-encoding):([^\r\n]*)", re.IGNORECASE)
# The IANA HTTP Method Registry, less CONNECT (a proxy's method) and PRI (HTTP/2's
# preface): the methods a client may expect an origin server to know.
_METHODS = frozenset(
    b"ACL BASELINE-CONTROL BIND CHECKIN CHECKOUT COPY DELETE GET HEAD LABEL LINK LOCK MERGE "
    b"MKACTIVITY MKCALENDAR MKCOL MKREDIRECTREF MKWORKSPACE MOVE OPTIONS ORDERPATCH PATCH POST "
    b"PROPFIND PROPPATCH PUT QUERY REBIND REPORT SEARCH TRACE UNBIND UNCHECKOUT UNLINK UNLOCK "
    b"UPDATE UPDATEREDIRECTREF VERSION-CONTROL".split()
)
_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
_LINGER_SECONDS = 1.0  # how long a refused client may go on sending before we close
_CLOSE = (0, "close without an answer")  # _read_head: the client left, or idled too long
_CLIENT_CLOSED_REQUEST = 499  # nginx's log-only status: the client left before the response ended
_END_OF_MESSAGE = h11.EndOfMessage()  # (frozen: one will do for every response)


def head_problem(head: bytes, complete: bool, config: Config) -> tuple[int, str] | None:
    """Why a request head must be refused before it is parsed, or None.

    ``head`` is the raw bytes up to the blank line that ends it (or all there is
    so far, if not ``complete``). h11 checks the grammar; this checks the size
    limits, and refuses what RFC 9112 allows a server to refuse and h11 accepts
    - each a way for two servers in a chain to disagree on where a request ends
    (request smuggling). ``_Head`` does the size checks as the head arrives,
    without calling this on every read.
    """
    line_end = head.find(b"\n")
    request_line = head if line_end < 0 else head[:line_end]
    problem = _size_problem(len(request_line.rstrip(b"\r")), len(head), config)
    if problem is not None or not complete:
        return problem
    if b"\n " in head or b"\n\t" in head:  # RFC 9112 section 5.2
        return 400, "obsolete line folding (a header line starting with a space) is not accepted"
    framing = _FRAMING_HEADER.findall(head)
    if framing:  # RFC 9112 section 6.3
        lengths = [value for name, value in framing if name.lower() == b"content-length"]
        if len(lengths) > 1 or any(b"," in value for value in lengths):
            return 400, "more than one Content-Length"
        if lengths and len(framing) > len(lengths):
            return 400, "both Content-Length and Transfer-Encoding"
    if not config.allow_bare_lf and head.count(b"\n") != head.count(b"\r\n"):
        return 400, "a line of the head ends with a bare LF, not CRLF"  # RFC 9112 section 2.2
    return None


def request_problem(request: h11.Request, config: Config) -> tuple[int, str] | None:
    """Why a parsed request must be refused before the app hears of it, or None.

    The target must be one of the three forms RFC 9112 section 3.2 gives an
    origin server: a path (``/items?id=1``, origin-form), an absolute URL
    (``http://host/items?id=1``, absolute-form: the scope gets its path, and
    its host as ``Host``) or ``*`` for ``OPTIONS`` (asterisk-form). Anything
    else - ``Xadmin/users``, ``@evil.example`` - would reach an app whose path
    checks all assume a leading ``/``, so it gets 400.
    """
    if request.method not in _METHODS and not config.allow_any_method:
        method = request.method.decode("ascii", "replace")
        return 501, f"the method {method!r} is not implemented (methods are case-sensitive)"
    target = request.target
    if target[:1] != b"/":
        if target == b"*":
            if request.method != b"OPTIONS":
                return 400, "the request target '*' is for OPTIONS only"
        elif _ABSOLUTE_FORM.fullmatch(target) is None:
            return 400, "the request target must be a path starting with '/', or an absolute URL"
    return None


def _absolute_form(target: bytes) -> tuple[bytes, bytes]:
    """``http://host:8000/a?b`` -> (b"host:8000", b"/a?b"), for a target request_problem passed."""
    match = _ABSOLUTE_FORM.fullmatch(target)
    assert match is not None
    rest = match["rest"] or b"/"
    return match["authority"], rest if rest[:1] == b"/" else b"/" + rest


def _size_problem(line_length: int, head_length: int, config: Config) -> tuple[int, str] | None:
    if line_length > config.max_request_line:
        return 414, "the request line is too long"
    if head_length > config.max_header_bytes:
        return 431, "the request head is too large"
    return None


class _Head:
    """A request head as it arrives: where it ends, and how long its first line is.

    Searching the whole buffer for the blank line on every read would make a
    head sent one byte at a time cost time in proportion to the square of its
    length - a slowloris client's cheapest way to burn the server's CPU. So
    each read is scanned once, from where the last scan stopped (less three
    bytes: the blank line may straddle two reads).
    """

    __slots__ = ("data", "end", "line_ended", "line_length")

    def __init__(self, buffered: bytes) -> None:
        self.data = bytearray()
        self.end = 0  # the head's length once its blank line has arrived; 0 until then
        self.line_ended = False
        self.line_length = 0  # the request line's, without its line ending (so far)
        if buffered:
            self.add(buffered)

    def add(self, data: bytes) -> None:
        start = len(self.data)
        self.data += data
        if not self.line_ended:
            newline = self.data.find(b"\n", start)
            self.line_ended = newline >= 0
            stop = newline if self.line_ended else len(self.data)
            self.line_length = stop - (self.data[stop - 1 : stop] == b"\r")
        if not self.end:
            blank_line = _END_OF_HEAD.search(self.data, max(start - 3, 0))
            if blank_line is not None:
                self.end = blank_line.end()

    def problem(self, config: Config) -> tuple[int, str] | None:
        if self.end:
            return head_problem(bytes(self.data[: self.end]), True, config)
        return _size_problem(self.line_length, len(self.data), config)


class _Alarm:
    """The deadline of the connection's reads, as a timer: when it rings, the read waiting returns.

    PERF: this was an anyio cancel scope around each request's reads, its
    deadline moved from one timeout to the next. Entering and leaving a scope,
    and moving its deadline, each take a trip through anyio's machinery (and a
    cancellation is an exception thrown into the task); a timer of the event
    loop (``call_later``) that wakes the read with nothing
    (``Transport.stop_reading``) does the same work for a fraction of it - as
    uvicorn does. ``rang`` stays set, so a read about to start sees it too.

    PERF: the timer is not cancelled and made again for every deadline: with
    keep-alive that was one timer made and one cancelled per request (about
    8,000 instructions with uvloop: docs/10-the-server.md, step 10). The
    deadline is a number; the timer, once made, rings at or before it and, if
    the deadline has moved later (or been cleared) meanwhile, sets itself
    again for the new one (or goes). A new timer is made only when the
    deadline moves earlier than the one running, and ``close`` drops it with
    the connection.
    """

    __slots__ = ("_deadline", "_handle", "_rings_at", "_transport", "rang")

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._deadline: float | None = None  # in the event loop's time; None: no deadline
        self._handle: asyncio.TimerHandle | None = None  # the timer, if one runs
        self._rings_at = 0.0  # when it runs for
        self.rang = False

    def set(self, seconds: float) -> None:
        """Ring in ``seconds`` (instead of whenever it was set to ring)."""
        loop = asyncio.get_running_loop()
        self._deadline = deadline = loop.time() + seconds
        self.rang = False
        if self._handle is None or self._rings_at > deadline:
            self._start(loop, deadline, seconds)

    def _start(self, loop: asyncio.AbstractEventLoop, deadline: float, seconds: float) -> None:
        """A timer for ``deadline``, ``seconds`` from now (instead of the one running)."""
        if self._handle is not None:
            self._handle.cancel()
        self._rings_at = deadline
        # (call_later, not call_at: uvloop's call_at is a call_later, and dearer)
        self._handle = loop.call_later(seconds, self._check)

    def _check(self) -> None:
        """The timer is up: ring if the deadline is (to the clock's millisecond), else wait on."""
        self._handle = None
        deadline = self._deadline
        if deadline is None:
            return
        loop = asyncio.get_running_loop()
        left = deadline - loop.time()
        if left > 0.001:
            self._start(loop, deadline, left)
        else:
            self._deadline = None
            self.ring()

    def ring(self) -> None:
        """Now: the timeout is up, or a graceful shutdown ends the wait."""
        self.rang = True
        self._transport.stop_reading()

    def clear(self) -> None:
        self._deadline = None
        self.rang = False

    def close(self) -> None:
        """The connection is done: no timer left behind for it."""
        self._deadline = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class _ChunkLines:
    """The lines of a chunked body, checked as its bytes arrive, where h11 is lenient.

    h11 decodes the chunks, but it waits - for the read timeout - on a chunk
    line that ends in a bare LF (it looks for CRLF), reads a trailer section
    whose lines end in bare LFs, and takes a chunk size of up to 20 hex digits
    (2^80 bytes) and then waits for that many. Here every line must end with
    CRLF, and a chunk size must fit in 64 bits (as llhttp, uvicorn's parser,
    requires) and in what is left of ``max_body_bytes``: else the answer comes
    at once. Only the lines are looked at; chunk data is skipped over.
    """

    __slots__ = ("done", "line", "max_body", "problem", "received", "skip", "trailer")

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.received = 0  # the chunk sizes declared so far, summed
        self.skip = 0  # bytes of chunk data (and the CRLF after it) still to come
        self.line = b""  # a line begun in an earlier read
        self.trailer = False  # past the last chunk (size 0): trailer lines, then a blank one
        self.done = False  # the blank line that ends the body has come: what follows is not ours
        self.problem: tuple[int, str] | None = None

    def feed(self, data: bytes) -> tuple[int, str] | None:
        """Check the next bytes of the body; the first problem found (and kept), or None."""
        position = 0
        while position < len(data) and not self.done and self.problem is None:
            if self.skip:
                step = min(self.skip, len(data) - position)
                self.skip -= step
                position += step
                continue
            newline = data.find(b"\n", position)
            if newline < 0:
                self.line += data[position:]  # (h11 bounds a line by max_header_bytes)
                break
            line, self.line = self.line + data[position:newline], b""
            position = newline + 1
            if not line.endswith(b"\r"):
                self.problem = 400, "a line of the chunked body ends with a bare LF, not CRLF"
            else:
                self._line(line[:-1])
        return self.problem

    def _line(self, line: bytes) -> None:
        if self.trailer:
            self.done = not line
            return
        size = line.split(b";", 1)[0].strip(b" \t")
        if not size or size.strip(b"0123456789abcdefABCDEF"):
            return  # not a chunk size: h11 refuses it
        length = int(size, 16)
        self.received += length
        if length >= 1 << 64:
            self.problem = 400, f"a chunk size of {len(size)} hex digits does not fit in 64 bits"
        elif self.received > self.max_body:
            self.problem = 413, f"the body is over {self.max_body} bytes"
        elif length == 0:
            self.trailer = True
        else:
            self.skip = length + 2


@functools.lru_cache(maxsize=1)
def _http_date(second: int) -> bytes:
    return formatdate(second, usegmt=True).encode()


def _date_header() -> tuple[bytes, bytes]:
    """``Date`` for responses (RFC 9110 asks origin servers for it), formatted once a second."""
    return b"date", _http_date(int(time.time()))


def _serialize(connection: h11.Connection, event: h11.Event) -> bytes:
    data = connection.send(event)
    assert data is not None  # only ConnectionClosed serializes to None
    return data


def _headers(request: h11.Request) -> list[tuple[bytes, bytes]]:
    """The request's headers as ASGI wants them: lower-case names, in order, repeats kept.

    PERF: not ``list(request.headers)``: h11's ``Headers`` is a ``Sequence``,
    and the iteration it inherits from ``collections.abc`` calls
    ``__getitem__`` once per header and ends by catching an ``IndexError``;
    ``raw_items()`` is a plain list (h11 lower-cases names with ``bytes.lower``).
    """
    return [(name.lower(), value) for name, value in request.headers.raw_items()]


def _body_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The body's length from its framing headers: None when chunked (unknown up front)."""
    for name, value in headers:
        if name == b"content-length":
            return int(value)  # h11 has checked it is a number
        if name == b"transfer-encoding":
            return None  # h11 accepts only "chunked"
    return 0


class HTTP11Protocol:
    """Requests on one connection, one after the other, until either side closes it."""

    def __init__(
        self,
        transport: Transport,
        app: ASGIApp,
        config: Config,
        state: dict[str, Any],
        *,
        overloaded: bool = False,
    ) -> None:
        self.transport = transport
        self.app = app
        self.config = config
        self.lifespan_state = state
        self.overloaded = overloaded  # over max_connections: answer 503 to the first request
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=config.max_header_bytes)
        self.stopping = False
        self._alarm = _Alarm(transport)  # the deadline of the read in progress
        self._idle = False  # waiting for a next request: a graceful shutdown ends the wait
        self._websocket: WebSocketSession | None = None
        self._linger = 0.0
        self._apps: set[asyncio.Task[None]] = set()  # app tasks still running (see _start_app)
        # PERF: what h11 holds and has not parsed yet, as ``trailing_data`` gives it,
        # when this object knows without asking: that property copies h11's buffer
        # through a Python-level ``__bytes__``, and asking it twice a request (here,
        # and in _watch) cost 0.6% of a keep-alive GET (docs/10-the-server.md).
        # Known at the start (nothing) and after ``_watch``; None when only h11 knows.
        self._unparsed: tuple[bytes, bool] | None = (b"", False)

    def shutdown(self) -> None:
        """Graceful shutdown: close now if idle, else once the response in flight is done."""
        self.stopping = True
        if self._idle:
            self._alarm.ring()
        if self._websocket is not None:
            self._websocket.shutdown()

    async def run(self) -> None:
        try:
            await self._serve()
        except BaseException:  # cancelled (a forced shutdown): so are the app tasks
            for task in self._apps:
                task.cancel()
            raise
        finally:
            # Close the socket now, then wait for app tasks still finishing
            # background work after their responses.
            if self._linger:
                with anyio.CancelScope(shield=True):
                    await self.transport.linger(self._linger)
            self._alarm.close()
            self.transport.close()
            await self._wait_for_apps()

    def _start_app(self, cycle: _Cycle) -> None:
        """Run the app for ``cycle`` in a task of its own.

        PERF: a plain asyncio task, not anyio's ``TaskGroup.start_soon``: anyio
        gives each task it starts a cancel scope and an event of its own, and a
        task group per connection costs a cancel scope more (with anyio's accept
        loop, a sixth to a quarter of a request's instructions: see
        docs/10-the-server.md).
        What the task group did, ``_wait_for_apps`` does: the connection ends
        when its app tasks do, and cancelling it cancels them.

        PERF: the task takes itself out of ``_apps`` as it ends (``_Cycle.run``),
        not by a done callback: the event loop would schedule and run that as
        one more callback per request. (A task cancelled before it ever ran
        stays in the set, done, until the connection ends.)
        """
        cycle.task = asyncio.get_running_loop().create_task(cycle.run())
        self._apps.add(cycle.task)

    async def _wait_for_apps(self) -> None:
        try:
            while pending := [task for task in self._apps if not task.done()]:
                await asyncio.wait(pending)  # (often none: the app returned with its response)
        except BaseException:  # cancelled (a forced shutdown): they are cancelled too
            for task in self._apps:
                task.cancel()
            raise

    async def _serve(self) -> None:
        while True:
            parsed = await self._next_request()
            if parsed is None:
                return
            request, after_head = parsed
            if self.overloaded:
                await self._refuse(503, "too many connections; retry later", request)
                return
            headers = _headers(request)
            if is_websocket_upgrade(request.method, headers):
                scope = self._scope(request, headers, "websocket")
                self._websocket = WebSocketSession(
                    self.transport, self.h11, request, scope, self.app, self.config
                )
                await self._websocket.run()
                return
            if not await self._run_cycle(request, headers, after_head):
                return
            self.h11.start_next_cycle()

    # -- 1. the request head -------------------------------------------------------
    async def _next_request(self) -> tuple[h11.Request, bytes] | None:
        """Wait for the next request head and parse it; None means: close.

        With the request, the bytes that came after its head, which h11 still
        holds: the head ends at the blank line ``_END_OF_HEAD`` finds, where
        h11's own search ends it (``head_problem`` relies on that too: it
        checks the bytes h11 parses).
        """
        unparsed = self._unparsed
        buffered, closed = unparsed if unparsed is not None else self.h11.trailing_data
        self._unparsed = None  # h11 parses some of it now
        received: bytes | bytearray = buffered  # all h11 has been given and not parsed
        blank_line = _END_OF_HEAD.search(buffered)
        if blank_line is not None:  # PERF: all here already (read by _watch, or pipelined)
            end = blank_line.end()
            problem = head_problem(buffered[:end], True, self.config)
        else:
            head = _Head(buffered)  # PERF: each byte scanned once, however slowly it comes
            problem = head.problem(self.config)
            if problem is None and not head.end:
                problem = await self._read_head(head, closed)
                if problem is _CLOSE:
                    return None
            received, end = head.data, head.end  # (_read_head gives h11 what it gives head)
        if problem is not None:
            await self._refuse(*problem)
            return None
        try:
            event = self.h11.next_event()
        except h11.RemoteProtocolError as exc:  # a bad request line, a bad header, no Host ...
            await self._refuse(exc.error_status_hint, str(exc))
            return None
        assert isinstance(event, h11.Request), event
        problem = request_problem(event, self.config)
        if problem is not None:
            await self._refuse(*problem, event)
            return None
        return event, bytes(received[end:])

    async def _read_head(self, head: _Head, closed: bool) -> tuple[int, str] | None:
        """Read until ``head`` is complete: None, or the problem with it (or ``_CLOSE``).

        An idle connection may wait ``keep_alive_timeout`` for the first byte of
        its next request; from that byte on, the whole head must come within
        ``read_timeout``. One ``_Alarm`` for all of it, set again at the first
        byte, not one per read: a client sending a byte at a time makes a read
        per byte.
        """
        alarm = self._alarm
        idle = self._idle = not head.data
        alarm.set(self.config.keep_alive_timeout if idle else self.config.read_timeout)
        try:
            while True:
                if closed or (self.stopping and not head.data):
                    return _CLOSE
                data = None if alarm.rang else await self.transport.read_or_stop()
                if data is None:  # the alarm rang
                    break
                if not data and not head.data:  # the client left between requests
                    return _CLOSE
                self.h11.receive_data(data)  # b"" tells h11 the client closed its side
                head.add(data)
                closed = not data
                problem = head.problem(self.config)
                if problem is not None or head.end:
                    return problem
                if idle:  # the first bytes, not the whole head: the rest has read_timeout
                    idle = self._idle = False
                    alarm.set(self.config.read_timeout)
        finally:
            self._idle = False
            alarm.clear()
        if not head.data:  # idle for too long, or shutting down
            return _CLOSE
        return 408, "the request head did not arrive in time"  # slowloris

    def _scope(self, request: h11.Request, headers: list[tuple[bytes, bytes]], kind: str) -> Scope:
        target = request.target
        if target[:1] != b"/" and target != b"*":
            # Absolute-form: RFC 9112 section 3.2.2 has the server take the host from
            # the target and ignore the Host header, so the app sees one host, not two.
            authority, target = _absolute_form(target)
            headers = [(name, value) for name, value in headers if name != b"host"]
            headers.insert(0, (b"host", authority))
        raw_path, _, query_string = target.partition(b"?")
        root_path = self.config.root_path
        path = raw_path.decode("latin-1")
        scope: dict[str, Any] = {
            "type": kind,
            "asgi": {"version": "3.0", "spec_version": "2.5"},
            "http_version": request.http_version.decode(),
            "scheme": "http" if kind == "http" else "ws",
            # PERF: most paths have no %-escape, and need no call to unquote
            "path": root_path + (unquote(path) if "%" in path else path),
            "raw_path": (root_path.encode() + raw_path) if root_path else raw_path,
            "query_string": query_string,
            "root_path": root_path,
            "headers": headers,  # lower-case names, in order, repeats kept
            "client": self.transport.client,
            "server": self.transport.server,
            "state": self.lifespan_state.copy(),
        }
        if kind == "http":
            scope["method"] = request.method.decode()
        return scope

    async def _refuse(
        self, status: int, detail: str, request: h11.Request | None = None
    ) -> None:
        """Answer in the app's place (400, 408, 413, 414, 431, 503) and close."""
        reason = _REASONS.get(status, b"")
        body = f"{status} {reason.decode()}: {detail}\n".encode()
        head = [
            b"HTTP/1.1 %d %s\r\n" % (status, reason),
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n",
            b"%s: %s\r\n" % _date_header(),
        ]
        if status == 503:
            head.append(b"retry-after: 1\r\n")
        if request is not None and request.method == b"HEAD":
            body = b""
        try:
            await self.transport.write(b"".join(head) + b"\r\n" + body)
        except ClientDisconnected:
            pass
        self._linger = _LINGER_SECONDS  # the client may still be sending: let it read this
        if self.config.access_log:
            line = _request_line(request) if request is not None else "-"
            log_request(self.transport.client, line, status, len(body), 0.0)

    # -- 2 to 5. one request, one response -------------------------------------------
    async def _run_cycle(
        self, request: h11.Request, headers: list[tuple[bytes, bytes]], after_head: bytes
    ) -> bool:
        """Run the app on ``request``; True if the connection can carry another request.

        ``after_head``: what came after the request's head (its body, or some
        of it, and maybe the next request), as h11 holds it.
        """
        scope = self._scope(request, headers, "http")
        length = _body_length(scope["headers"])
        if length is not None and length > self.config.max_body_bytes:
            # Refused before reading a byte of it; a client that sent
            # "Expect: 100-continue" never sends the body at all.
            await self._refuse(413, f"the body is over {self.config.max_body_bytes} bytes", request)
            return False
        # Most requests (a GET, a small POST) arrive whole, head and body in one
        # read: then the app gets the body in one message, with no streaming.
        chunk_lines = None
        if length is None:  # chunked: its lines are checked from the first byte on
            chunk_lines = _ChunkLines(self.config.max_body_bytes)
            problem = chunk_lines.feed(after_head)
            if problem is not None:  # already in what came with the head: the app is spared
                await self._refuse(*problem, request)
                return False
        cycle = _Cycle(self, scope, request, self._whole_body(length, after_head))
        cycle.chunk_lines = chunk_lines
        self._start_app(cycle)
        try:
            after_body: bytes | None = None  # what h11 holds past the body, if known
            if cycle.reading is not None:  # a body to stream: see _Cycle.stop_reading
                with cycle.reading:
                    if not await self._feed_body(cycle):
                        return False
            else:  # the body came whole, length bytes of after_head (0 for a GET)
                after_body = after_head[length:]
            if not cycle.stopped and not await self._watch(cycle, after_body):
                return False  # the client has gone
        finally:
            idle_too_long = self._alarm.rang and not self.stopping
            self._idle = False
            self._alarm.clear()
            cycle.end_of_body()  # a receive() still waiting now returns http.disconnect
        if not cycle.complete:
            await cycle.wait_finished()
            if not cycle.complete:
                return False
        if self.h11.their_state is h11.SEND_BODY:  # the app answered without reading it all
            if cycle.expected_continue and not cycle.sent_continue:
                self._linger = _LINGER_SECONDS  # it may send the body anyway: let it read
                return False  # the client held the body back for a go-ahead that never came
            if not await self._feed_body(cycle, discard=True):
                return False
        if self.h11.our_state is not h11.DONE or self.stopping:
            return False  # "Connection: close", HTTP/1.0, an error, or shutting down
        return not idle_too_long

    def _response_complete(self, cycle: _Cycle) -> None:
        """The last byte of ``cycle``'s response is written: what becomes of the read in progress?

        Usually (keep-alive, the request all read, nothing pipelined) the read
        just goes on, now as the wait for the next request: it gets the
        keep-alive deadline instead of being stopped and started again. In
        every other case it is stopped, and ``_run_cycle`` decides.
        """
        if (
            cycle.watching
            and not cycle.stopped
            and self.h11.our_state is h11.DONE
            and self.h11.their_state is h11.DONE
            and not self.stopping
            and not cycle.buffered
        ):
            self._alarm.set(self.config.keep_alive_timeout)
            self._idle = True  # a graceful shutdown may end the wait now
        else:
            cycle.stop_reading()

    def _whole_body(self, length: int | None, after_head: bytes) -> Message | None:
        """The body as one message if it is all buffered already, else None (stream it)."""
        if length is None or len(after_head) < length:
            return None  # chunked (length unknown), or still on its way
        body = b""
        while not isinstance(event := self.h11.next_event(), h11.EndOfMessage):
            assert isinstance(event, h11.Data), event
            body += event.data
        return _chunk(body, more_body=False)

    async def _feed_body(self, cycle: _Cycle, discard: bool = False) -> bool:
        """Hand the body to the app as ``http.request`` messages; False if it ended badly.

        The stream to the app holds one message, so the server reads at most one
        chunk ahead: a slow app slows the client down (TCP flow control) instead
        of filling the server's memory. One chunk is held back until the next
        event is known, so the last chunk carries ``more_body=False`` itself.
        """
        if not discard and self.h11.they_are_waiting_for_100_continue:
            # The client sent the head and waits for a go-ahead before the body.
            # Give it when the app first asks for the body: an app that answers
            # 401 without reading saves the client the upload.
            await cycle.wants_body.wait()
            if self.h11.they_are_waiting_for_100_continue:
                proceed = h11.InformationalResponse(status_code=100, headers=[], reason="Continue")
                await self.transport.write(_serialize(self.h11, proceed))
                cycle.sent_continue = True
        # h11 takes the body from its buffer, as much as it finds: what it holds
        # after that is known to h11 only (a _watch after a streamed body asks it).
        self._unparsed = None
        to_app = None if discard else cycle.body_to_app
        received = 0
        held: bytes | None = None
        client_closed = False
        chunk_lines = cycle.chunk_lines
        while True:
            if chunk_lines is not None and chunk_lines.problem is not None:
                await self._answer_instead(cycle, *chunk_lines.problem)
                return False
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:  # bad chunked framing, or EOF mid-body
                if client_closed:
                    cycle.client_gone()
                else:
                    await self._answer_instead(cycle, 400, str(exc))
                return False
            if event is h11.NEED_DATA:
                if held is not None and to_app is not None:
                    await to_app.send(_chunk(held, more_body=True))
                held = None
                with anyio.move_on_after(self.config.read_timeout) as timer:
                    data = await self.transport.read()
                if timer.cancelled_caught:
                    await self._answer_instead(cycle, 408, "the request body stalled")
                    return False
                client_closed = not data
                if chunk_lines is not None:
                    chunk_lines.feed(data)
                self.h11.receive_data(data)
            elif isinstance(event, h11.Data):
                received += len(event.data)
                if received > self.config.max_body_bytes:  # chunked: no length known up front
                    await self._answer_instead(
                        cycle, 413, f"the body is over {self.config.max_body_bytes} bytes"
                    )
                    return False
                if held is not None and to_app is not None:
                    await to_app.send(_chunk(held, more_body=True))
                held = bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                if to_app is not None:
                    await to_app.send(_chunk(held or b"", more_body=False))
                return True
            else:  # pragma: no cover - h11 yields nothing else while a body is read
                raise RuntimeError(f"unexpected {event!r} in a request body")

    async def _watch(self, cycle: _Cycle, after_body: bytes | None) -> bool:
        """Read while the app works; False if the client has gone.

        The body is all read, so a read returns either nothing - the client has
        gone, and the app hears ``http.disconnect`` - or the beginning of the
        next request (pipelined, or sent after this response), kept in h11's
        buffer for the next cycle: up to a head's worth, then reading stops and
        TCP makes the client wait. ``after_body``: what h11 holds past the
        body, None if only h11 knows (a streamed body).
        """
        cycle.watching = True
        closed = False  # (known: a read of nothing ends the connection before h11 hears of it)
        if after_body is None:
            after_body, closed = self.h11.trailing_data
        held = [after_body]  # PERF: h11's buffer, for the next _next_request
        cycle.buffered = len(after_body)
        try:
            while cycle.buffered <= self.config.max_header_bytes and not cycle.stopped:
                data = await self.transport.read_or_stop()
                if data is None:  # stopped (see _Cycle.stop_reading), or the alarm rang
                    return True
                if not data:  # (not given to h11: it ends the connection here)
                    if not cycle.complete:
                        cycle.client_gone()
                    return False
                self.h11.receive_data(data)
                held.append(data)
                cycle.buffered += len(data)
                if cycle.complete:
                    return True  # the next request has begun to arrive
            if not cycle.stopped:
                await cycle.wait_finished()
            return True
        finally:
            # Joined once, not appended to on each read: a client sending a byte
            # at a time would make that quadratic.
            self._unparsed = (held[0] if len(held) == 1 else b"".join(held)), closed

    async def _answer_instead(self, cycle: _Cycle, status: int, detail: str) -> None:
        """The body went wrong while the app was running: the server answers.

        To the app it is as if the client had gone: ``receive()`` says
        ``http.disconnect`` and ``send()`` raises ``ClientDisconnected``.
        """
        cycle.disconnected = True
        if cycle.take_over_response():
            cycle.complete = True  # (the server's response; the access log has its line)
            await self._refuse(status, detail, cycle.request)
        cycle.finish()


def _chunk(body: bytes, more_body: bool) -> Message:
    return {"type": "http.request", "body": body, "more_body": more_body}


def _request_line(request: h11.Request) -> str:
    method, target = request.method.decode(), request.target.decode("latin-1")
    return f"{method} {target} HTTP/{request.http_version.decode()}"


class _Cycle:
    """One request and its response: the ``receive`` and ``send`` the app is called with."""

    def __init__(
        self,
        connection: HTTP11Protocol,
        scope: Scope,
        request: h11.Request,
        whole_body: Message | None,
    ) -> None:
        self.connection = connection
        self.scope = scope
        self.request = request
        self.is_head = request.method == b"HEAD"
        self.whole_body = whole_body  # the body in one message, if it came with the head
        # ... else the connection streams it to the app through here, as it arrives:
        self.body_to_app: MemoryObjectSendStream[Message] | None = None
        self.body: MemoryObjectReceiveStream[Message] | None = None
        if whole_body is None:
            self.body_to_app, self.body = anyio.create_memory_object_stream[Message](1)
            self.wants_body = asyncio.Event()  # the app called receive(): time for 100 Continue
        # (asyncio's events, not anyio's wrappers around them: the server runs on asyncio)
        self.finished = False  # the response is complete, or never will be
        self._finished: asyncio.Event | None = None  # made by the first wait_finished()
        # The connection's reads of a streamed body, cancelled by stop_reading:
        self.reading = anyio.CancelScope() if whole_body is None else None
        self.watching = False  # the connection has read the whole body and watches the socket
        self.stopped = False  # stop_reading was called: no more reads for this request
        self.buffered = 0  # while watching: the bytes of the next request in h11's buffer
        # (a body that came whole with its head has been read: no go-ahead to wait for)
        self.expected_continue = (
            whole_body is None and connection.h11.they_are_waiting_for_100_continue
        )
        self.chunk_lines: _ChunkLines | None = None  # set for a chunked body
        self.sent_continue = False
        self.started = False  # http.response.start received (or the server answered)
        self.complete = False  # the last byte of the response was written
        self.disconnected = False  # the client has gone, as far as the app can tell
        self.status = 0
        self.body_bytes = 0
        self._response: h11.Response | None = None  # the head, held until the first body
        self._started_at = time.perf_counter() if connection.config.access_log else 0.0
        self.task: asyncio.Task[None] | None = None  # the app's (see HTTP11Protocol._start_app)

    async def run(self) -> None:
        """Call the app; answer 500 for it if it fails before its response starts."""
        try:
            await self.connection.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass  # it wrote to a client that had gone: nothing to report
        except Exception:
            logger.exception("Exception in ASGI application")
            await self._internal_error()
        else:
            if not self.disconnected and not self.complete:
                logger.error("ASGI app returned without completing its response")
                await self._internal_error()
        finally:
            self.connection._apps.discard(self.task)  # (see HTTP11Protocol._start_app)
            if not self.complete and self.connection.config.access_log:
                self._log(self.status if self.started else _CLIENT_CLOSED_REQUEST)
            if not self.complete:
                self.stop_reading()
            self.finish()

    async def receive(self) -> Message:
        if self.complete or self.disconnected:
            return {"type": "http.disconnect"}
        if self.whole_body is not None:
            message, self.whole_body = self.whole_body, None
            return message
        if self.body is None:  # the body came whole: what is left to hear is the end
            await self.wait_finished()
            return {"type": "http.disconnect"}
        self.wants_body.set()
        try:
            return await self.body.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):  # the server stopped reading
            return {"type": "http.disconnect"}

    def finish(self) -> None:
        """The response is complete, or never will be: whoever waits for that goes on."""
        self.finished = True
        if self._finished is not None:
            self._finished.set()

    async def wait_finished(self) -> None:
        """Until ``finish()``.

        PERF: the event is made only when someone waits. On most requests
        nobody does - the response is complete before the connection or
        ``receive()`` would wait for it - and an ``asyncio.Event`` made (and
        set) per request cost about 4,600 instructions with keep-alive.
        """
        if not self.finished:
            if self._finished is None:
                self._finished = asyncio.Event()
            await self._finished.wait()

    def end_of_body(self) -> None:
        """No more of the body will be read (it is all read, or never will be)."""
        if self.body_to_app is not None and self.body is not None:
            self.body_to_app.close()  # a receive() still waiting returns http.disconnect
            self.body.close()

    async def send(self, message: Message) -> None:
        if self.disconnected:
            raise ClientDisconnected("the client has gone")
        kind = message["type"]
        if kind == "http.response.start":
            if self.started:
                raise RuntimeError("http.response.start was sent twice")
            status = message["status"]
            headers = [_date_header(), *message.get("headers", ())]
            if self.connection.stopping:  # shutting down: this response is the last one
                headers.append((b"connection", b"close"))
            # h11 checks every header: a CR or LF in a value raises here (no response splitting).
            self._response = h11.Response(
                status_code=status, headers=headers, reason=_REASONS.get(status, b"")
            )
            self.started, self.status = True, status
        elif kind == "http.response.body":
            if not self.started:
                raise RuntimeError("http.response.body was sent before http.response.start")
            if self.complete:
                raise RuntimeError("http.response.body was sent after the response was complete")
            await self._write(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(f"unknown message type {kind!r} for an http scope")

    async def _write(self, body: bytes, more_body: bool) -> None:
        # Head, body and end in one write: one system call for a small response.
        # PERF: h11's send() is send_with_data_passthrough() and a join of its
        # pieces; one join here for the three, and one EndOfMessage for all
        # responses (h11's events are frozen), not one made and checked each time.
        h11_send = self.connection.h11.send_with_data_passthrough
        parts: list[bytes] = []
        if self._response is not None:
            parts += h11_send(self._response) or ()
            self._response = None
        if body and not self.is_head:  # HEAD: the headers of a GET, no body
            parts += h11_send(h11.Data(data=body)) or ()
            self.body_bytes += len(body)
        if not more_body:
            parts += h11_send(_END_OF_MESSAGE) or ()
        try:
            await self.connection.transport.write(b"".join(parts))
        except ClientDisconnected:
            self.client_gone()
            raise
        if not more_body:
            self.complete = True
            if self.connection.config.access_log:
                self._log(self.status)
            self.connection._response_complete(self)
            self.finish()

    def take_over_response(self) -> bool:
        """Claim the response for the server, if the app has written none of it yet."""
        if self.started and self._response is None:
            return False
        self.started, self._response = True, None
        return True

    def client_gone(self) -> None:
        self.disconnected = True
        self.end_of_body()
        self.stop_reading()
        self.finish()

    def stop_reading(self) -> None:
        """End the connection's reads for this request: ``_run_cycle`` decides what next.

        While the body streams, its reads are in the cancel scope ``reading``;
        once the connection watches the socket (``_watch``), its read is woken
        with nothing, cheaper than a cancellation. ``stopped`` stays set for a
        read about to start.
        """
        self.stopped = True
        if self.watching:
            self.connection.transport.stop_reading()
        elif self.reading is not None:
            self.reading.cancel()

    async def _internal_error(self) -> None:
        if self.disconnected or self.complete or not self.take_over_response():
            return  # too late for a status code: closing the connection says it
        body = b"Internal Server Error"
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", b"%d" % len(body)),
            (b"connection", b"close"),
        ]
        self.started = False
        with contextlib.suppress(ClientDisconnected):
            await self.send({"type": "http.response.start", "status": 500, "headers": headers})
            await self.send({"type": "http.response.body", "body": body})

    def _log(self, status: int) -> None:
        log_request(
            self.connection.transport.client,
            _request_line(self.request),
            status,
            self.body_bytes,
            time.perf_counter() - self._started_at,
        )

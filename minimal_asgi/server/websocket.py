"""The ASGI ``websocket`` scope over wsproto: from the HTTP upgrade to the close frame.

A WebSocket (RFC 6455) begins as an ordinary HTTP/1.1 ``GET`` with
``Upgrade: websocket``. ``http11.py`` spots it and hands the connection to a
``WebSocketSession``, which calls the app with a ``websocket`` scope:

1. ``receive()`` returns ``websocket.connect`` - the client's handshake, not yet answered;
2. the app sends ``websocket.accept`` (the server answers ``101 Switching
   Protocols``, h11 steps aside and wsproto takes the bytes from here) or
   ``websocket.close`` (the server answers ``403`` and the socket is never upgraded);
3. frames both ways: a reader task turns frames into ``websocket.receive``
   messages (whole messages, however many frames they came in, up to
   ``websocket_max_message`` bytes, else close 1009) and answers pings
   itself; while more than ``websocket_max_queue`` bytes of messages wait for
   the app, it stops reading the socket; the app's ``websocket.send`` becomes
   a frame;
4. the closing handshake: whoever closes first sends a close frame with a code,
   the other answers with one, and the app hears ``websocket.disconnect``
   with the code. After the server's close frame nothing more reaches the
   app, and a client that does not answer within ``websocket_close_timeout``
   is cut off.

No extensions are negotiated (no ``permessage-deflate``): a client that offers
compression simply gets uncompressed frames.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import anyio.abc
import h11
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.utilities import generate_accept_token

from minimal_asgi.server.config import Config
from minimal_asgi.server.connection import ClientDisconnected, Transport
from minimal_asgi.types import ASGIApp, Message, Scope

__all__ = ["WebSocketSession", "is_websocket_upgrade"]

logger = logging.getLogger("minimal_asgi.server")

_NO_STATUS = 1005  # RFC 6455: a close frame without a code
_ABNORMAL = 1006  # RFC 6455: the connection ended without a close frame


def is_websocket_upgrade(method: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
    """A ``GET`` asking for ``Upgrade: websocket`` with ``Connection: upgrade``."""
    if method != b"GET":
        return False
    upgrade = connection = False
    for name, value in headers:
        if name == b"upgrade":
            upgrade = value.strip().lower() == b"websocket"
        elif name == b"connection":
            connection = b"upgrade" in {token.strip() for token in value.lower().split(b",")}
    return upgrade and connection


class WebSocketSession:
    """One WebSocket, from the handshake to the closed socket."""

    def __init__(
        self,
        transport: Transport,
        http: h11.Connection,
        request: h11.Request,
        scope: Scope,
        app: ASGIApp,
        config: Config,
    ) -> None:
        self.transport = transport
        self.http = http
        self.app = app
        self.config = config
        self.headers = dict(request.headers)
        offered = b",".join(v for n, v in request.headers if n == b"sec-websocket-protocol")
        protocols = offered.decode("latin-1").split(",")
        scope["subprotocols"] = [p.strip() for p in protocols if p.strip()]
        self.scope = scope
        self.ws = Connection(ConnectionType.SERVER)
        self.state = "connecting"  # -> "open" -> "closing" (our close frame sent) -> "closed"
        self.close_code = _ABNORMAL
        self.close_reason = ""
        # Messages for the app, each with its size: at most 16 of them, and reading
        # stops while more than websocket_max_queue bytes wait (see _wait_for_room).
        self.to_app, self.inbox = anyio.create_memory_object_stream[tuple[Message, int]](16)
        self.queued = 0  # bytes of messages received and not yet taken by the app
        self._room = anyio.Event()  # set when the app takes a message (or we close)
        self.closed = anyio.Event()  # the closing handshake is over (or the socket is gone)
        # The reader's scope: once our close frame is sent, it gets a deadline for the answer.
        self.reading = anyio.CancelScope()
        self._connect_sent = False
        self._tasks: anyio.abc.TaskGroup | None = None

    def shutdown(self) -> None:
        """Server shutdown: close with 1012 (service restart); the app hears it as a disconnect."""
        if self._tasks is not None and self.state == "open":
            self._tasks.start_soon(self._close, 1012, "the server is shutting down")

    async def run(self) -> None:
        self.http.next_event()  # the EndOfMessage of the GET; h11 now waits for our answer
        if self.headers.get(b"sec-websocket-version") != b"13" or not self.headers.get(
            b"sec-websocket-key"
        ):
            await self._refuse(400)
            return
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                await self.app(self.scope, self.receive, self.send)
            except ClientDisconnected:
                pass
            except Exception:
                logger.exception("Exception in ASGI application")
                await self._end(error=True)
            else:
                await self._end(error=False)
            with anyio.move_on_after(self.config.websocket_close_timeout):
                await self.closed.wait()
            tasks.cancel_scope.cancel()
        self.to_app.close()
        self.inbox.close()

    async def _end(self, error: bool) -> None:
        """The app has returned: finish whatever it left open."""
        if self.state == "connecting":
            if not error:
                logger.error("ASGI app returned without accepting or closing the WebSocket")
            await self._refuse(500)
        elif self.state == "open":
            await self._close(1011 if error else 1000, "")

    # -- the app's two callables ------------------------------------------------------
    async def receive(self) -> Message:
        if not self._connect_sent:
            self._connect_sent = True
            return {"type": "websocket.connect"}
        try:
            message, size = await self.inbox.receive()
        except anyio.EndOfStream:
            return {
                "type": "websocket.disconnect",
                "code": self.close_code,
                "reason": self.close_reason,
            }
        self.queued -= size
        self._room.set()
        return message

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            if self.state != "connecting":
                raise RuntimeError("websocket.accept after the handshake was answered")
            await self._accept(message)
        elif kind == "websocket.send":
            if self.state == "connecting":
                raise RuntimeError("websocket.send before websocket.accept")
            if self.state != "open":
                raise ClientDisconnected("the WebSocket is closed")
            text, data = message.get("text"), message.get("bytes")
            frame = TextMessage(data=text) if text is not None else BytesMessage(data=data or b"")
            await self._write(self.ws.send(frame))
        elif kind == "websocket.close":
            if self.state == "connecting":
                await self._refuse(403)  # closing before accepting: deny the handshake
            elif self.state == "open":
                await self._close(message.get("code") or 1000, message.get("reason") or "")
            # Closing what is already closed is harmless: nothing to do.
        else:
            raise RuntimeError(f"unknown message type {kind!r} for a websocket scope")

    # -- the handshake ------------------------------------------------------------------
    async def _accept(self, message: Message) -> None:
        key = self.headers[b"sec-websocket-key"]
        headers = [
            (b"upgrade", b"websocket"),
            (b"connection", b"Upgrade"),
            (b"sec-websocket-accept", generate_accept_token(key)),
        ]
        if message.get("subprotocol"):
            headers.append((b"sec-websocket-protocol", message["subprotocol"].encode()))
        headers.extend(message.get("headers") or ())
        switching = h11.InformationalResponse(
            status_code=101, headers=headers, reason=b"Switching Protocols"
        )
        data = self.http.send(switching)
        assert data is not None
        await self._write(data)
        self.state = "open"
        # Bytes the client sent right after its handshake are already frames.
        leftover, _ = self.http.trailing_data
        assert self._tasks is not None
        self._tasks.start_soon(self._read_frames, leftover)

    async def _refuse(self, status: int) -> None:
        """Answer the handshake with a plain HTTP response; the socket is never upgraded."""
        response = h11.Response(
            status_code=status, headers=[(b"content-length", b"0"), (b"connection", b"close")]
        )
        data = (self.http.send(response) or b"") + (self.http.send(h11.EndOfMessage()) or b"")
        self.state = "closed"
        self.to_app.close()
        self.closed.set()
        try:
            await self.transport.write(data)
        except ClientDisconnected:
            pass

    # -- frames -------------------------------------------------------------------------
    async def _read_frames(self, data: bytes) -> None:
        """Turn the client's frames into messages until the closing handshake ends.

        Once our close frame is sent (the app closed, or a message was too
        big), nothing more reaches the app: frames are read only to find the
        client's answering close, and discarded; a client that does not answer
        within ``websocket_close_timeout`` is cut off.
        """
        parts: list[Any] = []
        size = 0
        try:
            with self.reading:
                while True:
                    if data:
                        self.ws.receive_data(data)
                    for event in self.ws.events():
                        if isinstance(event, TextMessage | BytesMessage):
                            if self.state != "open":
                                continue  # closing: this is not the app's any more
                            size += _size(event)
                            if size > self.config.websocket_max_message:
                                parts, size = [], 0
                                await self._close(1009, "message too big")
                                continue
                            parts.append(event.data)
                            if event.message_finished:
                                await self._wait_for_room()
                                if self.state != "open":
                                    continue  # closed while waiting: not the app's any more
                                self.queued += size
                                await self.to_app.send((_message(event, parts), size))
                                parts, size = [], 0
                        elif isinstance(event, Ping):
                            await self._write(self.ws.send(event.response()))
                        elif isinstance(event, CloseConnection):
                            self.close_code = event.code or _NO_STATUS
                            self.close_reason = event.reason or ""
                            if self.ws.state is ConnectionState.REMOTE_CLOSING:  # client first
                                await self._write(self.ws.send(event.response()))
                            elif self.ws.state is ConnectionState.OPEN:
                                # A protocol error (wsproto reports it as a close event): we close.
                                await self._write(self.ws.send(CloseConnection(code=event.code)))
                            return
                    await self._wait_for_room()
                    data = await self.transport.read()
                    if not data:
                        return  # the socket ended without a close frame: 1006
        except ClientDisconnected:
            pass
        finally:
            self.state = "closed"
            self.to_app.close()
            self.closed.set()

    async def _wait_for_room(self) -> None:
        """Backpressure: while the app is behind, stop reading the socket.

        Called before each message is queued and before each read, so what
        waits for the app stays under ``websocket_max_queue`` plus one message
        (and one read in wsproto's buffer), however fast the client sends: the
        unread bytes wait in the kernel's buffers, which fill up, and TCP's flow
        control makes the client's sends wait.
        """
        while self.queued > self.config.websocket_max_queue and self.state == "open":
            self._room = anyio.Event()
            await self._room.wait()

    async def _close(self, code: int, reason: str) -> None:
        if self.ws.state is not ConnectionState.OPEN:
            return
        self.state = "closing"
        self._room.set()  # a reader waiting for the app must now read the client's answer
        self.reading.deadline = anyio.current_time() + self.config.websocket_close_timeout
        try:
            await self._write(self.ws.send(CloseConnection(code=code, reason=reason)))
        except ClientDisconnected:
            pass

    async def _write(self, data: bytes) -> None:
        try:
            await self.transport.write(data)
        except ClientDisconnected:
            self.state = "closed"
            raise


def _size(event: TextMessage | BytesMessage) -> int:
    """The frame's payload in bytes: the limit is in bytes, and text is UTF-8 on the wire."""
    data = event.data
    if isinstance(data, str) and not data.isascii():  # PERF: isascii() is O(1) in CPython
        return len(data.encode())
    return len(data)


def _message(event: TextMessage | BytesMessage, parts: list[Any]) -> Message:
    if isinstance(event, TextMessage):
        return {"type": "websocket.receive", "text": "".join(parts)}
    return {"type": "websocket.receive", "bytes": b"".join(parts)}

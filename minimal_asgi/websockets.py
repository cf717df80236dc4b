"""WebSockets: one long-lived, two-way connection, as an object.

An HTTP request is one question and one answer. A WebSocket starts as an HTTP
request too (``GET`` with ``Upgrade: websocket``), but once the server agrees
the connection stays open and either side may send a message at any time -
chat, live dashboards, notifications, multiplayer cursors.

The server does the handshake and the framing (RFC 6455) and hands the app a
``websocket`` scope plus ``receive`` and ``send``, like an ``http`` scope but
with different messages (docs/15-websockets.md has them as a table). The
router matches the path (routing.py, ``Router._dispatch``), dependency
injection fills the endpoint's parameters (a parameter annotated ``WebSocket``
gets the object below), and the endpoint then drives the conversation::

    @app.websocket("/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            await websocket.send_text(text)

``WebSocket`` tracks where the conversation is (``WebSocketState``) so that
misuse - sending before ``accept()``, receiving after ``close()`` - fails with a
message that says what to do, instead of a server error far from the cause.
When the client goes away, the next ``receive_*`` raises ``WebSocketDisconnect``
with the client's close code; an endpoint that lets it escape has ended
normally. What happens on other errors is in errors.py.
"""

from __future__ import annotations

import enum
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, NoReturn

from minimal_asgi.datastructures import check_header_value
from minimal_asgi.requests import HTTPConnection, _refuse_constant
from minimal_asgi.responses import json_dumps
from minimal_asgi.types import Message, Receive, Scope, Send

__all__ = ["WebSocket", "WebSocketDisconnect", "WebSocketState"]

# RFC 6455, 5.5: a control frame carries at most 125 bytes; the close code takes 2.
MAX_CLOSE_REASON_BYTES = 123


class WebSocketDisconnect(Exception):
    """The connection ended while the endpoint was using it.

    Usually the client went away (``code`` is the code it sent: 1000 normal,
    1001 going away, 1006 gone without a close frame). It is also raised after
    the framework closed the connection because a message broke the contract:
    1003 (binary where text was expected, or the reverse), 1007 (not JSON).
    Letting it escape the endpoint is normal: the connection is over.
    """

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        reason = f": {self.reason}" if self.reason else ""
        return f"WebSocket closed with code {self.code}{reason}"


class WebSocketState(enum.Enum):
    """Where a connection is. Each ``WebSocket`` method checks it first."""

    CONNECTING = "connecting"  # the handshake waits for accept() or close()
    OPEN = "open"  # accepted: messages go both ways
    CLOSED = "closed"  # the app sent websocket.close
    DISCONNECTED = "disconnected"  # the client went away (websocket.disconnect)


class WebSocket(HTTPConnection):
    """One WebSocket connection: the handshake's URL, headers, query string and
    cookies (as on a ``Request``), and the methods that talk over it."""

    __slots__ = (
        "_connect_received",
        "_receive",
        "_send",
        "accepted_subprotocol",
        "connection_state",
    )

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            raise ValueError(f"a WebSocket needs a 'websocket' scope, not {scope['type']!r}")
        self.scope = scope
        self._receive = receive
        self._send = send
        self._headers = None
        self._query_params = None
        self._cookies = None
        self._url = None
        self._connect_received = False
        self.connection_state = WebSocketState.CONNECTING
        self.accepted_subprotocol: str | None = None

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered (``Sec-WebSocket-Protocol``), in
        its order of preference. ``accept(subprotocol=...)`` picks one."""
        return list(self.scope.get("subprotocols", []))

    # -- the handshake -----------------------------------------------------------
    async def accept(
        self,
        subprotocol: str | None = None,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    ) -> None:
        """Complete the handshake: the server answers ``101 Switching Protocols``.

        ``subprotocol`` must be one the client offered (see ``subprotocols``);
        ``headers`` are added to the 101 response.
        """
        if self.connection_state is not WebSocketState.CONNECTING:
            raise RuntimeError(
                f"accept() on a WebSocket that is {self.connection_state.value}; "
                "accept() is called once, first"
            )
        if subprotocol is not None and subprotocol not in self.subprotocols:
            raise ValueError(
                f"subprotocol {subprotocol!r} was not offered by the client "
                f"(it offered {self.subprotocols}); pick one of those, or None"
            )
        raw_headers = _encode_headers(headers)
        await self._await_connect()
        await self._send_message(
            {"type": "websocket.accept", "subprotocol": subprotocol, "headers": raw_headers}
        )
        self.connection_state = WebSocketState.OPEN
        self.accepted_subprotocol = subprotocol

    async def _await_connect(self) -> None:
        """Read ``websocket.connect``, the first message of every connection."""
        if self._connect_received:
            return
        message = await self._receive()
        self._connect_received = True
        if message["type"] == "websocket.disconnect":
            self.connection_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(message.get("code", 1006), message.get("reason") or "")
        if message["type"] != "websocket.connect":
            raise RuntimeError(f"expected websocket.connect, got {message['type']!r}")

    # -- sending -------------------------------------------------------------------
    async def send_text(self, data: str) -> None:
        if not isinstance(data, str):
            raise TypeError(
                f"send_text() takes a str, not {type(data).__name__}; "
                "use send_bytes() for bytes or send_json() for other values"
            )
        self._check_can_send("send_text")
        await self._send_message({"type": "websocket.send", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(
                f"send_bytes() takes bytes, not {type(data).__name__}; use send_text() for str"
            )
        self._check_can_send("send_bytes")
        await self._send_message({"type": "websocket.send", "bytes": bytes(data)})

    async def send_json(self, data: Any) -> None:
        """Send ``data`` as one JSON text message (the same encoder as responses)."""
        self._check_can_send("send_json")
        text = json_dumps(data).decode("utf-8")
        await self._send_message({"type": "websocket.send", "text": text})

    def _check_can_send(self, method: str) -> None:
        state = self.connection_state
        if state is WebSocketState.OPEN:
            return
        if state is WebSocketState.CONNECTING:
            raise RuntimeError(f"{method}() before accept(): call `await websocket.accept()` first")
        if state is WebSocketState.CLOSED:
            raise RuntimeError(f"{method}() after close(): this WebSocket is closed")
        # The client left: for a broadcast loop, that is news about this peer,
        # not a bug, so it gets the same exception a receive would.
        raise WebSocketDisconnect(1006, "the client has disconnected")

    async def _send_message(self, message: Message) -> None:
        try:
            await self._send(message)
        except OSError:
            # ASGI servers raise an OSError subclass for a send on a connection
            # the client has closed (uvicorn: ClientDisconnected).
            self.connection_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(1006, "the client has disconnected") from None

    # -- receiving -----------------------------------------------------------------
    async def receive_text(self) -> str:
        """The next message, which must be text (else: closed with 1003)."""
        message = await self._receive_data("receive_text")
        text: str | None = message.get("text")
        if text is None:
            await self._refuse(1003, "expected a text message, got a binary one")
        return text

    async def receive_bytes(self) -> bytes:
        """The next message, which must be binary (else: closed with 1003)."""
        message = await self._receive_data("receive_bytes")
        data: bytes | None = message.get("bytes")
        if data is None:
            await self._refuse(1003, "expected a binary message, got a text one")
        return data

    async def receive_json(self) -> Any:
        """The next message (text, or UTF-8 bytes) parsed as JSON. A message that
        is not JSON closes the connection with 1007, as a malformed HTTP body
        gets a 400: bad input is the client's error, never a crash."""
        message = await self._receive_data("receive_json")
        text = message.get("text")
        data = text if text is not None else message.get("bytes", b"")
        try:
            return json.loads(data, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            await self._refuse(1007, f"the message is not valid JSON: {exc}")

    async def iter_text(self) -> AsyncIterator[str]:
        """Each text message until the client disconnects."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            return

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Each binary message until the client disconnects."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            return

    async def iter_json(self) -> AsyncIterator[Any]:
        """Each message, parsed as JSON, until the client disconnects."""
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            return

    async def _receive_data(self, method: str) -> Message:
        state = self.connection_state
        if state is WebSocketState.CONNECTING:
            raise RuntimeError(f"{method}() before accept(): call `await websocket.accept()` first")
        if state is WebSocketState.CLOSED:
            raise RuntimeError(f"{method}() after close(): this WebSocket is closed")
        if state is WebSocketState.DISCONNECTED:
            raise RuntimeError(
                f"{method}() after the client disconnected; stop at WebSocketDisconnect"
            )
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self.connection_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(message.get("code", 1005), message.get("reason") or "")
        return message

    async def _refuse(self, code: int, reason: str) -> NoReturn:
        """Close because a message broke the contract, and end the endpoint."""
        reason = shorten_reason(reason)
        await self.close(code, reason)
        raise WebSocketDisconnect(code, reason)

    # -- closing -------------------------------------------------------------------
    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection; before ``accept()``, refuse it (the server
        answers the handshake with 403). Closing a connection the client has
        already left does nothing."""
        check_close_code(code)
        if len(reason.encode("utf-8")) > MAX_CLOSE_REASON_BYTES:
            raise ValueError(
                f"a close reason is at most {MAX_CLOSE_REASON_BYTES} bytes of UTF-8 "
                "(RFC 6455, 5.5); shorten it"
            )
        state = self.connection_state
        if state is WebSocketState.DISCONNECTED:
            return
        if state is WebSocketState.CLOSED:
            raise RuntimeError("close() on a WebSocket that is already closed")
        try:
            await self._await_connect()
            await self._send_message({"type": "websocket.close", "code": code, "reason": reason})
        except WebSocketDisconnect:
            return  # gone before we could say goodbye: nothing left to close
        self.connection_state = WebSocketState.CLOSED

    def __repr__(self) -> str:
        return f"<WebSocket {self.path} {self.connection_state.value}>"


def check_close_code(code: int) -> None:
    """The codes an endpoint may send (RFC 6455, 7.4): 1000-1003 and 1007-1014
    are defined; 3000-3999 are registered by libraries, 4000-4999 are private.
    1005, 1006 and 1015 only ever *report* a close and are never sent."""
    if not (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999):
        raise ValueError(
            f"{code} is not a close code an application may send; use 1000 (normal), "
            "1008 (policy violation), 1011 (server error) or 4000-4999 for your own"
        )


def shorten_reason(reason: str) -> str:
    """``reason`` cut to fit a close frame, at a character boundary."""
    encoded = reason.encode("utf-8")
    if len(encoded) <= MAX_CLOSE_REASON_BYTES:
        return reason
    return encoded[: MAX_CLOSE_REASON_BYTES - 3].decode("utf-8", errors="ignore") + "..."


def _encode_headers(
    headers: Mapping[str, str] | Sequence[tuple[str, str]] | None,
) -> list[tuple[bytes, bytes]]:
    if not headers:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    encoded = []
    for name, value in items:
        check_header_value(name, value)  # no CR/LF: the 101 response cannot be split
        encoded.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    return encoded

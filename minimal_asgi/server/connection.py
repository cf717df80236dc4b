"""One accepted TCP connection, as the protocol code needs it.

``main.py`` has the event loop accept connections and hand each one's bytes
to a ``Transport``; ``http11.py`` speaks HTTP/1.1 over it, and
``websocket.py`` takes it over after an upgrade. Three things about a socket
that both protocols share live here:

- **reading**: ``read()`` returns the next bytes, or ``b""`` once the client
  has closed its side or the connection broke - one signal for "gone";
- **writing**: ``write()`` hands the bytes to the event loop's transport,
  which sends what the kernel takes at once and keeps the rest; only when more
  than ``_HIGH_WATER`` bytes are waiting does it make the writer wait (a
  client that does not read must slow a streaming app down, not fill our
  memory). A write to a client that has gone raises ``ClientDisconnected``;
- **closing**: when the server closes first while the client may still be
  sending, closing at once makes the kernel answer with a reset, and a reset
  can destroy the response the client has not read yet. So ``linger()`` first
  sends FIN, then reads and discards for a moment before ``close()``, as
  nginx's ``lingering_close`` does.

PERF: this used to be anyio's ``SocketStream``, which does two things per
call that a server pays for on every request: each ``receive()`` turns reading
on and then off again (a change to what the event loop watches, each time),
and each ``send()`` waits for the loop to flush the bytes before it
returns (a write buffer limit of zero), one more turn of the event loop per
write. Here the socket stays registered for reading and the bytes wait in
``_Buffer`` until ``read()`` takes them - up to ``_HIGH_WATER``, after which
reading pauses, so TCP's flow control still makes a fast client wait for a
slow server. The event loop calls ``_Buffer``'s methods (an
``asyncio.Protocol``); the server's tasks call ``Transport``'s.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import Callable
from typing import Any, cast

import anyio

__all__ = ["ClientDisconnected", "Transport"]

_HIGH_WATER = 64 * 1024  # unread (or unsent) bytes at which reading (or the writer) pauses


class ClientDisconnected(OSError):
    """``send`` was called after the client went away.

    The ASGI spec asks servers to raise an ``OSError`` subclass here, so an app
    streaming a long response learns that nobody is listening any more.
    """


def _address(value: Any) -> tuple[str, int] | None:
    # IPv6 addresses come as (host, port, flowinfo, scope_id); ASGI wants (host, port).
    if isinstance(value, tuple) and len(value) >= 2:
        return str(value[0]), int(value[1])
    return None


class _Buffer(asyncio.Protocol):
    """What the event loop tells us about one socket, kept until a task asks."""

    def __init__(self, on_connection: Callable[[Transport], None] | None = None) -> None:
        self.on_connection = on_connection
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0  # bytes in chunks
        self.ended = False  # the client closed its side, or the connection broke
        self.paused = False  # reading paused: _HIGH_WATER bytes wait unread
        self.reader: asyncio.Future[None] | None = None  # a read() waiting for bytes
        self.stopped = False  # Transport.stop_reading() woke the reader
        self.writable: asyncio.Future[None] | None = None  # set while writes must wait

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (uvloop's transports quack like asyncio.Transport without subclassing it)
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=_HIGH_WATER)
        if self.on_connection is not None:
            self.on_connection(Transport(self.transport, self))

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered >= _HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self.paused = True
        self._wake_reader()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake_reader()
        return True  # keep our side open: the response may still be on its way

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self._wake_reader()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self.writable is None:
            self.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.writable is not None:
            if not self.writable.done():
                self.writable.set_result(None)
            self.writable = None

    def _wake_reader(self) -> None:
        if self.reader is not None and not self.reader.done():
            self.reader.set_result(None)


class Transport:
    """A connected socket: ``read``, ``write``, ``linger``, ``close`` and the two addresses."""

    def __init__(self, transport: asyncio.Transport, buffer: _Buffer) -> None:
        self._transport = transport
        self._buffer = buffer
        self.client = _address(transport.get_extra_info("peername"))
        self.server = _address(transport.get_extra_info("sockname"))

    @staticmethod
    async def listen(
        sock: socket.socket, on_connection: Callable[[Transport], None]
    ) -> asyncio.AbstractServer:
        """Have the event loop accept connections on ``sock``: ``on_connection`` gets each one.

        PERF: the loop's own server (uvloop's, in C) calls ``accept()`` as soon
        as the socket is readable, for every connection the kernel has queued,
        and sets up each transport without a Python-level ``accept()`` or a
        task of ours. ``on_connection`` is a plain function, called by the loop.
        """
        loop = asyncio.get_running_loop()
        return await loop.create_server(lambda: _Buffer(on_connection), sock=sock)

    @property
    def closed(self) -> bool:
        return self._transport.is_closing()

    async def read(self) -> bytes:
        """The next bytes the client sent; ``b""`` if it has gone."""
        data = await self.read_or_stop()
        assert data is not None  # (only a read_or_stop() is stopped)
        return data

    async def read_or_stop(self) -> bytes | None:
        """``read()``, or None as soon as ``stop_reading()`` is called.

        PERF: the way to end a read whose result nobody needs any more (the
        response is complete and the connection closes) without cancelling
        it: a cancellation is an exception thrown into the task and caught by
        a cancel scope, dearer than waking the read with nothing.
        """
        buffer = self._buffer
        while not buffer.chunks:
            if buffer.ended:
                return b""
            buffer.stopped = False
            buffer.reader = asyncio.get_running_loop().create_future()
            try:
                await buffer.reader
            finally:
                buffer.reader = None
            if buffer.stopped:
                return None
        data = buffer.chunks.popleft()
        buffer.buffered -= len(data)
        if buffer.paused and buffer.buffered < _HIGH_WATER:
            buffer.paused = False
            if not self._transport.is_closing():
                self._transport.resume_reading()
        return data

    def stop_reading(self) -> bool:
        """Make a ``read_or_stop()`` waiting now return None; False if none is waiting."""
        reader = self._buffer.reader
        if reader is None or reader.done():
            return False
        self._buffer.stopped = True
        reader.set_result(None)
        return True

    async def write(self, data: bytes) -> None:
        """Hand ``data`` to the kernel; raise ``ClientDisconnected`` if the client has gone."""
        if self._transport.is_closing():
            raise ClientDisconnected("the client has closed the connection")
        self._transport.write(data)
        writable = self._buffer.writable
        if writable is not None:  # over _HIGH_WATER unsent: wait until the client reads
            await writable
            if self._transport.is_closing():
                raise ClientDisconnected("the client has closed the connection")

    async def linger(self, seconds: float) -> None:
        """Send FIN, then read and discard for up to ``seconds``: the client reads what we sent.

        Call ``close()`` after it.
        """
        if self._transport.is_closing():
            return
        with anyio.move_on_after(seconds):
            if self._transport.can_write_eof():
                self._transport.write_eof()
            while await self.read():  # discard until the client closes too
                pass

    def close(self) -> None:
        """Close the connection (what is still unsent goes first)."""
        self._transport.close()

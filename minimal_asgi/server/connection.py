"""One accepted TCP connection, as the protocol code needs it.

``main.py`` accepts a socket and wraps it in a ``Transport``; ``http11.py``
speaks HTTP/1.1 over it, and ``websocket.py`` takes it over after an upgrade.
Three things about a socket that both protocols share live here:

- **reading**: ``read()`` returns the next bytes, or ``b""`` once the client
  has closed its side or the connection broke - one signal for "gone";
- **writing**: the app's ``send`` and the server itself (a ``100 Continue``, a
  pong, an error response) may write from different tasks, so writes take a
  lock; a write to a client that has gone raises ``ClientDisconnected``;
- **closing**: when the server closes first while the client may still be
  sending, closing at once makes the kernel answer with a reset, and a reset
  can destroy the response the client has not read yet. So ``aclose(linger=)``
  first sends FIN, then reads and discards for a moment, as nginx's
  ``lingering_close`` does.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.abc
from anyio.abc import SocketAttribute

__all__ = ["ClientDisconnected", "Transport"]


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


class Transport:
    """A connected socket: ``read``, ``write``, ``aclose`` and the two addresses."""

    def __init__(self, stream: anyio.abc.SocketStream) -> None:
        self.stream = stream
        self.client = _address(stream.extra(SocketAttribute.remote_address))
        self.server = _address(stream.extra(SocketAttribute.local_address))
        self.closed = False
        self._write_lock = anyio.Lock(fast_acquire=True)

    async def read(self, max_bytes: int = 65536) -> bytes:
        """The next bytes the client sent; ``b""`` if it has gone."""
        try:
            return await self.stream.receive(max_bytes)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return b""
        except OSError:  # e.g. ECONNRESET surfacing from the kernel
            return b""

    async def write(self, data: bytes) -> None:
        """Hand ``data`` to the kernel; raise ``ClientDisconnected`` if the client has gone."""
        if self.closed:
            raise ClientDisconnected("the client has closed the connection")
        try:
            async with self._write_lock:
                await self.stream.send(data)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            self.closed = True
            raise ClientDisconnected("the client has closed the connection") from exc

    async def aclose(self, linger: float = 0.0) -> None:
        """Close the connection; with ``linger``, let the client read what we sent first."""
        if linger and not self.closed:
            with anyio.move_on_after(linger):
                await self.stream.send_eof()
                while await self.read():  # discard until the client closes too
                    pass
        self.closed = True
        await self.stream.aclose()

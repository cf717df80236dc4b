"""A small raw HTTP/1.1 client for the server tests: bytes out, responses in.

``http.client`` would hide what these tests are about - exact bytes, two
requests in one packet, a body sent one byte at a time, a response that never
comes - so the tests write requests by hand and read responses with this.
Every socket has a timeout: a server that hangs fails a test, never the suite.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from types import TracebackType

TIMEOUT = 10.0  # seconds before a silent server fails the test (not a performance limit)


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name.lower():
                return value
        return None


class RawConnection:
    """One TCP connection to the server under test."""

    def __init__(self, address: tuple[str, int], timeout: float = TIMEOUT) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.buffer = b""

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def dribble(self, data: bytes, pause: float = 0.001) -> None:
        """Send ``data`` one byte per TCP segment, ``pause`` seconds apart (a slow client)."""
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in data:
            self.sock.sendall(bytes([byte]))
            time.sleep(pause)

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        self.buffer += data
        return bool(data)

    def read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"closed before {marker!r}; got {self.buffer!r}")
        data, _, self.buffer = self.buffer.partition(marker)
        return data

    def _read_exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise ConnectionError(f"closed after {len(self.buffer)} of {size} bytes")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_response(self, method: str = "GET") -> RawResponse:
        """The next response (a ``100 Continue`` counts as one)."""
        head = self.read_until(b"\r\n\r\n").decode("latin-1")
        status_line, *lines = head.split("\r\n")
        _, status, reason = [*status_line.split(" ", 2), ""][:3]
        response = RawResponse(int(status), reason)
        for line in lines:
            name, _, value = line.partition(":")
            response.headers.append((name.strip().lower(), value.strip()))
        if method == "HEAD" or response.status < 200 or response.status in (204, 304):
            return response
        if response.header("transfer-encoding") == "chunked":
            while True:
                size = int(self.read_until(b"\r\n").split(b";")[0], 16)
                response.body += self._read_exactly(size)
                self._read_exactly(2)
                if size == 0:
                    break
        elif response.header("content-length") is not None:
            response.body = self._read_exactly(int(response.header("content-length") or 0))
        else:  # delimited by the end of the connection
            while self._fill():
                pass
            response.body, self.buffer = self.buffer, b""
        return response

    def server_closed(self) -> bool:
        """True once the server has closed the connection (reads return nothing)."""
        if self.buffer:
            return False
        return not self._fill()


def request(
    method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """A request as bytes; Host is added, Content-Length when there is a body."""
    lines = [f"{method} {path} HTTP/1.1", "Host: testserver"]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

"""One GET over prior-knowledge HTTP/2 (h2c), frame by frame, that survives a graceful GOAWAY.

httpx speaks HTTP/2 through the ``h2`` package, whose connection state machine
closes at the first GOAWAY it receives (python-hyper/h2 issue 1181). RFC 9113
section 6.8 has a server that shuts down gracefully send a GOAWAY with the
largest stream id, then (after a round trip, often timed with a PING) one with
the last stream it will finish, and finish it. granian sends a GOAWAY and then a
PING, and ``h2`` fails on the PING ("Invalid input ConnectionInputs.RECV_PING in
state ConnectionState.CLOSED"), losing a response the server was about to send.

So the SIGTERM step of the HTTP/2 rows uses this instead: frames built and
parsed with ``hyperframe`` and ``hpack`` (what ``h2`` itself is built on),
answering SETTINGS and PING, reading the one stream until it ends.
"""

from __future__ import annotations

import socket

from hpack import Decoder, Encoder
from hyperframe.frame import (
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsFrame,
)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
STREAM = 1  # the client's first stream


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _next_frame(sock: socket.socket) -> Frame | None:
    header = _read_exactly(sock, 9)
    if header is None:
        return None
    frame, length = Frame.parse_frame_header(memoryview(header))
    body = _read_exactly(sock, length)
    if body is None:
        return None
    frame.parse_body(memoryview(body))
    return frame


def get(address: tuple[str, int], path: str, timeout: float) -> str:
    """The response's status, or what ended the stream instead ("connection closed")."""
    with socket.create_connection(address, timeout=timeout) as sock:
        head = Encoder().encode([(":method", "GET"), (":scheme", "http"),
                                 (":authority", f"{address[0]}:{address[1]}"), (":path", path)])
        request = HeadersFrame(STREAM, head, flags=["END_HEADERS", "END_STREAM"])
        sock.sendall(PREFACE + SettingsFrame().serialize() + request.serialize())
        decoder, status = Decoder(), "no status"
        while (frame := _next_frame(sock)) is not None:
            if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
                sock.sendall(SettingsFrame(flags=["ACK"]).serialize())
            elif isinstance(frame, PingFrame) and "ACK" not in frame.flags:
                sock.sendall(PingFrame(opaque_data=frame.opaque_data, flags=["ACK"]).serialize())
            elif isinstance(frame, GoAwayFrame) and frame.last_stream_id < STREAM:
                return "refused by GOAWAY"
            elif isinstance(frame, RstStreamFrame) and frame.stream_id == STREAM:
                return f"stream reset ({frame.error_code})"
            elif isinstance(frame, HeadersFrame) and frame.stream_id == STREAM:
                status = dict(decoder.decode(frame.data))[":status"]
                if "END_STREAM" in frame.flags:
                    return status
            elif (isinstance(frame, DataFrame) and frame.stream_id == STREAM
                  and "END_STREAM" in frame.flags):
                return status  # (the body is a few bytes: no WINDOW_UPDATE needed)
        return "connection closed"

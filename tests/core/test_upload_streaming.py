"""Uploads under a real server, with the server's memory measured.

The app (tests/core/upload_app.py) runs under uvicorn in a process of its
own, so its peak resident memory (VmHWM, reset before each measurement) is
the server's alone. The client streams the body from a generator, so neither
side ever holds an upload whole.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.servers import ServerProcess, free_port

MiB = 1024 * 1024
BOUNDARY = "streaming-test"

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc to measure memory"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    upload_dir = tmp_path_factory.mktemp("uploads")
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "tests.core.upload_app:app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]
    os.environ["UPLOAD_DIR"] = str(upload_dir)
    try:
        with ServerProcess.command_line(command, port) as process:
            yield process.address
    finally:
        os.environ.pop("UPLOAD_DIR", None)


def get_json(address: tuple[str, int], method: str, path: str) -> Any:
    connection = http.client.HTTPConnection(*address, timeout=60)
    try:
        connection.request(method, path)
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def file_body(size: int, piece: bytes) -> tuple[Iterator[bytes], int]:
    """A multipart body with one file of ``size`` bytes, as a generator."""
    head = (
        f"--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
        "content-type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(size // len(piece)):
            yield piece
        yield tail

    return chunks(), len(head) + size + len(tail)


def test_a_200_mb_upload_streams_with_flat_memory(server: tuple[str, int]) -> None:
    size, piece = 200 * MiB, os.urandom(MiB)
    expected = hashlib.sha256()
    for _ in range(size // MiB):
        expected.update(piece)
    baseline = get_json(server, "POST", "/memory/reset")["rss_kib"]
    body, length = file_body(size, piece)
    connection = http.client.HTTPConnection(*server, timeout=300)
    connection.request(
        "POST", "/files", body=body,
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}",
                 "content-length": str(length)},
    )
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    peak = get_json(server, "GET", "/memory")["peak_kib"]
    growth_mib = (peak - baseline) / 1024
    print(f"200 MiB upload: server RSS {baseline / 1024:.1f} MiB before, "
          f"peak {peak / 1024:.1f} MiB (+{growth_mib:.1f} MiB)")
    assert response.status == 200
    assert answer == {"size": size, "sha256": expected.hexdigest(), "in_memory": False}
    assert growth_mib < 30  # a buffered upload would have added 200


def send_huge_field(address: tuple[str, int], outcome: list[str]) -> None:
    """Start sending a 100 MiB text field; stop when the server stops listening."""
    head = (f"--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"note\"\r\n\r\n").encode()
    length = len(head) + 100 * MiB + len(f"\r\n--{BOUNDARY}--\r\n")
    request = (
        "POST /fields HTTP/1.1\r\nhost: test\r\n"
        f"content-type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"content-length: {length}\r\n\r\n"
    ).encode() + head
    piece = b"a" * (256 * 1024)
    with socket.create_connection(address, timeout=60) as sock:
        sent = 0
        try:
            sock.sendall(request)
            while sent < 100 * MiB:
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass  # refused: the server closed the connection mid-body
        try:
            first = sock.recv(64)
        except OSError:
            first = b""
    outcome.append(f"sent {sent // MiB} MiB, read {first[:12]!r}")


def test_20_parallel_100_mb_fields_are_refused_with_memory_under_50_mb(
    server: tuple[str, int],
) -> None:
    before = get_json(server, "GET", "/statuses").get("413", 0)
    baseline = get_json(server, "POST", "/memory/reset")["rss_kib"]
    outcomes: list[str] = []
    threads = [
        threading.Thread(target=send_huge_field, args=(server, outcomes)) for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    peak = get_json(server, "GET", "/memory")["peak_kib"]
    refused = get_json(server, "GET", "/statuses").get("413", 0) - before
    growth_mib = (peak - baseline) / 1024
    print(f"20 x 100 MiB fields: {refused} refused with 413; server peak RSS "
          f"+{growth_mib:.1f} MiB; clients: {outcomes[:3]} ...")
    assert len(outcomes) == 20
    assert refused == 20
    # No client got to send its whole field: each was cut off near the limit.
    assert all(not line.startswith("sent 100 MiB") for line in outcomes)
    assert growth_mib < 50

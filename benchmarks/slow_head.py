"""Slow heads: what does a client sending its request head a byte at a time cost a server?

A slowloris client opens connections and sends each request head one byte at a
time, never finishing it. The read timeout bounds how long one connection can
last; this measures what the server spends *meanwhile*. A server that rescans
the whole buffered head on every read pays for each byte in proportion to the
bytes before it (quadratic in the head's length); one that scans only the new
bytes pays a constant per read.

For each server in turn (a subprocess on a free 127.0.0.1 port): open
``--connections`` connections, send each a request line and ``--prefill``
bytes of one header at once, then one more byte per connection per round
(``--interval`` apart, so the server reads them one by one), for
``--duration`` seconds (kept under the server's read timeout) or until each
head holds ``--max-bytes`` bytes (kept under the head-size limit); report the
server process's CPU time over that window (user + system, from /proc) and
the bytes it was sent. The defaults (50 connections, 12,000 bytes at once,
then a byte every 2 ms for 8 s) are the attack of issue 11.

Run: ``python -m benchmarks.slow_head`` (about 10 s per server; no wrk needed),
``--servers minimal_asgi.server`` for one, ``--connections 50 --duration 8``.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import metadata

from benchmarks import harness

NAME = "slow_head"
APP = "examples.hello.app:app"
SERVERS: dict[str, list[str]] = {
    "minimal_asgi.server": ["-m", "minimal_asgi.server", APP, "--no-access-log",
                            "--log-level", "warning"],
    "uvicorn --http h11": ["-m", "uvicorn", APP, "--http", "h11", "--no-access-log",
                           "--log-level", "warning"],
    "uvicorn --http httptools": ["-m", "uvicorn", APP, "--http", "httptools",
                                 "--no-access-log", "--log-level", "warning"],
}  # fmt: skip
START = b"GET / HTTP/1.1\r\nHost: bench\r\nX-Padding: "


def dribble(port: int, connections: int, duration: float, max_bytes: int,
            interval: float, prefill: int) -> tuple[int, int]:
    """Dribble heads on ``connections`` sockets; (bytes sent, connections the server cut)."""
    socks = []
    for _ in range(connections):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one byte, one segment
        sock.sendall(START + b"p" * prefill)
        sock.setblocking(False)
        socks.append(sock)
    sent, cut = 0, 0
    deadline = time.monotonic() + duration
    per_connection = len(START) + prefill
    try:
        while time.monotonic() < deadline and per_connection < max_bytes and socks:
            for sock in list(socks):
                try:
                    sock.send(b"p")
                    sent += 1
                except OSError:  # the server closed it (408, 431, ...)
                    socks.remove(sock)
                    cut += 1
            per_connection += 1
            if interval:
                time.sleep(interval)
    finally:
        for sock in socks:
            sock.close()
    return sent, cut


def measure(label: str, args: argparse.Namespace) -> list[str]:
    port = harness.free_port()
    command = [sys.executable, *SERVERS[label], "--host", "127.0.0.1", "--port", str(port)]
    with _Process(command, port) as server:
        before = harness.cpu_seconds(server.pid)
        started = time.monotonic()
        sent, cut = dribble(port, args.connections, args.duration, args.max_bytes, args.interval,
                             args.prefill)
        elapsed = time.monotonic() - started
        after = harness.cpu_seconds(server.pid)
    cpu = (after - before) if before is not None and after is not None else float("nan")
    return [f"`{label}`", f"{elapsed:.1f}", f"{sent:,}", str(cut), f"{cpu:.2f}",
            f"{cpu / max(sent, 1) * 1e6:.1f}"]


class _Process:
    """A server subprocess, listening before ``__enter__`` returns; stopped on exit."""

    def __init__(self, command: list[str], port: int) -> None:
        self.process = subprocess.Popen(command, cwd=harness.REPO, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.pid, self.port, self.command = self.process.pid, port, " ".join(command)

    def __enter__(self) -> _Process:
        problem = harness.wait_until_listening(self.process, self.port, 30)
        if problem is not None:
            self.__exit__()
            raise SystemExit(f"{self.command} {problem}")
        return self

    def __exit__(self, *exc: object) -> None:
        harness.stop_process(self.process)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.slow_head",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--servers", nargs="+", choices=list(SERVERS), default=list(SERVERS))
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=8.0,
                        help="seconds of dribbling per server (default 8: under the 10 s "
                             "read timeout)")
    parser.add_argument("--max-bytes", type=int, default=15_000,
                        help="stop when each head holds this many bytes (default 15000: under "
                             "the 16 KiB head limit)")
    parser.add_argument("--prefill", type=int, default=12_000,
                        help="bytes of the head sent at once before the dribbling starts "
                             "(default 12000: every byte after it lands on a large head)")
    parser.add_argument("--interval", type=float, default=0.002,
                        help="seconds to sleep between rounds (default 0.002: slow enough "
                             "that the server reads each byte on its own)")
    args = parser.parse_args(argv)
    rows = []
    for label in args.servers:
        harness.progress(f"  {label}")
        rows.append(measure(label, args))
    versions = ", ".join(f"{name} {metadata.version(name)}"
                         for name in ("h11", "uvicorn", "httptools", "anyio"))
    command = "python -m benchmarks.slow_head " + " ".join(argv or sys.argv[1:])
    table = harness.markdown_table(
        ["server", "seconds", "bytes sent", "connections cut", "server CPU s", "CPU µs/byte"],
        rows,
    )
    text = (
        f"# Slow heads\n\n{args.connections} connections each sending a request head one byte "
        f"per round (after {args.prefill:,} bytes at once), for up to {args.duration:g} s or "
        f"{args.max_bytes:,} bytes per head; "
        "the server process's CPU time (user + system) over that window.\n\n"
        f"Command: `{command.strip()}`\n\n"
        f"- {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}, {versions}\n"
        f"- load average before the run: {os.getloadavg()[0]:.2f}\n\n{table}"
    )
    path = harness.write_report(NAME, text)
    print(text)
    print(f"written: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

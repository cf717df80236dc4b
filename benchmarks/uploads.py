"""Uploads: how fast does a large file go through each framework's multipart parser, and
how much memory does the server hold meanwhile?

Two apps, the same endpoint: take one uploaded file from a ``multipart/form-data``
body, read it back in 1 MiB pieces, answer its size. ``minimal_asgi`` takes it as
an ``UploadFile`` parameter; Starlette through ``await request.form()``. Both parse
with python-multipart and spool to disk past 1 MiB, so the comparison is what each
does around the parser (reading the body, writing the file, the limits).

Each framework runs under uvicorn in a process of its own (a free 127.0.0.1
port); the client streams the body from a generator, ``--size`` MiB per upload;
the frameworks take turns, ``--rounds`` uploads each, and the median throughput
(MB/s of body, wall time on the client) and the server's peak resident memory
above its resting size (VmHWM, reset before each upload) are reported.

Run: ``python -m benchmarks.uploads`` (200 MiB, 5 rounds), ``--quick`` (50 MiB, 3).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from importlib import metadata
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from benchmarks import harness
from benchmarks.slow_head import _Process
from minimal_asgi import App, FormLimits, UploadFile

NAME = "uploads"
MiB = 1024 * 1024
BOUNDARY = "benchmark-boundary"
FRAMEWORKS = {"minimal_asgi": "benchmarks.uploads:minimal_app",
              "starlette": "benchmarks.uploads:starlette_app"}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> int:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return _status_kib("VmRSS")


# -- the two apps ----------------------------------------------------------------------------
def build_minimal() -> Any:
    app = App(form_limits=FormLimits(max_body_size=1024 * MiB, max_file_size=1024 * MiB))

    @app.post("/upload")
    async def upload(file: UploadFile) -> dict[str, int]:
        size = 0
        while chunk := await file.read(MiB):
            size += len(chunk)
        return {"size": size}

    @app.post("/memory/reset")
    async def reset() -> dict[str, int]:
        return {"rss_kib": _reset_peak()}

    @app.get("/memory")
    async def memory() -> dict[str, int]:
        return {"peak_kib": _status_kib("VmHWM")}

    return app


def build_starlette() -> Any:
    async def upload(request: Request) -> JSONResponse:
        async with request.form() as form:
            file = form["file"]
            assert isinstance(file, StarletteUpload)
            size = 0
            while chunk := await file.read(MiB):
                size += len(chunk)
        return JSONResponse({"size": size})

    async def reset(request: Request) -> JSONResponse:
        return JSONResponse({"rss_kib": _reset_peak()})

    async def memory(request: Request) -> JSONResponse:
        return JSONResponse({"peak_kib": _status_kib("VmHWM")})

    return Starlette(routes=[Route("/upload", upload, methods=["POST"]),
                             Route("/memory/reset", reset, methods=["POST"]),
                             Route("/memory", memory)])


def __getattr__(name: str) -> Any:
    # Built when uvicorn imports them, not when the benchmark script is loaded.
    if name == "minimal_app":
        return build_minimal()
    if name == "starlette_app":
        return build_starlette()
    raise AttributeError(name)


# -- the client ----------------------------------------------------------------------------
def multipart_body(size: int) -> tuple[Iterator[bytes], int]:
    head = (f"--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"file\"; "
            "filename=\"big.bin\"\r\ncontent-type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    piece = hashlib.sha256(b"seed").digest() * (MiB // 32)  # 1 MiB, no boundary in it

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(size // MiB):
            yield piece
        yield tail

    return chunks(), len(head) + size + len(tail)


def _json(port: int, method: str, path: str, body: Any = None,
          headers: dict[str, str] | None = None) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise SystemExit(f"{method} {path}: {response.status} {data[:200]!r}")
        return json.loads(data)
    finally:
        connection.close()


def upload_once(port: int, size: int) -> tuple[float, float]:
    """One upload: (MB/s, the server's peak RSS above its resting size, in MiB)."""
    resting = _json(port, "POST", "/memory/reset")["rss_kib"]
    body, length = multipart_body(size)
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}",
               "content-length": str(length)}
    started = time.perf_counter()
    answer = _json(port, "POST", "/upload", body, headers)
    elapsed = time.perf_counter() - started
    assert answer == {"size": size}, answer
    peak = _json(port, "GET", "/memory")["peak_kib"]
    return length / elapsed / 1e6, (peak - resting) / 1024


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.uploads",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 MiB uploads, 3 rounds")
    parser.add_argument("--size", type=int, help="MiB per upload (default 200; quick 50)")
    parser.add_argument("--rounds", type=int, help="uploads per framework (default 5; quick 3)")
    parser.add_argument("--frameworks", nargs="+", choices=list(FRAMEWORKS),
                        default=list(FRAMEWORKS))
    args = parser.parse_args(argv)
    size = (args.size or (50 if args.quick else 200)) * MiB
    rounds = args.rounds or (3 if args.quick else 5)
    servers = {}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in args.frameworks}
    try:
        for name in args.frameworks:
            port = harness.free_port()
            command = [sys.executable, "-m", "uvicorn", FRAMEWORKS[name], "--host",
                       "127.0.0.1", "--port", str(port), "--log-level", "warning",
                       "--no-access-log"]
            servers[name] = (_Process(command, port).__enter__(), port)
        for _, port in servers.values():
            upload_once(port, MiB)  # warm up
        for round_number in range(rounds):
            for name, (_, port) in servers.items():  # turn by turn, so drift hits both
                harness.progress(f"  round {round_number + 1}/{rounds}: {name}")
                results[name].append(upload_once(port, size))
    finally:
        for process, _ in servers.values():
            process.__exit__()
    rows = []
    base = statistics.median(r[0] for r in results[args.frameworks[0]])
    for name in args.frameworks:
        speeds = [r[0] for r in results[name]]
        peaks = [r[1] for r in results[name]]
        median = statistics.median(speeds)
        rows.append([f"`{name}`", f"{median:.0f}", f"{min(speeds):.0f}-{max(speeds):.0f}",
                     f"{median / base:.2f}x", f"{max(peaks):.1f}"])
    versions = ", ".join(f"{n} {metadata.version(n)}"
                         for n in ("starlette", "python-multipart", "uvicorn", "anyio"))
    command = "python -m benchmarks.uploads " + " ".join(argv or sys.argv[1:])
    table = harness.markdown_table(
        ["framework", "MB/s (median)", "MB/s (range)", f"vs {args.frameworks[0]}",
         "server peak RSS above resting, MiB (max)"], rows)
    text = (
        f"# Uploads\n\nOne {size // MiB} MiB file in a multipart/form-data body, streamed by "
        f"the client, {rounds} uploads per framework taken in turns; each server under "
        "uvicorn in its own process, the file read back by the endpoint in 1 MiB pieces.\n\n"
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

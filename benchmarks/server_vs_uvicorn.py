"""The teaching server against uvicorn: what does it cost to read the code you run?

One app - examples/hello, ``GET /`` answering ``{"message": "Hello, world"}`` -
under three servers, each one process on one pinned CPU:

* ``minimal_asgi.server``: this project's server (h11 + anyio, uvloop when installed);
* ``uvicorn --http h11``: the same parser, h11, driven by uvicorn's asyncio protocol code;
* ``uvicorn --http httptools``: what uvicorn deploys with, a C parser (llhttp).

wrk loads each in turn, the rounds interleaved (A B C, C B A, ...), and the
report gives requests per second with the ratios, latency, and the CPU time
each server process spent per request (read from /proc, so it holds even when
the machine is busy). The server does not need to win: the docs
(docs/10-the-server.md) explain where the time goes, and these figures say how much.

Run: ``python -m benchmarks.server_vs_uvicorn --quick`` (needs wrk; taskset to pin).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from benchmarks import harness
from benchmarks.harness import SPREAD_NOTE, HTTPRequest, Sample, Settings, WrkResult, progress

NAME = "server_vs_uvicorn"
APP = "examples.hello.app:app"
REQUEST = HTTPRequest(path="/")
EXPECTED = {"message": "Hello, world"}
MINIMAL = "minimal_asgi.server"
SERVERS: dict[str, list[str]] = {
    MINIMAL: ["-m", "minimal_asgi.server", APP, "--no-access-log", "--log-level", "warning"],
    "uvicorn --http h11": [
        "-m", "uvicorn", APP, "--http", "h11", "--loop", "auto", "--no-access-log",
        "--log-level", "warning",
    ],
    "uvicorn --http httptools": [
        "-m", "uvicorn", APP, "--http", "httptools", "--loop", "auto", "--no-access-log",
        "--log-level", "warning",
    ],
}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Running:
    """One server process on a free port, pinned to the server CPU; stopped on exit."""

    def __init__(self, label: str, settings: Settings) -> None:
        self.label = label
        self.port = _free_port()
        command = [sys.executable, *SERVERS[label], "--host", "127.0.0.1", "--port", str(self.port)]
        if settings.server_cpus is not None:
            command = ["taskset", "-c", settings.server_cpus, *command]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(command, cwd=harness.REPO, stdout=self._log,
                                        stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{REQUEST.target}"

    def __enter__(self) -> Running:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.label} exited:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise SystemExit(f"{self.label} did not start:\n{self.log()}")

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def check(self) -> None:
        """The same answer from every server before anything is timed."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", REQUEST.target)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200 or json.loads(body) != EXPECTED:
            raise SystemExit(f"{self.label} answers {response.status} {body!r}, not {EXPECTED}")

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@dataclass
class Round:
    wrk: WrkResult
    cpu_us: float | None  # server CPU time per request, in µs


def measure(settings: Settings) -> dict[str, list[Round]]:
    with ExitStack() as stack:
        servers = {label: stack.enter_context(Running(label, settings)) for label in SERVERS}
        for server in servers.values():
            server.check()
            progress(f"  warming up {server.label}")
            harness.run_wrk(server.url, REQUEST, connections=settings.connections,
                            duration=settings.warmup, cpus=settings.wrk_cpus)

        def one_round(label: str) -> Round:
            server = servers[label]
            before = _cpu_seconds(server.process.pid)
            result = harness.run_wrk(server.url, REQUEST, connections=settings.connections,
                                     duration=settings.duration, cpus=settings.wrk_cpus)
            after = _cpu_seconds(server.process.pid)
            cpu = None
            if before is not None and after is not None and result.requests:
                cpu = (after - before) / result.requests * 1e6
            return Round(result, cpu)

        return harness.interleave(list(SERVERS), one_round, settings.rounds, "servers")


def report(settings: Settings, rounds: dict[str, list[Round]]) -> str:
    rps = {label: Sample([r.wrk.rps for r in rs]) for label, rs in rounds.items()}
    rows = []
    for label, samples in rounds.items():
        cpu = [r.cpu_us for r in samples if r.cpu_us is not None]
        errors = sum(r.wrk.errors + r.wrk.bad_status for r in samples)
        rows.append([
            f"`{label}`",
            rps[label].show(harness.fmt_rps),
            harness.ratio(rps[label], rps[MINIMAL]).show(harness.fmt_ratio),
            harness.fmt_ms(Sample([r.wrk.p50_ms for r in samples]).median),
            harness.fmt_ms(Sample([r.wrk.p99_ms for r in samples]).median),
            Sample(cpu).show(harness.fmt_us) if cpu else "—",
            str(errors),
        ])  # fmt: skip
    table = harness.markdown_table(
        ["server", "requests/s", f"x `{MINIMAL}`", "p50 ms", "p99 ms", "CPU µs/request",
         "errors"],
        rows,
    )
    h11, httptools = rps["uvicorn --http h11"], rps["uvicorn --http httptools"]
    summary = (
        f"`{MINIMAL}` serves {harness.ratio(rps[MINIMAL], h11).median:.2f}x the requests of "
        f"uvicorn on the same parser (h11), and "
        f"{harness.ratio(rps[MINIMAL], httptools).median:.2f}x those of uvicorn as deployed "
        "(httptools)."
    )
    what = (
        f"`GET /` on `{APP}` under each server: one process, {settings.connections} wrk "
        "connections. CPU µs/request is the server process's user + system time over a run, "
        "divided by the requests served: the cost of one request, whatever else the machine did."
    )
    header = harness.report_header("This server vs uvicorn", settings, what)
    return f"{header}\n{table}\n{summary}\n\n{SPREAD_NOTE}\n"


def chart(settings: Settings, rounds: dict[str, list[Round]]) -> None:
    plt = harness.pyplot(settings)
    if plt is None:
        return
    labels = list(rounds)
    figure, ax = plt.subplots(figsize=(7, 3.5))
    ax.barh(labels, [Sample([r.wrk.rps for r in rounds[label]]).median for label in labels])
    ax.set_xlabel("requests per second (median of the rounds)")
    ax.set_title("examples/hello, GET /, one process")
    ax.invert_yaxis()
    harness.save_chart(figure, NAME)


def main(argv: Sequence[str] | None = None) -> None:
    settings, _ = harness.parse_settings(f"benchmarks.{NAME}", __doc__ or "", None, argv)
    if not settings.wire:
        raise SystemExit("this benchmark is over the wire only: it needs wrk (see above)")
    progress("over the wire")
    rounds = measure(settings)
    text = report(settings, rounds)
    path = harness.write_report(NAME, text)
    chart(settings, rounds)
    print(text)
    print(f"written: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

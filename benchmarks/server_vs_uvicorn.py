"""The teaching server against uvicorn: what does it cost to read the code you run?

One app - examples/hello, ``GET /`` answering ``{"message": "Hello, world"}`` -
under three servers, each one process on one pinned CPU:

* ``minimal_asgi.server``: this project's server (h11 + anyio, uvloop when installed);
* ``uvicorn --http h11``: the same parser, h11, driven by uvicorn's asyncio protocol code;
* ``uvicorn --http httptools``: what uvicorn deploys with, a C parser (llhttp).

Two scenarios: **keep-alive** (wrk's connections carry request after
request) and **Connection: close** (every request on a new connection: accept,
set-up and close paid each time). wrk loads each server in turn, the rounds
interleaved (A B C, C B A, ...), and the report gives requests per second with
the ratios to uvicorn on h11, latency, and the CPU time each server process
spent per request (read from /proc, so it holds better than requests per second
when the machine is busy).

``--instructions`` adds the figure that does not move with the machine's load:
each server runs under valgrind's callgrind, a small blocking client sends
requests one after the other (``INSTRUCTION_REQUESTS`` of them, after a
warm-up), and the server process's instructions over those requests
(``callgrind_control`` zeroes the counters before and dumps them after) are
divided by their number. docs/10-the-server.md explains where the time went.

Run: ``python -m benchmarks.server_vs_uvicorn --quick`` (needs wrk; taskset to pin).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from benchmarks import harness
from benchmarks.harness import (
    SPREAD_NOTE,
    HTTPRequest,
    Running,
    Sample,
    Settings,
    WrkResult,
    progress,
)

NAME = "server_vs_uvicorn"
APP = "examples.hello.app:app"
SCENARIOS = {
    "keep-alive": HTTPRequest(path="/"),
    "Connection: close": HTTPRequest(path="/", headers=(("Connection", "close"),)),
}
EXPECTED = {"message": "Hello, world"}
MINIMAL = "minimal_asgi.server"
H11 = "uvicorn --http h11"
INSTRUCTION_REQUESTS = 400
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






@dataclass
class Round:
    wrk: WrkResult
    cpu_us: float | None  # server CPU time per request, in µs


def measure(settings: Settings) -> dict[str, dict[str, list[Round]]]:
    """For each scenario, each server's rounds."""
    with ExitStack() as stack:
        servers = {
            label: stack.enter_context(Running(label, argv, cpus=settings.server_cpus))
            for label, argv in SERVERS.items()
        }
        for server in servers.values():
            server.check(EXPECTED)
            progress(f"  warming up {server.label}")
            for request in SCENARIOS.values():
                harness.run_wrk(server.url, request, connections=settings.connections,
                                duration=settings.warmup, cpus=settings.wrk_cpus)

        def one_round(label: str, request: HTTPRequest) -> Round:
            server = servers[label]
            before = harness.cpu_seconds(server.process.pid)
            result = harness.run_wrk(server.url, request, connections=settings.connections,
                                     duration=settings.duration, cpus=settings.wrk_cpus)
            after = harness.cpu_seconds(server.process.pid)
            cpu = None
            if before is not None and after is not None and result.requests:
                cpu = (after - before) / result.requests * 1e6
            return Round(result, cpu)

        return {
            name: harness.interleave(list(SERVERS), lambda label, r=request: one_round(label, r),
                                     settings.rounds, name)
            for name, request in SCENARIOS.items()
        }


# -- instructions per request: one server at a time, under callgrind ------------------
def count_instructions(settings: Settings) -> dict[str, dict[str, float]]:
    """Instructions per request of each server process, per scenario."""
    counts: dict[str, dict[str, float]] = {}
    for label in SERVERS:
        progress(f"  counting instructions: {label} (under callgrind, minutes)")
        with tempfile.TemporaryDirectory() as directory, \
                Running(label, SERVERS[label], cpus=settings.server_cpus,
                        callgrind_dir=directory) as server:
            for name in SCENARIOS:
                counts.setdefault(label, {})[name] = harness.server_instructions(
                    server, directory, name != "keep-alive", INSTRUCTION_REQUESTS)
    return counts


def _table(settings: Settings, rounds: dict[str, list[Round]]) -> str:
    rps = {label: Sample([r.wrk.rps for r in rs]) for label, rs in rounds.items()}
    rows = []
    for label, samples in rounds.items():
        cpu = [r.cpu_us for r in samples if r.cpu_us is not None]
        errors = sum(r.wrk.errors + r.wrk.bad_status for r in samples)
        rows.append([
            f"`{label}`",
            rps[label].show(harness.fmt_rps),
            harness.ratio(rps[label], rps[H11]).show(harness.fmt_ratio),
            harness.fmt_ms(Sample([r.wrk.p50_ms for r in samples]).median),
            harness.fmt_ms(Sample([r.wrk.p99_ms for r in samples]).median),
            Sample(cpu).show(harness.fmt_us) if cpu else "—",
            str(errors),
        ])  # fmt: skip
    return harness.markdown_table(
        ["server", "requests/s", f"x `{H11}`", "p50 ms", "p99 ms", "CPU µs/request", "errors"],
        rows,
    )


def _cpu_ratio(rounds: dict[str, list[Round]]) -> float:
    def median_cpu(label: str) -> float:
        return Sample([r.cpu_us for r in rounds[label] if r.cpu_us is not None]).median

    return median_cpu(MINIMAL) / median_cpu(H11)


def report(settings: Settings, results: dict[str, dict[str, list[Round]]],
           instructions: dict[str, dict[str, float]] | None) -> str:
    parts = []
    summary = []
    for name, rounds in results.items():
        parts.append(f"## {name}\n\n{_table(settings, rounds).rstrip()}")
        rps = {label: Sample([r.wrk.rps for r in rs]) for label, rs in rounds.items()}
        summary.append(
            f"- {name}: `{MINIMAL}` serves {harness.ratio(rps[MINIMAL], rps[H11]).median:.2f}x "
            f"the requests of uvicorn on the same parser (h11), spending "
            f"{_cpu_ratio(rounds):.2f}x its CPU time per request; "
            f"{harness.ratio(rps[MINIMAL], rps['uvicorn --http httptools']).median:.2f}x "
            "the requests of uvicorn as deployed (httptools)."
        )
    if instructions is not None:
        rows = []
        for label, counts in instructions.items():
            cells = [f"`{label}`"]
            for name in SCENARIOS:
                cells += [f"{counts[name]:,.0f}", f"{counts[name] / instructions[H11][name]:.2f}x"]
            rows.append(cells)
        headers = ["server"]
        for name in SCENARIOS:
            headers += [f"{name}: instructions/request", f"x `{H11}`"]
        parts.append(
            "## Instructions per request (independent of the machine's load)\n\n"
            f"The server process under callgrind, {INSTRUCTION_REQUESTS} requests sent one "
            "after the other by a blocking client (after 100 to warm up); fewer is faster.\n\n"
            + harness.markdown_table(headers, rows)
        )
    what = (
        f"`GET /` on `{APP}` under each server: one process, {settings.connections} wrk "
        "connections, with keep-alive and with `Connection: close` (a new connection per "
        "request). CPU µs/request is the server process's user + system time over a run, "
        "divided by the requests served."
    )
    header = harness.report_header("This server vs uvicorn", settings, what)
    body = "\n\n".join(parts)
    return f"{header}\n{body.strip()}\n\n" + "\n".join(summary) + f"\n\n{SPREAD_NOTE}\n"


def chart(settings: Settings, results: dict[str, dict[str, list[Round]]]) -> None:
    plt = harness.pyplot(settings)
    if plt is None:
        return
    labels = list(SERVERS)
    figure, axes = plt.subplots(1, len(results), figsize=(10, 3.5), sharey=True)
    for ax, (name, rounds) in zip(axes, results.items(), strict=True):
        ax.barh(labels, [Sample([r.wrk.rps for r in rounds[label]]).median for label in labels])
        ax.set_xlabel("requests per second (median)")
        ax.set_title(f"GET /, {name}")
    axes[0].invert_yaxis()
    harness.save_chart(figure, NAME)


def main(argv: Sequence[str] | None = None) -> None:
    def extra(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--instructions", action="store_true",
                            help="also count instructions per request under valgrind's callgrind")

    settings, args = harness.parse_settings(f"benchmarks.{NAME}", __doc__ or "", extra, argv)
    if not settings.wire:
        raise SystemExit("this benchmark is over the wire only: it needs wrk (see above)")
    if args.instructions and harness.valgrind_path() is None:
        raise SystemExit("--instructions needs valgrind (apt-get install -y valgrind)")
    progress("over the wire")
    results = measure(settings)
    instructions = count_instructions(settings) if args.instructions else None
    text = report(settings, results, instructions)
    path = harness.write_report(NAME, text)
    chart(settings, results)
    print(text)
    print(f"written: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

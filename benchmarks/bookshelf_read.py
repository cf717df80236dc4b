"""examples/bookshelf's read path, with its catalogue cache on and off.

Over the wire only: two uvicorn processes (one worker each) serve the example
as it ships - every plugin, the JSON access log - on in-memory SQLite with 200
books (benchmarks/apps/bookshelf.py), one with ``BOOKSHELF_CACHE_CATALOGUE``
on, one with it off. wrk loads ``GET /books?sort=title&limit=20`` (a page of
20 books, a JOIN on the authors, sorted on an index) on each in turn,
interleaved round by round, on loopback. The figures are each server's
requests per second, its p50 and p99 latency, the share of a CPU it got during
the round and the requests it answered per second of its own CPU time; and two
ratios cached / uncached, round by round: of throughput, and of requests per
CPU-second. The ratios are the result; the absolute numbers depend on the
machine and its load.

Quote the per-CPU-second ratio on a machine other work loads. The throughput
ratio assumes both servers got the same share of the CPU, and they need not: a
server pinned to CPU 0 (the harness's default) shares it with every unpinned
task the scheduler places there. The uncached server hands each query to a
SQLite worker thread (two threads runnable on that CPU); the cached one
answers on its event loop alone and, pinned, got a smaller share in every run
here. On 2026-12-06 at load ~13 the pinned throughput ratio came out 0.71x
(~1.6 ms against ~0.8 ms at one connection) while ``--no-pin`` gave 5.04x.
That run did not record CPU time, but its own figures point here: 911 pages/s
at ~0.22 ms of CPU each (4,543 per CPU-second in the first pinned run below)
is ~20% of a CPU, 1,210 at ~0.76 ms is ~92%. Measured later that evening at
load ~5, interleaved, in four runs: pinned, the uncached server got 99% and
96% of CPU 0, the cached one 68% and 54%: throughput 2.27x and 1.67x, per
CPU-second 3.36x and 3.05x; with ``--no-pin``, shares 89%/83% and 86%/81%
(uncached/cached): throughput 3.15x and 3.51x, per CPU-second 3.47x and 3.71x.
Pinned, with six unpinned busy loops added: shares 23% and 9%, throughput
1.49x ±69%, per CPU-second 3.82x. (The inversion itself, below 1x, was not
reproduced.) A hit makes no thread hop, no lock wait and no futex call (strace
-c -f on the pinned server at one connection: 3 write, 1 read, 1 epoll_wait, 1
getrandom, 1 getpid per request, against ~7.5 futex per uncached request);
tests/examples/test_bookshelf.py and tests/plugins/cache/test_responses.py
count the worker-thread calls of a hit (none).

Run: ``python -m benchmarks.bookshelf_read --quick`` (from the repository root;
needs wrk: ``make deps-wrk``). The report is written to
benchmarks/results/bookshelf_read.md.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks import harness
from benchmarks.harness import SPREAD_NOTE, HTTPRequest, Sample, Server, fmt_ratio, progress

PAGE = HTTPRequest(path="/books", query="sort=title&limit=20")
CASES = ("cached", "uncached")


def check(servers: dict[str, Server]) -> list[str]:
    """Both answer the same page; only the cached one answers the second time from
    its cache (``Age``)."""
    problems = []
    bodies = {}
    for case, server in servers.items():
        first, second = server.fetch(PAGE), server.fetch(PAGE)
        if first.status != 200 or second.status != 200:
            problems.append(f"{case}: {first.status}, {second.status}")
        bodies[case] = first.body
        hit = second.header("age") is not None
        if hit != (case == "cached"):
            problems.append(f"{case}: the second answer has Age={hit}")
    if bodies["cached"] != bodies["uncached"]:
        problems.append("the two servers answer different pages")
    if b'"title":"Book 000"' not in bodies["cached"]:
        problems.append("the page is not the first 20 books by title")
    return problems


@dataclass
class Round:
    """One wrk run on one server, and the CPU time the server used meanwhile."""

    wrk: harness.WrkResult
    cpu_seconds: float

    @property
    def cpu_share(self) -> float:
        """How much of one CPU the server got during the run (1.0: all of it)."""
        return self.cpu_seconds / self.wrk.seconds if self.wrk.seconds else 0.0

    @property
    def per_cpu_second(self) -> float:
        """Requests answered per second of the server's own CPU time: what a page
        costs, whatever share of the CPU the scheduler gave the server."""
        return self.wrk.requests / self.cpu_seconds if self.cpu_seconds else 0.0


def _cpu_seconds(pid: int) -> float:
    seconds = harness.cpu_seconds(pid)  # all its threads: the thread pool's work too
    if seconds is None:
        raise RuntimeError(f"server process {pid} is gone")
    return seconds



def measure(settings: harness.Settings) -> dict[str, list[Round]]:
    with Server("bookshelf:minimal_asgi:cached", cpus=settings.server_cpus) as cached, \
            Server("bookshelf:minimal_asgi:uncached", cpus=settings.server_cpus) as uncached:
        servers = {"cached": cached, "uncached": uncached}
        problems = check(servers)
        if problems:
            raise SystemExit("wrong responses, nothing measured:\n" + "\n".join(problems))
        for server in servers.values():  # warm-up
            harness.run_wrk(server.url(PAGE), PAGE, connections=settings.connections,
                            duration=settings.warmup, cpus=settings.wrk_cpus)

        def one_round(case: str) -> Round:
            server = servers[case]
            before = _cpu_seconds(server.pid)
            result = harness.run_wrk(server.url(PAGE), PAGE, connections=settings.connections,
                                     duration=settings.duration, cpus=settings.wrk_cpus)
            return Round(result, _cpu_seconds(server.pid) - before)

        return harness.interleave(list(CASES), one_round, settings.rounds, "wire")


def report(settings: harness.Settings, wire: dict[str, list[Round]]) -> str:
    text = harness.report_header(
        "bookshelf: the catalogue with its cache on and off", settings,
        "Two uvicorn processes, one worker each, serving examples/bookshelf on in-memory "
        "SQLite with 200 books; `GET /books?sort=title&limit=20` under wrk, the two "
        "servers in interleaved rounds. The server's CPU time (all its threads, from "
        "/proc) is read around each round.")
    rows = []
    for case in CASES:
        rounds = wire[case]
        rows.append([case, Sample([r.wrk.rps for r in rounds]).show(harness.fmt_rps),
                     Sample([r.wrk.p50_ms for r in rounds]).show(harness.fmt_ms),
                     Sample([r.wrk.p99_ms for r in rounds]).show(harness.fmt_ms),
                     Sample([100 * r.cpu_share for r in rounds]).show(lambda v: f"{v:.0f}%"),
                     Sample([r.per_cpu_second for r in rounds]).show(harness.fmt_rps)])
    text += "\n" + harness.markdown_table(
        ["catalogue", "requests/s", "p50 latency ms", "p99 latency ms",
         "server's CPU share", "requests per server CPU-second"], rows)
    pairs = list(zip(wire["cached"], wire["uncached"], strict=True))
    per_round = Sample([c.wrk.rps / u.wrk.rps for c, u in pairs if u.wrk.rps])
    per_cpu = Sample([c.per_cpu_second / u.per_cpu_second for c, u in pairs
                      if u.per_cpu_second])
    errors = sum(r.wrk.errors + r.wrk.bad_status for rounds in wire.values() for r in rounds)
    text += (f"\nCached / uncached throughput, round by round: {per_round.show(fmt_ratio)} "
             f"({settings.connections} connections; {errors} errors or non-2xx answers); "
             f"per server CPU-second: {per_cpu.show(fmt_ratio)}.\n")
    text += ("\nThe throughput ratio holds only if both servers got the same share of a "
             "CPU (the CPU share column). On a machine other work loads, they need not: a "
             "server pinned to one CPU shares it with every unpinned task the scheduler "
             "places there, and the uncached server (its event loop and a SQLite worker "
             "thread, both runnable) has tended to get more of it than the cached one (its "
             "event loop alone). The per-CPU-second ratio does not depend on that share: "
             "quote it.\n")
    return text + "\n" + SPREAD_NOTE + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    settings, _ = harness.parse_settings("benchmarks.bookshelf_read", __doc__ or "", argv=argv)
    if not settings.wire:
        raise SystemExit("this benchmark is over the wire only: it needs wrk (make deps-wrk)")
    progress("GET /books on two servers, cache on and off, under wrk")
    text = report(settings, measure(settings))
    path = harness.write_report("bookshelf_read", text)
    print(text)
    progress(f"written to {path.relative_to(harness.REPO)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

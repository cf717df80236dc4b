"""examples/bookshelf's read path, with its catalogue cache on and off.

Over the wire only: two uvicorn processes (one worker each) serve the example
as it ships - every plugin, the JSON access log - on in-memory SQLite with 200
books (benchmarks/apps/bookshelf.py), one with ``BOOKSHELF_CACHE_CATALOGUE``
on, one with it off. wrk loads ``GET /books?sort=title&limit=20`` (a page of
20 books, a JOIN on the authors, sorted on an index) on each in turn,
interleaved round by round, on loopback. The figures are each server's
requests per second and its p50 and p99 latency, and the ratio cached /
uncached of each round: the ratio is the result, the absolute numbers depend
on the machine and its load.

Open question (2026-12-06, a 2-CPU machine at load ~13): with both servers
pinned to CPU 0 and wrk to CPU 1 (the harness's default) the cached server
answered *fewer* requests (0.71x, and ~1.6 ms against ~0.8 ms at one
connection); with ``--no-pin`` it answered 5.04x more, and in process, pinned
or not, a cached page costs a tenth of an uncached one. The cache's hit path
is not slower; something about one pinned CPU and this app over the wire is,
and it is not found yet.

Run: ``python -m benchmarks.bookshelf_read --quick`` (from the repository root;
needs wrk: ``make deps-wrk``). The report is written to
benchmarks/results/bookshelf_read.md.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

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


def measure(settings: harness.Settings) -> dict[str, list[harness.WrkResult]]:
    with Server("bookshelf:minimal_asgi:cached", cpus=settings.server_cpus) as cached, \
            Server("bookshelf:minimal_asgi:uncached", cpus=settings.server_cpus) as uncached:
        servers = {"cached": cached, "uncached": uncached}
        problems = check(servers)
        if problems:
            raise SystemExit("wrong responses, nothing measured:\n" + "\n".join(problems))
        for server in servers.values():  # warm-up
            harness.run_wrk(server.url(PAGE), PAGE, connections=settings.connections,
                            duration=settings.warmup, cpus=settings.wrk_cpus)
        return harness.interleave(
            list(CASES),
            lambda case: harness.run_wrk(
                servers[case].url(PAGE), PAGE, connections=settings.connections,
                duration=settings.duration, cpus=settings.wrk_cpus),
            settings.rounds, "wire")


def report(settings: harness.Settings, wire: dict[str, list[harness.WrkResult]]) -> str:
    text = harness.report_header(
        "bookshelf: the catalogue with its cache on and off", settings,
        "Two uvicorn processes, one worker each, serving examples/bookshelf on in-memory "
        "SQLite with 200 books; `GET /books?sort=title&limit=20` under wrk, the two "
        "servers in interleaved rounds.")
    rows = []
    for case in CASES:
        results = wire[case]
        rows.append([case, Sample([r.rps for r in results]).show(harness.fmt_rps),
                     Sample([r.p50_ms for r in results]).show(harness.fmt_ms),
                     Sample([r.p99_ms for r in results]).show(harness.fmt_ms)])
    text += "\n" + harness.markdown_table(
        ["catalogue", "requests/s", "p50 latency ms", "p99 latency ms"], rows)
    per_round = Sample([c.rps / u.rps for c, u in zip(wire["cached"], wire["uncached"],
                                                       strict=True) if u.rps])
    errors = sum(r.errors + r.bad_status for results in wire.values() for r in results)
    text += (f"\nCached / uncached throughput, round by round: {per_round.show(fmt_ratio)} "
             f"({settings.connections} connections; {errors} errors or non-2xx answers).\n")
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

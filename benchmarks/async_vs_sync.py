"""Scenario 3 - async vs sync, the lesson: when does ``async def`` help?

The same endpoint written ``async def`` and ``def`` (benchmarks/apps/async_vs_sync.py),
under four kinds of work - none, a 10 ms sleep, a 10 ms PostgreSQL wait, ~1 ms
of pure-Python CPU - at 1, 16, 64 and 256 concurrent connections, under
uvicorn (1 worker) and wrk. Each figure is printed beside its theoretical
ceiling, so the result explains itself:

* a wait of W seconds with C connections: at most C / W requests per second;
* a ``def`` endpoint runs in a worker thread, and anyio lets 40 run at once:
  at most min(C, 40) / W;
* a database call can only overlap as many times as there are connections:
  at most min(C, pool) / W - for both styles, since each gets a pool of the
  same size (and a ``def`` endpoint also needs a free thread);
* CPU work of T seconds: one process runs it on one core, at most 1 / T,
  whatever the style (the GIL lets one thread compute at a time).

Latency follows from Little's law: C requests in flight at R per second take
C / R seconds each - so once the ceiling is reached, more connections only
mean longer waits.

Then two variations of the same endpoints: uvicorn with 2 workers, and one
worker whose thread limiter is raised (``BENCH_THREAD_LIMIT``).

Run: ``python -m benchmarks.async_vs_sync --quick`` (needs wrk; PostgreSQL for
the ``db`` case, at ``BENCH_DATABASE_URL``, default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from benchmarks import harness
from benchmarks.apps.async_vs_sync import (
    DEFAULT_DATABASE_URL,
    DEFAULT_POOL,
    STYLES,
    WAIT_SECONDS,
    WORKLOADS,
    burn,
    create_app,
    expected,
    request,
)
from benchmarks.harness import SPREAD_NOTE, Sample, Server, Settings, WrkResult, progress

NAME = "async_vs_sync"
CONCURRENCY = (1, 16, 64, 256)
THREADS = 40  # anyio's default thread limiter
EXTRA_WORKLOADS = ("sleep", "cpu")
EXTRA_CONCURRENCY = (64, 256)


@dataclass(frozen=True)
class Config:
    """One way of serving the app."""

    name: str
    workers: int = 1
    threads: int = THREADS


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--concurrency", nargs="+", type=int, default=list(CONCURRENCY))
    parser.add_argument("--raised-limit", type=int, default=256,
                        help="worker threads in the raised-limiter run (default 256)")
    parser.add_argument("--pool", type=int, default=DEFAULT_POOL,
                        help=f"database connections per pool, async and sync alike (default "
                             f"{DEFAULT_POOL}; PostgreSQL allows 100 by default, shared with "
                             "everything else using it)")
    parser.add_argument("--no-extras", action="store_true",
                        help="skip the 2-worker and raised-limiter runs")


def calibrate_cpu(target_ms: float = 1.0) -> tuple[int, float]:
    """Loop iterations that take about ``target_ms`` here, and what they measured."""
    def timed(n: int) -> float:
        runs = []
        for _ in range(15):
            started = time.perf_counter()
            burn(n)
            runs.append(time.perf_counter() - started)
        return statistics.median(runs) * 1000

    iterations = 20_000
    for _ in range(2):  # the second pass corrects the first probe's guess
        iterations = max(1, round(iterations * target_ms / timed(iterations)))
    return iterations, timed(iterations)


def database_problem(url: str) -> str | None:
    """Why the ``db`` case cannot run, or None if it can."""
    try:
        import asyncpg
        import psycopg  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed: pip install -e '.[bench]'"

    async def probe() -> None:
        connection = await asyncpg.connect(url, timeout=5)
        try:
            await connection.execute("SELECT 1")
        finally:
            await connection.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"PostgreSQL at {url} is not reachable ({type(exc).__name__}: {exc})"
    return None


def ceiling(workload: str, style: str, connections: int, config: Config, pool: int,
            cpu_ms: float) -> tuple[float | None, str]:
    """The most requests per second this case could reach, and the arithmetic."""
    c = connections
    if workload == "none":
        return None, "no wait: CPU-bound"
    if workload == "cpu":
        cores = min(c, config.workers)
        return cores / (cpu_ms / 1000), f"{cores} core(s) / {cpu_ms:.2f} ms"
    wait_ms = WAIT_SECONDS * 1000
    threads = config.threads * config.workers
    if workload == "db":
        pools = pool * config.workers
        if style == "sync":
            lanes = min(c, threads, pools)
            return lanes / WAIT_SECONDS, (f"min({c} conns, {threads} threads, pool {pools}) / "
                                          f"{wait_ms:.0f} ms")
        lanes = min(c, pools)
        return lanes / WAIT_SECONDS, f"min({c} conns, pool {pools}) / {wait_ms:.0f} ms"
    if style == "sync":
        lanes = min(c, threads)
        return lanes / WAIT_SECONDS, f"min({c} conns, {threads} threads) / {wait_ms:.0f} ms"
    return c / WAIT_SECONDS, f"{c} conns / {wait_ms:.0f} ms"


@dataclass
class Cell:
    """The rounds of one (workload, style, connections, config)."""

    results: list[WrkResult]

    def sample(self, attribute: str) -> Sample:
        return Sample([getattr(r, attribute) for r in self.results])

    @property
    def failures(self) -> int:
        return sum(r.errors + r.bad_status for r in self.results)


def run_matrix(settings: Settings, servers: dict[str, Server], labels: Sequence[str],
               workloads: Sequence[str], concurrency: Sequence[int]
               ) -> dict[tuple[str, int, str], Cell]:
    """For every workload and connection count, interleave ``labels`` (``config/style``)."""
    cells: dict[tuple[str, int, str], Cell] = {}
    for workload in workloads:
        for key in labels:  # warm up: threads, pool connections, caches
            config, style = key.split("/")
            harness.run_wrk(servers[config].url(request(workload, style)),
                            request(workload, style), connections=max(concurrency),
                            duration=settings.warmup, cpus=settings.wrk_cpus)
        for c in concurrency:
            def one_run(key: str, c: int = c, workload: str = workload) -> WrkResult:
                config, style = key.split("/")
                return harness.run_wrk(servers[config].url(request(workload, style)),
                                       request(workload, style), connections=c,
                                       duration=settings.duration, cpus=settings.wrk_cpus)

            runs = harness.interleave(labels, one_run, settings.rounds, f"{workload} c={c}")
            for key, results in runs.items():
                cells[(workload, c, key)] = Cell(results)
    return cells


def main(argv: Sequence[str] | None = None) -> None:
    settings, args = harness.parse_settings("benchmarks.async_vs_sync", __doc__ or "",
                                            _arguments, argv)
    if settings.quick:
        # Latencies here reach a second: 1 s runs would drop the slowest requests
        # (wrk counts only those that finish), so quick mode uses 3 rounds of 2 s.
        settings.rounds = args.rounds or 3
        settings.duration = args.duration or 2
    workloads = [w for w in WORKLOADS if w in args.workloads]
    notes = []
    progress("calibrating ~1 ms of CPU work")
    cpu_iters, cpu_ms = calibrate_cpu()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    if "db" in workloads:
        problem = database_problem(database_url)
        if problem:
            notes.append(f"db case skipped: {problem}")
            workloads.remove("db")

    progress("checking the endpoints in process")
    local_app = create_app(cpu_iters=cpu_iters, database_url=None)
    for workload in workloads:
        if workload == "db":
            continue
        for style in STYLES:
            captured = asyncio.run(harness.request_in_lifespan(local_app,
                                                               request(workload, style)))
            problems = harness.check(captured, expected(workload, style))
            if problems:
                raise SystemExit(f"/{workload}/{style} answers wrongly: {problems}")

    base = Config("1 worker")
    configs = {base.name: base}
    main_cells: dict[tuple[str, int, str], Cell] = {}
    extra_cells: dict[tuple[str, int, str], Cell] = {}
    if settings.wire:
        env = {"BENCH_CPU_ITERS": str(cpu_iters), "BENCH_DB_POOL": str(args.pool),
               "BENCH_DATABASE_URL": database_url, "BENCH_DB": "1" if "db" in workloads else "0"}
        with ExitStack() as stack:
            servers = {base.name: stack.enter_context(
                Server(f"{NAME}:minimal_asgi:all", env=env, cpus=settings.server_cpus))}
            for workload in workloads:
                for style in STYLES:
                    problems = harness.check(servers[base.name].fetch(request(workload, style)),
                                             expected(workload, style))
                    if problems:
                        raise SystemExit(f"/{workload}/{style} over HTTP: {problems}")
            progress("main matrix: 1 worker, 40 threads")
            main_cells = run_matrix(settings, servers, [f"{base.name}/{s}" for s in STYLES],
                                    workloads, args.concurrency)
            if not args.no_extras:
                two = Config("2 workers", workers=2)
                raised = Config(f"{args.raised_limit} threads", threads=args.raised_limit)
                configs.update({two.name: two, raised.name: raised})
                extra_env = {**env, "BENCH_DB": "0"}  # PostgreSQL allows 100 connections
                servers[two.name] = stack.enter_context(
                    Server(f"{NAME}:minimal_asgi:all", env=extra_env, workers=2))
                servers[raised.name] = stack.enter_context(
                    Server(f"{NAME}:minimal_asgi:all", cpus=settings.server_cpus,
                           env={**extra_env, "BENCH_THREAD_LIMIT": str(args.raised_limit)}))
                labels = [f"{base.name}/async", f"{base.name}/sync", f"{two.name}/async",
                          f"{two.name}/sync", f"{raised.name}/sync"]
                progress("variations: 2 workers, raised thread limiter")
                extra_cells = run_matrix(
                    settings, servers, labels, [w for w in EXTRA_WORKLOADS if w in workloads],
                    [c for c in EXTRA_CONCURRENCY if c in args.concurrency]
                    or [max(args.concurrency)])
    else:
        notes.append("over the wire skipped: this scenario needs wrk")

    text = report(settings, workloads, args, configs, main_cells, extra_cells, cpu_iters, cpu_ms,
                  notes)
    path = harness.write_report(NAME, text)
    chart(settings, workloads, args, configs, main_cells, cpu_ms)
    print(text)
    print(f"written: {path}", file=sys.stderr)


def _fmt_ceiling(value: float | None) -> str:
    return "—" if value is None else harness.fmt_rps(value)


def _rows(cells: dict[tuple[str, int, str], Cell], configs: dict[str, Config], pool: int,
          cpu_ms: float, workload: str) -> list[list[str]]:
    rows = []
    for (w, c, key), cell in cells.items():
        if w != workload:
            continue
        config_name, style = key.split("/")
        limit, arithmetic = ceiling(w, style, c, configs[config_name], pool, cpu_ms)
        rps = cell.sample("rps")
        rows.append([
            str(c), key if len(configs) > 1 else style,
            rps.show(harness.fmt_rps),
            f"{_fmt_ceiling(limit)} ({arithmetic})",
            f"{rps.median / limit:.0%}" if limit else "—",
            cell.sample("mean_ms").show(harness.fmt_ms),
            f"{c / limit * 1000:.1f}" if limit else "—",
            cell.sample("p50_ms").show(harness.fmt_ms),
            cell.sample("p99_ms").show(harness.fmt_ms),
            str(cell.failures) if cell.failures else "",
        ])
    return rows


_HEADERS = ["conns", "endpoint", "rps", "ceiling (arithmetic)", "of ceiling", "mean ms",
            "mean at ceiling ms (conns ÷ ceiling)", "p50 ms", "p99 ms", "errors"]

_TITLES = {
    "none": "No work: what the thread hop costs",
    "sleep": "10 ms of I/O wait: `await anyio.sleep(0.01)` vs `time.sleep(0.01)`",
    "db": "10 ms in PostgreSQL: `SELECT pg_sleep(0.01)` via asyncpg vs psycopg (a pool of "
          "the same size each)",
    "cpu": "~1 ms of pure-Python CPU",
}


def report(settings: Settings, workloads: Sequence[str], args: argparse.Namespace,
           configs: dict[str, Config], main_cells: dict[tuple[str, int, str], Cell],
           extra_cells: dict[tuple[str, int, str], Cell], cpu_iters: int, cpu_ms: float,
           notes: Sequence[str]) -> str:
    out = [harness.report_header(
        "Scenario 3 — async vs sync", settings,
        "The same minimal_asgi endpoint written `async def` and `def`, under uvicorn "
        "(1 worker, httptools, uvloop) and wrk (1 thread). A `def` endpoint runs in one of "
        f"anyio's worker threads ({THREADS} at once by default). The ceiling is the most "
        "requests per second the case allows on paper. 'Mean at ceiling' is Little's law: "
        "with every connection always busy, the mean latency at the ceiling rate is "
        "connections ÷ rate, the best any server can do. A measured mean *below* it means "
        "the connections were not all busy all the time - or, when CPU work blocks the event "
        "loop, that some connections starved: wrk only counts requests that finished within "
        "the run (look at p99). " + SPREAD_NOTE,
    )]
    out.append(f"CPU work: {cpu_iters:,} loop iterations, {cpu_ms:.2f} ms here (calibrated "
               f"at the start). Database: asyncpg's pool and a psycopg pool, {args.pool} "
               "connections each.\n")
    for workload in workloads:
        out.append(f"## {_TITLES[workload]}\n")
        out.append(harness.markdown_table(_HEADERS, _rows(main_cells, {"1 worker": Config(
            "1 worker")}, args.pool, cpu_ms, workload)))
    if extra_cells:
        out.append("## Variations: a second worker, a raised thread limiter\n")
        out.append(
            "Measured in their own interleaved rounds, beside the 1-worker server again. "
            "The 2-worker server is not pinned (it gets both CPUs, which it shares with wrk); "
            "the database case is left out here: the extra pools would crowd PostgreSQL's 100 "
            "connections, which other programs on the machine share.\n"
        )
        for workload in EXTRA_WORKLOADS:
            rows = _rows(extra_cells, configs, args.pool, cpu_ms, workload)
            if rows:
                out.append(f"### {_TITLES[workload]}\n")
                out.append(harness.markdown_table(_HEADERS, rows))
    if notes:
        out.append("## Notes\n")
        out += [f"- {note}" for note in notes]
    return "\n".join(out) + "\n"


def chart(settings: Settings, workloads: Sequence[str], args: argparse.Namespace,
          configs: dict[str, Config], cells: dict[tuple[str, int, str], Cell],
          cpu_ms: float) -> None:
    plt = harness.pyplot(settings)
    if plt is None or not cells:
        return
    base = configs["1 worker"]
    figure, axes = plt.subplots(2, len(workloads), figsize=(4.2 * len(workloads), 7),
                                squeeze=False)
    colours = {"async": "tab:blue", "sync": "tab:orange"}
    for column, workload in enumerate(workloads):
        top, bottom = axes[0][column], axes[1][column]
        for style in STYLES:
            points = [(c, cells[(workload, c, f"{base.name}/{style}")])
                      for c in args.concurrency
                      if (workload, c, f"{base.name}/{style}") in cells]
            xs = [c for c, _ in points]
            top.plot(xs, [cell.sample("rps").median for _, cell in points], marker="o",
                     color=colours[style], label=f"{style} def")
            limits = [ceiling(workload, style, c, base, args.pool, cpu_ms)[0] for c in xs]
            if all(limit is not None for limit in limits):
                top.plot(xs, limits, linestyle="--", color=colours[style], alpha=0.6,
                         label=f"{style} ceiling")
            bottom.plot(xs, [cell.sample("p99_ms").median for _, cell in points], marker="o",
                        color=colours[style], label=f"{style} def")
        for ax in (top, bottom):
            ax.set_xscale("log", base=2)
            ax.set_xticks(list(args.concurrency))
            ax.set_xticklabels([str(c) for c in args.concurrency])
        if workload in ("sleep", "db"):  # ceilings span 100 to 25,600: a log scale
            top.set_yscale("log")
        else:
            top.set_ylim(bottom=0)
        top.set_title(workload)
        top.set_ylabel("requests per second")
        bottom.set_yscale("log")
        bottom.set_ylabel("p99 latency, ms")
        bottom.set_xlabel("connections")
        top.legend(fontsize="x-small")
    harness.save_chart(figure, NAME)


if __name__ == "__main__":
    main()

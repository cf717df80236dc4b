"""The job queue: jobs per second through each backend, with 1 and 4 worker
processes; enqueue latency from an endpoint; and the "1,000 jobs of 100 ms at
concurrency 10" test, with the worker's peak memory.

Workers are real processes started with the command users run
(``python -m minimal_asgi_jobs worker benchmarks.apps.jobs:jobs``). Each job
appends a byte to a file when it is done; a run is timed from the moment
every worker has started (the jobs are queued before) until the file holds
as many bytes as there were jobs.

* throughput: ``N`` jobs that do nothing but that byte, 1 worker and 4
  workers, each at concurrency 10, per backend (Redis Streams, RabbitMQ);
* enqueue latency: ``POST /enqueue`` (an endpoint that enqueues one job)
  against ``POST /plain`` (the same endpoint without it), in process, per
  backend; median and 99th percentile;
* 100 ms jobs: 1,000 jobs that each ``await asyncio.sleep(0.1)``, one worker at
  concurrency 10: the ceiling is 100 jobs/s. The worker's peak resident memory
  (VmHWM in /proc) is read before it is stopped.

Run: ``python -m benchmarks.jobs`` (a few minutes; ``--quick`` uses fewer
jobs for the throughput runs). Needs Redis (BENCH_REDIS_URL, default
redis://127.0.0.1:6379/0) and RabbitMQ (BENCH_RABBITMQ_URL, default
amqp://guest:guest@127.0.0.1:5672/); a backend that does not answer is left
out. The report is written to benchmarks/results/jobs.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import anyio

from minimal_asgi.testing import AsyncTestClient

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "jobs.md"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
BACKENDS = {
    "Redis Streams": REDIS_URL,
    "RabbitMQ": os.environ.get("BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"),
}
CONCURRENCY = 10


def answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 1):
            return True
    except OSError:
        return False


class Run:
    """One queue, its counter, and the worker processes that drain it."""

    def __init__(self, url: str) -> None:
        self.url, self.queue = url, f"bench-{uuid.uuid4().hex[:10]}"
        self.counter = Path(tempfile.gettempdir(), f"{self.queue}.done")
        self.counter.write_bytes(b"")
        self.env = {**os.environ, "BENCH_JOBS_URL": url, "BENCH_JOBS_QUEUE": self.queue,
                    "BENCH_JOBS_COUNTER": str(self.counter), "LOGLEVEL": "WARNING"}

    def jobs(self):  # type: ignore[no-untyped-def]
        from minimal_asgi_jobs import Jobs

        return Jobs(self.url, queue=self.queue)

    def enqueue(self, name: str, count: int) -> None:
        async def main() -> None:
            async with self.jobs().started() as jobs:
                for _ in range(count):
                    await jobs.enqueue(name)

        anyio.run(main)

    def drain(self, workers: int, count: int) -> tuple[float, list[int]]:
        """Seconds from all workers started to ``count`` jobs done, and each
        worker's peak RSS in kB."""
        processes = [subprocess.Popen(
            [sys.executable, "-m", "minimal_asgi_jobs", "worker", "benchmarks.apps.jobs:jobs",
             "--concurrency", str(CONCURRENCY)],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            for _ in range(workers)]
        try:
            for process in processes:  # "worker <name>: concurrency 10" once it is ready
                assert process.stdout is not None
                process.stdout.readline()
            start = time.perf_counter()
            while self.counter.stat().st_size < count:
                time.sleep(0.005)
            elapsed = time.perf_counter() - start
            peaks = [_peak_rss_kb(process.pid) for process in processes]
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
                if process.stdout is not None:
                    process.stdout.close()
        return elapsed, peaks

    def close(self) -> None:
        from tests.plugins.jobs.conftest import _cleanup

        anyio.run(_cleanup, self.url, self.queue)
        self.counter.unlink(missing_ok=True)


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def throughput(url: str, workers: int, count: int) -> float:
    run = Run(url)
    try:
        run.enqueue("noop", count)
        elapsed, _ = run.drain(workers, count)
        return count / elapsed
    finally:
        run.close()


def hundred_ms(url: str, count: int) -> tuple[float, int]:
    run = Run(url)
    try:
        run.enqueue("wait_100ms", count)
        elapsed, [peak] = run.drain(1, count)
        return count / elapsed, peak
    finally:
        run.close()


def enqueue_latency(url: str, requests: int) -> dict[str, tuple[float, float]]:
    """Median and p99 µs of POST /plain and POST /enqueue, interleaved."""
    os.environ.update(BENCH_JOBS_URL=url, BENCH_JOBS_QUEUE=f"bench-{uuid.uuid4().hex[:10]}")
    import importlib

    from benchmarks.apps import jobs as module

    module = importlib.reload(module)
    times: dict[str, list[float]] = {"/plain": [], "/enqueue": []}

    async def main() -> None:
        async with AsyncTestClient(module.app) as client:
            for _ in range(requests):
                for path, samples in times.items():
                    start = time.perf_counter()
                    response = await client.post(path)
                    samples.append(time.perf_counter() - start)
                    assert response.status_code == 200, response.text

    try:
        anyio.run(main)
    finally:
        anyio.run(_cleanup_queue, url, os.environ["BENCH_JOBS_QUEUE"])
    return {path: (statistics.median(s) * 1e6, statistics.quantiles(s, n=100)[98] * 1e6)
            for path, s in times.items()}


async def _cleanup_queue(url: str, queue: str) -> None:
    from tests.plugins.jobs.conftest import _cleanup

    await _cleanup(url, queue)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.jobs", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer jobs per throughput run")
    parser.add_argument("--jobs", type=int, help="jobs per throughput run")
    parser.add_argument("--slow-jobs", type=int, default=1000, help="jobs in the 100 ms test")
    parser.add_argument("--requests", type=int, default=500, help="requests per endpoint")
    args = parser.parse_args(argv)
    count = args.jobs or (1000 if args.quick else 5000)
    backends = {name: url for name, url in BACKENDS.items() if answers(url)}
    if not backends:
        raise SystemExit("neither Redis nor RabbitMQ answers: nothing to measure")
    rows_rate, rows_latency, rows_slow = [], [], []
    for name, url in backends.items():
        print(f"{name}: throughput, 1 and 4 workers, {count} jobs", file=sys.stderr)
        one, four = throughput(url, 1, count), throughput(url, 4, count)
        rows_rate.append(f"| {name} | {one:,.0f} | {four:,.0f} | {four / one:.2f}x |")
        print(f"{name}: enqueue latency", file=sys.stderr)
        latency = enqueue_latency(url, args.requests)
        (plain, plain99), (enq, enq99) = latency["/plain"], latency["/enqueue"]
        rows_latency.append(f"| {name} | {plain:.0f} / {plain99:.0f} | {enq:.0f} / {enq99:.0f}"
                            f" | {enq - plain:+.0f} |")
        print(f"{name}: {args.slow_jobs} jobs of 100 ms at concurrency 10", file=sys.stderr)
        rate, peak = hundred_ms(url, args.slow_jobs)
        verdict = "yes" if rate >= 95 and peak < 40 * 1024 else "no"
        rows_slow.append(f"| {name} | {rate:.1f} | {peak / 1024:.1f} | {verdict} |")
    load = os.getloadavg()
    text = "\n".join([
        "# The job queue: throughput, enqueue latency, 100 ms jobs",
        "",
        f"Command: `python -m benchmarks.jobs{' --quick' if args.quick else ''}`",
        "",
        f"- date (UTC): {time.strftime('%Y-%m-%d %H:%M', time.gmtime())}",
        f"- machine: {os.cpu_count()} CPU(s), load average at the end"
        f" {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} (shared with other work: noisy)",
        f"- workers: `python -m minimal_asgi_jobs worker benchmarks.apps.jobs:jobs"
        f" --concurrency {CONCURRENCY}`; every job appends a byte to a file when done",
        "",
        f"## Throughput: {count} jobs that do nothing, timed from workers ready to last done",
        "",
        "| backend | 1 worker jobs/s | 4 workers jobs/s | 4 / 1 |",
        "|---|--:|--:|--:|",
        *rows_rate,
        "",
        f"## Enqueue latency from an endpoint (in process, {args.requests} requests each,"
        " interleaved)",
        "",
        "| backend | POST /plain µs median / p99 | POST /enqueue µs median / p99 |"
        " added µs (median) |",
        "|---|--:|--:|--:|",
        *rows_latency,
        "",
        f"## {args.slow_jobs} jobs of 100 ms, one worker at concurrency 10 (ceiling 100 jobs/s)",
        "",
        "| backend | jobs/s | worker peak RSS MB | ≥ 95 jobs/s and < 40 MB |",
        "|---|--:|--:|---|",
        *rows_slow,
        "",
    ])
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

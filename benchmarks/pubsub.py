"""Pub/sub: publish -> receive latency and messages per second, memory vs Redis.

One subscriber, one publisher, in one process (the Redis backend still goes
through the server: publish over one connection, receive over the
subscription's). Two measurements per backend, in interleaved rounds
(memory, redis, memory, redis, ...) so machine noise hits both alike:

* latency: publish one message, wait until the subscriber has it; the median
  over ``PINGS`` round trips;
* throughput: publish ``BURST`` messages back to back, wait until the last
  arrives (the queue is large enough to drop none); messages per second.

Run: ``python -m benchmarks.pubsub`` (about 10 s; needs Redis at
BENCH_REDIS_URL, default redis://127.0.0.1:6379/0). The report is written to
benchmarks/results/pubsub.md.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from pathlib import Path

import anyio

from minimal_asgi import App
from minimal_asgi_events import Events

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ROUNDS = 5
PINGS = 200
BURST = 2000
RESULTS = Path(__file__).parent / "results" / "pubsub.md"


def make(kind: str) -> Events:
    if kind == "memory":
        return Events(max_queue=BURST)
    return Events(REDIS_URL, prefix=f"bench:{uuid.uuid4().hex}:", max_queue=BURST)


async def one_round(kind: str) -> tuple[float, float]:
    """(median latency in µs, messages per second) for one backend."""
    events = make(kind)
    async with App(plugins=[events]).lifespan_context():
        async with events.subscribe("bench") as messages:
            latencies = []
            for n in range(PINGS):
                start = time.perf_counter()
                await events.publish("bench", str(n))
                await messages.get()
                latencies.append(time.perf_counter() - start)
            start = time.perf_counter()
            for n in range(BURST):
                await events.publish("bench", str(n))
            for _ in range(BURST):
                await messages.get()
            elapsed = time.perf_counter() - start
            assert messages.dropped == 0
    return statistics.median(latencies) * 1e6, BURST / elapsed


async def measure() -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {"memory": [], "redis": []}
    for _ in range(ROUNDS):
        for kind in results:  # interleaved: one round of each, then again
            results[kind].append(await one_round(kind))
    return results


def report(results: dict[str, list[tuple[float, float]]]) -> str:
    def med(kind: str, i: int) -> float:
        return statistics.median(r[i] for r in results[kind])

    ratios_latency = [r[0] / m[0] for r, m in zip(results["redis"], results["memory"], strict=True)]
    ratios_rate = [m[1] / r[1] for r, m in zip(results["redis"], results["memory"], strict=True)]
    load = os.getloadavg()
    lines = [
        "# Pub/sub: memory vs Redis",
        "",
        "Command: `python -m benchmarks.pubsub`",
        "",
        f"- date (UTC): {time.strftime('%Y-%m-%d %H:%M', time.gmtime())}",
        f"- machine: {os.cpu_count()} CPU(s), load average at the end"
        f" {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}"
        " (shared with other work: figures are noisy, ratios are per round)",
        f"- settings: {ROUNDS} interleaved rounds; latency = median of {PINGS}"
        f" publish->receive round trips; throughput = {BURST} messages published"
        " back to back, until the last is received",
        "",
        "| backend | latency µs (median of rounds) | messages/s (median of rounds) |",
        "|---|--:|--:|",
        f"| memory | {med('memory', 0):.1f} | {med('memory', 1):,.0f} |",
        f"| redis | {med('redis', 0):.1f} | {med('redis', 1):,.0f} |",
        "",
        f"Redis / memory, per round: latency {statistics.median(ratios_latency):.1f}x"
        f" (rounds {min(ratios_latency):.1f}x-{max(ratios_latency):.1f}x),"
        f" throughput memory is {statistics.median(ratios_rate):.1f}x Redis"
        f" (rounds {min(ratios_rate):.1f}x-{max(ratios_rate):.1f}x).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    text = report(anyio.run(measure))
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

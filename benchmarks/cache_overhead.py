"""What the cache plugin adds per request, and what a cached slow endpoint gains.

In process (benchmarks/harness.py: interleaved rounds, ratios per round):

* ``route without cache=``: ``GET /plain`` on the bare app and on apps with the
  cache installed - a route that did not ask is not wrapped, so it should pay
  nothing measurable;
* ``cached route (hit)``: ``GET /cached`` answered from the cache, against the
  bare app running the same handler - the cost of a hit, in memory and (if
  Redis answers) on Redis, where the round trip dominates.

Over the wire (uvicorn, 1 worker, wrk; interleaved rounds): ``GET /slow``, a
handler that waits 20 ms, against ``GET /slow-cached``, the same handler behind
``cache=60`` on the memory backend.

Run: ``python -m benchmarks.cache_overhead --quick`` (from the repository root).
The report is written to benchmarks/results/cache_overhead.md.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence

from benchmarks import harness
from benchmarks.apps.cache import ITEMS, create_app
from benchmarks.harness import SPREAD_NOTE, HTTPRequest, Sample, Server, fmt_ratio, fmt_us, progress

PLAIN = HTTPRequest(path="/plain")
CACHED = HTTPRequest(path="/cached")
SLOW = HTTPRequest(path="/slow")
SLOW_CACHED = HTTPRequest(path="/slow-cached")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_answers() -> bool:
    return harness.redis_answers(REDIS_URL)


def check(kinds: Sequence[str]) -> list[str]:
    """Every case answers the JSON it should, twice (the second time from the cache)."""
    problems = []
    for kind in kinds:
        for request in (PLAIN, CACHED, SLOW_CACHED):

            async def twice(kind: str = kind, request: HTTPRequest = request) -> list[object]:
                app = create_app(kind)
                async with harness.Lifespan(app) as lifespan:
                    first = await harness.call_once(app, request, lifespan.state)
                    second = await harness.call_once(app, request, lifespan.state)
                return [first, second]

            first, second = asyncio.run(twice())
            for number, captured in enumerate((first, second), start=1):
                assert isinstance(captured, harness.Captured)
                problems += [
                    f"{kind} {request.path} (request {number}): {problem}"
                    for problem in harness.check(captured, harness.Expected(json=ITEMS))
                ]
            assert isinstance(second, harness.Captured)
            hit = second.header("age") is not None
            if hit != (kind != "bare" and request is not PLAIN):
                problems.append(f"{kind} {request.path}: the second answer has Age={hit}")
    return problems


def measure_wire(settings: harness.Settings) -> dict[str, list[harness.WrkResult]]:
    with Server("cache:minimal_asgi:memory", cpus=settings.server_cpus) as server:
        for request in (SLOW, SLOW_CACHED):
            problems = harness.check(server.fetch(request), harness.Expected(json=ITEMS))
            if problems:
                raise SystemExit(f"{request.path} over HTTP: {problems}")
        for request in (SLOW, SLOW_CACHED):  # warm-up
            harness.run_wrk(server.url(request), request, connections=settings.connections,
                            duration=settings.warmup, cpus=settings.wrk_cpus)
        requests = {"uncached": SLOW, "cached": SLOW_CACHED}
        return harness.interleave(
            list(requests),
            lambda label: harness.run_wrk(
                server.url(requests[label]), requests[label], connections=settings.connections,
                duration=settings.duration, cpus=settings.wrk_cpus),
            settings.rounds, "wire")


def report(settings: harness.Settings, samples: dict[str, Sample], kinds: Sequence[str],
           wire: dict[str, list[harness.WrkResult]] | None) -> str:
    text = harness.report_header(
        "What the cache plugin costs, and what it saves", settings,
        "In process: the bare app against apps with `Cache()` installed, on a route "
        "without `cache=` and on a cached route answered from the cache. Over the wire: "
        "a handler that waits 20 ms, uncached and behind `cache=60` (memory backend).")
    rows = []
    bare_plain, bare_cached = samples["bare /plain"], samples["bare /cached"]
    for kind in kinds[1:]:
        plain, hit = samples[f"{kind} /plain"], samples[f"{kind} /cached"]
        rows.append([f"route without cache= ({kind} installed)", bare_plain.show(fmt_us),
                     plain.show(fmt_us), harness.ratio(plain, bare_plain).show(fmt_ratio),
                     f"{plain.median - bare_plain.median:+.2f}"])
        rows.append([f"cached route, hit ({kind})", bare_cached.show(fmt_us), hit.show(fmt_us),
                     harness.ratio(hit, bare_cached).show(fmt_ratio),
                     f"{hit.median - bare_cached.median:+.2f}"])
    text += "\n## In process\n\n" + harness.markdown_table(
        ["request", "bare app µs", "with the cache µs", "with / bare", "added µs"], rows)
    text += (f"\nThe measuring loop itself (an empty app): {samples['harness'].show(fmt_us)} µs "
             "per call, included in every figure.\n")
    if wire is not None:
        uncached = Sample([r.rps for r in wire["uncached"]])
        cached = Sample([r.rps for r in wire["cached"]])
        p50 = {label: Sample([r.p50_ms for r in results]) for label, results in wire.items()}
        errors = sum(r.errors + r.bad_status for results in wire.values() for r in results)
        text += "\n## Over the wire: a 20 ms handler, uncached and cached\n\n"
        text += harness.markdown_table(
            ["endpoint", "requests/s", "p50 latency ms"],
            [["GET /slow (uncached)", uncached.show(harness.fmt_rps),
              p50["uncached"].show(harness.fmt_ms)],
             ["GET /slow-cached (cache=60)", cached.show(harness.fmt_rps),
              p50["cached"].show(harness.fmt_ms)]])
        gain = harness.ratio(cached, uncached).show(fmt_ratio)
        text += (f"\nCached / uncached throughput: {gain}"
                 f" ({settings.connections} connections; {errors} errors or non-2xx answers).\n")
    return text + "\n" + SPREAD_NOTE + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    settings, _ = harness.parse_settings("benchmarks.cache_overhead", __doc__ or "", argv=argv)
    kinds = ["bare", "memory"] + (["redis"] if redis_answers() else [])
    if "redis" not in kinds:
        progress(f"Redis does not answer at {REDIS_URL}: the Redis rows are skipped")
    progress("checking the responses")
    problems = check(kinds)
    if problems:
        raise SystemExit("wrong responses, nothing measured:\n" + "\n".join(problems))
    cases: dict[str, tuple[harness.ASGIApp, HTTPRequest]] = {"harness": harness.harness_case()}
    for kind in kinds:
        app = create_app(kind)
        cases[f"{kind} /plain"] = (app, PLAIN)
        cases[f"{kind} /cached"] = (app, CACHED)
    progress(f"in process: {len(cases)} cases, {settings.inproc_rounds} interleaved rounds")
    samples = harness.measure_in_process(cases, settings.inproc_rounds, settings.round_seconds)
    wire = None
    if settings.wire:
        progress("over the wire: /slow and /slow-cached under wrk")
        wire = measure_wire(settings)
    text = report(settings, samples, kinds, wire)
    path = harness.write_report("cache_overhead", text)
    print(text)
    progress(f"written to {path.relative_to(harness.REPO)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

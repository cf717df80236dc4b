"""What the rate-limit plugin adds to a request, in process.

Three apps answer ``GET /items`` with the same small JSON body:

* ``bare``: no plugin;
* ``plugin, route without a limit``: ``RateLimit()`` installed, but this route
  sets no limit - its handler is not wrapped, so it should cost nothing;
* ``limited, <algorithm>``: the route has ``rate_limit=...`` on the in-memory
  backend, with a quota so large that every request is allowed and answered
  (with its ``RateLimit`` headers) - one per algorithm;
* ``limited, redis``: the same on the Redis backend (one EVALSHA over
  loopback per request), if a Redis answers at ``REDIS_URL``.

Then the decision alone: ``MemoryBackend.hit_now`` for one limit, per
algorithm, timed in the same interleaved rounds as the requests.

Every response is checked first; all cases are timed in interleaved rounds of
one run (benchmarks/harness.py), and each ratio is the median of per-round
ratios against the bare app.

Run: ``python -m benchmarks.ratelimit_overhead --quick`` (from the repository root).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks import harness
from benchmarks.harness import (
    HTTPRequest,
    Sample,
    Settings,
    fmt_ratio,
    fmt_us,
    progress,
)
from minimal_asgi import App
from minimal_asgi_ratelimit import ALGORITHMS, Limit, MemoryBackend, RateLimit

NAME = "ratelimit_overhead"
HUGE = "1000000000/minute"  # never reached: every request is answered
REQUEST = HTTPRequest(path="/items")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def build(kind: str) -> App:
    """``bare``, ``unlimited`` (plugin installed, route without a limit),
    ``memory:<algorithm>`` or ``redis``."""
    plugins: list[Any] = []
    option: dict[str, Any] = {}
    if kind != "bare":
        if kind == "redis":
            prefix = f"bench-{uuid.uuid4().hex}"
            plugins.append(RateLimit(backend=REDIS_URL, prefix=prefix, timeout=5.0))
        else:
            algorithm = kind.partition(":")[2] or "sliding-window"
            plugins.append(RateLimit(algorithm=algorithm))  # type: ignore[arg-type]
        if kind != "unlimited":
            option = {"rate_limit": HUGE}
    app = App(plugins=plugins, openapi_url=None, docs_url=None)

    @app.get("/items", **option)
    async def items() -> dict[str, list[int]]:
        return {"items": [1, 2, 3]}

    return app


def _redis_reachable() -> bool:
    return harness.redis_answers(REDIS_URL)


def kinds() -> list[str]:
    found = ["bare", "unlimited", *(f"memory:{a}" for a in ALGORITHMS)]
    if _redis_reachable():
        found.append("redis")
    else:
        print(f"no Redis at {REDIS_URL}: the Redis case is skipped", file=sys.stderr)
    return found


def check_all(names: list[str]) -> list[str]:
    problems = []
    for kind in names:
        captured = asyncio.run(harness.request_in_lifespan(build(kind), REQUEST))
        limited = kind not in ("bare", "unlimited")
        if captured.status != 200 or (captured.header("ratelimit") is not None) != limited:
            problems.append(f"{kind}: {captured.status}, RateLimit={captured.header('ratelimit')}")
    return problems


class DecisionApp:
    """Not an app of the framework: an ASGI callable whose whole work is one
    in-memory decision, so the harness times it like the requests."""

    def __init__(self, algorithm: str) -> None:
        self.backend = MemoryBackend()
        self.limits = (Limit(10**9, 60, algorithm),)  # type: ignore[arg-type]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan")
        self.backend.hit_now("client", self.limits)


LABELS = {
    "bare": "bare app",
    "unlimited": "plugin installed, route without a limit",
    "redis": "limited, Redis backend (loopback)",
}


def _label(kind: str) -> str:
    return LABELS.get(kind, f"limited, in memory, {kind.partition(':')[2]}")


def report(settings: Settings, samples: dict[str, Sample], names: list[str]) -> str:
    lines = harness.in_process_header(
        "What the rate-limit plugin adds per request (in process)", settings)
    bare = samples["bare"]
    rows = []
    for kind in names:
        sample = samples[kind]
        label = _label(kind)
        rows.append([label, sample.show(fmt_us), harness.ratio(sample, bare).show(fmt_ratio),
                     f"{sample.median - bare.median:+.2f}"])
    lines.append(harness.markdown_table(["GET /items", "µs", "x bare", "added µs"], rows))
    loop = samples["harness"]
    decision_rows = [
        [algorithm, samples[f"decision:{algorithm}"].show(fmt_us),
         f"{samples[f'decision:{algorithm}'].median - loop.median:.2f}"]
        for algorithm in ALGORITHMS
    ]
    lines += [
        "One in-memory decision (`MemoryBackend.hit_now`, one limit), through the same loop:",
        "",
        harness.markdown_table(["algorithm", "µs per call", "less the loop µs"], decision_rows),
        *harness.in_process_footer(samples),
    ]
    return "\n".join(lines)


def _cases(names: Sequence[str]) -> dict[str, Callable[[], tuple[harness.ASGIApp, HTTPRequest]]]:
    cases: dict[str, Callable[[], tuple[harness.ASGIApp, HTTPRequest]]] = {}
    for kind in names:
        cases[kind] = lambda kind=kind: (build(kind), REQUEST)
    for algorithm in ALGORITHMS:
        cases[f"decision:{algorithm}"] = lambda a=algorithm: (DecisionApp(a), REQUEST)
    cases["harness"] = harness.harness_case
    return cases


def instruction_table(names: Sequence[str]) -> str:
    """Instructions per call of each case (callgrind): what the load cannot move."""
    counts = {}
    for case in [*names, *(f"decision:{a}" for a in ALGORITHMS), "harness"]:
        if case == "redis":
            continue  # the round-trip is Redis's work, not this process's instructions
        progress(f"counting instructions: {case}")
        counts[case] = harness.instructions_per_call(f"benchmarks.{NAME}", case)
    bare = counts["bare"]
    rows = [[_label(case), f"{count:,.0f}", f"{count / bare:.2f}x",
             f"{count - bare:+,.0f}"] for case, count in counts.items() if case in names]
    decision_rows = [[case.partition(":")[2], f"{counts[case]:,.0f}",
                      f"{counts[case] - counts['harness']:,.0f}",
                      f"{(counts[case] - counts['harness']) / (bare - counts['harness']):.2f}x"]
                     for case in counts if case.startswith("decision:")]
    return "\n".join([
        "## Instructions per call (valgrind's callgrind: independent of the load)",
        "",
        harness.markdown_table(["GET /items", "instructions", "x bare", "added"], rows),
        "One in-memory decision:",
        "",
        harness.markdown_table(["algorithm", "instructions", "less the loop",
                                "x the bare request (less the loop)"], decision_rows),
        f"The measuring loop itself: {counts['harness']:,.0f} instructions per call.",
        "",
    ])


def main(argv: Sequence[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if harness.count_child(arguments, _cases(["bare", "unlimited",
                                              *(f"memory:{a}" for a in ALGORITHMS), "redis"])):
        return
    settings = harness.in_process_settings("benchmarks.ratelimit_overhead", __doc__ or "", argv)
    names = kinds()
    progress("checking the responses")
    problems = check_all(names)
    cases: dict[str, tuple[harness.ASGIApp, HTTPRequest]] = {}
    for kind in names:
        cases[kind] = (build(kind), REQUEST)
    for algorithm in ALGORITHMS:
        cases[f"decision:{algorithm}"] = (DecisionApp(algorithm), REQUEST)
    started = time.monotonic()
    samples = harness.measure_checked(settings, problems, cases)
    progress(f"measured in {time.monotonic() - started:.0f} s")
    text = report(settings, samples, names)
    if settings.instructions:
        text += "\n\n" + instruction_table(names)
    path = harness.write_report(NAME, text)
    print(text)
    progress(f"written to {path}")


if __name__ == "__main__":
    main()

"""What the idempotency plugin adds per request, measured in process beside the bare app.

Cases, interleaved round by round in one run (benchmarks/harness.py):

* ``bare``: ``POST /plain`` (a JSON body read into a dataclass) on an app without the plugin;
* ``not opted in``: the same route on an app *with* the plugin installed - a route
  without ``idempotency=`` is not wrapped, so it should pay nothing measurable;
* ``opted in, no key``: ``POST /guarded`` (``idempotency=True``) sent without a key:
  the layer looks for the header and steps aside;
* ``first request``: ``POST /guarded`` with a new key each time - parse the key, read
  the body, fingerprint it, claim the key, run the route, store the answer;
* ``retry``: the same key every time - answered from the store, the route not run.

The two keyed cases run behind a tiny middleware that writes the key into the
scope (a new one per request for ``first request``); the ``bare`` row is measured
behind the same middleware, so the comparison charges the plugin only with its
own work. Both on the memory backend and, if it answers, on Redis.

Run: ``python -m benchmarks.idempotency_overhead --quick`` (from the repository root).
The report is written to benchmarks/results/idempotency_overhead.md.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks import harness
from benchmarks.harness import SPREAD_NOTE, HTTPRequest, Sample, fmt_ratio, fmt_us, progress
from minimal_asgi import App

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
BODY = b'{"amount": 4200, "currency": "eur"}'
PLAIN = HTTPRequest(method="POST", path="/plain", body=BODY, content_type="application/json")
GUARDED = HTTPRequest(method="POST", path="/guarded", body=BODY, content_type="application/json")
EXPECTED = harness.Expected(json={"amount": 4200, "currency": "eur"})


@dataclass
class Charge:
    amount: int
    currency: str


async def _charge(charge: Charge) -> dict[str, Any]:
    return {"amount": charge.amount, "currency": charge.currency}


def create_app(backend: str | None, prefix: str = "bench:idempotency:") -> App:
    """The bare app (``backend=None``), or one with ``Idempotency`` on ``backend``."""
    from minimal_asgi_idempotency import Idempotency

    plugins = [] if backend is None else [Idempotency(backend, prefix=prefix)]
    app = App(plugins=plugins, openapi_url=None)
    app.add_route("/plain", _charge, ["POST"])
    if backend is not None:
        app.add_route("/guarded", _charge, ["POST"], idempotency=True)
    return app


class KeyStamper:
    """Writes an ``Idempotency-Key`` into each request's headers: a new key each
    time (``fresh=True``), or always the same one."""

    def __init__(self, app: Any, *, fresh: bool) -> None:
        self.app = app
        self.fresh = fresh
        self.counter = itertools.count()
        self.run = uuid.uuid4().hex[:8]  # keys of an earlier run on Redis are not reused

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            key = f'"{self.run}-{next(self.counter)}"' if self.fresh else f'"{self.run}-same"'
            scope["headers"] = [*scope["headers"], (b"idempotency-key", key.encode())]
        await self.app(scope, receive, send)


def redis_answers() -> bool:
    return harness.redis_answers(REDIS_URL)


def cases(backends: Sequence[str], prefix: str) -> dict[str, tuple[harness.ASGIApp, HTTPRequest]]:
    bare = create_app(None)
    chosen: dict[str, tuple[harness.ASGIApp, HTTPRequest]] = {
        "harness": harness.harness_case(),
        "bare": (bare, PLAIN),
        "bare + key stamper": (KeyStamper(bare, fresh=True), PLAIN),
    }
    for backend in backends:
        app = create_app(backend, prefix)
        chosen[f"{backend}: not opted in"] = (app, PLAIN)
        chosen[f"{backend}: opted in, no key"] = (app, GUARDED)
        chosen[f"{backend}: first request"] = (KeyStamper(app, fresh=True), GUARDED)
        chosen[f"{backend}: retry"] = (KeyStamper(app, fresh=False), GUARDED)
    return chosen


def check(backends: Sequence[str], prefix: str) -> list[str]:
    """Every case answers the charge; a retry answers the same bytes as the first."""
    problems = []

    async def run() -> None:
        for label, (app, request) in cases(backends, prefix).items():
            if label == "harness":
                continue
            async with harness.Lifespan(app) as lifespan:
                first = await harness.call_once(app, request, lifespan.state)
                second = await harness.call_once(app, request, lifespan.state)
            for captured in (first, second):
                problems.extend(f"{label}: {p}" for p in harness.check(captured, EXPECTED))
            if label.endswith("retry") and (second.headers, second.body) != (
                first.headers, first.body
            ):
                problems.append(f"{label}: the retry is not the first answer")

    asyncio.run(run())
    return problems


def report(settings: harness.Settings, samples: dict[str, Sample], backends: Sequence[str]) -> str:
    text = harness.report_header(
        "What the idempotency plugin costs per request", settings,
        "In process: `POST` with a small JSON body, on the bare app and on apps with "
        "`Idempotency()` installed, for a route without `idempotency=` and a route with "
        "`idempotency=True`: no key, a new key (the route runs, its answer is stored), "
        "the same key (a retry, answered from the store).")
    bare, stamped = samples["bare"], samples["bare + key stamper"]
    rows = []
    for backend in backends:
        for case, baseline, name in (
            ("not opted in", bare, "bare"),
            ("opted in, no key", bare, "bare"),
            ("first request", stamped, "bare + key stamper"),
            ("retry", stamped, "bare + key stamper"),
        ):
            sample = samples[f"{backend}: {case}"]
            rows.append([f"{case} ({backend})", name, baseline.show(fmt_us), sample.show(fmt_us),
                         harness.ratio(sample, baseline).show(fmt_ratio),
                         f"{sample.median - baseline.median:+.2f}"])
    text += "\n## In process\n\n" + harness.markdown_table(
        ["request", "compared with", "baseline µs", "with the plugin µs", "ratio", "added µs"],
        rows)
    text += (f"\nThe measuring loop itself (an empty app): {samples['harness'].show(fmt_us)} µs "
             "per call, included in every figure.\n")
    return text + "\n" + SPREAD_NOTE + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    settings, _ = harness.parse_settings("benchmarks.idempotency_overhead", __doc__ or "",
                                         argv=argv)
    backends = ["memory"] + ([REDIS_URL] if redis_answers() else [])
    if len(backends) == 1:
        progress(f"Redis does not answer at {REDIS_URL}: the Redis rows are skipped")
    prefix = f"bench:idempotency:{uuid.uuid4().hex}:"
    try:
        progress("checking the responses")
        problems = check(backends, prefix)
        if problems:
            raise SystemExit("wrong responses, nothing measured:\n" + "\n".join(problems))
        chosen = cases(backends, prefix)
        progress(f"in process: {len(chosen)} cases, {settings.inproc_rounds} interleaved rounds")
        samples = harness.measure_in_process(chosen, settings.inproc_rounds,
                                             settings.round_seconds)
    finally:
        if len(backends) > 1:
            _delete_keys(prefix)
    names = ["memory"] + (["redis"] if len(backends) > 1 else [])
    renamed = {label.replace(REDIS_URL, "redis"): sample for label, sample in samples.items()}
    text = report(settings, renamed, names)
    path = harness.write_report("idempotency_overhead", text)
    print(text)
    progress(f"written to {path.relative_to(harness.REPO)}")
    sys.stdout.flush()


def _delete_keys(prefix: str) -> None:
    """The keys this run stored on the shared Redis (never a FLUSHDB)."""
    import redis

    with redis.Redis.from_url(REDIS_URL) as client:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])


if __name__ == "__main__":
    main()

"""What the metrics plugin adds per request, in process.

The same small app (a JSON endpoint with a path parameter) measured:

* ``bare``: no plugin - the yardstick;
* ``pass-through``: a middleware that only calls the next app (the price of
  any layer at all, to tell the layer from what the metrics do in it);
* ``Metrics``: the plugin (count, latency histogram, in flight), one process;
* ``Metrics, multiprocess``: the same with ``PROMETHEUS_MULTIPROC_DIR`` set, as
  under several workers: prometheus-client then keeps each value in a
  memory-mapped file. That mode is chosen when prometheus-client is first
  imported, so this case runs in a child process of its own, and its figure
  is given against a bare app measured in that same child.

Every response is checked first (and that the request was counted); then the
cases are timed in interleaved rounds (benchmarks/harness.py), each ratio the
median of per-round ratios against ``bare``. Report:
benchmarks/results/metrics_overhead.md.

Run: ``python -m benchmarks.metrics_overhead --quick`` (from the repository root).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
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
from minimal_asgi import App, ASGIApp, Receive, Scope, Send

REQUEST = HTTPRequest(path="/items/7")


class PassThrough:
    """A middleware that adds nothing: the cost of one layer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def build(kind: str) -> App:
    plugins: list[Any] = []
    if kind == "metrics":
        from minimal_asgi_metrics import Metrics

        plugins.append(Metrics())
    app = App(plugins=plugins, openapi_url=None, docs_url=None)
    if kind == "pass":
        app.add_middleware(PassThrough)

    @app.get("/items/{item_id:int}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    return app


CASES = {"bare": "bare", "pass-through": "pass", "Metrics": "metrics"}


def check(kinds: Sequence[str]) -> list[str]:
    problems = []
    for kind in kinds:
        app = build(kind)
        captured = asyncio.run(harness.request_in_lifespan(app, REQUEST))
        if captured.status != 200:
            problems.append(f"{kind}: status {captured.status}")
        if kind == "metrics":
            metrics = app.plugins[0]
            text = metrics.render().decode()  # type: ignore[attr-defined]
            counted = ('http_requests_total{method="GET",route="/items/{item_id:int}",'
                       'status="200"} 1.0')
            if counted not in text:
                problems.append("metrics: the request was not counted")
    return problems


def _child(rounds: int, seconds: float) -> None:
    """In a process started with PROMETHEUS_MULTIPROC_DIR: bare vs Metrics."""
    problems = check(["bare", "metrics"])
    if problems:
        raise SystemExit("\n".join(problems))
    samples = harness.measure_in_process(
        {"bare": (build("bare"), REQUEST), "metrics": (build("metrics"), REQUEST)},
        rounds, seconds,
    )
    ratio = harness.ratio(samples["metrics"], samples["bare"])
    print(json.dumps({"bare": samples["bare"].median, "metrics": samples["metrics"].median,
                      "ratio": ratio.show(fmt_ratio),
                      "added": samples["metrics"].median - samples["bare"].median}))


def multiprocess_case(settings: Settings) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": folder}
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.metrics_overhead", "--child",
             "--rounds", str(settings.inproc_rounds), "--seconds", str(settings.round_seconds)],
            env=env, cwd=harness.REPO, capture_output=True, text=True, check=True,
        )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _settings(argv: Sequence[str] | None) -> tuple[Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.metrics_overhead",
                                     description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="7 rounds of ~0.1 s per case (default: 15 rounds of ~0.4 s)")
    parser.add_argument("--rounds", type=int, help="interleaved in-process rounds")
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    arguments = sys.argv[1:] if argv is None else list(argv)
    settings = Settings(
        quick=args.quick,
        rounds=0, duration=0, warmup=0, connections=0,  # (no over-the-wire part)
        inproc_rounds=args.rounds or (7 if args.quick else 15),
        round_seconds=args.seconds or (0.1 if args.quick else 0.4),
        wire=False, charts=False, pin=False,
        command=" ".join(["python", "-m", "benchmarks.metrics_overhead",
                          *map(shlex.quote, arguments)]),
    )  # fmt: skip
    return settings, args


def report(settings: Settings, samples: dict[str, Sample], multi: dict[str, Any]) -> str:
    lines = [
        "# What the metrics plugin adds per request (in process)",
        "",
        f"Command: `{settings.command}`",
        "",
        *(f"- {key}: {value}" for key, value in harness.environment(settings) if key != "wrk"),
        f"- settings: {settings.inproc_rounds} interleaved rounds of "
        f"~{settings.round_seconds} s per case",
        "",
    ]
    base = samples["bare"]
    rows = []
    for label in CASES:
        sample = samples[label]
        rows.append([label, sample.show(fmt_us), harness.ratio(sample, base).show(fmt_ratio),
                     f"{sample.median - base.median:+.2f}"])
    rows.append(["Metrics, multiprocess (own process, against its own bare app)",
                 f"{multi['metrics']:.2f}", multi["ratio"], f"{multi['added']:+.2f}"])
    lines.append(harness.markdown_table(
        ["app (a JSON endpoint with a path parameter)", "µs per request", "/ bare", "added µs"],
        rows))
    lines += harness.in_process_footer(samples)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    settings, args = _settings(argv)
    if args.child:
        _child(settings.inproc_rounds, settings.round_seconds)
        return
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        raise SystemExit("unset PROMETHEUS_MULTIPROC_DIR: the multiprocess case sets its own")
    progress("checking the responses")
    problems = check(list(CASES.values()))
    if problems:
        raise SystemExit("wrong responses, nothing measured:\n" + "\n".join(problems))
    cases: dict[str, tuple[harness.ASGIApp, HTTPRequest]] = {"harness": harness.harness_case()}
    for label, kind in CASES.items():
        cases[label] = (build(kind), REQUEST)
    progress(f"measuring {len(cases)} cases, {settings.inproc_rounds} interleaved rounds")
    samples = harness.measure_in_process(cases, settings.inproc_rounds, settings.round_seconds)
    progress("measuring the multiprocess mode in a child process")
    multi = multiprocess_case(settings)
    text = report(settings, samples, multi)
    path = harness.write_report("metrics_overhead", text + "\n")
    print(text)
    progress(f"written to {path}")


if __name__ == "__main__":
    main()

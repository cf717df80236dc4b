"""Scenario 2 - routing at scale: does the cost of a match grow with the route count?

The target route is registered after 10, 100 and 1,000 parameterised routes
(see benchmarks/apps/routing.py). We measure it in process (µs per request)
and over the wire (rps under uvicorn + wrk), all six apps interleaved, and
report how each figure changes from 10 to 1,000 routes. minimal_asgi's goal:
throughput drops by at most 5%.

Run: ``python -m benchmarks.routing_scale --quick``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from contextlib import ExitStack

from benchmarks import harness
from benchmarks.apps.routing import COUNTS, EXPECTED, FRAMEWORKS, REQUEST, build
from benchmarks.harness import SPREAD_NOTE, Sample, Server, Settings, fmt_rps, fmt_us, progress

NAME = "routing_scale"
GOAL_DROP = 0.05  # minimal_asgi: at most 5% fewer rps at 1,000 routes than at 10


def label(framework: str, count: int) -> str:
    return f"{framework}/{count}"


def main(argv: Sequence[str] | None = None) -> None:
    settings, _ = harness.parse_settings("benchmarks.routing_scale", __doc__ or "", None, argv)
    labels = [label(f, n) for f in FRAMEWORKS for n in COUNTS]
    progress("building and checking the apps")
    apps = {}
    for framework in FRAMEWORKS:
        for count in COUNTS:
            app = build(framework, str(count))
            problems = harness.check(asyncio.run(harness.request_in_lifespan(app, REQUEST)),
                                     EXPECTED)
            if problems:
                raise SystemExit(f"{framework} with {count} routes answers wrongly: {problems}")
            apps[label(framework, count)] = build(framework, str(count))

    progress("in process")
    inproc = harness.measure_in_process({key: (apps[key], REQUEST) for key in labels},
                                        settings.inproc_rounds, settings.round_seconds)
    wire: dict[str, Sample] = {}
    if settings.wire:
        progress("over the wire")
        wire = measure_wire(settings, labels)

    text = report(settings, inproc, wire)
    path = harness.write_report(NAME, text)
    chart(settings, inproc, wire)
    print(text)
    print(f"written: {path}", file=sys.stderr)


def measure_wire(settings: Settings, labels: Sequence[str]) -> dict[str, Sample]:
    with ExitStack() as stack:
        servers = {}
        for key in labels:
            framework, count = key.split("/")
            server = stack.enter_context(Server(f"routing:{framework}:{count}",
                                                cpus=settings.server_cpus))
            problems = harness.check(server.fetch(REQUEST), EXPECTED)
            if problems:
                raise SystemExit(f"{key} answers wrongly over HTTP: {problems}")
            servers[key] = server
            harness.run_wrk(server.url(REQUEST), REQUEST, connections=settings.connections,
                            duration=settings.warmup, cpus=settings.wrk_cpus)

        def one_run(key: str) -> float:
            return harness.run_wrk(servers[key].url(REQUEST), REQUEST,
                                   connections=settings.connections, duration=settings.duration,
                                   cpus=settings.wrk_cpus).rps

        runs = harness.interleave(labels, one_run, settings.rounds, "routing (wire)")
    return {key: Sample(values) for key, values in runs.items()}


def _change(samples: dict[str, Sample], framework: str) -> str:
    first = samples.get(label(framework, COUNTS[0]))
    last = samples.get(label(framework, COUNTS[-1]))
    if first is None or last is None:
        return "—"
    ratio = harness.ratio(last, first).median
    if ratio < 2:
        return f"{(ratio - 1) * 100:+.1f}%"
    return f"{ratio:.1f}x ({(ratio - 1) * 100:+.0f}%)"


def report(settings: Settings, inproc: dict[str, Sample], wire: dict[str, Sample]) -> str:
    out = [harness.report_header(
        "Scenario 2 — routing at scale", settings,
        "`GET /api/target/42`, whose route is registered after N routes shaped "
        "`/api/r{i}/{item_id:int}`. " + SPREAD_NOTE,
    )]
    counts = [f"{n:,} routes" for n in COUNTS]
    out.append("## In process: µs per request\n")
    rows = [[f, *[inproc[label(f, n)].show(fmt_us) for n in COUNTS], _change(inproc, f)]
            for f in FRAMEWORKS]
    out.append(harness.markdown_table(
        ["framework", *counts, f"change {COUNTS[0]} → {COUNTS[-1]:,}"], rows))
    if wire:
        out.append("\n## Over the wire: requests per second\n")
        out.append(f"uvicorn, 1 worker, httptools, uvloop; wrk, 1 thread, "
                   f"{settings.connections} connections.\n")
        rows = [[f, *[wire[label(f, n)].show(fmt_rps) for n in COUNTS], _change(wire, f)]
                for f in FRAMEWORKS]
        out.append(harness.markdown_table(
            ["framework", *counts, f"change {COUNTS[0]} → {COUNTS[-1]:,}"], rows))
        first = wire.get(label("minimal_asgi", COUNTS[0]))
        last = wire.get(label("minimal_asgi", COUNTS[-1]))
        if first and last:
            change = harness.ratio(last, first).median - 1
            verdict = "met" if -change <= GOAL_DROP else "**missed**"
            out.append(f"\nGoal: minimal_asgi's throughput drops by at most "
                       f"{GOAL_DROP:.0%} from {COUNTS[0]} to {COUNTS[-1]:,} routes. Measured "
                       f"change: {change:+.1%} — {verdict}. (A change inside the rounds' spread "
                       "is noise, not a trend; the in-process figure is the steadier one.)\n")
    return "\n".join(out)


def chart(settings: Settings, inproc: dict[str, Sample], wire: dict[str, Sample]) -> None:
    plt = harness.pyplot(settings)
    if plt is None:
        return
    panels = [("in process: µs per request", inproc)]
    if wire:
        panels.append(("over the wire: requests per second", wire))
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, (title, data) in zip(axes[0], panels, strict=True):
        for framework in FRAMEWORKS:
            ax.plot(COUNTS, [data[label(framework, n)].median for n in COUNTS], marker="o",
                    label=framework)
        ax.set_xscale("log")
        ax.set_xticks(COUNTS)
        ax.set_xticklabels([str(n) for n in COUNTS])
        ax.set_xlabel("routes registered before the target")
        ax.set_title(title)
        ax.set_ylim(bottom=0)
        ax.legend()
    harness.save_chart(figure, NAME)


if __name__ == "__main__":
    main()

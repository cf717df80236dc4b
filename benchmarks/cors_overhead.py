"""What the CORS plugin adds to a request, in process.

The same small app twice - bare, and with ``CORS(allow_origins=[...])`` - and
three requests through each:

* ``no Origin``: a same-origin request (or curl): the plugin only adds
  ``Vary: Origin``;
* ``simple GET``: a cross-origin GET from an allowed origin: the plugin adds
  ``Access-Control-Allow-Origin`` and ``Vary``;
* ``preflight``: ``OPTIONS`` with ``Origin``, ``Access-Control-Request-Method``
  and ``Access-Control-Request-Headers``: the plugin answers it itself; the bare
  app's router answers the same request with ``204`` and ``Allow``.

Each response is checked first; then all six cases (and the harness's empty
app, the cost of the measuring loop) are timed in interleaved rounds in one
run (benchmarks/harness.py). The bare and the CORS app of a request are timed
back to back in every round, and the ratio printed is the median of those
per-round ratios, which a burst of noise on a shared machine barely moves.

Run: ``python -m benchmarks.cors_overhead --quick`` (from the repository root).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks import harness
from benchmarks.harness import (
    SPREAD_NOTE,
    HTTPRequest,
    Sample,
    Settings,
    fmt_ratio,
    fmt_us,
    progress,
)
from minimal_asgi import App
from minimal_asgi_cors import CORS

ORIGIN = "https://app.example"


@dataclass(frozen=True)
class RequestWithHeaders(HTTPRequest):
    """The harness's request, with extra request headers (Origin and friends)."""

    extra: tuple[tuple[str, str], ...] = ()

    def scope(self) -> dict[str, Any]:
        scope = super().scope()
        scope["headers"] = [
            *scope["headers"],
            *((name.encode("latin-1"), value.encode("latin-1")) for name, value in self.extra),
        ]
        return scope


REQUESTS = {
    "no Origin": RequestWithHeaders(path="/items"),
    "simple GET": RequestWithHeaders(path="/items", extra=(("origin", ORIGIN),)),
    "preflight": RequestWithHeaders(
        method="OPTIONS",
        path="/items",
        extra=(
            ("origin", ORIGIN),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "content-type, x-token"),
        ),
    ),
}

# (status, a header that must be there, its value) for each app and request.
EXPECTED = {
    ("bare", "no Origin"): (200, "content-type", "application/json"),
    ("bare", "simple GET"): (200, "content-type", "application/json"),
    ("bare", "preflight"): (204, "allow", "GET, HEAD, OPTIONS, PUT"),
    ("cors", "no Origin"): (200, "vary", "Origin"),
    ("cors", "simple GET"): (200, "access-control-allow-origin", ORIGIN),
    ("cors", "preflight"): (204, "access-control-allow-headers", "content-type, x-token"),
}


def build(kind: str) -> App:
    plugins = []
    if kind == "cors":
        plugins.append(
            CORS(allow_origins=[ORIGIN], allow_methods=["GET", "PUT"], allow_headers=["X-Token"])
        )
    app = App(plugins=plugins, openapi_url=None, docs_url=None)

    @app.get("/items")
    async def items() -> dict[str, list[int]]:
        return {"items": [1, 2, 3]}

    @app.put("/items")
    async def replace() -> None:
        return None

    return app


def check_all() -> list[str]:
    problems = []
    for (kind, label), (status, header, value) in EXPECTED.items():
        captured = asyncio.run(harness.request_in_lifespan(build(kind), REQUESTS[label]))
        if captured.status != status or captured.header(header) != value:
            problems.append(
                f"{kind} / {label}: {captured.status} {header}={captured.header(header)!r}, "
                f"expected {status} {header}={value!r}"
            )
    return problems


def _settings(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cors_overhead",
                                     description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="7 rounds of ~0.1 s per case (default: 15 rounds of ~0.4 s)")
    parser.add_argument("--rounds", type=int, help="interleaved in-process rounds")
    args = parser.parse_args(argv)
    arguments = sys.argv[1:] if argv is None else list(argv)
    return Settings(
        quick=args.quick,
        rounds=0, duration=0, warmup=0, connections=0,  # (no over-the-wire part)
        inproc_rounds=args.rounds or (7 if args.quick else 15),
        round_seconds=0.1 if args.quick else 0.4,
        wire=False, charts=False, pin=False,
        command=" ".join(["python", "-m", "benchmarks.cors_overhead",
                          *map(shlex.quote, arguments)]),
    )


def report(settings: Settings, samples: dict[str, Sample]) -> str:
    lines = [
        "# What the CORS plugin adds per request (in process)",
        "",
        f"Command: `{settings.command}`",
        "",
        *(f"- {key}: {value}" for key, value in harness.environment(settings)
          if key != "wrk"),
        f"- settings: {settings.inproc_rounds} interleaved rounds of "
        f"~{settings.round_seconds} s per case",
        "",
    ]
    rows = []
    for label in REQUESTS:
        bare, cors = samples[f"bare / {label}"], samples[f"cors / {label}"]
        rows.append([
            label, bare.show(fmt_us), cors.show(fmt_us),
            harness.ratio(cors, bare).show(fmt_ratio), f"{cors.median - bare.median:+.2f}",
        ])
    lines.append(harness.markdown_table(
        ["request", "bare app µs", "with CORS µs", "with / bare", "added µs"], rows))
    loop = samples["harness"]
    lines += [
        f"The measuring loop itself (an empty app): {loop.show(fmt_us)} µs per call, "
        "included in every figure.",
        "",
        SPREAD_NOTE,
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    settings = _settings(argv)
    progress("checking the responses")
    problems = check_all()
    if problems:
        raise SystemExit("wrong responses, nothing measured:\n" + "\n".join(problems))
    cases: dict[str, tuple[harness.ASGIApp, HTTPRequest]] = {"harness": harness.harness_case()}
    for label, request in REQUESTS.items():
        for kind in ("bare", "cors"):
            cases[f"{kind} / {label}"] = (build(kind), request)
    progress(f"measuring {len(cases)} cases, {settings.inproc_rounds} interleaved rounds "
             f"on {os.cpu_count()} CPU(s)")
    samples = harness.measure_in_process(cases, settings.inproc_rounds, settings.round_seconds)
    print(report(settings, samples))


if __name__ == "__main__":
    main()

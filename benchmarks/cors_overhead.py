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

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
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


def report(settings: Settings, samples: dict[str, Sample]) -> str:
    lines = harness.in_process_header(
        "What the CORS plugin adds per request (in process)", settings)
    rows = []
    for label in REQUESTS:
        bare, cors = samples[f"bare / {label}"], samples[f"cors / {label}"]
        rows.append([
            label, bare.show(fmt_us), cors.show(fmt_us),
            harness.ratio(cors, bare).show(fmt_ratio), f"{cors.median - bare.median:+.2f}",
        ])
    lines.append(harness.markdown_table(
        ["request", "bare app µs", "with CORS µs", "with / bare", "added µs"], rows))
    lines += harness.in_process_footer(samples)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    settings = harness.in_process_settings("benchmarks.cors_overhead", __doc__ or "", argv)
    progress("checking the responses")
    problems = check_all()
    cases: dict[str, tuple[harness.ASGIApp, HTTPRequest]] = {}
    for label, request in REQUESTS.items():
        for kind in ("bare", "cors"):
            cases[f"{kind} / {label}"] = (build(kind), request)
    samples = harness.measure_checked(settings, problems, cases)
    print(report(settings, samples))


if __name__ == "__main__":
    main()

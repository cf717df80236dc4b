"""What the CORS plugin adds to a request, in process, against a pass-through.

The same small app four times - bare; behind a **pass-through** middleware
(one that only calls the next app: the price of any layer at all, the
yardstick of the goal "CORS at most 1.5x a pass-through"); behind a
pass-through that **wraps send** and adds one header (the smallest thing any
header-adding middleware must do, like the ``middleware`` scenario of
benchmarks/overhead.py); and with ``CORS(allow_origins=[...])`` - and four
requests through each:

* ``no Origin``: a same-origin request (or curl): the plugin only adds
  ``Vary: Origin``;
* ``simple GET``: a cross-origin GET from an allowed origin: the plugin adds
  ``Access-Control-Allow-Origin`` and ``Vary``;
* ``simple GET, endpoint sends Vary``: the same, to an endpoint whose response
  already says ``Vary: Accept-Encoding``, so ``Origin`` is merged into it;
* ``preflight``: ``OPTIONS`` with ``Origin``, ``Access-Control-Request-Method``
  and ``Access-Control-Request-Headers``: the plugin answers it itself; the
  other apps' router answers the same request with ``204`` and ``Allow``.

Each response is checked first; then all sixteen cases (and the harness's
empty app, the cost of the measuring loop) are timed in interleaved rounds in
one run (benchmarks/harness.py). Each ratio is the median of per-round ratios
of two cases measured back to back, which a burst of noise on a shared machine
barely moves. ``--instructions`` also counts instructions per request under
valgrind's callgrind (the figure the machine's load cannot move). The report
goes to benchmarks/results/cors_overhead.md.

Run: ``python -m benchmarks.cors_overhead --quick`` (from the repository root).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks import harness, perf_guard
from benchmarks.harness import (
    HTTPRequest,
    Sample,
    Settings,
    fmt_ratio,
    fmt_us,
    progress,
)
from minimal_asgi import App, ASGIApp, Message, PlainTextResponse, Receive, Response, Scope, Send
from minimal_asgi_cors import CORS

NAME = "cors_overhead"
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
    "simple GET, endpoint sends Vary": RequestWithHeaders(
        path="/report", extra=(("origin", ORIGIN),)),
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

# The apps, by kind, in the order of the report's columns.
KINDS = {
    "bare": "bare app",
    "pass": "pass-through",
    "pass-send": "pass-through, wrapping send",
    "cors": "CORS",
}

# (status, a header that must be there, its value) for each request, per app.
# The three middlewares that are not CORS answer as the bare app does.
EXPECTED_WITHOUT_CORS = {
    "no Origin": (200, "content-type", "application/json"),
    "simple GET": (200, "content-type", "application/json"),
    "simple GET, endpoint sends Vary": (200, "vary", "Accept-Encoding"),
    "preflight": (204, "allow", "GET, HEAD, OPTIONS, PUT"),
}
EXPECTED_WITH_CORS = {
    "no Origin": (200, "vary", "Origin"),
    "simple GET": (200, "access-control-allow-origin", ORIGIN),
    "simple GET, endpoint sends Vary": (200, "vary", "Accept-Encoding, Origin"),
    "preflight": (204, "access-control-allow-headers", "content-type, x-token"),
}


class PassThrough:
    """A middleware that adds nothing: the cost of one layer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class PassThroughWrappingSend:
    """A middleware that wraps ``send`` and adds one header to a copy of the
    list (an app may send the same prebuilt list on every response)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (b"x-bench", b"1")]}
            await send(message)

        await self.app(scope, receive, send_with_header)


def build(kind: str) -> App:
    plugins = []
    if kind == "cors":
        plugins.append(
            CORS(allow_origins=[ORIGIN], allow_methods=["GET", "PUT"], allow_headers=["X-Token"])
        )
    app = App(plugins=plugins, openapi_url=None, docs_url=None)
    if kind == "pass":
        app.add_middleware(PassThrough)
    elif kind == "pass-send":
        app.add_middleware(PassThroughWrappingSend)

    @app.get("/items")
    async def items() -> dict[str, list[int]]:
        return {"items": [1, 2, 3]}

    @app.put("/items")
    async def replace() -> None:
        return None

    @app.get("/report")
    async def report() -> Response:
        return PlainTextResponse("report", headers={"vary": "Accept-Encoding"})

    return app


def case_name(kind: str, label: str) -> str:
    return f"{kind} / {label}"


def case_builders() -> dict[str, Callable[[], tuple[harness.ASGIApp, HTTPRequest]]]:
    """Every case, built on demand (the ``--count`` child builds only its own)."""
    cases: dict[str, Callable[[], tuple[harness.ASGIApp, HTTPRequest]]] = {}
    for label, request in REQUESTS.items():
        for kind in KINDS:
            cases[case_name(kind, label)] = lambda k=kind, r=request: (build(k), r)
    cases["harness"] = harness.harness_case
    return cases


def check_all() -> list[str]:
    problems = []
    for label, request in REQUESTS.items():
        for kind in KINDS:
            expected = EXPECTED_WITH_CORS if kind == "cors" else EXPECTED_WITHOUT_CORS
            status, header, value = expected[label]
            captured = asyncio.run(harness.request_in_lifespan(build(kind), request))
            if captured.status != status or captured.header(header) != value:
                problems.append(
                    f"{kind} / {label}: {captured.status} {header}={captured.header(header)!r}, "
                    f"expected {status} {header}={value!r}"
                )
    return problems


def report(settings: Settings, samples: dict[str, Sample]) -> str:
    lines = harness.in_process_header(
        "What the CORS plugin adds per request, against a pass-through (in process)", settings)
    rows = []
    for label in REQUESTS:
        got = {kind: samples[case_name(kind, label)] for kind in KINDS}
        rows.append([
            label, *(got[kind].show(fmt_us) for kind in KINDS),
            harness.ratio(got["cors"], got["pass"]).show(fmt_ratio),
            harness.ratio(got["cors"], got["pass-send"]).show(fmt_ratio),
            harness.ratio(got["cors"], got["bare"]).show(fmt_ratio),
        ])
    lines.append(harness.markdown_table(
        ["request", *(f"{title} µs" for title in KINDS.values()),
         "CORS / pass-through", "CORS / wrapping send", "CORS / bare"], rows))
    lines += harness.in_process_footer(samples)
    return "\n".join(lines)


def instruction_table() -> str:
    """Instructions per request of each case, all counted in one callgrind run
    (as benchmarks/perf_guard.py counts its scenarios): what the load cannot move."""
    names = list(case_builders())
    progress(f"counting instructions of {len(names)} cases under callgrind")
    counts = perf_guard.count(names, module=f"benchmarks.{NAME}")
    rows = []
    for label in REQUESTS:
        got = {kind: counts[case_name(kind, label)] for kind in KINDS}
        bare = got["bare"]
        rows.append([
            label, *(f"{got[kind]:,.0f}" for kind in KINDS),
            f"{got['cors'] / got['pass']:.2f}x",
            f"{got['pass'] - bare:+,.0f} / {got['pass-send'] - bare:+,.0f} / "
            f"{got['cors'] - bare:+,.0f}",
        ])
    return "\n".join([
        "## Instructions per request (valgrind's callgrind: independent of the load)",
        "",
        harness.markdown_table(
            ["request", *KINDS.values(), "CORS / pass-through",
             "added to the bare app: pass-through / wrapping send / CORS"], rows),
        f"The measuring loop itself: {counts['harness']:,.0f} instructions per call, "
        "included in every figure.",
        "",
    ])


def main(argv: Sequence[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["--child"]:  # run under callgrind by instruction_table
        perf_guard.run_child(arguments[1:], case_builders())
        return
    settings = harness.in_process_settings(f"benchmarks.{NAME}", __doc__ or "", argv)
    progress("checking the responses")
    problems = check_all()
    cases = {name: make() for name, make in case_builders().items() if name != "harness"}
    samples = harness.measure_checked(settings, problems, cases)
    text = report(settings, samples)
    if settings.instructions:
        text += "\n\n" + instruction_table()
    path = harness.write_report(NAME, text + "\n")
    print(text)
    progress(f"written to {path}")


if __name__ == "__main__":
    main()

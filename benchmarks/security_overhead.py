"""What the security plugin's two middlewares add per request, in process.

The same small app (a JSON endpoint) behind one middleware each, and the
request that middleware is built for:

* ``pass-through``: a middleware that only calls the next app - the price of
  any layer at all, and the yardstick;
* ``pass-through, wrapping send``: one that also wraps ``send`` and copies the
  start message, as every header-adding middleware must;
* ``SecurityHeaders``, over http and over https (where HSTS is added too);
* ``TrustedHosts``, with ``Host: example.com`` (the exact-name fast path) and
  with ``Host: v1.api.example.com:8443`` (parsed, then matched to a wildcard);
* both plugins together, as the docs recommend installing them.

Every response is checked first; then all cases (and the harness's empty app,
the cost of the measuring loop) are timed in interleaved rounds in one run
(benchmarks/harness.py). Each ratio is the median of per-round ratios against
the pass-through measured in the same round, which a burst of noise on a
shared machine barely moves. The report goes to
benchmarks/results/security_overhead.md.

Run: ``python -m benchmarks.security_overhead --quick`` (from the repository root).
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
from minimal_asgi import App, ASGIApp, Message, Receive, Scope, Send
from minimal_asgi_security import SecurityHeaders, TrustedHosts

ALLOWED = ["example.com", "*.api.example.com"]


@dataclass(frozen=True)
class Request(HTTPRequest):
    """The harness's request, with its own Host and scheme."""

    path: str = "/items"
    host: str = "example.com"
    scheme: str = "http"

    def scope(self) -> dict[str, Any]:
        scope = super().scope()
        scope["scheme"] = self.scheme
        scope["headers"] = [(b"host", self.host.encode("ascii")), *scope["headers"][1:]]
        return scope


class PassThrough:
    """A middleware that adds nothing: the cost of one layer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class PassThroughWrappingSend:
    """A middleware that wraps ``send`` and copies the start message, adding nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", ()))}
            await send(message)

        await self.app(scope, receive, wrapped)


# label -> (what the app is built with, the request, a header the answer must carry)
CASES: dict[str, tuple[str, Request, tuple[str, str]]] = {
    "pass-through": ("pass", Request(), ("content-type", "application/json")),
    "pass-through, wrapping send": ("pass-send", Request(), ("content-type", "application/json")),
    "SecurityHeaders, http": ("headers", Request(), ("x-content-type-options", "nosniff")),
    "SecurityHeaders, https (+HSTS)": (
        "headers", Request(scheme="https"),
        ("strict-transport-security", "max-age=31536000; includeSubDomains"),
    ),
    "TrustedHosts, exact host": ("hosts", Request(), ("content-type", "application/json")),
    "TrustedHosts, wildcard host and port": (
        "hosts", Request(host="v1.api.example.com:8443"), ("content-type", "application/json"),
    ),
    "both": ("both", Request(), ("x-frame-options", "DENY")),
}


def build(kind: str) -> App:
    plugins: list[Any] = []
    if kind in ("hosts", "both"):
        plugins.append(TrustedHosts(allowed_hosts=ALLOWED))
    if kind in ("headers", "both"):
        plugins.append(SecurityHeaders())
    app = App(plugins=plugins, openapi_url=None, docs_url=None)
    if kind == "pass":
        app.add_middleware(PassThrough)
    elif kind == "pass-send":
        app.add_middleware(PassThroughWrappingSend)

    @app.get("/items")
    async def items() -> dict[str, list[int]]:
        return {"items": [1, 2, 3]}

    return app


def check_all() -> list[str]:
    problems = []
    for label, (kind, request, (header, value)) in CASES.items():
        captured = asyncio.run(harness.request_in_lifespan(build(kind), request))
        if captured.status != 200 or captured.header(header) != value:
            problems.append(
                f"{label}: {captured.status} {header}={captured.header(header)!r}, "
                f"expected 200 {header}={value!r}"
            )
    return problems


def report(settings: Settings, samples: dict[str, Sample]) -> str:
    lines = harness.in_process_header(
        "What the security plugin adds per request (in process)", settings)
    base = samples["pass-through"]
    rows = []
    for label in CASES:
        sample = samples[label]
        rows.append([
            label, sample.show(fmt_us), harness.ratio(sample, base).show(fmt_ratio),
            f"{sample.median - base.median:+.2f}",
        ])
    lines.append(harness.markdown_table(
        ["middleware (one, around a JSON endpoint)", "µs per request", "/ pass-through",
         "added µs"], rows))
    lines += harness.in_process_footer(samples)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    settings = harness.in_process_settings("benchmarks.security_overhead", __doc__ or "", argv)
    progress("checking the responses")
    problems = check_all()
    cases: dict[str, tuple[harness.ASGIApp, HTTPRequest]] = {}
    for label, (kind, request, _) in CASES.items():
        cases[label] = (build(kind), request)
    samples = harness.measure_checked(settings, problems, cases)
    text = report(settings, samples)
    path = harness.write_report("security_overhead", text + "\n")
    print(text)
    progress(f"written to {path}")


if __name__ == "__main__":
    main()

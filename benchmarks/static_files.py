"""Serving static files: minimal_asgi's StaticFiles against Starlette's, in process.

Both frameworks mount their ``StaticFiles`` at ``/static`` over the same
directory, and answer the same four requests:

* a 1 KiB file (``200``);
* the same file revalidated with its ``ETag`` (``304``, no body);
* a 1 MiB file (``200``, sent in the frameworks' 64 KiB chunks);
* a traversal attempt, ``/static/../secret.txt`` (``404``).

Every response is checked first (status, and the body for the 200s); then all
cases are timed in interleaved rounds in one run (benchmarks/harness.py). The
ratio is minimal_asgi over Starlette, round by round: below 1 means faster.
Both send files through worker threads (anyio), so most of a request's time is
thread hops and system calls, not framework code. The report goes to
benchmarks/results/static_files.md.

Run: ``python -m benchmarks.static_files --quick`` (from the repository root).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
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

FRAMEWORKS = ["minimal_asgi", "starlette"]
SMALL = b"x" * 1024
LARGE = bytes(range(256)) * 4096  # 1 MiB


@dataclass(frozen=True)
class Request(HTTPRequest):
    """The harness's request, with an optional ``If-None-Match``."""

    if_none_match: str | None = None

    def scope(self) -> dict[str, Any]:
        scope = super().scope()
        if self.if_none_match is not None:
            scope["headers"] = [*scope["headers"], (b"if-none-match", self.if_none_match.encode())]
        return scope


def make_directory() -> str:
    """A temporary site: ``static/small.txt``, ``static/large.bin``, and a secret beside it."""
    root = tempfile.mkdtemp(prefix="bench-static-")
    static = os.path.join(root, "static")
    os.mkdir(static)
    for name, data in (("small.txt", SMALL), ("large.bin", LARGE)):
        with open(os.path.join(static, name), "wb") as file:
            file.write(data)
    with open(os.path.join(root, "secret.txt"), "wb") as file:
        file.write(b"secret")
    return static


def with_waiting_receive(app: harness.ASGIApp) -> harness.ASGIApp:
    """``app`` with a ``receive`` that behaves like a server's once the body is read:
    it waits (for a disconnect that never comes here). The harness's own ``receive``
    answers at once, forever, which a response listening for a disconnect while it
    streams a file would spin on. Both frameworks get the same wrapper."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        received = False

        async def waiting_receive() -> Any:
            nonlocal received
            if not received:
                received = True
                return await receive()
            await asyncio.Event().wait()  # cancelled when the response is done

        await app(scope, waiting_receive, send)

    return wrapped


def build(framework: str, directory: str) -> harness.ASGIApp:
    if framework == "minimal_asgi":
        from minimal_asgi import App, StaticFiles

        app = App(openapi_url=None, docs_url=None)
        app.mount("/static", StaticFiles(directory=directory))
        return with_waiting_receive(app)
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles as StarletteStaticFiles

    starlette = Starlette(routes=[Mount("/static", StarletteStaticFiles(directory=directory))])
    return with_waiting_receive(starlette)


# label -> (request, status, body or None)
def cases_for(app: harness.ASGIApp) -> dict[str, tuple[Request, int, bytes | None]]:
    first = asyncio.run(harness.request_in_lifespan(app, Request(path="/static/small.txt")))
    etag = first.header("etag") or '"missing"'
    return {
        "1 KiB file, 200": (Request(path="/static/small.txt"), 200, SMALL),
        "1 KiB file, 304 (If-None-Match)": (
            Request(path="/static/small.txt", if_none_match=etag), 304, b"",
        ),
        "1 MiB file, 200": (Request(path="/static/large.bin"), 200, LARGE),
        "traversal, 404": (Request(path="/static/../secret.txt"), 404, None),
    }


def check_all(apps: dict[str, harness.ASGIApp]) -> list[str]:
    problems = []
    for framework, app in apps.items():
        for label, (request, status, body) in cases_for(app).items():
            captured = asyncio.run(harness.request_in_lifespan(app, request))
            if captured.status != status or (body is not None and captured.body != body):
                problems.append(f"{framework}, {label}: {captured.status}, expected {status}")
    return problems


def report(settings: Settings, samples: dict[str, Sample], labels: list[str]) -> str:
    lines = harness.in_process_header(
        "Static files: minimal_asgi StaticFiles vs Starlette StaticFiles (in process)", settings)
    rows = []
    for label in labels:
        ours, theirs = samples[f"minimal_asgi: {label}"], samples[f"starlette: {label}"]
        rows.append([label, ours.show(fmt_us), theirs.show(fmt_us),
                     harness.ratio(ours, theirs).show(fmt_ratio)])
    lines.append(harness.markdown_table(
        ["request", "minimal_asgi µs", "Starlette µs", "minimal_asgi / Starlette"], rows))
    lines += harness.in_process_footer(samples)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    settings = harness.in_process_settings("benchmarks.static_files", __doc__ or "", argv)
    directory = make_directory()
    apps = {framework: build(framework, directory) for framework in FRAMEWORKS}
    progress("checking the responses")
    problems = check_all(apps)
    if problems:
        raise SystemExit("wrong responses, nothing measured:\n" + "\n".join(problems))
    cases: dict[str, tuple[harness.ASGIApp, HTTPRequest]] = {"harness": harness.harness_case()}
    labels: list[str] = []
    for framework, app in apps.items():
        for label, (request, _, _) in cases_for(app).items():
            cases[f"{framework}: {label}"] = (app, request)
            if label not in labels:
                labels.append(label)
    progress(f"measuring {len(cases)} cases, {settings.inproc_rounds} interleaved rounds "
             f"on {os.cpu_count()} CPU(s)")
    samples = harness.measure_in_process(cases, settings.inproc_rounds, settings.round_seconds)
    text = report(settings, samples, labels)
    path = harness.write_report("static_files", text + "\n")
    print(text)
    progress(f"written to {path}")


if __name__ == "__main__":
    main()

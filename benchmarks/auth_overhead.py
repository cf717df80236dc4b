"""What authentication costs per request, in process - and what one login costs.

The same small app (a JSON endpoint) five ways, each with the request it is
built for:

* ``open``: no guard - the yardstick;
* ``bearer JWT``: ``Principal`` injected from an HS256 access token (the
  signature, ``exp``/``iat``, ``typ`` checked; no store look-up);
* ``bearer JWT + requires("admin")``: the same, and a role guard;
* ``session cookie``: the id's SHA-256 looked up in the in-memory session
  store (the idle deadline moved on every request);
* ``API key``: the key's prefix looked up, its SHA-256 compared, its last
  use recorded (in memory).

Every response is checked first; then all cases (and the harness's empty app)
are timed in interleaved rounds in one run (benchmarks/harness.py), each
ratio the median of per-round ratios against ``open`` measured in the same
round. Last, one argon2id login (the plugin's default parameters, RFC 9106's
second recommendation) is timed between rounds of the bearer case: the ratio
is why a password is checked once, at login, and a token on every request.
The Redis stores add a round trip to Redis per request; that is measured by
the rate-limit and cache benchmarks, not repeated here.

Run: ``python -m benchmarks.auth_overhead --quick`` (from the repository root).
The report goes to benchmarks/results/auth_overhead.md.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
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
from minimal_asgi import App, Response
from minimal_asgi_auth import APIKeys, Auth, Principal, Sessions, Tokens, passwords

KEY = b"benchmark-signing-key-benchmark-signing-key"


@dataclass(frozen=True)
class Request(HTTPRequest):
    """The harness's request, with credentials."""

    path: str = "/items"
    extra: tuple[tuple[bytes, bytes], ...] = field(default=())

    def scope(self) -> dict[str, Any]:
        scope = super().scope()
        scope["headers"] = [*scope["headers"], *self.extra]
        return scope


@dataclass
class World:
    """One Auth set-up, and a credential of each kind made at start-up."""

    auth: Auth
    headers: dict[str, tuple[tuple[bytes, bytes], ...]]


def make_world() -> World:
    tokens, sessions, api_keys = Tokens(KEY, access_ttl=3600), Sessions(), APIKeys()
    auth = Auth(tokens=tokens, sessions=sessions, api_keys=api_keys)
    token = tokens.access_token("ada", roles=["admin"])

    async def credentials() -> tuple[str, str]:
        response = Response()
        session = await sessions.login(response, "ada")
        plain, _ = await api_keys.create("ada", name="bench")
        return session.id, plain

    session_id, key = asyncio.run(credentials())
    return World(auth, {
        "bearer": ((b"authorization", f"Bearer {token}".encode()),),
        "session": ((b"cookie", f"__Host-session={session_id}".encode()),),
        "api_key": ((b"x-api-key", key.encode()),),
    })


# label -> (the guard, the credential sent)
CASES: dict[str, tuple[str, str | None]] = {
    "open": ("none", None),
    "bearer JWT": ("user", "bearer"),
    'bearer JWT + requires("admin")': ("admin", "bearer"),
    "session cookie": ("user", "session"),
    "API key": ("user", "api_key"),
}


def build(world: World, guard: str) -> App:
    app = App(plugins=[world.auth], openapi_url=None, docs_url=None)
    if guard == "none":
        @app.get("/items")
        async def items() -> dict[str, Any]:
            return {"items": [1, 2, 3], "user": "ada"}
    elif guard == "user":
        @app.get("/items")
        async def user_items(user: Principal) -> dict[str, Any]:
            return {"items": [1, 2, 3], "user": user.subject}
    else:
        @app.get("/items", dependencies=[world.auth.requires("admin")])
        async def admin_items(user: Principal) -> dict[str, Any]:
            return {"items": [1, 2, 3], "user": user.subject}
    return app


def cases(world: World) -> dict[str, tuple[App, Request]]:
    built = {}
    for label, (guard, credential) in CASES.items():
        extra = world.headers[credential] if credential else ()
        built[label] = (build(world, guard), Request(extra=extra))
    return built


def check_all(world: World | None = None) -> list[str]:
    world = world or make_world()
    problems = []
    for label, (app, request) in cases(world).items():
        captured = asyncio.run(harness.request_in_lifespan(app, request))
        if captured.status != 200 or b'"user":"ada"' not in captured.body:
            problems.append(f"{label}: {captured.status} {captured.body[:80]!r}")
        anonymous = asyncio.run(harness.request_in_lifespan(app, Request()))
        if label != "open" and anonymous.status != 401:
            problems.append(f"{label}: no credential answered {anonymous.status}, not 401")
    return problems


def time_logins(rounds: int) -> Sample:
    """Milliseconds per argon2id verification at the plugin's default parameters."""
    stored = passwords.hash("correct horse battery staple")
    values = []
    for _ in range(rounds):
        start = time.perf_counter()
        passwords.verify(stored, "correct horse battery staple")
        values.append((time.perf_counter() - start) * 1000)
    return Sample(values)


def report(settings: Settings, samples: dict[str, Sample], login_ms: Sample) -> str:
    lines = harness.in_process_header(
        "What authentication adds per request (in process), and one login", settings)
    lines.insert(-1, "- the stores (sessions, API keys, refresh tokens): in memory")
    base = samples["open"]
    rows = []
    for label in CASES:
        sample = samples[label]
        rows.append([label, sample.show(fmt_us), harness.ratio(sample, base).show(fmt_ratio),
                     f"{sample.median - base.median:+.2f}"])
    lines.append(harness.markdown_table(
        ["route (a JSON endpoint)", "µs per request", "/ open", "added µs"], rows))
    bearer_ms = samples["bearer JWT"].median / 1000
    lines += [
        f"One argon2id login (64 MiB, t=3, p=4): {login_ms.show(lambda v: f'{v:.0f}')} ms - "
        f"**{login_ms.median / bearer_ms:,.0f}x** one bearer-authenticated request.",
        "",
        *harness.in_process_footer(samples),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    settings = harness.in_process_settings("benchmarks.auth_overhead", __doc__ or "", argv)
    world = make_world()
    progress("checking the responses")
    problems = check_all(world)
    if problems:
        raise SystemExit("wrong responses, nothing measured:\n" + "\n".join(problems))
    measured: dict[str, tuple[harness.ASGIApp, HTTPRequest]] = {"harness": harness.harness_case()}
    measured.update(cases(world))
    progress(f"measuring {len(measured)} cases, {settings.inproc_rounds} interleaved rounds "
             f"on {os.cpu_count()} CPU(s)")
    samples = harness.measure_in_process(measured, settings.inproc_rounds, settings.round_seconds)
    progress("timing argon2id logins")
    login_ms = time_logins(3 if settings.quick else 7)
    text = report(settings, samples, login_ms)
    path = harness.write_report("auth_overhead", text + "\n")
    print(text)
    progress(f"written to {path}")


if __name__ == "__main__":
    main()

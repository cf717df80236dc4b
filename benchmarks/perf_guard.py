"""The performance guard: instructions per request, against a committed budget.

Timings on a shared 2-core machine swing by 10-30% from run to run, so they
cannot tell a regression from a busy neighbour. The number of instructions
the CPU executes for one request can: valgrind's callgrind counts them, and
the same program on the same input gives the same count whatever else the
machine is doing. ``make perf-guard`` (run by ``.ci/run``) runs every hot-path
scenario under callgrind and fails when one costs more than 10% over its
budget in ``benchmarks/perf_budget.json``.

How one run measures many scenarios: the scenarios run in one child process
(``python -m benchmarks.perf_guard --child``) under
``valgrind --tool=callgrind --dump-before=getppid``. The child calls
``os.getppid()`` - a system call nothing else here makes - between phases, and
callgrind writes the counters out and starts afresh each time it does. For
each scenario: a warm-up (its dump is ignored: first calls build caches), then
``CALLS`` requests, whose dump divided by ``CALLS`` is the figure. The loop
itself (a fresh scope per request, as a server makes) is the ``empty``
scenario, so a reader can subtract it.

The teaching server's scenarios (``server: ...``, ``SERVER_SCENARIOS``) need
sockets, so they cannot run in that child: the whole
``python -m minimal_asgi.server`` process serves examples/hello under a
callgrind of its own, and a blocking client (another process, not counted)
sends ``GET /`` one request after the other, with keep-alive and with
``Connection: close``. ``callgrind_control`` zeroes the server's counters
after a warm-up and dumps them after the counted requests - the same
measurement as ``python -m benchmarks.server_vs_uvicorn --instructions``, so
the figures are those of chapter 10. It adds about half a minute to the run.

An intentional change of cost updates the budget in the same commit, with the
reason in its ``why``: ``python -m benchmarks.perf_guard --update "why"``.

Run: ``make perf-guard`` or ``python -m benchmarks.perf_guard`` (from the
repository root; needs valgrind: ``apt-get install -y valgrind``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks import harness
from benchmarks.harness import ASGIApp, HTTPRequest

BUDGET_FILE = harness.HERE / "perf_budget.json"
TOLERANCE = 0.10  # fail above budget x 1.10
CALLS = 1_000  # requests per scenario; the count per request does not depend on it
WARMUP = 200
MARKER = "getppid"  # callgrind dumps before each call of this libc function

Scenario = Callable[[], tuple[ASGIApp, HTTPRequest]]

# The teaching server's scenarios, counted in its own process (see above): each
# name, and whether each request comes on a new connection (Connection: close).
SERVER_SCENARIOS = {"server: keep-alive GET": False, "server: Connection: close GET": True}


def scenarios() -> dict[str, Scenario]:
    """Every guarded scenario, by name: the core's hot paths (the in-process
    overhead scenarios of chapter 20), then each plugin on a route that uses
    it and, for the ones that wrap routes, on one that does not."""
    from benchmarks import (
        auth_overhead,
        cache_overhead,
        cors_overhead,
        idempotency_overhead,
        metrics_overhead,
        ratelimit_overhead,
        security_overhead,
    )
    from benchmarks.apps.overhead import SCENARIOS, build

    found: dict[str, Scenario] = {"empty": harness.harness_case}
    for name, scenario in SCENARIOS.items():
        found[name] = lambda n=name, r=scenario.request: (build("minimal_asgi", n), r)
    found["cors: simple GET"] = lambda: (
        cors_overhead.build("cors"), cors_overhead.REQUESTS["simple GET"])
    found["cors: preflight"] = lambda: (
        cors_overhead.build("cors"), cors_overhead.REQUESTS["preflight"])
    found["cors: no Origin"] = lambda: (
        cors_overhead.build("cors"), cors_overhead.REQUESTS["no Origin"])
    # The yardstick of the goal "CORS at most 1.5x a pass-through middleware".
    found["cors: the same app behind a pass-through"] = lambda: (
        cors_overhead.build("pass"), cors_overhead.REQUESTS["simple GET"])
    found["security headers"] = lambda: (
        security_overhead.build("headers"), security_overhead.CASES["SecurityHeaders, http"][1])
    found["trusted hosts"] = lambda: (
        security_overhead.build("hosts"), security_overhead.CASES["TrustedHosts, exact host"][1])
    found["rate limit: route without a limit"] = lambda: (
        ratelimit_overhead.build("unlimited"), ratelimit_overhead.REQUEST)
    found["rate limit: limited, in memory"] = lambda: (
        ratelimit_overhead.build("memory:sliding-window"), ratelimit_overhead.REQUEST)
    found["cache: route without cache="] = lambda: (
        cache_overhead.create_app("memory"), cache_overhead.PLAIN)
    found["cache: hit, in memory"] = lambda: (
        cache_overhead.create_app("memory"), cache_overhead.CACHED)
    for label in ("open", "bearer JWT", 'bearer JWT + requires("admin")', "session cookie",
                  "API key"):
        found[f"auth: {label}"] = lambda label=label: auth_overhead.cases(
            auth_overhead.make_world())[label]
    for label in ("not opted in", "retry"):
        found[f"idempotency: {label}, in memory"] = lambda label=label: (
            idempotency_overhead.cases(["memory"], "perf-guard:")[f"memory: {label}"])
    found["metrics"] = lambda: (metrics_overhead.build("metrics"), metrics_overhead.REQUEST)
    # Plugins that add routes of their own and wrap nothing: JSON hello in an
    # app with the plugin installed costs what JSON hello costs without it.
    found["health: JSON hello in an app with Health()"] = lambda: _hello_with(_health())
    found["health: /health/live"] = lambda: (
        _hello_with(_health())[0], HTTPRequest(path="/health/live"))
    found["storage: JSON hello in an app with Storage()"] = lambda: _hello_with(_storage())
    return found


def _hello_with(plugin: Any) -> tuple[ASGIApp, HTTPRequest]:
    from minimal_asgi import App

    app = App(plugins=[plugin], openapi_url=None, docs_url=None)

    @app.get("/json")
    async def hello() -> dict[str, str]:
        return {"message": "Hello, World!"}

    return app, HTTPRequest(path="/json")


def _health() -> Any:
    from minimal_asgi_health import Health

    return Health()


def _storage() -> Any:
    from minimal_asgi_storage import LocalStorage, Storage

    return Storage(LocalStorage(tempfile.mkdtemp(prefix="perf-guard-storage-")))


# -- the child: runs the scenarios, marking the phases ------------------------------
def run_child(names: Sequence[str], known: dict[str, Scenario] | None = None) -> None:
    """``known``: another script's scenarios (benchmarks/cors_overhead.py counts its own)."""
    all_scenarios = scenarios() if known is None else known
    # Built first, outside the event loop: some set-ups run one of their own.
    built = [all_scenarios[name]() for name in names]

    async def run() -> None:
        for app, request in built:
            async with harness.Lifespan(app) as lifespan:
                await harness._time_calls(app, request, lifespan.state, WARMUP)
                os.getppid()  # dump: the warm-up (ignored)
                await harness._time_calls(app, request, lifespan.state, CALLS)
                os.getppid()  # dump: CALLS requests

    asyncio.run(run())


# -- the parent: valgrind, the dumps, the budget ---------------------------------------
def count(names: Sequence[str], module: str = "benchmarks.perf_guard") -> dict[str, float]:
    """Instructions per request of each scenario, from one callgrind run (of
    ``python -m module --child``: this script's scenarios, or another's)."""
    valgrind = harness.valgrind_path()
    if valgrind is None:
        raise SystemExit("valgrind is not installed: apt-get install -y valgrind "
                         "(make perf-guard does it where it can)")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        done = subprocess.run(
            [valgrind, "--tool=callgrind", f"--dump-before={MARKER}",
             f"--callgrind-out-file={out}", sys.executable, "-m", module,
             "--child", *names],
            capture_output=True, text=True, cwd=harness.REPO,
            # The same hash seed each run: dict and set layouts, and so the
            # instructions spent probing them, do not change between runs.
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        if done.returncode != 0:
            raise SystemExit(f"the scenarios failed under callgrind:\n{done.stderr[-3000:]}")
        # Dump n (out.1, out.2, ...) holds what ran before the n-th marker call.
        totals = [_total(Path(f"{out}.{n}")) for n in range(1, 2 * len(names) + 1)]
    return {name: totals[2 * i + 1] / CALLS for i, name in enumerate(names)}


def count_server(names: Sequence[str]) -> dict[str, float]:
    """Instructions per request of the teaching server's process, for each of
    ``SERVER_SCENARIOS`` named: one server under callgrind for all of them,
    started and counted as ``server_vs_uvicorn --instructions`` does."""
    from benchmarks import server_vs_uvicorn

    if harness.valgrind_path() is None:
        raise SystemExit("valgrind is not installed: apt-get install -y valgrind "
                         "(make perf-guard does it where it can)")
    label = server_vs_uvicorn.MINIMAL
    with tempfile.TemporaryDirectory() as folder, harness.Running(
        label, server_vs_uvicorn.SERVERS[label], callgrind_dir=folder
    ) as server:
        server.check(server_vs_uvicorn.EXPECTED)
        return {
            name: harness.server_instructions(server, folder, SERVER_SCENARIOS[name],
                                              server_vs_uvicorn.INSTRUCTION_REQUESTS)
            for name in names
        }


def _total(path: Path) -> int:
    found = re.search(r"^totals: (\d+)", path.read_text(), re.MULTILINE)
    if found is None:
        raise SystemExit(f"no totals in {path}: is this valgrind's callgrind?")
    return int(found.group(1))


def load_budget() -> dict[str, Any]:
    if not BUDGET_FILE.exists():
        return {"python": "", "scenarios": {}}
    return json.loads(BUDGET_FILE.read_text())


def compare(counts: dict[str, float], budget: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """The table rows, and the scenarios over budget (with why)."""
    rows, over = [], []
    for name, measured in counts.items():
        entry = budget["scenarios"].get(name)
        if entry is None:
            rows.append([name, f"{measured:,.0f}", "-", "-", "no budget yet"])
            over.append(f"{name}: no budget; add one with --update")
            continue
        limit = entry["instructions"]
        ratio = measured / limit
        verdict = "ok"
        if ratio > 1 + TOLERANCE:
            verdict = "**over budget**"
            over.append(f"{name}: {measured:,.0f} instructions per request, "
                        f"{ratio:.2f}x its budget of {limit:,.0f}")
        elif ratio < 1 - TOLERANCE:
            verdict = "well under: lower the budget"
        rows.append([name, f"{measured:,.0f}", f"{limit:,.0f}", f"{ratio:.2f}x", verdict])
    return rows, over


def update(counts: dict[str, float], budget: dict[str, Any], why: str) -> dict[str, Any]:
    scenarios_ = budget["scenarios"]
    for name, measured in counts.items():
        old = scenarios_.get(name, {}).get("instructions")
        if old is None or abs(measured - old) / old > 0.01:
            scenarios_[name] = {"instructions": round(measured), "why": why}
    return {"python": platform.python_version(), "scenarios": scenarios_}


def main(argv: Sequence[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["--child"]:
        run_child(arguments[1:])
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_guard", description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--update", metavar="WHY",
                        help="write the measured counts into the budget, with the reason")
    parser.add_argument("--scenarios", nargs="+", help="only these (default: all)")
    args = parser.parse_args(arguments)
    known = [*scenarios(), *SERVER_SCENARIOS]
    names = args.scenarios or known
    unknown = set(names) - set(known)
    if unknown:
        raise SystemExit(f"unknown scenarios: {sorted(unknown)}; known: {known}")
    in_process = [name for name in names if name not in SERVER_SCENARIOS]
    on_the_server = [name for name in names if name in SERVER_SCENARIOS]
    budget = load_budget()
    counts: dict[str, float] = {}
    if in_process:
        harness.progress(f"counting instructions of {len(in_process)} scenarios under callgrind")
        counts |= count(in_process)
    if on_the_server:
        harness.progress(f"counting instructions of the server's {len(on_the_server)} "
                         "scenarios under callgrind")
        counts |= count_server(on_the_server)
    if args.update:
        BUDGET_FILE.write_text(json.dumps(update(counts, budget, args.update), indent=2) + "\n")
        harness.progress(f"budget written to {BUDGET_FILE.relative_to(harness.REPO)}")
        budget = load_budget()
    rows, over = compare(counts, budget)
    print(harness.markdown_table(
        ["scenario", "instructions per request", "budget", "x budget", ""], rows))
    if budget["python"] and budget["python"] != platform.python_version():
        print(f"The budget was counted on Python {budget['python']}, this is "
              f"{platform.python_version()}: the counts are not comparable, nothing is checked.")
        return
    if over:
        raise SystemExit("outside the instruction budget (more than "
                         f"{TOLERANCE:.0%} above it, or none set):\n- " + "\n- ".join(over)
                         + "\nIf the change is intended, run python -m benchmarks.perf_guard "
                         "--update 'the reason' and commit the budget with it.")
    print(f"All {len(counts)} scenarios within {TOLERANCE:.0%} of their budget.")


if __name__ == "__main__":
    main()

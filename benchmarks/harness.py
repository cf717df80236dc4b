"""The measuring kit every benchmark script shares.

Two ways to measure an ASGI app, and the bookkeeping around both:

* **In process**: call the app directly with a synthetic ``scope`` and a no-op
  ``receive``/``send`` - no sockets, no server, no parsing. N calls per round,
  the frameworks interleaved round by round (A B A B ...), the median of the
  rounds quoted with its spread. This is the stable figure for what a
  framework itself costs per request.
* **Over the wire**: the app under uvicorn (1 worker, httptools, uvloop, no
  access log) on 127.0.0.1, loaded by ``wrk`` with fixed connections and
  duration after a warm-up; again interleaved, again median and spread.

Why interleave: on a small, shared machine the speed drifts (CPU boost,
neighbours, caches). Measuring A then B then A then B spreads that drift over
both instead of handing all of it to whichever ran last. A figure whose rounds
spread more than 10% around the median is flagged: treat it with suspicion.

Every report records the versions, the machine and the exact command next to
the figures, because a number without them cannot be compared with anything.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import http.client
import importlib.metadata
import json
import os
import platform
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
T = TypeVar("T")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
WRK_SCRIPT = HERE / "wrk_report.lua"
SPREAD_LIMIT = 0.10  # (max - min) / median above this: flagged as noisy
WRK_HINT = (
    "wrk is not installed, so the over-the-wire part is skipped. Install it with "
    "`apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk` (macOS), then run again."
)

PACKAGES = (
    "minimal-asgi", "starlette", "fastapi", "litestar", "blacksheep", "pydantic", "msgspec",
    "uvicorn", "httptools", "uvloop", "anyio", "asyncpg", "psycopg", "psycopg-binary",
)


# -- command line --------------------------------------------------------------
@dataclass
class Settings:
    """How long and how often to measure; ``--quick`` trades precision for time."""

    quick: bool
    rounds: int  # interleaved rounds over the wire (each framework once per round)
    duration: int  # seconds of one wrk run
    warmup: int  # seconds of wrk before the measured rounds, per server
    inproc_rounds: int
    round_seconds: float  # target length of one in-process round, per framework
    connections: int
    wire: bool
    charts: bool
    pin: bool
    command: str = ""
    load_at_start: tuple[float, float, float] = field(default_factory=os.getloadavg)
    instructions: bool = False  # also count instructions per call under callgrind

    @property
    def server_cpus(self) -> str | None:
        """With pinning, the server gets CPU 0 and wrk CPU 1: they never fight."""
        return "0" if self.pin else None

    @property
    def wrk_cpus(self) -> str | None:
        return "1" if self.pin else None


def parse_settings(module: str, description: str,
                   extra: Callable[[argparse.ArgumentParser], None] | None = None,
                   argv: Sequence[str] | None = None) -> tuple[Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--quick", action="store_true",
                        help="short runs (1 s wrk runs, 5 rounds): the whole suite in minutes")
    parser.add_argument("--rounds", type=int, help="interleaved wrk rounds (default 7; quick 5)")
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 10; quick 1)")
    parser.add_argument("--warmup", type=int,
                        help="seconds of warm-up per server (default 3; quick 1)")
    parser.add_argument("--connections", type=int, default=64,
                        help="wrk connections for throughput runs (default 64)")
    parser.add_argument("--no-wire", action="store_true",
                        help="in-process figures only (no uvicorn, no wrk)")
    parser.add_argument("--no-charts", action="store_true", help="do not draw PNG charts")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin the server and wrk to separate CPUs with taskset")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    quick = args.quick
    settings = Settings(
        quick=quick,
        rounds=args.rounds or (5 if quick else 7),
        duration=args.duration or (1 if quick else 10),
        warmup=args.warmup or (1 if quick else 3),
        inproc_rounds=15 if quick else 31,
        round_seconds=0.05 if quick else 0.2,
        connections=args.connections,
        wire=not args.no_wire,
        charts=not args.no_charts,
        pin=not args.no_pin and shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2,
        command=" ".join(["python", "-m", module, *map(shlex.quote, sys.argv[1:] if argv is None
                                                        else argv)]),
    )
    if settings.wire and wrk_path() is None:
        print(WRK_HINT, file=sys.stderr)
        settings.wire = False
    return settings, args


# -- statistics ----------------------------------------------------------------
@dataclass
class Sample:
    """The rounds of one measurement: quoted as median and relative spread."""

    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> float:
        median = self.median
        return (max(self.values) - min(self.values)) / median if median else 0.0

    @property
    def noisy(self) -> bool:
        return len(self.values) > 1 and self.spread > SPREAD_LIMIT

    def show(self, fmt: Callable[[float], str]) -> str:
        flag = " ⚠" if self.noisy else ""
        return f"{fmt(self.median)} ±{self.spread * 50:.0f}%{flag}"


def ratio(a: Sample, b: Sample) -> Sample:
    """A over B, round by round: each pair was measured side by side, so a burst of
    noise that slows one round slows both, and their ratio stays put."""
    return Sample([x / y for x, y in zip(a.values, b.values, strict=True)])


def fmt_us(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def fmt_rps(value: float) -> str:
    return f"{value:,.0f}"


def fmt_ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}x"


SPREAD_NOTE = (
    "Figures are the median of the interleaved rounds; `±` is half the spread "
    "(max - min) as a share of the median; ⚠ marks a spread over 10%. A ratio is the "
    "median of the per-round ratios (each round measures both sides back to back), with "
    "its own spread."
)


# -- the machine and the versions ------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                             capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, text=True,
                               capture_output=True, check=True).stdout.strip()
        return rev + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    path = wrk_path()
    if path is None:
        return "not installed"
    out = subprocess.run([path, "--version"], text=True, capture_output=True)
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else "unknown"


def _loads(values: Sequence[float]) -> str:
    return "/".join(f"{x:.2f}" for x in values)


def environment(settings: Settings) -> list[tuple[str, str]]:
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return [
        ("date (UTC)", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")),
        ("machine", f"{os.cpu_count()} CPU(s), {_cpu_model()}, {platform.system()} "
                    f"{platform.release()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("packages", ", ".join(versions)),
        ("wrk", wrk_version()),
        ("load average (1, 5, 15 min)",
         f"{_loads(settings.load_at_start)} at the start, {_loads(os.getloadavg())} at the end"
         " (other work on the machine adds noise: see the spreads)"),
        ("git", _git_revision()),
    ]


def redis_answers(url: str) -> bool:
    """Does a server accept connections at this Redis URL (within a second)?"""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1):
            return True
    except OSError:
        return False


def in_process_settings(module: str, description: str,
                        argv: Sequence[str] | None = None) -> Settings:
    """The settings of a benchmark measured in process only (a plugin's cost):
    ``--quick`` (7 rounds of ~0.1 s per case) or 15 rounds of ~0.4 s."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--quick", action="store_true",
                        help="7 rounds of ~0.1 s per case (default: 15 rounds of ~0.4 s)")
    parser.add_argument("--rounds", type=int, help="interleaved in-process rounds")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per call under valgrind's callgrind")
    args = parser.parse_args(argv)
    arguments = sys.argv[1:] if argv is None else list(argv)
    return Settings(
        instructions=args.instructions,
        quick=args.quick,
        rounds=0, duration=0, warmup=0, connections=0,  # (no over-the-wire part)
        inproc_rounds=args.rounds or (7 if args.quick else 15),
        round_seconds=0.1 if args.quick else 0.4,
        wire=False, charts=False, pin=False,
        command=" ".join(["python", "-m", module, *map(shlex.quote, arguments)]),
    )


def in_process_header(title: str, settings: Settings) -> list[str]:
    """The top of an in-process report: title, command, machine, settings."""
    return [
        f"# {title}",
        "",
        f"Command: `{settings.command}`",
        "",
        *(f"- {key}: {value}" for key, value in environment(settings) if key != "wrk"),
        f"- settings: {settings.inproc_rounds} interleaved rounds of "
        f"~{settings.round_seconds} s per case",
        "",
    ]


def in_process_footer(samples: Mapping[str, Sample]) -> list[str]:
    """The bottom of an in-process report: the loop's own cost, how to read it."""
    return [
        f"The measuring loop itself (an empty app): {samples['harness'].show(fmt_us)} µs per "
        "call, included in every figure.",
        "",
        SPREAD_NOTE,
    ]


def measure_checked(settings: Settings, problems: Sequence[str],
                    cases: Mapping[str, tuple[ASGIApp, HTTPRequest]]) -> dict[str, Sample]:
    """Measure ``cases`` (plus the empty loop, as ``"harness"``) in interleaved
    rounds - unless a response was wrong (``problems``): then nothing is."""
    if problems:
        raise SystemExit("wrong responses, nothing measured:\n" + "\n".join(problems))
    cases = {"harness": harness_case(), **cases}
    progress(f"measuring {len(cases)} cases, {settings.inproc_rounds} interleaved rounds "
             f"on {os.cpu_count()} CPU(s)")
    return measure_in_process(dict(cases), settings.inproc_rounds, settings.round_seconds)


# -- instructions: the figure that does not move with the machine's load ---------------
# A shared 2-core machine makes every time figure noisy. valgrind's callgrind
# counts the instructions the CPU executes instead: the same program with the
# same input gives the same count whatever else runs. A benchmark script runs
# itself as a child, ``python -m <module> --count <case> <n>``, which calls one
# case n times; two children (few and many calls) under callgrind, and the
# difference divided by the difference in calls is the cost of one call, with
# start-up and warm-up cancelled out.

COUNT_FLAG = "--count"


def valgrind_path() -> str | None:
    return shutil.which("valgrind")


def count_child(argv: Sequence[str],
                cases: Mapping[str, Callable[[], tuple[ASGIApp, HTTPRequest]]]) -> bool:
    """In a script's ``main``: if ``argv`` is ``--count CASE N``, call that case
    N times after a warm-up and say True (the script has nothing else to do)."""
    if list(argv[:1]) != [COUNT_FLAG]:
        return False
    case, calls = argv[1], int(argv[2])
    app, request = cases[case]()

    async def run() -> None:
        async with Lifespan(app) as lifespan:
            await _time_calls(app, request, lifespan.state, 300)  # warm: as when timed
            await _time_calls(app, request, lifespan.state, calls)

    asyncio.run(run())
    return True


def instructions_per_call(module: str, case: str, few: int = 2_000,
                          many: int = 12_000) -> float:
    """Instructions one call of ``case`` executes (see the comment above)."""
    valgrind = valgrind_path()
    if valgrind is None:
        raise RuntimeError("valgrind is not installed (apt-get install -y valgrind)")
    totals = []
    for calls in (few, many):
        done = subprocess.run(
            [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null",
             sys.executable, "-m", module, COUNT_FLAG, case, str(calls)],
            capture_output=True, text=True, cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": "0"},  # the same dict layouts each time
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise RuntimeError(f"callgrind failed on {module} {case}:\n{done.stderr[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / (many - few)


def report_header(title: str, settings: Settings, what: str) -> str:
    lines = [f"# {title}", "", what, "", f"Command: `{settings.command}`", ""]
    lines += [f"- {key}: {value}" for key, value in environment(settings)]
    lines.append(
        f"- settings: in-process {settings.inproc_rounds} rounds of ~{settings.round_seconds} s "
        f"per framework; over the wire {settings.rounds} interleaved rounds of "
        f"{settings.duration} s after {settings.warmup} s warm-up per server"
        + ("; server pinned to CPU 0 and wrk to CPU 1 with taskset" if settings.pin else "")
        + ("" if settings.wire else "; **over the wire skipped** (no wrk or --no-wire)")
    )
    return "\n".join(lines) + "\n"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---" if i == 0 else "--:" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_report(name: str, text: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(text)
    return path


def pyplot(settings: Settings) -> Any | None:
    """matplotlib's pyplot on the file-only backend, or None (charts are optional)."""
    if not settings.charts:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no charts drawn",
              file=sys.stderr)
        return None
    return plt


def save_chart(figure: Any, name: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.png"
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- one HTTP request, as a scope, as wrk settings, as an http.client call ---------
@dataclass(frozen=True)
class HTTPRequest:
    method: str = "GET"
    path: str = "/"
    query: str = ""
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # more request headers (wrk only), e.g. Connection

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    def scope(self) -> dict[str, Any]:
        """The scope uvicorn would build for this request (same keys, same types)."""
        headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")]
        if self.body:
            headers.append((b"content-length", str(len(self.body)).encode()))
        if self.content_type:
            headers.append((b"content-type", self.content_type.encode()))
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
            "scheme": "http",
            "method": self.method,
            "root_path": "",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": self.query.encode(),
            "headers": headers,
            "state": {},
        }

    def wrk_env(self) -> dict[str, str]:
        env = {"BENCH_METHOD": self.method}
        if self.headers:
            env["BENCH_HEADERS"] = "\n".join(f"{name}: {value}" for name, value in self.headers)
        if self.body:
            env["BENCH_BODY"] = self.body.decode()
            env["BENCH_CONTENT_TYPE"] = self.content_type or "application/octet-stream"
        return env


@dataclass
class Captured:
    """A response as the messages an app sent."""

    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        key = name.lower().encode()
        for k, v in self.headers:
            if k.lower() == key:
                return v.decode("latin-1")
        return None


async def _noop_send(message: Any) -> None:
    return None


def _receive_for(request: HTTPRequest) -> Callable[[], Awaitable[dict[str, Any]]]:
    message = {"type": "http.request", "body": request.body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    return receive


class Lifespan:
    """Run an app's lifespan around in-process calls, as a server would.

    An app that fails on the lifespan scope is treated as not supporting it
    (what uvicorn's ``--lifespan auto`` does); a failed startup raises.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._supported = True

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": self.state}
        try:
            await self.app(scope, self._inbox.get, self._outbox.put)
        except Exception as exc:
            await self._outbox.put({"type": "unsupported", "message": repr(exc)})
        else:
            await self._outbox.put({"type": "returned"})

    async def __aenter__(self) -> Lifespan:
        self._task = asyncio.create_task(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        message = await self._outbox.get()
        if message["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"startup failed: {message.get('message')}")
        self._supported = message["type"] == "lifespan.startup.complete"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        if self._supported:
            await self._inbox.put({"type": "lifespan.shutdown"})
            await self._outbox.get()
        await self._task


async def call_once(app: ASGIApp, request: HTTPRequest,
                    state: Mapping[str, Any] | None = None) -> Captured:
    """One request through ``app`` in process; what it sent, collected."""
    captured = Captured()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            captured.status = message["status"]
            captured.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            captured.body += message.get("body", b"")

    scope = request.scope()
    scope["state"] = dict(state or {})
    await app(scope, _receive_for(request), send)
    return captured


async def request_in_lifespan(app: ASGIApp, request: HTTPRequest) -> Captured:
    """Start the app, send one request, stop it: what the smoke test uses."""
    async with Lifespan(app) as lifespan:
        return await call_once(app, request, lifespan.state)


async def _time_calls(app: ASGIApp, request: HTTPRequest, state: dict[str, Any], n: int) -> float:
    template = request.scope()
    receive = _receive_for(request)
    send = _noop_send
    copy = dict
    started = time.perf_counter()
    for _ in range(n):
        scope = copy(template)  # frameworks write into the scope: a fresh one per request,
        scope["state"] = copy(state)  # as uvicorn makes (the harness row measures this cost)
        await app(scope, receive, send)
    return time.perf_counter() - started


async def _measure_in_process(cases: Mapping[str, tuple[ASGIApp, HTTPRequest]],
                              rounds: int, round_seconds: float) -> dict[str, Sample]:
    async with contextlib.AsyncExitStack() as stack:
        states = {}
        sizes = {}
        for label, (app, request) in cases.items():
            states[label] = (await stack.enter_async_context(Lifespan(app))).state
            await _time_calls(app, request, states[label], 200)  # warm caches and lazy builds
            per_call = await _time_calls(app, request, states[label], 500) / 500
            sizes[label] = max(500, int(round_seconds / per_call))
        values: dict[str, list[float]] = {label: [] for label in cases}
        for _ in range(rounds):
            for label, (app, request) in cases.items():
                gc.collect()
                n = sizes[label]
                values[label].append(await _time_calls(app, request, states[label], n) / n * 1e6)
    return {label: Sample(v) for label, v in values.items()}


def measure_in_process(cases: Mapping[str, tuple[ASGIApp, HTTPRequest]],
                       rounds: int, round_seconds: float) -> dict[str, Sample]:
    """µs per request for each case, rounds interleaved across the cases."""
    return asyncio.run(_measure_in_process(cases, rounds, round_seconds))


async def _empty_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        raise RuntimeError("no lifespan")


def harness_case() -> tuple[ASGIApp, HTTPRequest]:
    """An app that does nothing: what the measuring loop itself costs per call."""
    return _empty_app, HTTPRequest(path="/")


# -- over the wire ---------------------------------------------------------------
def free_port() -> int:
    """A port nothing listens on now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(process: subprocess.Popen[bytes], port: int, seconds: float) -> str | None:
    """Poll 127.0.0.1:``port`` until something accepts: None then, or what went
    wrong ("exited", "did not start") - the caller says whose log to show."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with {process.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return None
        except OSError:
            time.sleep(0.1)
    return f"did not start listening within {seconds:.0f} s"


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, 15 s to finish (a server drains), then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Server:
    """One uvicorn process serving ``benchmarks.serve:create`` for ``target``.

    ``target`` names the app to build, as ``"<apps module>:<framework>:<case>"``;
    ``env`` adds variables the app reads at startup (thread limiter, pool size).
    """

    def __init__(self, target: str, *, workers: int = 1, env: Mapping[str, str] | None = None,
                 cpus: str | None = None, callgrind_dir: str | None = None) -> None:
        self.target = target
        self.workers = workers
        self.env = dict(env or {})
        self.cpus = cpus
        # Under callgrind the server counts its instructions (see server_instructions).
        self.callgrind_dir = callgrind_dir
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__

    def url(self, request: HTTPRequest) -> str:
        return f"http://127.0.0.1:{self.port}{request.target}"

    @property
    def pid(self) -> int:
        """The server's process id (one worker: the process that serves)."""
        if self._process is None:
            raise RuntimeError("the server is not started: use it in a with block")
        return self._process.pid

    def __enter__(self) -> Server:
        command = [
            sys.executable, "-m", "uvicorn", "benchmarks.serve:create", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
            "--http", "httptools", "--loop", "uvloop", "--no-access-log",
            "--log-level", "warning", "--lifespan", "auto",
        ]
        env = {**os.environ, **self.env, "BENCH_APP": self.target, "PYTHONPATH": str(REPO)}
        if self.callgrind_dir is not None:
            command = ["valgrind", "--tool=callgrind",
                       f"--callgrind-out-file={self.callgrind_dir}/callgrind.%p", *command]
            env["PYTHONHASHSEED"] = "0"  # the same dict layouts, so the same count each run
        if self.cpus is not None:  # (taskset outside valgrind: it does not follow exec)
            command = ["taskset", "-c", self.cpus, *command]
        self._process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self._log,
                                         stderr=subprocess.STDOUT)
        # Under callgrind, Python runs some 50 times slower: start-up takes a minute.
        problem = wait_until_listening(self._process, self.port,
                                       300 if self.callgrind_dir else 30)
        if problem is not None:
            log = self.log()
            self.__exit__()
            raise RuntimeError(f"server for {self.target} {problem}:\n{log}")
        if self.workers > 1:
            time.sleep(1.5)  # the port opens with the first worker; let the others come up
        return self

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def fetch(self, request: HTTPRequest) -> Captured:
        """One real request over a socket (to check the app answers correctly)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"content-type": request.content_type} if request.content_type else {}
            connection.request(request.method, request.target, body=request.body or None,
                               headers=headers)
            response = connection.getresponse()
            return Captured(response.status,
                            [(k.lower().encode(), v.encode()) for k, v in response.getheaders()],
                            response.read())
        finally:
            connection.close()

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            stop_process(self._process)
        self._log.close()


# -- any server's process: started, asked, counted under callgrind -------------------
class Running:
    """One server process, ``python ARGV --host 127.0.0.1 --port PORT`` on a free port.

    Stopped on exit. ``cpus`` pins it with taskset; ``callgrind_dir`` runs it under valgrind's
    callgrind, its counters written there (see ``server_instructions``).
    """

    def __init__(self, label: str, argv: Sequence[str], *, cpus: str | None = None,
                 callgrind_dir: str | None = None) -> None:
        self.label = label
        self.port = free_port()
        command = [sys.executable, *argv, "--host", "127.0.0.1", "--port", str(self.port)]
        if callgrind_dir is not None:  # (valgrind outside taskset: it does not follow exec)
            command = ["valgrind", "--tool=callgrind",
                       f"--callgrind-out-file={callgrind_dir}/callgrind.%p", *command]
        if cpus is not None:
            command = ["taskset", "-c", cpus, *command]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(command, cwd=REPO, stdout=self._log,
                                        stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONHASHSEED": "0"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        return self.process.pid

    def __enter__(self) -> Running:
        # (under callgrind, start-up takes minutes)
        problem = wait_until_listening(self.process, self.port, 300)
        if problem is not None:
            log = self.log()
            self.__exit__()
            raise SystemExit(f"{self.label} {problem}:\n{log}")
        return self

    def log(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def check(self, expected: Any) -> None:
        """``GET /`` answers 200 with the JSON ``expected``, before anything is measured."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/")
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200 or json.loads(body) != expected:
            raise SystemExit(f"{self.label} answers {response.status} {body!r}, not {expected}")

    def __exit__(self, *exc: object) -> None:
        stop_process(self.process)
        self._log.close()


def raw_request(request: HTTPRequest, close: bool = False) -> bytes:
    """``request`` as the bytes a client writes: HTTP/1.1, keep-alive unless
    ``close`` (or the request's own headers) ask for ``Connection: close``."""
    lines = [f"{request.method} {request.target} HTTP/1.1", "Host: 127.0.0.1"]
    if request.body:
        lines.append(f"Content-Length: {len(request.body)}")
    if request.content_type:
        lines.append(f"Content-Type: {request.content_type}")
    lines += [f"{name}: {value}" for name, value in request.headers]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body


def blocking_requests(port: int, count: int, close: bool,
                      request: HTTPRequest = HTTPRequest()) -> None:
    """``count`` copies of ``request`` (``GET /`` unless given) one after the
    other: on one connection, or one connection each.

    Each waits for the whole answer before the next is sent, so the server is
    idle between requests: what it executes for ``count`` of them does not
    depend on how fast this client is (wrk's timing would make it vary).
    """
    data = raw_request(request, close)
    sock: socket.socket | None = None
    for _ in range(count):
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.sendall(data)
        response = b""
        while not _complete(response, close):
            received = sock.recv(65536)
            if not received:
                break
            response += received
        if not response.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"unexpected answer: {response[:200]!r}")
        if close:
            sock.close()
            sock = None
    if sock is not None:
        sock.close()


def _complete(response: bytes, close: bool) -> bool:
    end = response.find(b"\r\n\r\n")
    if end < 0 or close:  # with Connection: close the server's FIN ends the response
        return False
    for line in response[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(response) >= end + 4 + int(value)
    return False


def callgrind_total(directory: str, pid: int, label: str) -> int:
    """Have callgrind dump process ``pid``'s counters (as ``label``); their total."""
    subprocess.run(["callgrind_control", "-d", label, str(pid)], check=True,
                   capture_output=True)
    dumps = sorted(Path(directory).glob(f"callgrind.{pid}.*"), key=lambda p: p.stat().st_mtime)
    found = re.search(r"^(?:summary|totals): (\d+)", dumps[-1].read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no total in {dumps[-1]}")
    return int(found.group(1))


def server_instructions(server: Running | Server, directory: str, close: bool, requests: int,
                        warmup: int = 100, request: HTTPRequest = HTTPRequest()
                        ) -> float:
    """Instructions per request of ``server`` (started with ``callgrind_dir=directory``).

    ``warmup`` requests first (imports, caches), then the counters are zeroed
    (``callgrind_control -z``), ``requests`` are sent with
    ``blocking_requests``, and the counters dumped: their total over
    ``requests``. Between requests the server is idle, and the client is not
    counted (another process, not under valgrind).
    """
    pid = server.pid
    blocking_requests(server.port, warmup, close, request)
    subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True)
    blocking_requests(server.port, requests, close, request)
    label = "close" if close else "keep-alive"
    return callgrind_total(directory, pid, label) / requests


# Over the wire under callgrind: this many requests after WIRE_WARMUP, one at a
# time. Per-request counts settle by about 1,000 (the garbage collector's
# periodic passes average out); 2,000 leaves a margin.
WIRE_REQUESTS = 2_000
WIRE_WARMUP = 300


def uvicorn_instructions(target: str, request: HTTPRequest, expected: Expected) -> float:
    """Instructions per request of the whole uvicorn process (httptools, uvloop,
    the app ``target`` names) under callgrind, once it has answered
    ``request`` as ``expected``: the over-the-wire figure without the
    machine's noise. A minute or so, most of it start-up."""
    with tempfile.TemporaryDirectory() as folder, \
            Server(target, callgrind_dir=folder) as server:
        problems = check(server.fetch(request), expected)
        if problems:
            raise RuntimeError(f"{target} over HTTP: " + "; ".join(problems))
        return server_instructions(server, folder, close=False, requests=WIRE_REQUESTS,
                                   warmup=WIRE_WARMUP, request=request)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has spent so far (Linux), or None.

    Read before and after a load run, it gives the server's CPU time per
    request: a figure that holds when the scheduler hands the two servers of an
    A/B unequal shares of a busy machine, which requests per second does not.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class WrkResult:
    requests: int
    seconds: float
    mean_ms: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors and timeouts
    bad_status: int  # responses outside 2xx/3xx

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


_RESULT_LINE = re.compile(r"^BENCH_RESULT (\{.*\})$", re.MULTILINE)


def run_wrk(url: str, request: HTTPRequest, *, connections: int, duration: int,
            cpus: str | None = None, timeout: int = 10) -> WrkResult:
    """Load ``url`` with wrk (one thread) and read the figures its Lua done() hook prints."""
    path = wrk_path()
    assert path is not None, WRK_HINT
    command = [path, "-t1", f"-c{connections}", f"-d{duration}s", f"--timeout={timeout}s",
               "-s", str(WRK_SCRIPT), url]
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    out = subprocess.run(command, text=True, capture_output=True,
                         env={**os.environ, **request.wrk_env()}, timeout=duration + 60)
    match = _RESULT_LINE.search(out.stdout)
    if match is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    data = json.loads(match.group(1))
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        mean_ms=data["mean_us"] / 1000,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        bad_status=data["status"],
    )


def interleave(labels: Sequence[str], measure: Callable[[str], T], rounds: int,
               name: str = "") -> dict[str, list[T]]:
    """Run ``measure(label)`` for every label, round after round.

    Odd rounds go forwards and even rounds backwards (A B C, C B A, ...), so a
    slow drift of the machine's speed lands on every label alike.
    """
    results: dict[str, list[T]] = {label: [] for label in labels}
    for number in range(1, rounds + 1):
        progress(f"  {name} round {number}/{rounds}")
        for label in labels if number % 2 else reversed(labels):
            results[label].append(measure(label))
    return results


def check(captured: Captured, expected: Expected) -> list[str]:
    """What is wrong with a response, compared with what the scenario expects."""
    problems = []
    if captured.status != expected.status:
        problems.append(f"status {captured.status}, expected {expected.status}")
    content_type = captured.header("content-type") or ""
    if not content_type.startswith(expected.content_type):
        problems.append(f"content-type {content_type!r}, expected {expected.content_type!r}")
    if expected.json is not None:
        try:
            body = json.loads(captured.body)
        except ValueError:
            body = captured.body
        if body != expected.json:
            problems.append(f"body {body!r}, expected {expected.json!r}")
    elif captured.body != expected.body:
        problems.append(f"body {captured.body!r}, expected {expected.body!r}")
    for name, value in expected.headers.items():
        if captured.header(name) != value:
            problems.append(f"header {name}: {captured.header(name)!r}, expected {value!r}")
    return problems


@dataclass(frozen=True)
class Expected:
    """The response every framework must give for a scenario."""

    status: int = 200
    content_type: str = "application/json"
    json: Any = None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

"""Why an in-memory rate limiter breaks with two workers: a real run.

The teaching server serves benchmarks/apps/ratelimit_workers.py with
``--workers 2`` - two processes accepting on one socket - once with the
in-memory backend and once with Redis. 20 keep-alive connections are opened
at once (the kernel hands each to one worker; ``GET /whoami`` says which),
until each worker holds 10 of them; then 5 requests are sent on each of
those 20: 100 requests, 50 to each worker. The route
allows ``5/minute``. Not a timing: the figures are counts.

Run: ``python -m benchmarks.ratelimit_workers`` (from the repository root;
the Redis run needs a Redis at ``REDIS_URL``, default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

from benchmarks import harness
from benchmarks.harness import progress

NAME = "ratelimit_workers"
CONNECTIONS = 20
PER_CONNECTION = 5
REQUESTS = CONNECTIONS * PER_CONNECTION
APP = "benchmarks.apps.ratelimit_workers:app"




def _request(connection: http.client.HTTPConnection, path: str) -> tuple[int, Any]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def _wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start") from None
            time.sleep(0.1)


def run(backend: str) -> tuple[Counter[int], Counter[int]]:
    """Serve with two workers on ``backend``: the statuses of the 100 requests,
    and how many requests each worker was sent."""
    port = harness.free_port()
    env = {**os.environ, "RATELIMIT_BACKEND": backend,
           "RATELIMIT_PREFIX": f"bench-workers-{uuid.uuid4().hex}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "minimal_asgi.server", APP, "--port", str(port),
         "--workers", "2", "--no-access-log", "--log-level", "warning"],
        env=env, cwd=harness.REPO,
    )
    try:
        _wait_for(port, server)
        time.sleep(1.0)  # both workers up and accepting

        def connect(_: int) -> tuple[http.client.HTTPConnection, int]:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            return connection, _request(connection, "/whoami")[1]["worker"]

        with concurrent.futures.ThreadPoolExecutor(CONNECTIONS) as pool:
            # The kernel gives a new connection to whichever worker accepts
            # first; open batches until each worker holds half of them.
            held: dict[int, list[http.client.HTTPConnection]] = {}
            for _ in range(20):
                for connection, worker in pool.map(connect, range(CONNECTIONS)):
                    held.setdefault(worker, []).append(connection)
                if len(held) == 2 and all(len(c) >= CONNECTIONS // 2 for c in held.values()):
                    break
            if len(held) < 2:
                raise SystemExit("every connection went to one worker; run again")
            connections = [
                (connection, worker)
                for worker, opened in held.items()
                for connection in opened[: CONNECTIONS // 2]
            ]

            def five(item: tuple[http.client.HTTPConnection, int]) -> list[int]:
                connection, _ = item
                return [_request(connection, "/search")[0] for _ in range(PER_CONNECTION)]

            statuses = [s for batch in pool.map(five, connections) for s in batch]
        for opened in held.values():
            for connection in opened:
                connection.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    per_worker = Counter()
    for _, worker in connections:
        per_worker[worker] += PER_CONNECTION
    return Counter(statuses), per_worker


def main(argv: Sequence[str] | None = None) -> None:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    rows = []
    for label, backend in (("in memory", "memory"), ("Redis", redis_url)):
        progress(f"two workers, {label}")
        statuses, per_worker = run(backend)
        spread = " + ".join(str(n) for n in sorted(per_worker.values(), reverse=True))
        rows.append([label, f"{REQUESTS} ({spread})", statuses[200], statuses[429]])
    lines = [
        "# One 5/minute limit, two worker processes",
        "",
        "Command: `python -m benchmarks.ratelimit_workers`",
        "",
        *(f"- {key}: {value}" for key, value in harness.environment(_settings())
          if key not in ("wrk",)),
        "",
        harness.markdown_table(
            ["backend", "requests (per worker)", "200", "429"], rows
        ),
    ]
    text = "\n".join(lines)
    path = harness.write_report(NAME, text)
    print(text)
    progress(f"written to {path}")


def _settings() -> harness.Settings:
    return harness.Settings(
        quick=True, rounds=0, duration=0, warmup=0, connections=10, inproc_rounds=0,
        round_seconds=0, wire=False, charts=False, pin=False,
        command="python -m benchmarks.ratelimit_workers",
    )


if __name__ == "__main__":
    main()

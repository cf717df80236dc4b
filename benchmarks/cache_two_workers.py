"""Why an in-memory cache is wrong with two workers: a real run.

uvicorn with ``--workers 2`` serves ``GET /price`` (cached 600 s under the tag
``price``) and ``PUT /price`` (raises the price in the shared database - a
Redis key - and invalidates the tag). Each new connection is accepted by
whichever worker takes it first, so requests spread over both workers.

For each backend (memory, then Redis): warm the cache with GETs on fresh
connections, PUT once, then GET on fresh connections and count the answers
that still show the old price. With the memory backend, the worker that did
not handle the PUT keeps its old entry; with Redis, both workers read the
same entries and tag versions.

Run: ``python -m benchmarks.cache_two_workers`` (needs Redis at BENCH_REDIS_URL,
default redis://127.0.0.1:6379/0). Writes benchmarks/results/cache_two_workers.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shlex
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence

import redis

from benchmarks import harness
from benchmarks.harness import Server, progress

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def ask(server: Server, method: str) -> dict[str, int]:
    """One request on a fresh connection (so the kernel may hand it to either worker)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, "/price")
        response = connection.getresponse()
        body: dict[str, int] = json.loads(response.read())
        return body
    finally:
        connection.close()


def run(backend: str, requests: int) -> dict[str, object]:
    run_id = uuid.uuid4().hex
    env = {
        "BENCH_REDIS_URL": REDIS_URL,
        "BENCH_PRICE_KEY": f"bench:cache-workers:{run_id}:price",
        "BENCH_CACHE_PREFIX": f"bench:cache-workers:{run_id}:cache:",
    }
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.set(env["BENCH_PRICE_KEY"], 100, ex=600)
        with Server(f"cache:minimal_asgi:workers-{backend}", workers=2, env=env) as server:
            # Both workers must be up and caching before the write, or the run shows nothing.
            seen: set[int] = set()
            deadline = time.monotonic() + 60
            while len(seen) < 2 and time.monotonic() < deadline:
                seen.add(ask(server, "GET")["pid"])
            before = [ask(server, "GET") for _ in range(requests)]
            written = ask(server, "PUT")
            after = [ask(server, "GET") for _ in range(requests)]
    finally:
        keys = list(client.scan_iter(match=f"bench:cache-workers:{run_id}:*"))
        if keys:
            client.delete(*keys)
        client.close()
    stale = [answer for answer in after if answer["price"] != written["price"]]
    other = [answer for answer in after if answer["pid"] != written["pid"]]
    return {
        "backend": backend,
        "workers seen": len({written["pid"], *(answer["pid"] for answer in before + after)}),
        "from the other worker": len(other),
        "GETs after the PUT": len(after),
        "stale answers": len(stale),
        "stale from workers": len({answer["pid"] for answer in stale}),
        "prices after": dict(Counter(answer["price"] for answer in after)),
        "PUT by": written["pid"],
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cache_two_workers",
                                     description=__doc__)
    parser.add_argument("--requests", type=int, default=100,
                        help="GETs before and after the write (default 100)")
    args = parser.parse_args(argv)
    arguments = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python", "-m", "benchmarks.cache_two_workers",
                        *map(shlex.quote, arguments)])
    rows = []
    for backend in ("memory", "redis"):
        progress(f"{backend}: 2 workers, {args.requests} GETs, a PUT, {args.requests} GETs")
        result = run(backend, args.requests)
        rows.append([result["backend"], result["workers seen"], result["GETs after the PUT"],
                     result["from the other worker"], result["stale answers"],
                     result["prices after"]])
    text = "\n".join([
        "# An in-memory cache with two workers: a real run",
        "",
        "uvicorn --workers 2; every request on a new connection; the price starts at 100 and "
        "one PUT raises it to 101 and invalidates the tag `price`.",
        "",
        f"Command: `{command}`",
        "",
        f"- date (UTC): {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f}",
        "",
        harness.markdown_table(
            ["cache backend", "workers that answered", "GETs after the PUT",
             "of them from the worker without the PUT", "answers with the old price",
             "prices seen after the PUT"], rows),
    ])
    path = harness.write_report("cache_two_workers", text)
    print(text)
    progress(f"written to {path.relative_to(harness.REPO)}")


if __name__ == "__main__":
    main()

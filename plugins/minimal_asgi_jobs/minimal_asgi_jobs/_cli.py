"""The command line::

    python -m minimal_asgi_jobs worker myapp.module:jobs --concurrency 10
    python -m minimal_asgi_jobs dead list myapp.module:jobs
    python -m minimal_asgi_jobs dead requeue myapp.module:jobs ID [ID ...] | --all

``myapp.module:jobs`` names the ``Jobs`` object, installed in its app. The
worker starts that app's lifespan (its Redis pool, database, settings) so the
handlers' dependencies resolve as in a request, but serves no HTTP.
SIGTERM or Ctrl-C stops it gracefully (see _worker.py); a second one at once.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence

import anyio

from minimal_asgi import App

from . import Jobs
from ._worker import Worker


def load(target: str) -> Jobs:
    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise SystemExit(f"{target!r}: write it as module.path:attribute, e.g. myapp.app:jobs")
    sys.path.insert(0, os.getcwd())
    jobs = getattr(importlib.import_module(module_name), attribute, None)
    if not isinstance(jobs, Jobs):
        raise SystemExit(f"{target!r} is not a minimal_asgi_jobs.Jobs object")
    return jobs


@contextlib.asynccontextmanager
async def running(jobs: Jobs) -> AsyncIterator[Jobs]:
    """The app's lifespan (without its embedded worker), or the backend alone."""
    jobs.embedded_workers = 0  # this process *is* the worker
    if isinstance(jobs.app, App):
        async with jobs.app.lifespan_context():
            yield jobs
    else:
        async with jobs.started():
            yield jobs


async def run_worker(jobs: Jobs, concurrency: int, prefetch: int | None = None) -> None:
    async with running(jobs):
        worker = Worker(jobs, concurrency, prefetch=prefetch)
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with anyio.create_task_group() as group:

                async def watch() -> None:
                    async for signum in signals:
                        if worker.stopping.is_set():
                            os._exit(128 + signum)  # asked twice: stop now
                        logging.getLogger("minimal_asgi_jobs").info(
                            "%s: finishing the jobs in hand", signal.Signals(signum).name)
                        worker.stop()

                group.start_soon(watch)
                print(f"worker {worker.name}: concurrency {concurrency}", flush=True)
                await worker.run()
                group.cancel_scope.cancel()


async def list_dead(jobs: Jobs) -> None:
    async with running(jobs):
        for dead in await jobs.dead(limit=1000):
            print(f"{dead.id}  {dead.job.name}  id={dead.job.id}  attempts={dead.attempts}  "
                  f"error={dead.error}")


async def requeue(jobs: Jobs, ids: Sequence[str], every: bool) -> None:
    async with running(jobs):
        if every:
            ids = [dead.id for dead in await jobs.dead(limit=100_000)]
        for dead_id in ids:
            done = await jobs.requeue_dead(dead_id)
            print(f"{dead_id}: {'requeued' if done else 'not found'}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minimal_asgi_jobs")
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="run jobs until SIGTERM")
    worker.add_argument("target", help="module.path:jobs")
    worker.add_argument("--concurrency", type=int, default=10, help="jobs run at once")
    worker.add_argument("--prefetch", type=int, help="jobs fetched ahead (default: concurrency)")
    dead = commands.add_parser("dead", help="the dead-letter jobs")
    actions = dead.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list")
    listing.add_argument("target")
    again = actions.add_parser("requeue")
    again.add_argument("target")
    again.add_argument("ids", nargs="*")
    again.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOGLEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    jobs = load(args.target)
    if args.command == "worker":
        anyio.run(run_worker, jobs, args.concurrency, args.prefetch)
    elif args.action == "list":
        anyio.run(list_dead, jobs)
    else:
        if not args.ids and not args.all:
            parser.error("dead requeue: give the ids to requeue, or --all")
        anyio.run(requeue, jobs, args.ids, args.all)
    return 0

"""The worker: fetch jobs, run each in its own task, report the outcome.

Life of one job in a worker::

    fetch ──> run handler ──ok──────────────> ack (gone for good)
                   └──raised──> tries left? ──yes──> retry after backoff
                                            └──no───> bury (dead letters)

A job is acknowledged only after its handler returned: if the process dies in
between, the broker hands the job to another worker (at-least-once), so a
handler may run twice for one job and must be idempotent.

A worker runs up to ``concurrency`` jobs at once and keeps up to ``prefetch``
more in hand (default: as many), fetched ahead so a slot that frees starts
its next job at once; their leases are renewed like the running jobs'.

Stopping (``stop()``, or SIGTERM from the command line) is graceful: no new
job is fetched, jobs fetched but not started go back to the queue at once,
and the jobs in hand run to their end and are acknowledged - for up to
``shutdown_timeout`` seconds, after which they are abandoned to the lease.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from ._job import Delivery, Job, backoff

if TYPE_CHECKING:
    from . import Jobs

logger = logging.getLogger("minimal_asgi_jobs")

FETCH_TIMEOUT = 1.0  # how long one fetch waits: also the longest a stop waits for it
MAX_RECONNECT_WAIT = 2.0  # between tries while the broker is unreachable


class Worker:
    def __init__(
        self, jobs: Jobs, concurrency: int = 10, *, prefetch: int | None = None,
        name: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency={concurrency}: must be at least 1")
        self.jobs = jobs
        self.concurrency = concurrency
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.stopping = anyio.Event()
        self.processed = 0  # acknowledged jobs, for tests and benchmarks
        self._held: dict[int, Delivery] = {}
        self._slots = anyio.Semaphore(concurrency)
        self.prefetch = concurrency if prefetch is None else prefetch
        self._ready: deque[Delivery] = deque()  # in hand, not started: claimed or prefetched

    def stop(self) -> None:
        """Take no new job; finish the ones in hand; then ``run`` returns."""
        self.stopping.set()

    async def run(self) -> None:
        backend = self.jobs.backend
        await _until_reachable(backend.start, self.stopping)
        async with anyio.create_task_group() as upkeep:
            upkeep.start_soon(self._maintain)
            with anyio.CancelScope() as grace:
                upkeep.start_soon(self._grace_on_stop, grace)
                async with anyio.create_task_group() as running:
                    await self._fetch_loop(running)
            if grace.cancelled_caught:
                logger.warning("shutdown timeout: %d job(s) left to the lease", len(self._held))
            upkeep.cancel_scope.cancel()

    async def _grace_on_stop(self, grace: anyio.CancelScope) -> None:
        await self.stopping.wait()
        grace.deadline = anyio.current_time() + self.jobs.shutdown_timeout

    async def _take_slots(self) -> int:
        """Wait for a free slot, then take every free one."""
        await self._slots.acquire()
        taken = 1
        while self._slots.value > 0 and taken < self.concurrency:
            await self._slots.acquire()
            taken += 1
        return taken

    async def _fetch_loop(self, running: anyio.abc.TaskGroup) -> None:
        """Fill the free slots: from the jobs waiting in hand (claimed from a
        dead worker, or prefetched), then from the broker. Up to ``prefetch``
        jobs are fetched ahead, so that a slot that frees starts its next job
        without waiting for a round trip to the broker."""
        backend = self.jobs.backend
        failures = 0
        while not self.stopping.is_set():
            free = await self._take_slots()
            started = 0
            while self._ready and started < free and not self.stopping.is_set():
                running.start_soon(self._run_one, self._ready.popleft())
                started += 1
            want = free - started + max(0, self.prefetch - len(self._ready))
            fetched: list[Delivery] = []
            if want > 0 and not self.stopping.is_set():
                try:
                    # Block only when no slot got a job: otherwise just top up.
                    timeout = FETCH_TIMEOUT if started == 0 else 0
                    fetched = await backend.fetch(self.name, want, timeout)
                    failures = 0
                except Exception as exc:
                    failures += 1
                    logger.warning("cannot fetch jobs (%s); retrying", exc)
                    with anyio.move_on_after(min(MAX_RECONNECT_WAIT, 0.1 * 2**failures)):
                        await self.stopping.wait()
            for delivery in fetched:
                if started < free and not self.stopping.is_set():
                    running.start_soon(self._run_one, delivery)
                    started += 1
                else:
                    self._ready.append(delivery)
            for _ in range(free - started):
                self._slots.release()
        # Stopping: what was fetched but not started goes back to the queue now,
        # for another worker, instead of waiting for a lease to run out.
        if self._ready:
            await _quietly(backend.release(list(self._ready)), "hand back unstarted jobs")
            self._ready.clear()
        await _quietly(backend.stop_fetching(), "hand back prefetched jobs")

    async def _maintain(self) -> None:
        """Delayed jobs, leases and dead workers' jobs, a few times per lease."""
        backend = self.jobs.backend
        interval = min(self.jobs.tick, self.jobs.lease / 3)
        while True:
            try:
                held = [*self._held.values(), *self._ready]  # their leases too
                claimed = await backend.maintain(self.name, held)
                if claimed:
                    logger.info("claimed %d job(s) whose worker stopped answering", len(claimed))
                self._ready.extend(claimed)  # the fetch loop runs them first
            except Exception as exc:
                logger.warning("queue upkeep failed (%s); retrying", exc)
            await anyio.sleep(interval)

    async def _run_one(self, delivery: Delivery) -> None:
        key = id(delivery)
        self._held[key] = delivery
        slot = [True]

        def free_slot() -> None:
            # PERF: the slot is freed as soon as the handler is done, before the
            # ack's round trip, so the next job's fetch overlaps it.
            if slot.pop():
                self._slots.release()

        try:
            await self._handle(delivery, free_slot)
        except Exception as exc:
            # The broker failed while recording the outcome: the job stays
            # unacknowledged, and comes back after its lease (at-least-once).
            logger.warning("job %s: cannot report its outcome (%s)", delivery.job.id, exc)
        finally:
            del self._held[key]
            if slot:
                free_slot()

    async def _handle(self, delivery: Delivery, free_slot: Callable[[], None]) -> None:
        backend, job = self.jobs.backend, delivery.job
        handler = self.jobs.handlers.get(job.name)
        count = self.jobs.counters.add
        if handler is None:
            await backend.bury(delivery, f"no handler is registered for {job.name!r}", 0)
            count("jobs.dead")
            return
        if delivery.tries > handler.max_attempts:
            error = (f"delivered {delivery.deliveries} times without an answer: its worker "
                     "died or overran the lease each time")
            await backend.bury(delivery, error, delivery.tries - 1)
            count("jobs.dead")
            return
        try:
            await handler.call(self.jobs.app, job.payload)
        except Exception as exc:
            free_slot()
            error = f"{type(exc).__name__}: {exc}"
            if delivery.tries >= handler.max_attempts:
                logger.error("job %s (%s) failed for good: %s", job.id, job.name, error)
                await backend.bury(delivery, error, delivery.tries)
                count("jobs.dead")
            else:
                logger.info("job %s (%s) failed, will retry: %s", job.id, job.name, error)
                delay = backoff(delivery.tries, self.jobs.retry_base, self.jobs.retry_cap)
                again = Job(job.id, job.name, job.payload, delivery.tries, job.enqueued_at)
                await backend.retry(delivery, again, delay, error)
                count("jobs.retried")
            return
        free_slot()
        await backend.ack(delivery)
        self.processed += 1
        count("jobs.succeeded")


async def _until_reachable(start: object, stopping: anyio.Event) -> None:
    failures = 0
    while True:
        try:
            await start()  # type: ignore[operator]
            return
        except Exception as exc:
            failures += 1
            logger.warning("cannot reach the broker (%s); retrying", exc)
            with anyio.move_on_after(min(MAX_RECONNECT_WAIT, 0.1 * 2**failures)):
                await stopping.wait()
            if stopping.is_set():
                return


async def _quietly(awaitable: object, what: str) -> None:
    try:
        await awaitable  # type: ignore[misc]
    except Exception as exc:
        logger.warning("could not %s (%s): the lease will return them", what, exc)

"""The in-memory backend: one process, no broker. For tests and for an app
whose jobs may be lost with the process (a restart forgets every queued job).
It keeps the same contract as the brokers, so code written against it moves
to Redis or RabbitMQ unchanged."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from collections.abc import Sequence

from ._job import DeadJob, Delivery, Job


class MemoryBackend:
    def __init__(self) -> None:
        self._ready: deque[Job] = deque()
        self._delayed: list[tuple[float, int, Job]] = []  # a heap by due time
        self._dead: dict[str, DeadJob] = {}
        self._seen: set[str] = set()
        self._numbers = itertools.count()
        self._wakeup = asyncio.Event()

    async def start(self) -> None:
        pass

    async def enqueue(self, job: Job, delay: float, dedupe: bool) -> bool:
        if dedupe:
            if job.id in self._seen:
                return False
            self._seen.add(job.id)
        self._put(job, delay)
        return True

    def _put(self, job: Job, delay: float) -> None:
        if delay > 0:
            heapq.heappush(self._delayed, (time.monotonic() + delay, next(self._numbers), job))
        else:
            self._ready.append(job)
        self._wakeup.set()

    async def fetch(self, consumer: str, count: int, timeout: float) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while True:
            self._promote()
            if self._ready:
                taken = [self._ready.popleft() for _ in range(min(count, len(self._ready)))]
                return [Delivery(job, job) for job in taken]
            wait = deadline - time.monotonic()
            if self._delayed:
                wait = min(wait, self._delayed[0][0] - time.monotonic())
            if wait <= 0 and time.monotonic() >= deadline:
                return []
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), max(wait, 0.001))
            except TimeoutError:
                pass

    def _promote(self) -> None:
        now = time.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            self._ready.append(heapq.heappop(self._delayed)[2])

    async def ack(self, delivery: Delivery) -> None:
        pass  # a fetched job is already out of the queue

    async def retry(self, delivery: Delivery, job: Job, delay: float, error: str) -> None:
        self._put(job, delay)

    async def bury(self, delivery: Delivery, error: str, attempts: int) -> None:
        dead_id = str(next(self._numbers))
        self._dead[dead_id] = DeadJob(dead_id, delivery.job, error, attempts)

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in reversed(deliveries):
            self._ready.appendleft(delivery.job)
        self._wakeup.set()

    async def stop_fetching(self) -> None:
        pass  # what the worker prefetched, it releases itself

    async def maintain(self, consumer: str, held: Sequence[Delivery]) -> list[Delivery]:
        return []  # no lease: a job dies with the process that holds it

    async def dead(self, limit: int) -> list[DeadJob]:
        return list(self._dead.values())[:limit]

    async def requeue_dead(self, dead_id: str) -> bool:
        dead = self._dead.pop(dead_id, None)
        if dead is None:
            return False
        self._put(Job(dead.job.id, dead.job.name, dead.job.payload, 0, time.time()), 0)
        return True

    async def aclose(self) -> None:
        pass

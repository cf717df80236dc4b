"""What a worker needs from a broker. Three implement it: memory (one
process), Redis Streams and RabbitMQ; one contract suite tests them all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ._job import DeadJob, Delivery, Job


class Backend(Protocol):
    async def start(self) -> None:
        """Create what must exist (a consumer group, durable queues)."""

    async def enqueue(self, job: Job, delay: float, dedupe: bool) -> bool:
        """Store ``job``, to be handed out after ``delay`` seconds. With
        ``dedupe``, a job whose id was seen before is dropped: returns False."""

    async def fetch(self, consumer: str, count: int, timeout: float) -> list[Delivery]:
        """Up to ``count`` jobs, waiting at most ``timeout`` seconds for one."""

    async def ack(self, delivery: Delivery) -> None:
        """Done: the job is removed for good."""

    async def retry(self, delivery: Delivery, job: Job, delay: float, error: str) -> None:
        """Replace the delivered job by ``job`` (its tries counted), due in ``delay`` s."""

    async def bury(self, delivery: Delivery, error: str, attempts: int) -> None:
        """Move the job to the dead letters, with its error and tries."""

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        """Hand jobs that were fetched but not started back at once (shutdown)."""

    async def stop_fetching(self) -> None:
        """The worker is stopping: hand back at once whatever was prefetched."""

    async def maintain(self, consumer: str, held: Sequence[Delivery]) -> list[Delivery]:
        """Periodic work: move due delayed jobs to the queue, renew the lease of
        the jobs in ``held``, and return jobs whose worker died (their lease ran
        out), now this consumer's."""

    async def dead(self, limit: int) -> list[DeadJob]:
        """The dead letters, oldest first."""

    async def requeue_dead(self, dead_id: str) -> bool:
        """Put one dead job back in the queue with fresh tries."""

    async def aclose(self) -> None: ...

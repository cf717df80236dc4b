"""The RabbitMQ backend (aio-pika): the broker keeps the queue and hands each
message to one consumer; a message stays "unacked" until that consumer acks
it, and goes back to the queue at once if the consumer's connection drops (no
lease to wait for: RabbitMQ sees the TCP connection die).

What is declared, for a queue named ``jobs.default``::

    jobs.default             the queue: durable, quorum type (replicated when
                             there is a cluster). A worker buries a message
                             delivered more than max_attempts times (its worker
                             died each time); x-delivery-limit is the broker's
                             own backstop, should no worker ever get that far
    jobs.default.dlx         the dead-letter exchange, bound to:
    jobs.default.dead        the dead letters (durable)
    jobs.default.delay.<ms>  one queue per delay: no consumer, every message
                             expires after <ms> (x-message-ttl) and is
                             dead-lettered back into jobs.default. One TTL per
                             queue, because RabbitMQ expires messages only from
                             a queue's head: mixed delays in one queue would
                             hold a short one behind a long one.

Every publish waits for the broker's confirm; a retry or a burial publishes
the new message first and acks the old one after, so a crash in between
duplicates a job (at-least-once), never loses one.

RabbitMQ has no atomic "set if absent", so enqueue-time deduplication needs a
store that has one: give ``Jobs(url, redis=...)`` and the markers live in
Redis; without it they are remembered by this process only.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage

from ._job import DeadJob, Delivery, Job, decode, encode

# Fixed, not max_attempts: every process declaring the queue must give the same
# arguments, or RabbitMQ refuses the declaration (PRECONDITION_FAILED).
DELIVERY_LIMIT = 20


def _bucket(milliseconds: int) -> int:
    """Delays rounded to two significant digits: jittered retry delays would
    otherwise make a delay queue each."""
    if milliseconds < 100:
        return milliseconds
    scale: int = 10 ** (len(str(milliseconds)) - 2)
    return round(milliseconds / scale) * scale


class RabbitMQBackend:
    def __init__(
        self, url: str, *, queue: str, max_attempts: int, dedupe_ttl: float,
        dedupe_redis: Any = None,
    ) -> None:
        self.url, self.queue = url, queue
        self.dead_queue, self.dlx = f"{queue}.dead", f"{queue}.dlx"
        self.max_attempts = max_attempts
        self.dedupe_ttl, self.dedupe_redis = max(1, int(dedupe_ttl)), dedupe_redis
        self._seen: dict[str, float] = {}
        self._connection: AbstractConnection | None = None
        self._channel: Any = None
        self._delay_queues: dict[int, float] = {}  # delay -> when declared
        self._inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._consumer: tuple[Any, str] | None = None

    async def start(self) -> None:
        """Connect (again, if the connection was lost) and declare everything.

        A plain connection, reopened here by the next call after it breaks,
        rather than aio-pika's self-healing one: what happens after a broker
        restart stays in this file, where it can be read. The messages a
        broken connection had handed out are redelivered by the broker, so
        the inbox of the old one is dropped, not acked."""
        if (self._connection is not None and not self._connection.is_closed
                and not self._channel.is_closed):
            return
        if self._connection is not None:
            await self._drop_connection()
        connection = await aio_pika.connect(self.url)
        try:
            self._channel = await connection.channel(publisher_confirms=True)
            await self._declare(self._channel)
        except BaseException:
            await connection.close()
            raise
        self._connection = connection

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        self._consumer, self._inbox = None, asyncio.Queue()
        if connection is not None:
            try:
                await connection.close()
            except Exception:  # already broken: nothing left to close
                pass

    async def _declare(self, channel: Any) -> None:
        dlx = await channel.declare_exchange(self.dlx, aio_pika.ExchangeType.DIRECT, durable=True)
        dead = await channel.declare_queue(self.dead_queue, durable=True)
        await dead.bind(dlx, routing_key=self.dead_queue)
        await channel.declare_queue(self.queue, durable=True, arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": self.dlx,
            "x-dead-letter-routing-key": self.dead_queue,
        })

    async def _publish(self, body: str, routing_key: str, exchange: str = "",
                       headers: dict[str, Any] | None = None, message_id: str | None = None,
                       ) -> None:
        message = aio_pika.Message(
            body.encode(), headers=headers, message_id=message_id or uuid.uuid4().hex,
            content_type="application/json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        target = (self._channel.default_exchange if not exchange
                  else await self._channel.get_exchange(exchange, ensure=False))
        await target.publish(message, routing_key=routing_key)  # returns once confirmed

    async def _first_time(self, job_id: str) -> bool:
        if self.dedupe_redis is not None:
            key = f"{{{self.queue}}}:id:{job_id}"
            return bool(await self.dedupe_redis.set(key, "1", nx=True, ex=self.dedupe_ttl))
        now = time.monotonic()
        if self._seen.get(job_id, 0) > now:
            return False
        self._seen[job_id] = now + self.dedupe_ttl
        return True

    async def enqueue(self, job: Job, delay: float, dedupe: bool) -> bool:
        await self.start()  # reconnects if the broker was down or restarted
        if dedupe and not await self._first_time(job.id):
            return False
        await self._put(encode(job), delay)
        return True

    async def _put(self, body: str, delay: float) -> None:
        milliseconds = _bucket(int(delay * 1000))
        if milliseconds <= 0:
            await self._publish(body, self.queue)
            return
        name = f"{self.queue}.delay.{milliseconds}"
        expires = 2 * milliseconds + 10_000  # an idle delay queue removes itself
        if time.monotonic() - self._delay_queues.get(milliseconds, -1e9) > expires / 2000:
            await self._channel.declare_queue(name, durable=True, arguments={
                "x-message-ttl": milliseconds,
                "x-expires": expires,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.queue,
            })
            self._delay_queues[milliseconds] = time.monotonic()
        await self._publish(body, name)

    async def fetch(self, consumer: str, count: int, timeout: float) -> list[Delivery]:
        await self.start()  # reconnects if the broker was down or restarted
        if self._consumer is None:
            # The broker's prefetch: what the worker asks for at its first fetch
            # (its concurrency plus its own prefetch); messages in this inbox
            # go back at stop_fetching().
            await self._channel.set_qos(prefetch_count=count)
            queue = await self._channel.get_queue(self.queue, ensure=False)
            self._consumer = (queue, await queue.consume(self._inbox.put))
        messages = []
        if self._inbox.empty():
            if timeout <= 0:
                return []
            try:
                messages.append(await asyncio.wait_for(self._inbox.get(), timeout))
            except TimeoutError:
                return []
        while len(messages) < count and not self._inbox.empty():
            messages.append(self._inbox.get_nowait())
        return [self._delivery(message) for message in messages]

    @staticmethod
    def _delivery(message: AbstractIncomingMessage) -> Delivery:
        # Quorum queues count the earlier deliveries of a message in x-delivery-count.
        redelivered = int(str((message.headers or {}).get("x-delivery-count", 0) or 0))
        return Delivery(decode(message.body), message, redelivered + 1)

    async def ack(self, delivery: Delivery) -> None:
        await delivery.handle.ack()

    async def retry(self, delivery: Delivery, job: Job, delay: float, error: str) -> None:
        await self._put(encode(job), delay)
        await delivery.handle.ack()

    async def bury(self, delivery: Delivery, error: str, attempts: int) -> None:
        headers = {"x-error": error[:2000], "x-attempts": attempts}
        await self._publish(delivery.handle.body.decode(), self.dead_queue, self.dlx, headers)
        await delivery.handle.ack()

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            await delivery.handle.nack(requeue=True)

    async def stop_fetching(self) -> None:
        """Cancel the consumer and hand back what was prefetched, at once."""
        if self._consumer is not None:
            queue, tag = self._consumer
            self._consumer = None
            await queue.cancel(tag)
        while not self._inbox.empty():
            await self._inbox.get_nowait().nack(requeue=True)

    async def maintain(self, consumer: str, held: Sequence[Delivery]) -> list[Delivery]:
        return []  # the broker redelivers a dead connection's messages by itself

    async def _held_dead(self, limit: int) -> list[AbstractIncomingMessage]:
        """Dead letters taken without ack (so they are not handed out twice
        while we look); the caller acks or returns each."""
        await self.start()
        queue = await self._channel.get_queue(self.dead_queue, ensure=False)
        held: list[AbstractIncomingMessage] = []
        while len(held) < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            held.append(message)
        return held

    async def dead(self, limit: int) -> list[DeadJob]:
        held = await self._held_dead(limit)
        try:
            return [self._dead_job(message) for message in held]
        finally:
            for message in held:
                await message.nack(requeue=True)

    @staticmethod
    def _dead_job(message: AbstractIncomingMessage) -> DeadJob:
        headers = message.headers or {}
        job = decode(message.body)
        error = headers.get("x-error")
        if error is None:  # dead-lettered by the broker: the delivery limit
            count = headers.get("x-delivery-count", "?")
            error = (f"delivered more than {count!s} times "
                     "without an answer: its worker died each time")
        attempts = int(str(headers.get("x-attempts", headers.get("x-delivery-count", 0))))
        return DeadJob(str(message.message_id or message.delivery_tag), job,
                       str(error), attempts)

    async def requeue_dead(self, dead_id: str) -> bool:
        held = await self._held_dead(100_000)
        found = None
        try:
            for message in held:
                if str(message.message_id or message.delivery_tag) == dead_id:
                    found = message
                    break
            if found is None:
                return False
            job = decode(found.body)
            await self._publish(encode(Job(job.id, job.name, job.payload, 0, time.time())),
                                self.queue)
            await found.ack()
            return True
        finally:
            for message in held:
                if message is not found:
                    await message.nack(requeue=True)

    async def aclose(self) -> None:
        await self._drop_connection()

"""The Redis Streams backend: a stream is the queue, a consumer group hands
each entry to one worker, and an entry stays in the group's pending list
(PEL) until that worker acknowledges it. A worker that dies leaves its
entries pending; after ``lease`` seconds without news another worker claims
them (XAUTOCLAIM). That is at-least-once delivery.

Keys, all under one hash tag so that a Redis Cluster keeps them on one node
(every script below touches several of them at once)::

    {jobs:default}:stream     the queue (a stream; group "workers")
    {jobs:default}:delayed    jobs not due yet: a sorted set scored by due time
    {jobs:default}:dead       the dead letters (a stream)
    {jobs:default}:id:<id>    "seen" markers for enqueue-time deduplication

Each change that touches two keys is one Lua script, so a crash never leaves
a job in both places or in neither; the scripts read the clock of Redis
(TIME), so workers whose clocks disagree still agree on when a job is due.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from ._job import DeadJob, Delivery, Job, decode, encode

GROUP = "workers"
PROMOTE_BATCH = 100

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: stream, delayed, seen marker. ARGV: job, delay in ms, marker TTL (0: no marker).
ENQUEUE = _NOW_MS + """
if tonumber(ARGV[3]) > 0 then
  if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[3]) then return 0 end
end
if tonumber(ARGV[2]) > 0 then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
else
  redis.call('XADD', KEYS[1], '*', 'job', ARGV[1])
end
return 1
"""

# KEYS: stream, delayed. ARGV: how many at most. Moves the due jobs to the stream.
PROMOTE = _NOW_MS + """
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, ARGV[1])
for _, job in ipairs(due) do
  redis.call('XADD', KEYS[1], '*', 'job', job)
  redis.call('ZREM', KEYS[2], job)
end
return #due
"""

# The scripts below start from a pending entry: if XACK finds nothing, another
# worker has claimed and finished it, and nothing must be done twice.

# KEYS: stream. ARGV: group, entry id.
ACK = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
"""

# KEYS: stream, delayed. ARGV: group, entry id, the job to run later, delay in ms.
RETRY = _NOW_MS + """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
return 1
"""

# KEYS: stream, dead. ARGV: group, entry id, job, error, attempts, dead-letter cap.
BURY = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*',
           'job', ARGV[3], 'error', ARGV[4], 'attempts', ARGV[5])
return 1
"""

# KEYS: stream. ARGV: group, entry id. Back of the queue, as a new entry,
# not counted as a try (it was never started).
RELEASE = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if #entry == 1 then redis.call('XADD', KEYS[1], '*', unpack(entry[1][2])) end
return 1
"""

# KEYS: dead, stream. ARGV: dead entry id, the job with fresh tries.
REQUEUE = """
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', 'job', ARGV[2])
return 1
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisBackend:
    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        queue: str,
        prefix: str,
        lease: float,
        dedupe_ttl: float,
        dead_max: int = 10_000,
    ) -> None:
        self.client = client
        tag = "{" + f"{prefix}:{queue}" + "}"
        self.stream, self.delayed, self.dead_letters = (
            f"{tag}:stream", f"{tag}:delayed", f"{tag}:dead")
        self.marker_prefix = f"{tag}:id:"
        self.lease_ms = int(lease * 1000)
        self.dedupe_ttl = max(1, int(dedupe_ttl))
        self.dead_max = dead_max
        self._scripts = {name: client.register_script(source) for name, source in (
            ("enqueue", ENQUEUE), ("promote", PROMOTE), ("ack", ACK), ("retry", RETRY),
            ("bury", BURY), ("release", RELEASE), ("requeue", REQUEUE))}
        self._claim_from = "0-0"

    @property
    def keys(self) -> list[str]:
        """Every key this queue uses, but the dedupe markers (for tests, cleanup)."""
        return [self.stream, self.delayed, self.dead_letters]

    async def start(self) -> None:
        try:
            await self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> int:
        return int(await self._scripts[script](keys=keys, args=args))

    async def enqueue(self, job: Job, delay: float, dedupe: bool) -> bool:
        ttl = self.dedupe_ttl if dedupe else 0
        keys = [self.stream, self.delayed, self.marker_prefix + job.id]
        return bool(await self._run("enqueue", keys, [encode(job), int(delay * 1000), ttl]))

    async def fetch(self, consumer: str, count: int, timeout: float) -> list[Delivery]:
        try:
            reply: Any = await self.client.xreadgroup(
                GROUP, consumer, {self.stream: ">"}, count=count,
                block=int(timeout * 1000) or None)  # BLOCK 0 would wait forever
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.start()  # Redis restarted empty, or the stream was deleted
            return []
        return [Delivery(decode(fields[b"job"]), entry_id)
                for _, entries in reply or () for entry_id, fields in entries]

    async def ack(self, delivery: Delivery) -> None:
        await self._run("ack", [self.stream], [GROUP, delivery.handle])

    async def retry(self, delivery: Delivery, job: Job, delay: float, error: str) -> None:
        keys = [self.stream, self.delayed]
        await self._run("retry", keys, [GROUP, delivery.handle, encode(job), int(delay * 1000)])

    async def bury(self, delivery: Delivery, error: str, attempts: int) -> None:
        keys = [self.stream, self.dead_letters]
        args = [GROUP, delivery.handle, encode(delivery.job), error, attempts, self.dead_max]
        await self._run("bury", keys, args)

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            await self._run("release", [self.stream], [GROUP, delivery.handle])

    async def stop_fetching(self) -> None:
        pass  # what the worker prefetched, it releases itself

    async def maintain(self, consumer: str, held: Sequence[Delivery]) -> list[Delivery]:
        await self._run("promote", [self.stream, self.delayed], [PROMOTE_BATCH])
        if held:
            # XCLAIM by the holder resets the entry's idle time: the lease is
            # renewed, and nobody else claims a job that is still running.
            await self.client.xclaim(self.stream, GROUP, consumer, 0,
                                     [d.handle for d in held], justid=True)
        return await self._claim(consumer)

    async def _claim(self, consumer: str) -> list[Delivery]:
        """Take over entries idle for longer than the lease: their worker died."""
        reply: Any = await self.client.xautoclaim(
            self.stream, GROUP, consumer, self.lease_ms, self._claim_from, count=PROMOTE_BATCH)
        self._claim_from = _text(reply[0])  # "0-0" again once the scan has gone round
        claimed = []
        for entry_id, fields in reply[1]:
            if not fields:
                continue  # deleted while pending
            pending: Any = await self.client.xpending_range(
                self.stream, GROUP, min=entry_id, max=entry_id, count=1)
            deliveries = int(pending[0]["times_delivered"]) if pending else 1
            claimed.append(Delivery(decode(fields[b"job"]), entry_id, deliveries))
        return claimed

    async def dead(self, limit: int) -> list[DeadJob]:
        entries: Any = await self.client.xrange(self.dead_letters, count=limit)
        return [DeadJob(_text(entry_id), decode(fields[b"job"]), _text(fields[b"error"]),
                        int(fields[b"attempts"])) for entry_id, fields in entries]

    async def requeue_dead(self, dead_id: str) -> bool:
        entries: Any = await self.client.xrange(self.dead_letters, dead_id, dead_id)
        if not entries:
            return False
        job = decode(entries[0][1][b"job"])
        fresh = Job(job.id, job.name, job.payload, 0, time.time())
        return bool(await self._run(
            "requeue", [self.dead_letters, self.stream], [dead_id, encode(fresh)]))

    async def aclose(self) -> None:
        pass  # the client belongs to whoever made it

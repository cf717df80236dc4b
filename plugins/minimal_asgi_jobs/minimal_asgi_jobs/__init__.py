"""A job queue: enqueue work from an endpoint, run it in workers.

::

    from minimal_asgi import App
    from minimal_asgi_jobs import Jobs

    jobs = Jobs("redis://127.0.0.1:6379/0")    # or "amqp://...", or no URL: memory
    app = App(plugins=[jobs])

    @jobs.handler("send_receipt", max_attempts=5)
    async def send_receipt(order: dict, mailer: Mailer) -> None:   # mailer: injected
        await mailer.send(order["email"], ...)

    @app.post("/orders")
    async def create_order(order: Order, jobs: Jobs) -> dict:       # jobs: injected
        job_id = await jobs.enqueue("send_receipt", {"email": order.email},
                                    idempotency_key=f"receipt-{order.id}")
        return {"job": job_id}

and the workers, as many processes as needed::

    python -m minimal_asgi_jobs worker myapp:jobs --concurrency 10

What happens to the jobs (enqueued, retried, dead-lettered, ...) is reported
through ``app.counters`` (``COUNTERS``), which the metrics plugin exports.

Delivery is at least once: a job is acknowledged after its handler returns, so
a worker dying mid-job means another runs it again. Handlers must be
idempotent (docs/25-queues-and-workers.md says why, and how).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from minimal_asgi import App, ConfigurationError, Counters, HTTPException

from ._backend import Backend
from ._handlers import Handler, make_handler
from ._job import DeadJob, Job
from ._memory import MemoryBackend
from ._worker import Worker, logger

if TYPE_CHECKING:
    # PERF: the clients are imported when a backend needs them, not with the
    # package: a RabbitMQ worker never loads redis (about 11 MB), nor a Redis
    # worker aio-pika.
    import redis.asyncio as aioredis
    from redis.asyncio.cluster import RedisCluster

    from minimal_asgi_redis import RedisConnection

    from ._redis import RedisBackend

__all__ = ["DeadJob", "Job", "Jobs", "JobsUnavailable", "Worker"]

F = TypeVar("F", bound=Callable[..., Any])

# Reported through ``app.counters`` by ``enqueue`` and by the workers (whichever
# process runs them); one count per event, never labelled by job id.
COUNTERS = {
    "jobs.enqueued": "jobs queued",
    "jobs.duplicate": "enqueues skipped: their idempotency key was used before",
    "jobs.succeeded": "jobs whose handler returned (acknowledged)",
    "jobs.retried": "failed tries scheduled to run again after a backoff",
    "jobs.dead": "jobs moved to the dead letters (no tries left, or no handler)",
}


class JobsUnavailable(HTTPException):
    """The broker cannot be reached; raised by ``enqueue``. It is an
    ``HTTPException``: inside a request the client gets a 503 problem response
    with ``Retry-After``, never a 500 with a traceback."""

    def __init__(self, detail: str) -> None:
        super().__init__(503, detail, {"Retry-After": "5"})


class Jobs:
    """A plugin: ``App(plugins=[Jobs(url)])``; injected into any parameter
    annotated ``Jobs``.

    - ``url``: ``redis://...`` (Redis Streams), ``amqp://...`` (RabbitMQ), or
      None for the in-memory backend (one process); ``redis=`` shares the pool
      of a ``minimal_asgi_redis.RedisConnection`` plugin instead (list it first).
      ``client=`` takes a client you made: a ``redis.asyncio.cluster.RedisCluster``
      for a cluster (every key of a queue shares one hash tag, so one slot).
      With RabbitMQ, ``redis=`` holds the idempotency keys (RabbitMQ has no
      atomic set-if-absent); without it they are remembered per process.
    - ``queue``: the queue's name; ``prefix`` goes before every key or queue name.
    - ``lease``: seconds a worker may stay silent about a job before another
      claims it. Workers renew the lease of the jobs they run three times per
      lease, so it bounds how long a dead worker's jobs wait, not a job's length.
    - ``max_attempts``: tries per job unless its handler says otherwise;
      ``retry_base``/``retry_cap``: the exponential backoff between tries.
    - ``dedupe_ttl``: how long an ``idempotency_key`` (or a job id) is remembered.
    - ``embedded_workers``: run a worker of that concurrency inside the app's own
      process, started and stopped with it (small deployments; 0: none).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        redis: RedisConnection | None = None,
        client: aioredis.Redis | RedisCluster | None = None,
        queue: str = "default",
        prefix: str = "jobs",
        lease: float = 30.0,
        max_attempts: int = 5,
        retry_base: float = 1.0,
        retry_cap: float = 300.0,
        dedupe_ttl: float = 24 * 3600,
        shutdown_timeout: float = 30.0,
        embedded_workers: int = 0,
        tick: float = 0.25,
    ) -> None:
        if sum(x is not None for x in (url, redis, client)) > 1 and not (
            url is not None and url.startswith("amqp") and client is None
        ):
            raise ConfigurationError("Jobs(): give one of url=, redis= or client=")
        if url is not None and not url.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
            raise ConfigurationError(
                f"Jobs({url!r}): the URL must start with redis://, rediss://, amqp:// or amqps://")
        if max_attempts < 1 or lease <= 0:
            raise ConfigurationError("Jobs(): max_attempts must be at least 1 and lease positive")
        self.url, self.redis, self.client = url, redis, client
        self.queue, self.prefix = queue, prefix
        self.lease, self.max_attempts = lease, max_attempts
        self.retry_base, self.retry_cap = retry_base, retry_cap
        self.dedupe_ttl, self.shutdown_timeout = dedupe_ttl, shutdown_timeout
        self.embedded_workers, self.tick = embedded_workers, tick
        self.handlers: dict[str, Handler] = {}
        self.app: App | None = None
        # What happened to the jobs, for a metrics exporter: the app's counters
        # once installed (COUNTERS lists the names), a private one before.
        self.counters = Counters()
        self._backend: Backend | None = None

    # -- registering handlers -------------------------------------------------

    def handler(
        self, name: str | None = None, *, max_attempts: int | None = None
    ) -> Callable[[F], F]:
        """Register the decorated function to run the jobs called ``name``
        (default: the function's name)."""

        def register(func: F) -> F:
            job_name = name or func.__name__
            if job_name in self.handlers:
                raise ConfigurationError(f"job handler {job_name!r} is registered twice")
            self.handlers[job_name] = make_handler(
                job_name, func, max_attempts or self.max_attempts)
            return func

        return register

    # -- the plugin -----------------------------------------------------------

    def setup(self, app: App) -> None:
        self.app = app
        for name, text in COUNTERS.items():
            app.counters.describe(name, text)
        self.counters = app.counters
        app.add_lifespan(self._lifespan)
        app.provide(Jobs, self._provide)

    async def _provide(self) -> Jobs:
        return self

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            raise RuntimeError(
                "Jobs is started with the app; use it inside a request, a startup hook, "
                "`with TestClient(app)`, or `async with jobs.started()`")
        return self._backend

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: App) -> AsyncIterator[None]:
        async with self.started():
            if self.embedded_workers:
                worker = Worker(self, self.embedded_workers)
                async with anyio.create_task_group() as group:
                    group.start_soon(worker.run)
                    try:
                        yield
                    finally:
                        worker.stop()
            else:
                yield

    @contextlib.asynccontextmanager
    async def started(self) -> AsyncIterator[Jobs]:
        """Open the backend (the app's lifespan does this)."""
        own: Any = None
        backend: Backend
        if self.url is not None and self.url.startswith("amqp"):
            from ._rabbitmq import RabbitMQBackend  # aio-pika: loaded only when used

            backend = RabbitMQBackend(
                self.url, queue=f"{self.prefix}.{self.queue}", max_attempts=self.max_attempts,
                dedupe_ttl=self.dedupe_ttl,
                dedupe_redis=self.redis.client if self.redis is not None else None)
        elif self.redis is not None:
            backend = self._redis_backend(self.redis.client)
        elif self.client is not None:
            backend = self._redis_backend(self.client)
        elif self.url is not None:
            import redis.asyncio as aioredis

            own = aioredis.Redis.from_url(self.url)
            backend = self._redis_backend(own)
        else:
            backend = MemoryBackend()
        self._backend = backend
        try:
            await backend.start()
        except Exception as exc:
            # The app still starts: enqueue answers 503 until the broker is back,
            # and workers keep trying to connect.
            logger.warning("broker unreachable at startup: %s", exc)
        try:
            yield self
        finally:
            await backend.aclose()
            if self._backend is backend:
                self._backend = None
            if own is not None:
                await own.aclose()

    def _redis_backend(self, client: Any) -> RedisBackend:
        from ._redis import RedisBackend

        return RedisBackend(client, queue=self.queue, prefix=self.prefix, lease=self.lease,
                            dedupe_ttl=self.dedupe_ttl)

    # -- using it ---------------------------------------------------------------

    async def enqueue(
        self,
        name: str,
        payload: Any = None,
        *,
        delay: float = 0,
        idempotency_key: str | None = None,
    ) -> str | None:
        """Queue a job; returns its id, or None when ``idempotency_key`` was
        used before (within ``dedupe_ttl``): that job runs once, not twice.
        ``delay``: seconds before it may run. ``payload`` must be JSON."""
        if delay < 0:
            raise ValueError(f"delay={delay}: must not be negative")
        job = Job(idempotency_key or uuid.uuid4().hex, name, payload, 0, time.time())
        try:
            added = await self.backend.enqueue(job, delay, dedupe=idempotency_key is not None)
        except (OSError, ConnectionError) as exc:
            raise JobsUnavailable(f"cannot enqueue {name!r}: {exc}") from exc
        except Exception as exc:
            if _is_connection_error(exc):
                raise JobsUnavailable(f"cannot enqueue {name!r}: {exc}") from exc
            raise
        self.counters.add("jobs.enqueued" if added else "jobs.duplicate")
        return job.id if added else None

    async def dead(self, limit: int = 100) -> list[DeadJob]:
        """The dead letters, oldest first."""
        return await self.backend.dead(limit)

    async def requeue_dead(self, dead_id: str) -> bool:
        """Give one dead job fresh tries; False if it is not (or no longer) there."""
        return await self.backend.requeue_dead(dead_id)

    def worker(self, concurrency: int = 10, prefetch: int | None = None) -> Worker:
        """A worker for this queue; ``await worker.run()`` until ``worker.stop()``."""
        return Worker(self, concurrency, prefetch=prefetch)


def _is_connection_error(exc: Exception) -> bool:
    module = type(exc).__module__
    if module.startswith(("aiormq", "aio_pika", "pamqp")):
        return True
    if not module.startswith("redis"):
        return False
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, RedisConnectionError | RedisTimeoutError)

"""Fixtures for the rate-limit tests: a clock the test moves, and each backend.

Redis is shared with other test runs: every test gets a prefix of its own (a
uuid), and the keys under it are deleted afterwards (never FLUSHDB).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio as aioredis

from minimal_asgi_ratelimit import MemoryBackend, RedisBackend


class Clock:
    """Milliseconds that move only when the test says so."""

    def __init__(self, now: int = 1_700_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted when it ends."""
    name = f"test-ratelimit-{uuid.uuid4().hex}"
    yield name
    sync = redis.Redis.from_url(redis_url)
    try:
        keys = list(sync.scan_iter(f"{name}:*"))
        if keys:
            sync.delete(*keys)
    finally:
        sync.close()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def backend(
    request: pytest.FixtureRequest, clock: Clock
) -> AsyncIterator[MemoryBackend | RedisBackend]:
    """The contract suite runs once per backend, both on the test's clock."""
    if request.param == "memory":
        yield MemoryBackend(clock=clock)
        return
    client = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
    try:
        # A generous timeout: a loaded machine must not turn a slow answer into a failure.
        yield RedisBackend(
            client, prefix=request.getfixturevalue("prefix"), clock=clock, timeout=10.0
        )
    finally:
        await client.aclose()


@pytest.fixture
def dead_port() -> Iterator[int]:
    with socket.socket() as sock:  # bound but not listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]

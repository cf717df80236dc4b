"""Fixtures for the auth tests: each store on each backend, against the real Redis.

``backend`` parametrizes a test over "memory" and "redis". On Redis each test
gets a key prefix of its own (Redis is shared: no FLUSHDB), deleted after it.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from minimal_asgi_auth import (
    MemoryAPIKeyStore,
    MemoryRefreshStore,
    MemorySessionStore,
    RedisAPIKeyStore,
    RedisRefreshStore,
    RedisSessionStore,
)
from minimal_asgi_auth.apikeys import APIKeyStore
from minimal_asgi_auth.sessions import SessionStore
from minimal_asgi_auth.tokens import RefreshStore
from minimal_asgi_redis import RedisConnection

SECRET = b"k" * 32  # tests only; a real key comes from secrets.token_bytes(32)


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextlib.asynccontextmanager
async def _store(
    backend: str, request: pytest.FixtureRequest, memory: Any, on_redis: Any
) -> AsyncIterator[Any]:
    if backend == "memory":
        yield memory()
        return
    client = aioredis.Redis.from_url(str(request.getfixturevalue("redis_url")))
    try:
        yield on_redis(client, prefix=str(request.getfixturevalue("redis_prefix")))
    finally:
        await client.aclose()


@pytest.fixture
async def refresh_store(
    backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[RefreshStore]:
    async with _store(backend, request, MemoryRefreshStore, RedisRefreshStore) as store:
        yield store


@pytest.fixture
async def session_store(
    backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[SessionStore]:
    async with _store(backend, request, MemorySessionStore, RedisSessionStore) as store:
        yield store


@pytest.fixture
async def apikey_store(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[APIKeyStore]:
    async with _store(backend, request, MemoryAPIKeyStore, RedisAPIKeyStore) as store:
        yield store


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing listens: a Redis that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def redis_plugins(backend: str, request: pytest.FixtureRequest) -> list[Any]:
    """The plugins an app under test installs: on Redis, the shared pool
    (opened at the app's startup, closed at its shutdown, in its event loop)."""
    if backend == "memory":
        return []
    return [RedisConnection(str(request.getfixturevalue("redis_url")))]


def app_store(kind: str, plugins: list[Any], request: pytest.FixtureRequest) -> Any:
    """A store for an app test: memory, or Redis through the app's pool."""
    memory, on_redis = {
        "refresh": (MemoryRefreshStore, RedisRefreshStore),
        "session": (MemorySessionStore, RedisSessionStore),
        "apikey": (MemoryAPIKeyStore, RedisAPIKeyStore),
    }[kind]
    if not plugins:
        return memory()
    return on_redis(plugins[0], prefix=str(request.getfixturevalue("redis_prefix")))

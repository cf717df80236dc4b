"""Fixtures for the cache tests: one cache per backend, and a way to clean up.

``make_cache(**options)`` builds a ``Cache`` on the backend the test is
parametrized with (``backend`` fixture: "memory", then "redis"). On Redis each
test gets a key prefix of its own (Redis is shared with other work: no
FLUSHDB), and its keys are deleted afterwards.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from minimal_asgi_cache import Cache

MakeCache = Callable[..., Cache]


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_cache(backend: str, request: pytest.FixtureRequest) -> MakeCache:
    """``make_cache(**options)``: a Cache on this test's backend. Called twice on
    Redis, it gives two caches sharing one prefix - two app instances, one Redis."""
    if backend == "memory":
        return lambda **options: Cache(**options)
    url = str(request.getfixturevalue("redis_url"))
    prefix = str(request.getfixturevalue("redis_prefix"))

    def on_redis(**options: Any) -> Cache:
        # Exactness must not depend on the machine's speed: on a loaded machine a
        # Redis call can outlast the default 0.25 s, count as an outage and turn
        # into a miss (the endpoint runs twice). Outages are tested on their own,
        # with caches built for them.
        options.setdefault("timeout", 10.0)
        return Cache(url, prefix=prefix, **options)

    return on_redis


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing listens (bound, so nothing else takes it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and never answers: a Redis
    that hangs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]

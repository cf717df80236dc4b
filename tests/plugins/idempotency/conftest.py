"""Fixtures for the idempotency tests: every behaviour runs on both backends.

``make_idempotency(**options)`` builds an ``Idempotency`` on the backend the
test is parametrized with (``backend``: "memory", then "redis"). On Redis each
test has a key prefix of its own (Redis is shared: no FLUSHDB), and its keys
are deleted afterwards.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from minimal_asgi_idempotency import Idempotency

MakeIdempotency = Callable[..., Idempotency]


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_idempotency(backend: str, request: pytest.FixtureRequest) -> MakeIdempotency:
    if backend == "memory":
        return lambda **options: Idempotency(**options)
    url = str(request.getfixturevalue("redis_url"))
    prefix = str(request.getfixturevalue("redis_prefix"))

    def on_redis(**options: Any) -> Idempotency:
        return Idempotency(url, prefix=prefix, **options)

    return on_redis


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing listens (bound, so nothing else takes it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a Redis that hangs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]

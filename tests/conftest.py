"""Shared fixtures: the anyio backend, and the real services some tests need.

Tests that need PostgreSQL or Redis ask for the ``database_url`` or
``redis_url`` fixture. If the server does not answer they are skipped with a
reason that says how to start it - unless MINIMAL_ASGI_REQUIRE_SERVICES=1 (set
by .ci/run), in which case they fail, so CI cannot go green by skipping.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _require(url: str, how_to_start: str) -> str:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 2):
            return url
    except OSError as exc:
        message = f"{url} is not reachable ({exc}); {how_to_start}"
        if os.environ.get("MINIMAL_ASGI_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def database_url() -> str:
    return _require(
        os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        "start PostgreSQL (e.g. `pg_ctlcluster 15 main start`) or set DATABASE_URL",
    )


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _require(
        os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        "start Redis (e.g. `redis-server --daemonize yes`) or set REDIS_URL",
    )

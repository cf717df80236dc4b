"""Shared fixtures: the anyio backend, and the real services some tests need.

Tests that need PostgreSQL or Redis ask for the ``database_url`` or
``redis_url`` fixture. If the server does not answer they are skipped with a
reason that says how to start it - unless MINIMAL_ASGI_REQUIRE_SERVICES=1 (set
by .ci/run), in which case they fail, so CI cannot go green by skipping.

A test that needs a database of its own asks for ``pg_url`` (a fresh PostgreSQL
schema, dropped after the test) or ``sql_url`` (runs the test twice: on in-memory
SQLite, then on a fresh PostgreSQL schema). A test that needs a running app asks
for ``client_for`` and calls it with the app: the client is closed, and the app's
shutdown run, when the test ends, whatever its outcome.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, settings

from minimal_asgi import ASGIApp
from minimal_asgi.testing import TestClient
from tests.types import ClientFactory

# Shared fixtures kept in modules of their own: `cluster` (a local Redis Cluster).
pytest_plugins = ["tests.redis_cluster"]

# hypothesis times two things by default: each example (a 200 ms deadline) and
# the generation of inputs (the too_slow health check). Both fail on a loaded
# machine whatever the code does - a timing assertion in disguise (CI once
# failed on "only generated 2 valid inputs after 2.11 seconds" at a load of 18).
# Tests here never time anything; a test's own @settings still adds to this.
settings.register_profile(
    "minimal_asgi", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("minimal_asgi")

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


@pytest.fixture
def redis_prefix(request: pytest.FixtureRequest, redis_url: str) -> Iterator[str]:
    """A Redis key prefix no other test uses - ``test:<folder>:<uuid>:`` - whose
    keys are deleted when the test ends. Redis is shared with everything else
    on the machine: tests never FLUSHDB."""
    prefix = f"test:{request.node.path.parent.name}:{uuid.uuid4().hex}:"
    yield prefix
    import redis  # only for the tests that ask

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def pg_url(database_url: str) -> Iterator[str]:
    """A URL whose connections create and find their tables in a schema of
    their own, made for this test and dropped after it."""
    from tests.plugins.sql.support import pg_schema  # asyncpg: only for the tests that ask

    with pg_schema(database_url) as schema_url:
        yield schema_url


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest) -> str:
    """The test runs once on in-memory SQLite and once on PostgreSQL (``pg_url``)."""
    if request.param == "sqlite":
        return "sqlite://:memory:"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def client_for() -> Iterator[ClientFactory]:
    """``client_for(app, **options)``: a started ``TestClient`` (the app's startup
    has run) that is closed after the test (the app's shutdown runs then)."""
    with contextlib.ExitStack() as clients:

        def open_client(app: ASGIApp, **options: Any) -> TestClient:
            return clients.enter_context(TestClient(app, **options))

        yield open_client


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The documentation site (mkdocs.yml), built once per run with --strict: a
    broken link, anchor or API reference fails here. tests/test_docs_site.py
    reads it; tests/test_browser_docs.py opens it in Chromium."""
    root = Path(__file__).resolve().parent.parent
    site_dir = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--config-file", str(root / "mkdocs.yml"), "--site-dir", str(site_dir)],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (
        "mkdocs build --strict failed; each WARNING below is a broken link, anchor or "
        f"reference to fix:\n{result.stdout}\n{result.stderr}"
    )
    yield site_dir

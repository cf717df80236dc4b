"""Liveness and readiness: dependencies checked concurrently under a timeout,
503 naming what failed, not ready while draining."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from minimal_asgi import App, ConfigurationError
from minimal_asgi.plugins import load_plugin
from minimal_asgi.testing import TestClient
from minimal_asgi_health import Health
from minimal_asgi_ratelimit import RateLimit
from minimal_asgi_redis import RedisConnection
from minimal_asgi_sql import SQL
from tests.server.servers import free_port
from tests.types import ClientFactory


def test_the_plugin_is_found_by_name() -> None:
    assert isinstance(load_plugin("health", timeout=2), Health)


def test_liveness_answers_whatever_the_dependencies_say(client_for: ClientFactory) -> None:
    async def down() -> None:
        raise ConnectionError("refused")

    client = client_for(App(plugins=[Health({"database": down})]))
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert response.headers["cache-control"] == "no-store"


def test_ready_with_every_check_passing(client_for: ClientFactory) -> None:
    async def up() -> bool:
        return True

    client = client_for(App(plugins=[Health({"a": up, "b": up})]))
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"a": "ok", "b": "ok"}}


def test_a_failing_check_is_named_in_a_503_problem(client_for: ClientFactory) -> None:
    async def up() -> None:
        return None

    async def refused() -> None:
        raise ConnectionError("connection refused by 10.0.0.7:6379")

    async def says_no() -> bool:
        return False

    client = client_for(App(plugins=[Health({"database": up, "redis": refused, "queue": says_no})]))
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["detail"] == "not ready: queue (failed), redis (failed: ConnectionError)"
    assert body["checks"] == {
        "database": "ok", "queue": "failed", "redis": "failed: ConnectionError"
    }
    assert "10.0.0.7" not in response.text  # the reason is logged, not published


def test_a_hung_check_times_out(client_for: ClientFactory) -> None:
    async def hangs() -> None:
        await anyio.sleep_forever()

    client = client_for(App(plugins=[Health({"search": hangs}, timeout=0.2)]))
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"search": "timed out after 0.2s"}


def test_checks_run_concurrently(client_for: ClientFactory) -> None:
    # Each check waits for the other to have started: run one after the
    # other, both would time out.
    first_started, second_started = anyio.Event(), anyio.Event()

    async def first() -> None:
        first_started.set()
        await second_started.wait()

    async def second() -> None:
        second_started.set()
        await first_started.wait()

    client = client_for(App(plugins=[Health({"first": first, "second": second}, timeout=5)]))
    assert client.get("/health/ready").status_code == 200


def test_the_app_is_not_ready_once_shutdown_begins() -> None:
    app = App(plugins=[Health()])
    during_shutdown: list[httpx.Response] = []

    @app.on_shutdown
    async def probe_while_draining() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            during_shutdown.append(await client.get("/health/ready"))

    with TestClient(app) as client:
        assert client.get("/health/ready").status_code == 200
    (response,) = during_shutdown
    assert response.status_code == 503
    assert response.json()["draining"] is True
    assert "shutting down" in response.json()["detail"]


def test_begin_draining_takes_the_app_out_before_the_server_stops(
    client_for: ClientFactory,
) -> None:
    app = App(plugins=[Health()])
    client = client_for(app)
    assert client.get("/health/ready").status_code == 200
    app.begin_draining()
    assert client.get("/health/ready").status_code == 503
    assert client.get("/health/live").status_code == 200  # draining is not dead


def test_route_options_reach_other_plugins(client_for: ClientFactory) -> None:
    app = App(plugins=[RateLimit("2/minute"), Health(route_options={"rate_limit": False})])
    client = client_for(app)
    assert all(client.get("/health/ready").status_code == 200 for _ in range(5))


def test_a_check_added_twice_is_a_configuration_error() -> None:
    async def up() -> None:
        return None

    health = Health({"db": up})
    with pytest.raises(ConfigurationError, match="added twice"):
        health.add_check("db", up)
    with pytest.raises(ConfigurationError, match="more than 0"):
        Health(timeout=0)


def test_the_database_and_redis_plugins_are_checked_without_saying_so(
    client_for: ClientFactory, pg_url: str, redis_url: str
) -> None:
    client = client_for(App(plugins=[SQL(pg_url), RedisConnection(redis_url), Health()]))
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_discovery_can_be_turned_off(client_for: ClientFactory, redis_url: str) -> None:
    client = client_for(App(plugins=[RedisConnection(redis_url), Health(discover=False)]))
    assert client.get("/health/ready").json()["checks"] == {}


@contextlib.contextmanager
def private_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis of this test's own, on a free port, to stop at will."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        process.kill()
        process.wait(15)


def test_redis_going_down_makes_the_app_not_ready_and_names_it(
    client_for: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with private_redis() as (url, process):
        client = client_for(App(plugins=[RedisConnection(url), Health(timeout=2)]))
        assert client.get("/health/ready").status_code == 200
        process.kill()
        process.wait(15)
        response = client.get("/health/ready")
    assert response.status_code == 503
    body: dict[str, Any] = response.json()
    assert body["checks"]["redis"].startswith(("failed", "timed out"))
    assert body["detail"].startswith("not ready: redis (")
    assert "health check redis" in caplog.text

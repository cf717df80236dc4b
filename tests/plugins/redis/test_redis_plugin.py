from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import pytest
import redis.asyncio as aioredis

from minimal_asgi import App
from minimal_asgi.testing import TestClient
from minimal_asgi_redis import RedisConnection


def make_app(url: str) -> tuple[App, RedisConnection, str]:
    plugin = RedisConnection(url)
    app = App(plugins=[plugin])
    key = f"test:{uuid.uuid4().hex}"

    @app.post("/hits")
    async def hit(r: aioredis.Redis) -> dict[str, int]:
        return {"hits": int(await r.incr(key))}

    return app, plugin, key


def test_client_is_injected_by_annotation_and_talks_to_redis(redis_url: str) -> None:
    app, _, key = make_app(redis_url)
    with TestClient(app) as client:
        assert client.post("/hits").json() == {"hits": 1}
        assert client.post("/hits").json() == {"hits": 2}
    import redis

    sync = redis.Redis.from_url(redis_url)
    assert sync.get(key) == b"2"
    sync.delete(key)


def test_client_exists_only_while_the_app_runs(redis_url: str) -> None:
    app, plugin, _ = make_app(redis_url)
    with pytest.raises(RuntimeError, match="opened at app startup"):
        plugin.client  # noqa: B018
    with TestClient(app):
        assert isinstance(plugin.client, aioredis.Redis)
    with pytest.raises(RuntimeError):
        plugin.client  # noqa: B018


def test_unreachable_redis_fails_startup_with_the_url() -> None:
    app, _, _ = make_app("redis://127.0.0.1:1/0")
    with pytest.raises(RuntimeError, match=r"cannot reach Redis at redis://127\.0\.0\.1:1/0"):
        with TestClient(app):
            pass


def test_injecting_the_client_runs_in_no_worker_thread(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _, _ = make_app(redis_url)
    hops: list[object] = []
    run_sync = anyio.to_thread.run_sync

    async def counting_run_sync(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await run_sync(func, *args, **kwargs)

    with TestClient(app) as client:
        monkeypatch.setattr(anyio.to_thread, "run_sync", counting_run_sync)
        assert client.post("/hits").json() == {"hits": 1}
    assert hops == []


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing listens (bound, so nothing else takes it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.parametrize("credentials", [":s3cret", "app:s3cret"])
def test_unreachable_redis_message_hides_the_password(closed_port: int, credentials: str) -> None:
    app, _, _ = make_app(f"redis://{credentials}@127.0.0.1:{closed_port}/0")
    user = credentials.split(":")[0]
    with pytest.raises(RuntimeError) as caught:
        with TestClient(app):
            pass
    message = str(caught.value)
    assert f"cannot reach Redis at redis://{user}:***@127.0.0.1:{closed_port}/0" in message
    assert "s3cret" not in message

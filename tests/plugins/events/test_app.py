"""Events in an app: injection, two app instances, Redis down."""

from __future__ import annotations

import socket
import uuid

import anyio
import pytest

from minimal_asgi import App
from minimal_asgi.testing import TestClient
from minimal_asgi_events import Events, EventsUnavailable
from minimal_asgi_redis import RedisConnection


def make_app(events: Events) -> App:
    app = App(plugins=[events])

    @app.post("/rooms/{room}")
    async def say(room: str, events: Events) -> dict[str, int]:
        return {"delivered_to": await events.publish(room, "hi")}

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_events_is_injected_by_annotation() -> None:
    with TestClient(make_app(Events())) as client:
        assert client.post("/rooms/a").json() == {"delivered_to": 0}


def test_redis_down_gives_a_503_problem_not_a_500_and_the_app_still_starts() -> None:
    events = Events(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    app = make_app(events)

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(app) as client:
        assert client.get("/health").json() == {"ok": True}
        response = client.post("/rooms/a")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "5"
        assert "cannot publish to Redis" in response.json()["detail"]


@pytest.mark.anyio
async def test_subscribing_while_redis_is_down_raises_events_unavailable() -> None:
    events = Events(f"redis://127.0.0.1:{free_port()}/0")
    async with App(plugins=[events]).lifespan_context():
        with pytest.raises(EventsUnavailable, match="cannot subscribe on Redis"):
            async with events.subscribe("room"):
                pass


@pytest.mark.anyio
async def test_a_message_published_by_one_app_reaches_subscribers_of_another(
    redis_url: str,
) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    # One app shares the minimal_asgi_redis pool, the other opens its own client.
    shared = RedisConnection(redis_url)
    first = Events(redis=shared, prefix=prefix)
    second = Events(redis_url, prefix=prefix)
    app_one = App(plugins=[shared, first])
    app_two = App(plugins=[second])
    async with app_one.lifespan_context(), app_two.lifespan_context():
        async with second.subscribe("room") as on_two, first.subscribe("room") as on_one:
            assert await first.publish("room", "from one") == 2
            assert await second.publish("room", "from two") == 2
            with anyio.fail_after(5):
                assert [await on_two.get(), await on_two.get()] == ["from one", "from two"]
                assert [await on_one.get(), await on_one.get()] == ["from one", "from two"]


def test_bad_configuration_is_refused_at_construction() -> None:
    from minimal_asgi import ConfigurationError

    with pytest.raises(ConfigurationError, match="only one of"):
        Events("redis://127.0.0.1/0", redis=RedisConnection("redis://127.0.0.1/0"))
    with pytest.raises(ConfigurationError, match="at least 1"):
        Events(max_queue=0)


def test_using_events_before_startup_says_when_it_is_ready() -> None:
    with pytest.raises(RuntimeError, match="started with the app"):
        Events().backend  # noqa: B018

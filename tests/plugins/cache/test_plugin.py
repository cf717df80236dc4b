"""The plugin as installed: found by name, routes wrapped only when they ask,
options checked at startup, the Cache injectable."""

from __future__ import annotations

import pytest

from minimal_asgi import App, ASGIApp, ConfigurationError, RouteInfo
from minimal_asgi.plugins import load_plugin
from minimal_asgi.testing import TestClient
from minimal_asgi_cache import Cache, Cached


def test_the_plugin_is_found_by_name() -> None:
    plugin = load_plugin("cache", default_ttl=5)
    assert isinstance(plugin, Cache)
    assert plugin.default_ttl == 5


def test_a_route_without_the_option_is_not_wrapped() -> None:
    wrapped: dict[str, bool] = {}
    cache = Cache()
    original_wrap = cache._wrap

    def recording_wrap(route: RouteInfo, handler: ASGIApp) -> ASGIApp:
        result = original_wrap(route, handler)
        wrapped[route.path] = result is not handler
        return result

    cache._wrap = recording_wrap  # type: ignore[method-assign]
    app = App(plugins=[cache])

    @app.get("/plain")
    async def plain() -> str:
        return "plain"

    @app.get("/cached", cache=10)
    async def cached() -> str:
        return "cached"

    with TestClient(app) as client:
        assert client.get("/plain").text == "plain"
    assert (wrapped["/plain"], wrapped["/cached"]) == (False, True)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("soon", r"route /x: cache= takes seconds or Cached\(...\), not 'soon'"),
        (-1, r"route /x: cache ttl: a positive number of seconds, not -1"),
        (Cached(ttl=10**9), r"longer than tag_ttl"),
        (Cached(ttl=10, stale=10**9), r"route /x: cache ttl \+ stale: .* longer than tag_ttl"),
        (Cached(ttl=10, tags="todos"), r"route /x: Cached\(tags=...\) takes a list of names"),
    ],
)
def test_a_bad_cache_option_stops_the_startup_naming_the_route(
    option: object, message: str
) -> None:
    app = App(plugins=[Cache()])

    async def endpoint() -> str:
        return "x"

    app.add_route("/x", endpoint, cache=option)
    with pytest.raises(RuntimeError, match=message):
        with TestClient(app):
            pass


def test_caching_a_write_route_is_refused_at_startup() -> None:
    app = App(plugins=[Cache()])

    @app.post("/todos", cache=30)
    async def add() -> None:
        return None

    with pytest.raises(RuntimeError, match=r"only GET and HEAD answers are cached"):
        with TestClient(app):
            pass


def test_an_unknown_backend_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"use 'memory', a Redis URL"):
        Cache("memcached://localhost")


def test_the_cache_is_injected_by_annotation() -> None:
    cache = Cache()
    app = App(plugins=[cache])

    @app.get("/which")
    async def which(injected: Cache) -> dict[str, bool]:
        return {"same": injected is cache}

    with TestClient(app) as client:
        assert client.get("/which").json() == {"same": True}


def test_the_cache_can_share_the_apps_redis_pool(redis_url: str, redis_prefix: str) -> None:
    import redis

    from minimal_asgi_redis import RedisConnection

    connection = RedisConnection(redis_url)
    app = App(plugins=[connection, Cache(connection, prefix=redis_prefix)])

    @app.get("/shared", cache=60)
    async def shared() -> str:
        return "from the endpoint"

    with TestClient(app) as client:
        assert client.get("/shared").text == client.get("/shared").text == "from the endpoint"
    with redis.Redis.from_url(redis_url) as sync:
        assert len(sync.keys(redis_prefix + "resp:*")) == 1


def test_a_single_tag_given_as_a_string_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"takes a list of names: \['users'\]"):
        Cache().cached(ttl=60, tags="users")

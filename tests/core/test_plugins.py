"""The plugin contract: setup order, startup/shutdown as a stack, the frozen app,
per-route options and route wrappers, and finding plugins by name."""

from __future__ import annotations

import contextlib
import importlib
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pytest

from minimal_asgi import (
    App,
    ASGIApp,
    ConfigurationError,
    Message,
    PlainTextResponse,
    Receive,
    Request,
    Route,
    Router,
    Scope,
    Send,
)
from minimal_asgi.plugins import ENTRY_POINT_GROUP, available_plugins, load_plugin
from minimal_asgi.testing import TestClient


class Recorder:
    """A plugin that writes what happens to it into a shared log."""

    def __init__(self, name: str, log: list[str], *, fail_startup: bool = False) -> None:
        self.name = name
        self.log = log
        self.fail_startup = fail_startup

    def setup(self, app: App) -> None:
        self.log.append(f"setup {self.name}")
        app.add_lifespan(self.lifespan)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: App) -> AsyncIterator[None]:
        if self.fail_startup:
            raise ConnectionError(f"{self.name} cannot reach its server")
        self.log.append(f"start {self.name}")
        try:
            yield
        finally:
            self.log.append(f"stop {self.name}")


class HookPlugin:
    """A plugin that uses plain startup/shutdown hooks instead of a context."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    def setup(self, app: App) -> None:
        self.log.append(f"setup {self.name}")
        app.on_startup(lambda: self.log.append(f"start {self.name}"))
        app.on_shutdown(lambda: self.log.append(f"stop {self.name}"))


class Connection:
    def __init__(self) -> None:
        self.open = False


class ConnectionPlugin:
    """Opens a connection at startup, closes it at shutdown, and makes it injectable."""

    def __init__(self) -> None:
        self.connection = Connection()

    def setup(self, app: App) -> None:
        app.add_lifespan(self.lifespan)
        app.provide(Connection, lambda: self.connection)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: App) -> AsyncIterator[None]:
        self.connection.open = True
        yield
        self.connection.open = False


# -- order: setup, startup, shutdown ---------------------------------------------------
def test_plugins_are_set_up_in_the_order_given() -> None:
    log: list[str] = []
    App(plugins=[Recorder("a", log), Recorder("b", log), Recorder("c", log)])
    assert log == ["setup a", "setup b", "setup c"]


def test_install_sets_up_after_the_constructor_plugins() -> None:
    log: list[str] = []
    app = App(plugins=[Recorder("a", log)])
    app.install(Recorder("b", log))
    assert log == ["setup a", "setup b"]


def test_installed_plugins_are_listed_in_order() -> None:
    first, second = Recorder("a", []), Recorder("b", [])
    app = App(plugins=[first])
    app.install(second)
    assert app.plugins == [first, second]


def test_plugins_start_in_order_and_stop_in_reverse() -> None:
    log: list[str] = []
    app = App(plugins=[Recorder("a", log), HookPlugin("b", log), Recorder("c", log)])
    with TestClient(app):
        log.append("serving")
    assert log[3:] == ["start a", "start b", "start c", "serving", "stop c", "stop b", "stop a"]


def test_a_failing_startup_stops_the_plugins_already_started() -> None:
    log: list[str] = []
    app = App(
        plugins=[Recorder("a", log), Recorder("b", log, fail_startup=True), Recorder("c", log)]
    )
    with pytest.raises(RuntimeError), TestClient(app):
        log.append("serving")
    assert log[3:] == ["start a", "stop a"]


def test_a_failing_startup_makes_the_test_client_raise_with_the_message() -> None:
    app = App(plugins=[Recorder("db", [], fail_startup=True)])
    message = "lifespan startup failed: ConnectionError: db cannot reach its server"
    with pytest.raises(RuntimeError, match=message), TestClient(app):
        pass


def test_what_a_plugin_lifespan_yields_is_in_the_request_state() -> None:
    class Pool:
        def setup(self, app: App) -> None:
            app.add_lifespan(self.lifespan)

        @contextlib.asynccontextmanager
        async def lifespan(self, app: App) -> AsyncIterator[dict[str, str]]:
            yield {"pool": "pool-1"}

    app = App(plugins=[Pool()])

    @app.get("/")
    async def read(request: Request) -> str:
        return str(request.state.pool)

    with TestClient(app) as client:
        assert client.get("/").text == "pool-1"


def test_a_plugin_can_open_a_resource_at_startup_and_provide_it() -> None:
    plugin = ConnectionPlugin()
    app = App(plugins=[plugin])

    @app.get("/")
    async def is_open(connection: Connection) -> dict[str, bool]:
        return {"open": connection.open}

    with TestClient(app) as client:
        assert client.get("/").json() == {"open": True}
    assert plugin.connection.open is False


# -- installing ---------------------------------------------------------------------------
def test_installing_the_same_plugin_object_twice_is_an_error() -> None:
    plugin = Recorder("a", [])
    app = App(plugins=[plugin])
    with pytest.raises(ConfigurationError, match="installed twice"):
        app.install(plugin)


def test_an_object_without_setup_is_not_a_plugin() -> None:
    with pytest.raises(ConfigurationError, match=r"is not a plugin: it has no setup\(app\)"):
        App(plugins=[object()])


# -- the frozen app ------------------------------------------------------------------------
async def _endpoint() -> str:
    return "late"


class _Passthrough:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def _nothing(app: App) -> AsyncIterator[None]:
    yield


LATE_CHANGES: dict[str, Callable[[App], Any]] = {
    "add_route": lambda app: app.add_route("/late", _endpoint),
    "add_middleware": lambda app: app.add_middleware(_Passthrough),
    "before_request": lambda app: app.before_request(lambda request: None),
    "add_exception_handler": lambda app: app.add_exception_handler(
        KeyError, lambda request, exc: PlainTextResponse("", 404)
    ),
    "install": lambda app: app.install(Recorder("late", [])),
    "add_lifespan": lambda app: app.add_lifespan(_nothing),
    "add_route_wrapper": lambda app: app.add_route_wrapper(lambda route, handler: handler),
    "add_openapi_hook": lambda app: app.add_openapi_hook(lambda route, method, operation: None),
}


@pytest.mark.parametrize("change", list(LATE_CHANGES))
def test_the_app_is_frozen_once_it_serves(change: str) -> None:
    app = App()
    with TestClient(app):
        with pytest.raises(ConfigurationError, match="after the app has started"):
            LATE_CHANGES[change](app)


def test_a_change_refused_after_startup_leaves_the_app_serving_as_before() -> None:
    app = App()

    @app.get("/")
    async def home() -> str:
        return "home"

    with TestClient(app) as client:
        with pytest.raises(ConfigurationError):
            app.add_route("/late", _endpoint)
        assert client.get("/late").status_code == 404
        assert client.get("/").text == "home"


# -- per-route options and route wrappers ---------------------------------------------------
def test_route_keyword_options_are_kept_on_route_options() -> None:
    app = App()

    @app.get("/x", cache=30, rate_limit="10/minute")
    async def x() -> str:
        return "x"

    (route,) = [r for r in app.routes if r.path == "/x"]
    assert route.options == {"cache": 30, "rate_limit": "10/minute"}


class CacheHeader:
    """A plugin that marks the responses of routes declared with ``cache=<seconds>``."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.seen: list[str] = []
        self.log = log if log is not None else []

    def setup(self, app: App) -> None:
        app.add_route_wrapper(self.wrap)

    def wrap(self, route: Route, handler: ASGIApp) -> ASGIApp:
        self.seen.append(route.path)
        ttl = route.options.get("cache")
        if ttl is None:
            return handler
        value = f"max-age={ttl}".encode()

        async def cached(scope: Scope, receive: Receive, send: Send) -> None:
            async def send_marked(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = [*message.get("headers", []), (b"cache-control", value)]
                    message = {**message, "headers": headers}
                await send(message)

            await handler(scope, receive, send_marked)

        return cached


def cache_app(plugin: CacheHeader) -> App:
    app = App(plugins=[plugin], openapi_url=None, docs_url=None)

    @app.get("/items/{item_id:int}", cache=30)
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/live")
    async def live() -> str:
        return "now"

    return app


def test_a_route_wrapper_sees_every_route_at_startup() -> None:
    plugin = CacheHeader()
    with TestClient(cache_app(plugin)):
        assert sorted(plugin.seen) == ["/items/{item_id:int}", "/live"]


def test_a_route_wrapper_wraps_the_routes_that_ask_for_it() -> None:
    with TestClient(cache_app(CacheHeader())) as client:
        response = client.get("/items/7")
    assert response.json() == {"id": 7}  # the path value still reaches the endpoint
    assert response.headers["cache-control"] == "max-age=30"


def test_a_route_wrapper_leaves_other_routes_alone() -> None:
    with TestClient(cache_app(CacheHeader())) as client:
        response = client.get("/live")
    assert response.text == "now"
    assert "cache-control" not in response.headers


def test_a_route_no_wrapper_wants_keeps_its_direct_handler() -> None:
    # The same kind of handler function as in an app without any wrapper: the
    # ignored route pays nothing per request.
    bare, wrapped = App(), cache_app(CacheHeader())

    @bare.get("/live")
    async def live() -> str:
        return "now"

    with TestClient(bare), TestClient(wrapped):
        (bare_live,) = [r for r in bare.routes if r.path == "/live"]
        (live,) = [r for r in wrapped.routes if r.path == "/live"]
        (item,) = [r for r in wrapped.routes if r.path.startswith("/items")]
        assert live.handle.__qualname__ == bare_live.handle.__qualname__
        assert item.handle.__qualname__ != bare_live.handle.__qualname__


def test_route_options_survive_include_router() -> None:
    plugin = CacheHeader()
    app = App(plugins=[plugin])
    v1 = Router()

    @v1.get("/prices", cache=60)
    async def prices() -> dict[str, int]:
        return {"tea": 3}

    app.include_router(v1, prefix="/v1")
    with TestClient(app) as client:
        response = client.get("/v1/prices")
    assert "/v1/prices" in plugin.seen
    assert response.headers["cache-control"] == "max-age=60"


def test_router_options_reach_its_routes_and_a_routes_own_value_wins() -> None:
    seen: dict[str, dict[str, Any]] = {}

    def record(route: Any, handler: ASGIApp) -> ASGIApp:
        seen[route.path] = dict(route.options)
        return handler

    app = App()
    app.add_route_wrapper(record)
    api = Router(options={"rate_limit": "100/hour", "cache": 5})
    admin = Router(options={"rate_limit": "10/minute"})

    @api.get("/items")
    async def items() -> list[int]:
        return []

    @api.get("/search", rate_limit="5/second")
    async def search() -> list[int]:
        return []

    @admin.get("/users")
    async def users() -> list[int]:
        return []

    @app.get("/health")
    async def health() -> str:
        return "ok"

    api.include_router(admin, prefix="/admin")
    app.include_router(api, prefix="/v1")
    with TestClient(app):
        pass
    assert seen["/v1/items"] == {"rate_limit": "100/hour", "cache": 5}
    assert seen["/v1/search"] == {"rate_limit": "5/second", "cache": 5}
    assert seen["/v1/admin/users"] == {"rate_limit": "10/minute", "cache": 5}
    assert seen["/health"] == {}


def test_the_first_plugin_installed_is_the_outermost_route_wrapper() -> None:
    log: list[str] = []

    class Layer:
        def __init__(self, name: str) -> None:
            self.name = name

        def setup(self, app: App) -> None:
            app.add_route_wrapper(self.wrap)

        def wrap(self, route: Route, handler: ASGIApp) -> ASGIApp:
            async def layer(scope: Scope, receive: Receive, send: Send) -> None:
                log.append(f"{self.name} in")
                await handler(scope, receive, send)
                log.append(f"{self.name} out")

            return layer

    app = App(plugins=[Layer("first"), Layer("second")])

    @app.get("/")
    async def endpoint() -> str:
        log.append("endpoint")
        return "ok"

    with TestClient(app) as client:
        client.get("/")
    assert log == ["first in", "second in", "endpoint", "second out", "first out"]


def test_middleware_sees_the_matched_route_after_the_inner_app_ran() -> None:
    seen: list[tuple[str, dict[str, Any]] | None] = []

    class RouteReader:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await self.app(scope, receive, send)
            route = scope.get("route")
            seen.append((route.path, route.options) if route is not None else None)

    app = App()
    app.add_middleware(RouteReader)

    @app.get("/limited", rate_limit="10/minute")
    async def limited() -> str:
        return "ok"

    with TestClient(app) as client:
        client.get("/limited")
        client.get("/nowhere")
    assert seen == [("/limited", {"rate_limit": "10/minute"}), None]


# -- finding plugins by name ------------------------------------------------------------
TINY_PLUGIN = '''
from minimal_asgi import App


class Tiny:
    def __init__(self, greeting: str = "hello") -> None:
        self.greeting = greeting

    def setup(self, app: App) -> None:
        @app.get("/tiny")
        async def tiny() -> str:
            return self.greeting


READY = Tiny("ready-made")
'''


@pytest.fixture
def tiny_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Install a distribution registering ``tiny`` (and ``tiny-ready``) under the
    entry-point group, the way ``pip install`` would: a module and a dist-info."""
    module = "tiny_minimal_asgi_plugin"
    (tmp_path / f"{module}.py").write_text(TINY_PLUGIN)
    info = tmp_path / "tiny_minimal_asgi_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tiny-minimal-asgi-plugin\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        textwrap.dedent(
            f"""\
            [{ENTRY_POINT_GROUP}]
            tiny = {module}:Tiny
            tiny-ready = {module}:READY
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # (also invalidates the import caches)
    importlib.invalidate_caches()
    monkeypatch.delitem(sys.modules, module, raising=False)
    yield module
    sys.modules.pop(module, None)


def test_an_installed_plugin_is_listed_by_name(tiny_plugin: str) -> None:
    assert available_plugins()["tiny"].value == f"{tiny_plugin}:Tiny"


def test_load_plugin_builds_the_named_plugin_with_options(tiny_plugin: str) -> None:
    plugin = load_plugin("tiny", greeting="hi")
    assert type(plugin).__name__ == "Tiny"
    assert plugin.greeting == "hi"  # type: ignore[attr-defined]


def test_an_app_installs_a_plugin_given_by_name(tiny_plugin: str) -> None:
    app = App(plugins=["tiny"])
    with TestClient(app) as client:
        assert client.get("/tiny").text == "hello"


def test_install_accepts_a_plugin_name(tiny_plugin: str) -> None:
    app = App()
    app.install("tiny")
    with TestClient(app) as client:
        assert client.get("/tiny").text == "hello"


def test_an_entry_point_may_name_a_ready_plugin_object(tiny_plugin: str) -> None:
    app = App(plugins=["tiny-ready"])
    with TestClient(app) as client:
        assert client.get("/tiny").text == "ready-made"


def test_a_ready_plugin_object_takes_no_options(tiny_plugin: str) -> None:
    with pytest.raises(ConfigurationError, match="it takes no options"):
        load_plugin("tiny-ready", greeting="hi")


def test_an_unknown_plugin_name_lists_the_installed_ones(tiny_plugin: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        App(plugins=["no-such-plugin"])
    message = str(caught.value)
    assert "no plugin named 'no-such-plugin' is installed" in message
    installed = message.split("(installed: ", 1)[1].split(")", 1)[0].split(", ")
    assert {"cors", "redis", "tiny", "tiny-ready"} <= set(installed)
    assert ENTRY_POINT_GROUP in message


def test_the_project_registers_its_own_plugins_by_name() -> None:
    from minimal_asgi_cors import CORS
    from minimal_asgi_redis import RedisConnection

    found = available_plugins()
    assert found["cors"].load() is CORS
    assert found["redis"].load() is RedisConnection


@pytest.fixture
def redis_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry points as they are without minimal-asgi-redis installed."""
    import minimal_asgi.plugins

    def without_redis(*, group: str) -> list[EntryPoint]:
        return [ep for ep in entry_points(group=group) if ep.name != "redis"]

    monkeypatch.setattr(minimal_asgi.plugins, "entry_points", without_redis)


def test_a_plugin_not_installed_names_the_pip_command(redis_not_installed: None) -> None:
    with pytest.raises(ConfigurationError) as caught:
        App(plugins=["redis"])
    message = str(caught.value)
    assert "no plugin named 'redis' is installed" in message
    assert "pip install minimal-asgi-redis" in message
    assert "pip install -e plugins/minimal_asgi_redis" in message


def test_load_plugin_names_the_pip_command_for_a_plugin_not_installed(
    redis_not_installed: None,
) -> None:
    with pytest.raises(ConfigurationError, match="pip install minimal-asgi-redis"):
        load_plugin("redis")


def test_a_plugin_whose_own_dependency_is_missing_names_the_pip_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The real entry point, with the redis client gone: importing the plugin fails.
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    monkeypatch.delitem(sys.modules, "minimal_asgi_redis", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        App(plugins=["redis"])
    message = str(caught.value)
    assert "plugin 'redis' (minimal_asgi_redis:RedisConnection, from minimal-asgi-redis)" in message
    assert "cannot be imported" in message and "redis" in message
    assert "pip install minimal-asgi-redis" in message
    assert "pip install -e plugins/minimal_asgi_redis" in message
    assert isinstance(caught.value.__cause__, ImportError)  # the cause stays in the traceback


def test_a_third_party_plugin_that_cannot_import_names_its_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_plugin.py").write_text("import a_client_library_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fake = EntryPoint("broken", "broken_plugin:Broken", ENTRY_POINT_GROUP)
    monkeypatch.setattr("minimal_asgi.plugins.available_plugins", lambda: {"broken": fake})
    with pytest.raises(ConfigurationError) as caught:
        load_plugin("broken")
    message = str(caught.value)
    assert "No module named 'a_client_library_not_installed'" in message
    assert "pip install minimal-asgi-broken" in message
    assert not isinstance(caught.value, ImportError)


# -- OpenAPI hooks: a wrapper describes what it adds -----------------------------------


def test_an_openapi_hook_changes_each_operation_it_is_given() -> None:
    seen: list[tuple[str, str, Any]] = []

    def describe(route: Any, method: str, operation: dict[str, Any]) -> None:
        seen.append((route.path, method, route.options.get("signed")))
        if route.options.get("signed"):
            operation.setdefault("parameters", []).append(
                {"name": "Signature", "in": "header", "schema": {"type": "string"}}
            )

    app = App()
    app.add_openapi_hook(describe)

    @app.post("/orders", signed=True)
    async def create() -> None: ...

    @app.get("/orders")
    async def list_orders() -> list[int]:
        return []

    document = app.openapi()
    assert document["paths"]["/orders"]["post"]["parameters"][0]["name"] == "Signature"
    assert "parameters" not in document["paths"]["/orders"]["get"]
    assert sorted(seen) == [("/orders", "get", None), ("/orders", "post", True)]


def test_an_openapi_hook_must_be_callable() -> None:
    with pytest.raises(ConfigurationError, match="the hook must be callable"):
        App().add_openapi_hook("describe")  # type: ignore[arg-type]


# -- respond_to_error: a wrapper that records the whole answer, errors included -------


def _recording_wrapper(app: App, recorded: list[Message]) -> Callable[[Any, ASGIApp], ASGIApp]:
    def wrap(route: Any, handler: ASGIApp) -> ASGIApp:
        async def recording(scope: Scope, receive: Receive, send: Send) -> None:
            async def keep(message: Message) -> None:
                recorded.append(message)
                await send(message)

            try:
                await handler(scope, receive, keep)
            except Exception as exc:
                await app.respond_to_error(scope, receive, keep, exc)

        return recording

    return wrap


def test_respond_to_error_answers_as_the_apps_error_layer_would() -> None:
    recorded: list[Message] = []
    app = App()
    app.add_route_wrapper(_recording_wrapper(app, recorded))

    @app.exception_handler(KeyError)
    async def missing(request: Request, exc: KeyError) -> PlainTextResponse:
        return PlainTextResponse(f"no {exc}", status_code=404)

    @app.post("/items/{name}")
    async def take(name: str) -> None:
        raise KeyError(name)

    with TestClient(app) as client:
        response = client.post("/items/tea")
    assert (response.status_code, response.text) == (404, "no 'tea'")
    assert [m["type"] for m in recorded] == ["http.response.start", "http.response.body"]
    assert recorded[0]["status"] == 404 and recorded[1]["body"] == b"no 'tea'"


def test_respond_to_error_answers_a_crash_500_once_and_the_server_still_sees_it() -> None:
    recorded: list[Message] = []
    app = App()
    app.add_route_wrapper(_recording_wrapper(app, recorded))

    @app.post("/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    with TestClient(app) as client, pytest.raises(RuntimeError, match="boom"):
        client.post("/crash")
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/crash")
    assert response.status_code == 500 and response.json()["title"] == "Internal Server Error"
    starts = [m for m in recorded if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [500, 500]  # one answer per request, not two

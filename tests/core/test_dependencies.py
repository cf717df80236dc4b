"""Dependency injection: where each endpoint argument comes from, and when
dependencies run, are cached, torn down, overridden and guarded.

Reads as the specification of minimal_asgi/dependencies.py (issue 7).
"""

import inspect
import threading
import typing
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import pytest

from minimal_asgi import (
    App,
    BackgroundTasks,
    ConfigurationError,
    Cookie,
    Depends,
    Header,
    HTTPException,
    Query,
    Request,
    Router,
    StreamingResponse,
)
from minimal_asgi.testing import AsyncTestClient, TestClient
from minimal_asgi.types import Message

# -- helpers ---------------------------------------------------------------------


async def call_asgi(
    app: App,
    method: str,
    path: str,
    log: list[str],
    *,
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Drive ``app`` as a server would, writing each message the app sends into
    ``log`` as ``send <type>``: a shared log shows what happened before what."""
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        raise AssertionError("the app read past the end of the request")

    async def send(message: Message) -> None:
        log.append(f"send {message['type']}")

    path_only, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path_only,
        "raw_path": path_only.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers or [],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)


def problem_errors(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


@dataclass
class Item:
    name: str
    price: float


class Settings:
    def __init__(self, name: str) -> None:
        self.name = name


# -- parameter sources -------------------------------------------------------------


def test_path_parameter_is_converted_to_its_annotation() -> None:
    app = App()

    @app.get("/items/{item_id}")
    async def read(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "type": type(item_id).__name__}

    with TestClient(app) as client:
        assert client.get("/items/42").json() == {"id": 42, "type": "int"}


def test_path_parameter_that_does_not_convert_is_a_422_located_in_the_path() -> None:
    app = App()

    @app.get("/items/{item_id}")
    async def read(item_id: int) -> dict[str, Any]:
        return {"id": item_id}

    with TestClient(app) as client:
        errors = problem_errors(client.get("/items/abc"))
    assert errors == [{"loc": ["path", "item_id"], "msg": "must be an integer", "type": "value"}]


def test_typed_path_converter_value_is_passed_through() -> None:
    app = App()

    @app.get("/items/{item_id:int}")
    def read(item_id: int) -> dict[str, Any]:
        return {"id": item_id}

    with TestClient(app) as client:
        assert client.get("/items/7").json() == {"id": 7}


def test_request_is_injected_by_annotation() -> None:
    app = App()

    @app.get("/where")
    async def where(incoming: Request) -> dict[str, Any]:
        return {"path": incoming.url.path, "method": incoming.method}

    with TestClient(app) as client:
        assert client.get("/where").json() == {"path": "/where", "method": "GET"}


def test_dependency_can_take_the_request() -> None:
    app = App()

    def client_host(request: Request) -> str:
        return request.headers.get("x-forwarded-for", "unknown")

    @app.get("/ip")
    async def ip(host: Annotated[str, Depends(client_host)]) -> dict[str, str]:
        return {"host": host}

    with TestClient(app) as client:
        assert client.get("/ip", headers={"x-forwarded-for": "10.0.0.1"}).json() == {
            "host": "10.0.0.1"
        }


def test_background_tasks_are_injected_by_annotation() -> None:
    app = App()
    done: list[str] = []

    @app.post("/jobs")
    async def start(tasks: BackgroundTasks) -> dict[str, bool]:
        tasks.add_task(done.append, "job")
        return {"queued": isinstance(tasks, BackgroundTasks)}

    with TestClient(app) as client:
        assert client.post("/jobs").json() == {"queued": True}
    assert done == ["job"]


def test_provided_type_is_injected_by_annotation() -> None:
    app = App()
    app.provide(Settings, lambda: Settings("from factory"))

    @app.get("/settings")
    async def show(settings: Settings) -> dict[str, str]:
        return {"name": settings.name}

    with TestClient(app) as client:
        assert client.get("/settings").json() == {"name": "from factory"}


def test_provided_factory_can_have_dependencies_of_its_own() -> None:
    app = App()

    def env(stage: str = Header(default="dev")) -> str:
        return stage

    def make_settings(stage: str = Depends(env)) -> Settings:
        return Settings(f"settings for {stage}")

    app.provide(Settings, make_settings)

    @app.get("/settings")
    async def show(settings: Settings) -> dict[str, str]:
        return {"name": settings.name}

    with TestClient(app) as client:
        assert client.get("/settings", headers={"stage": "prod"}).json() == {
            "name": "settings for prod"
        }


def test_depends_default_fills_the_parameter_with_what_the_callable_returns() -> None:
    app = App()

    async def get_user() -> str:
        return "ada"

    @app.get("/me")
    async def me(user: str = Depends(get_user)) -> dict[str, str]:
        return {"user": user}

    with TestClient(app) as client:
        assert client.get("/me").json() == {"user": "ada"}


def test_annotated_depends_fills_the_parameter() -> None:
    app = App()

    def get_user() -> str:
        return "grace"

    @app.get("/me")
    async def me(user: Annotated[str, Depends(get_user)]) -> dict[str, str]:
        return {"user": user}

    with TestClient(app) as client:
        assert client.get("/me").json() == {"user": "grace"}


def test_depends_without_a_callable_uses_the_annotation() -> None:
    app = App()

    class Pagination:
        def __init__(self, page: int = 1, size: int = 10) -> None:
            self.page, self.size = page, size

    @app.get("/list")
    async def listing(paging: Pagination = Depends()) -> dict[str, int]:
        return {"page": paging.page, "size": paging.size}

    with TestClient(app) as client:
        assert client.get("/list?page=3").json() == {"page": 3, "size": 10}


def test_simple_typed_parameter_not_in_the_path_is_read_from_the_query() -> None:
    app = App()

    @app.get("/search")
    async def search(q: str, limit: int) -> dict[str, Any]:
        return {"q": q, "limit": limit}

    with TestClient(app) as client:
        assert client.get("/search?q=cats&limit=5").json() == {"q": "cats", "limit": 5}


def test_absent_query_parameter_takes_its_default() -> None:
    app = App()

    @app.get("/search")
    async def search(limit: int = 20, q: str | None = None) -> dict[str, Any]:
        return {"limit": limit, "q": q}

    with TestClient(app) as client:
        assert client.get("/search").json() == {"limit": 20, "q": None}


def test_missing_required_query_parameter_is_a_422_field_required() -> None:
    app = App()

    @app.get("/search")
    async def search(q: str) -> dict[str, str]:
        return {"q": q}

    with TestClient(app) as client:
        errors = problem_errors(client.get("/search"))
    assert errors == [{"loc": ["query", "q"], "msg": "field required", "type": "missing"}]


def test_list_query_parameter_collects_repeated_keys() -> None:
    app = App()

    @app.get("/pick")
    async def pick(ids: list[int]) -> dict[str, list[int]]:
        return {"ids": ids}

    with TestClient(app) as client:
        assert client.get("/pick?ids=3&ids=1&ids=2").json() == {"ids": [3, 1, 2]}


def test_list_query_parameter_with_a_bad_item_is_a_422() -> None:
    app = App()

    @app.get("/pick")
    async def pick(ids: list[int]) -> dict[str, list[int]]:
        return {"ids": ids}

    with TestClient(app) as client:
        errors = problem_errors(client.get("/pick?ids=1&ids=x"))
    assert [e["loc"] for e in errors] == [["query", "ids"]]


def test_query_alias_reads_a_key_that_is_not_an_identifier() -> None:
    app = App()

    @app.get("/list")
    async def listing(page_size: int = Query(10, alias="page-size")) -> dict[str, int]:
        return {"page_size": page_size}

    with TestClient(app) as client:
        assert client.get("/list?page-size=50").json() == {"page_size": 50}
        assert client.get("/list?page_size=50").json() == {"page_size": 10}


def test_header_parameter_name_underscores_become_hyphens() -> None:
    app = App()

    @app.get("/h")
    async def read(x_request_token: str = Header()) -> dict[str, str]:
        return {"token": x_request_token}

    with TestClient(app) as client:
        assert client.get("/h", headers={"X-Request-Token": "abc"}).json() == {"token": "abc"}


def test_header_alias_names_the_header() -> None:
    app = App()

    @app.get("/h")
    async def read(agent: str = Header(alias="User-Agent")) -> dict[str, str]:
        return {"agent": agent}

    with TestClient(app) as client:
        assert client.get("/h", headers={"user-agent": "probe/1"}).json() == {"agent": "probe/1"}


def test_missing_header_is_a_422_located_in_the_headers() -> None:
    app = App()

    @app.get("/h")
    async def read(x_token: Annotated[str, Header()]) -> dict[str, str]:
        return {"token": x_token}

    with TestClient(app) as client:
        errors = problem_errors(client.get("/h"))
    assert errors == [{"loc": ["header", "x-token"], "msg": "field required", "type": "missing"}]


def test_header_value_is_converted_to_its_annotation() -> None:
    app = App()

    @app.get("/h")
    async def read(x_count: int = Header()) -> dict[str, int]:
        return {"count": x_count}

    with TestClient(app) as client:
        assert client.get("/h", headers={"x-count": "12"}).json() == {"count": 12}


def test_cookie_parameter_is_read_by_name() -> None:
    app = App()

    @app.get("/c")
    async def read(session: str = Cookie()) -> dict[str, str]:
        return {"session": session}

    with TestClient(app) as client:
        assert client.get("/c", cookies={"session": "s3cr3t"}).json() == {"session": "s3cr3t"}


def test_cookie_alias_and_default() -> None:
    app = App()

    @app.get("/c")
    async def read(theme: str = Cookie("light", alias="ui-theme")) -> dict[str, str]:
        return {"theme": theme}

    with TestClient(app) as client:
        assert client.get("/c").json() == {"theme": "light"}
        assert client.get("/c", cookies={"ui-theme": "dark"}).json() == {"theme": "dark"}


def test_dataclass_parameter_is_the_json_body() -> None:
    app = App()

    @app.post("/items")
    async def create(item: Item) -> dict[str, Any]:
        return {"name": item.name, "price": item.price, "is_item": isinstance(item, Item)}

    with TestClient(app) as client:
        response = client.post("/items", json={"name": "pen", "price": 1.5})
    assert response.json() == {"name": "pen", "price": 1.5, "is_item": True}


def test_list_of_dataclasses_parameter_is_the_json_body() -> None:
    app = App()

    @app.post("/items")
    async def create(items: list[Item]) -> dict[str, list[str]]:
        return {"names": [item.name for item in items]}

    with TestClient(app) as client:
        body = [{"name": "pen", "price": 1}, {"name": "ink", "price": 2.5}]
        assert client.post("/items", json=body).json() == {"names": ["pen", "ink"]}


def test_body_with_a_non_json_content_type_is_a_415() -> None:
    app = App()

    @app.post("/items")
    async def create(item: Item) -> dict[str, str]:
        return {"name": item.name}

    with TestClient(app) as client:
        response = client.post(
            "/items", content="name=pen", headers={"content-type": "text/plain"}
        )
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("application/problem+json")


def test_body_with_a_json_suffix_content_type_is_accepted() -> None:
    app = App()

    @app.post("/items")
    async def create(item: Item) -> dict[str, str]:
        return {"name": item.name}

    with TestClient(app) as client:
        response = client.post(
            "/items",
            content='{"name": "pen", "price": 1}',
            headers={"content-type": "application/merge-patch+json"},
        )
    assert response.json() == {"name": "pen"}


def test_malformed_json_body_is_a_400() -> None:
    app = App()

    @app.post("/items")
    async def create(item: Item) -> dict[str, str]:
        return {"name": item.name}

    with TestClient(app) as client:
        response = client.post(
            "/items", content='{"name": "pen",', headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


def test_missing_required_body_is_a_422() -> None:
    app = App()

    @app.post("/items")
    async def create(item: Item) -> dict[str, str]:
        return {"name": item.name}

    with TestClient(app) as client:
        errors = problem_errors(client.post("/items"))
    assert [e["loc"] for e in errors] == [["body"]]


def test_optional_body_may_be_absent() -> None:
    app = App()

    @app.post("/items")
    async def create(item: Item | None = None) -> dict[str, Any]:
        return {"item": item}

    with TestClient(app) as client:
        assert client.post("/items").json() == {"item": None}


def test_two_body_parameters_are_a_configuration_error() -> None:
    app = App()

    @app.post("/pair")
    async def pair(a: Item, b: Item) -> None:
        return None

    with pytest.raises(ConfigurationError, match="two body parameters"):
        app.build()


def test_unfillable_parameter_is_a_configuration_error_naming_it() -> None:
    app = App()

    @app.get("/x")
    async def endpoint(mystery) -> None:  # type: ignore[no-untyped-def]
        return None

    with pytest.raises(ConfigurationError, match="'mystery'"):
        app.build()


# -- nesting, caching, cycles --------------------------------------------------------


def test_dependencies_can_depend_on_dependencies() -> None:
    app = App()

    def get_db() -> str:
        return "db"

    def get_repo(db: str = Depends(get_db)) -> str:
        return f"repo({db})"

    async def get_service(repo: Annotated[str, Depends(get_repo)]) -> str:
        return f"service({repo})"

    @app.get("/s")
    async def show(service: str = Depends(get_service)) -> dict[str, str]:
        return {"service": service}

    with TestClient(app) as client:
        assert client.get("/s").json() == {"service": "service(repo(db))"}


def test_a_shared_dependency_is_called_once_per_request() -> None:
    app = App()
    calls: list[str] = []

    def get_db() -> str:
        calls.append("get_db")
        return "db"

    def users(db: str = Depends(get_db)) -> str:
        return f"users({db})"

    def orders(db: str = Depends(get_db)) -> str:
        return f"orders({db})"

    @app.get("/s")
    async def show(
        u: str = Depends(users), o: str = Depends(orders), db: str = Depends(get_db)
    ) -> dict[str, str]:
        return {"u": u, "o": o, "db": db}

    with TestClient(app) as client:
        client.get("/s")
        assert calls == ["get_db"]
        client.get("/s")
    assert calls == ["get_db", "get_db"]  # the cache lives for one request only


def test_use_cache_false_calls_the_dependency_again() -> None:
    app = App()
    count = 0

    def next_number() -> int:
        nonlocal count
        count += 1
        return count

    @app.get("/n")
    async def numbers(
        a: int = Depends(next_number, use_cache=False),
        b: int = Depends(next_number, use_cache=False),
    ) -> dict[str, int]:
        return {"a": a, "b": b}

    with TestClient(app) as client:
        assert client.get("/n").json() == {"a": 1, "b": 2}


def _cycle_a(value: "Annotated[int, Depends(_cycle_b)]") -> int:
    return value


def _cycle_b(value: "Annotated[int, Depends(_cycle_a)]") -> int:
    return value


def test_dependency_cycle_is_a_configuration_error_at_startup() -> None:
    app = App()

    @app.get("/loop")
    async def loop(value: Annotated[int, Depends(_cycle_a)]) -> dict[str, int]:
        return {"value": value}

    cycle = r"dependency cycle: .* -> _cycle_a .* -> _cycle_b .* -> _cycle_a"
    with pytest.raises(ConfigurationError, match=cycle):
        app.build()


def test_sync_dependency_runs_in_a_worker_thread_and_async_on_the_loop() -> None:
    app = App()

    def sync_dep() -> int:
        return threading.get_ident()

    async def async_dep() -> int:
        return threading.get_ident()

    @app.get("/threads")
    async def threads(
        sync_thread: int = Depends(sync_dep), async_thread: int = Depends(async_dep)
    ) -> dict[str, bool]:
        return {
            "sync_off_loop": sync_thread != threading.get_ident(),
            "async_on_loop": async_thread == threading.get_ident(),
        }

    with TestClient(app) as client:
        assert client.get("/threads").json() == {"sync_off_loop": True, "async_on_loop": True}


def test_callable_object_can_be_a_dependency() -> None:
    app = App()

    class Prefixer:
        def __init__(self, prefix: str) -> None:
            self.prefix = prefix

        async def __call__(self, name: str) -> str:
            return self.prefix + name

    @app.get("/greet")
    async def greet(text: str = Depends(Prefixer("hello "))) -> dict[str, str]:
        return {"text": text}

    with TestClient(app) as client:
        assert client.get("/greet?name=ada").json() == {"text": "hello ada"}


# -- generator dependencies: teardown after the response -------------------------------


def make_teardown_app(mode: str, log: list[str]) -> App:
    """An app whose endpoint uses a sync and an async generator dependency and
    a background task, served by the plain, hooked or traced handler."""
    app = App(trace=(mode == "trace"))
    if mode == "hooks":

        @app.before_request
        async def before(request: Request) -> None:
            log.append("before_request")

    def sync_resource() -> Iterator[str]:
        log.append("sync setup")
        yield "sync"
        log.append("sync teardown")

    async def async_resource(inner: str = Depends(sync_resource)) -> AsyncIterator[str]:
        log.append("async setup")
        yield f"async({inner})"
        log.append("async teardown")

    @app.get("/r")
    async def endpoint(
        tasks: BackgroundTasks, value: str = Depends(async_resource)
    ) -> dict[str, str]:
        log.append("endpoint")
        tasks.add_task(log.append, "background task")
        return {"value": value}

    return app


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["plain", "hooks", "trace"])
async def test_teardown_runs_after_the_response_is_sent_and_after_background_tasks(
    mode: str,
) -> None:
    log: list[str] = []
    app = make_teardown_app(mode, log)
    await call_asgi(app, "GET", "/r", log)
    expected = [
        "sync setup",
        "async setup",
        "endpoint",
        "send http.response.start",
        "send http.response.body",
        "background task",
        "async teardown",  # in reverse order of setup
        "sync teardown",
    ]
    assert [entry for entry in log if entry != "before_request"] == expected


@pytest.mark.anyio
async def test_generator_dependency_value_is_what_it_yields() -> None:
    log: list[str] = []
    app = make_teardown_app("plain", log)
    async with AsyncTestClient(app) as client:
        response = await client.get("/r")
    assert response.json() == {"value": "async(sync)"}


def make_transaction_app(log: list[str], *, swallow: bool, use_async: bool) -> App:
    app = App()

    def transaction() -> Iterator[str]:
        log.append("begin")
        try:
            yield "tx"
        except Exception as exc:
            log.append(f"rollback after {type(exc).__name__}")
            if not swallow:
                raise
        else:
            log.append("commit")

    async def async_transaction() -> AsyncIterator[str]:
        log.append("begin")
        try:
            yield "tx"
        except Exception as exc:
            log.append(f"rollback after {type(exc).__name__}")
            if not swallow:
                raise
        else:
            log.append("commit")

    dependency = async_transaction if use_async else transaction

    @app.post("/transfer")
    async def transfer(tx: str = Depends(dependency), fail: bool = False) -> dict[str, str]:
        if fail:
            raise HTTPException(409, "insufficient funds")
        return {"tx": tx}

    return app


@pytest.mark.parametrize("use_async", [False, True], ids=["generator", "async-generator"])
def test_teardown_commits_when_the_endpoint_succeeds(use_async: bool) -> None:
    log: list[str] = []
    app = make_transaction_app(log, swallow=False, use_async=use_async)
    with TestClient(app) as client:
        assert client.post("/transfer").status_code == 200
    assert log == ["begin", "commit"]


@pytest.mark.parametrize("use_async", [False, True], ids=["generator", "async-generator"])
def test_teardown_receives_the_endpoint_exception(use_async: bool) -> None:
    log: list[str] = []
    app = make_transaction_app(log, swallow=False, use_async=use_async)
    with TestClient(app) as client:
        response = client.post("/transfer?fail=true")
    assert response.status_code == 409
    assert log == ["begin", "rollback after HTTPException"]


@pytest.mark.parametrize("use_async", [False, True], ids=["generator", "async-generator"])
def test_error_response_is_sent_even_if_the_teardown_swallows_the_exception(
    use_async: bool,
) -> None:
    log: list[str] = []
    app = make_transaction_app(log, swallow=True, use_async=use_async)
    with TestClient(app) as client:
        response = client.post("/transfer?fail=true")
    assert response.status_code == 409
    assert response.json()["detail"] == "insufficient funds"
    assert log == ["begin", "rollback after HTTPException"]


def test_teardown_receives_an_unexpected_error_and_the_client_gets_a_500() -> None:
    app = App()
    seen: list[str] = []

    async def session() -> AsyncIterator[None]:
        try:
            yield
        except Exception as exc:
            seen.append(repr(exc))
            raise

    @app.get("/boom")
    async def boom(_: None = Depends(session)) -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/boom").status_code == 500
    assert seen == ["RuntimeError('boom')"]


@pytest.mark.anyio
async def test_teardown_runs_when_the_request_is_cancelled() -> None:
    # A timeout middleware or a server whose client went away cancels the
    # request; the teardowns must still run, or connections leak.
    app = App()
    log: list[str] = []
    endpoint_started = anyio.Event()

    def sync_session() -> Iterator[None]:
        try:
            yield
        finally:
            log.append("sync session closed")

    async def async_session() -> AsyncIterator[None]:
        try:
            yield
        finally:
            await anyio.sleep(0)  # e.g. returning a connection to its pool
            log.append("async session closed")

    @app.get("/slow")
    async def slow(
        a: Annotated[None, Depends(sync_session)], b: Annotated[None, Depends(async_session)]
    ) -> None:
        endpoint_started.set()
        await anyio.sleep_forever()

    async with anyio.create_task_group() as group:
        group.start_soon(call_asgi, app, "GET", "/slow", log)
        await endpoint_started.wait()
        group.cancel_scope.cancel()  # what a timeout does to the request
    assert log == ["async session closed", "sync session closed"]


@pytest.mark.anyio
async def test_streaming_response_can_use_the_resource_until_its_last_chunk() -> None:
    app = App()
    log: list[str] = []

    async def cursor() -> AsyncIterator[list[str]]:
        rows = ["row 1", "row 2"]
        yield rows
        rows.clear()
        log.append("cursor closed")

    @app.get("/export")
    async def export(rows: Annotated[list[str], Depends(cursor)]) -> StreamingResponse:
        async def lines() -> AsyncIterator[str]:
            for row in rows:
                log.append(f"streamed {row}")
                yield row + "\n"

        return StreamingResponse(lines(), media_type="text/plain")

    async with AsyncTestClient(app) as client:
        response = await client.get("/export")
    assert response.text == "row 1\nrow 2\n"
    assert log == ["streamed row 1", "streamed row 2", "cursor closed"]


def test_generator_endpoint_is_a_configuration_error() -> None:
    app = App()

    @app.get("/stream")
    def stream() -> Iterator[str]:
        yield "chunk"

    with pytest.raises(ConfigurationError, match="cannot be a generator"):
        app.build()


# -- plans are built once, at startup -------------------------------------------------


def _forbidden(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("signature inspection on the request path")


def make_every_kind_of_endpoint(app: App) -> None:
    app.provide(Settings, lambda: Settings("provided"))

    def get_db() -> Iterator[str]:
        yield "db"

    async def get_repo(db: str = Depends(get_db)) -> AsyncIterator[str]:
        yield f"repo({db})"

    def guard(x_key: str = Header(default="k")) -> None:
        return None

    @app.get("/none")
    async def no_args() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/sync-none")
    def sync_no_args() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/typed/{item_id:int}")
    async def path_values(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/with-request/{name}")
    def path_and_request(request: Request, name: str) -> dict[str, str]:
        return {"name": name, "path": request.url.path}

    @app.get("/converted/{item_id}")
    async def converted(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/inputs")
    async def inputs(
        q: str,
        ids: list[int],
        x_token: str = Header(),
        session: str = Cookie(),
        size: int = Query(5, alias="page-size"),
    ) -> dict[str, Any]:
        return {"q": q, "ids": ids, "token": x_token, "session": session, "size": size}

    @app.get("/deps", dependencies=[Depends(guard)])
    async def deps(
        tasks: BackgroundTasks,
        settings: Settings,
        repo: Annotated[str, Depends(get_repo)],
    ) -> dict[str, str]:
        tasks.add_task(lambda: None)
        return {"repo": repo, "settings": settings.name}

    @app.post("/body", status_code=201)
    async def body(items: list[Item]) -> list[Item]:
        return items


@pytest.mark.parametrize("mode", ["plain", "hooks", "trace"])
def test_no_signature_is_inspected_per_request(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = App(trace=(mode == "trace"))
    if mode == "hooks":
        app.after_request(lambda request, response: response)
    make_every_kind_of_endpoint(app)
    with TestClient(app) as client:
        monkeypatch.setattr(inspect, "signature", _forbidden)
        monkeypatch.setattr(typing, "get_type_hints", _forbidden)
        answers = [
            client.get("/none").status_code,
            client.get("/sync-none").status_code,
            client.get("/typed/1").status_code,
            client.get("/with-request/ada").status_code,
            client.get("/converted/2").status_code,
            client.get("/converted/x").status_code,
            client.get(
                "/inputs?q=a&ids=1&ids=2&page-size=3",
                headers={"x-token": "t"},
                cookies={"session": "s"},
            ).status_code,
            client.get("/deps").status_code,
            client.post("/body", json=[{"name": "pen", "price": 1}]).status_code,
        ]
    assert answers == [200, 200, 200, 200, 200, 422, 200, 200, 201]


# -- overrides --------------------------------------------------------------------------


def get_database() -> str:
    return "real database"


def get_repository(db: str = Depends(get_database)) -> str:
    return f"repository on {db}"


def make_override_app() -> App:
    app = App()

    @app.get("/db")
    async def show_db(db: str = Depends(get_database)) -> dict[str, str]:
        return {"db": db}

    @app.get("/items/{item_id}")
    async def show_repo(
        item_id: int, repo: Annotated[str, Depends(get_repository)]
    ) -> dict[str, Any]:
        return {"id": item_id, "repo": repo}

    return app


def test_override_set_on_a_started_app_applies_to_the_next_request() -> None:
    app = make_override_app()
    with TestClient(app) as client:
        assert client.get("/db").json() == {"db": "real database"}
        app.dependency_overrides[get_database] = lambda: "fake database"
        assert client.get("/db").json() == {"db": "fake database"}


def test_override_set_before_startup_applies() -> None:
    app = make_override_app()
    app.dependency_overrides[get_database] = lambda: "fake database"
    with TestClient(app) as client:
        assert client.get("/db").json() == {"db": "fake database"}


def test_clearing_overrides_restores_the_original() -> None:
    app = make_override_app()
    with TestClient(app) as client:
        app.dependency_overrides[get_database] = lambda: "fake database"
        client.get("/db")
        app.dependency_overrides.clear()
        assert client.get("/db").json() == {"db": "real database"}


def test_deleting_an_override_restores_the_original() -> None:
    app = make_override_app()
    with TestClient(app) as client:
        app.dependency_overrides[get_database] = lambda: "fake database"
        client.get("/db")
        del app.dependency_overrides[get_database]
        assert client.get("/db").json() == {"db": "real database"}


def test_override_of_a_nested_dependency_applies_below_the_endpoint() -> None:
    app = make_override_app()
    with TestClient(app) as client:
        app.dependency_overrides[get_database] = lambda: "fake database"
        assert client.get("/items/3").json() == {"id": 3, "repo": "repository on fake database"}


def test_override_may_have_parameters_of_its_own() -> None:
    app = make_override_app()

    def fake_database(item_id: int, tenant: str = Header(default="none")) -> str:
        return f"fake database for item {item_id}, tenant {tenant}"

    with TestClient(app) as client:
        app.dependency_overrides[get_database] = fake_database
        response = client.get("/items/5", headers={"tenant": "acme"})
    assert response.json()["repo"] == "repository on fake database for item 5, tenant acme"


def test_override_with_a_generator_is_torn_down() -> None:
    app = make_override_app()
    log: list[str] = []

    def fake_database() -> Iterator[str]:
        log.append("open fake")
        yield "fake database"
        log.append("close fake")

    with TestClient(app) as client:
        app.dependency_overrides[get_database] = fake_database
        assert client.get("/db").json() == {"db": "fake database"}
    assert log == ["open fake", "close fake"]


def test_override_that_cannot_be_planned_is_refused_and_the_original_stays() -> None:
    app = make_override_app()

    def unplannable(mystery) -> str:  # type: ignore[no-untyped-def]
        return "never"

    with TestClient(app) as client:
        with pytest.raises(ConfigurationError, match="'mystery'"):
            app.dependency_overrides[get_database] = unplannable
        assert client.get("/db").json() == {"db": "real database"}


def test_override_keeps_use_cache_false() -> None:
    app = App()

    def roll() -> int:
        return 0

    @app.get("/rolls")
    async def rolls(
        a: int = Depends(roll, use_cache=False), b: int = Depends(roll, use_cache=False)
    ) -> dict[str, int]:
        return {"a": a, "b": b}

    count = 0

    def counting_roll() -> int:
        nonlocal count
        count += 1
        return count

    with TestClient(app) as client:
        app.dependency_overrides[roll] = counting_roll
        assert client.get("/rolls").json() == {"a": 1, "b": 2}


# -- dependencies outside routes ---------------------------------------------------------


@pytest.mark.anyio
async def test_scope_resolves_a_dependency_outside_a_request() -> None:
    app = make_override_app()
    async with app.dependencies_scope() as scope:
        assert await scope.resolve(get_repository) == "repository on real database"


@pytest.mark.anyio
async def test_scope_tears_down_generator_dependencies_when_it_exits() -> None:
    app = App()
    log: list[str] = []

    async def connection() -> AsyncIterator[str]:
        log.append("open")
        yield "conn"
        log.append("close")

    async with app.dependencies_scope() as scope:
        assert await scope.resolve(connection) == "conn"
        log.append("work")
    assert log == ["open", "work", "close"]


@pytest.mark.anyio
async def test_scope_teardown_receives_the_exception_raised_in_the_block() -> None:
    app = App()
    log: list[str] = []

    def transaction() -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            log.append(f"rollback after {exc}")
            raise
        log.append("commit")

    with pytest.raises(ValueError, match="job failed"):
        async with app.dependencies_scope() as scope:
            await scope.resolve(transaction)
            raise ValueError("job failed")
    assert log == ["rollback after job failed"]


@pytest.mark.anyio
async def test_scope_resolves_provided_types_and_honours_overrides() -> None:
    app = make_override_app()
    app.provide(Settings, lambda: Settings("provided"))
    app.dependency_overrides[get_database] = lambda: "fake database"
    async with app.dependencies_scope() as scope:
        settings = await scope.resolve(Settings)
        repo = await scope.resolve(get_repository)
    assert (settings.name, repo) == ("provided", "repository on fake database")


@pytest.mark.anyio
async def test_scope_refuses_a_dependency_that_needs_a_request() -> None:
    app = App()

    def current_user(authorization: str = Header()) -> str:
        return authorization

    async with app.dependencies_scope() as scope:
        with pytest.raises(ConfigurationError, match="needs a request"):
            await scope.resolve(current_user)


# -- guards: dependencies=[...] on routes, routers and the app ---------------------------


def test_route_guard_runs_before_the_endpoint() -> None:
    app = App()
    log: list[str] = []

    def audit() -> None:
        log.append("guard")

    @app.get("/g", dependencies=[Depends(audit)])
    async def endpoint() -> dict[str, bool]:
        log.append("endpoint")
        return {"ok": True}

    with TestClient(app) as client:
        assert client.get("/g").status_code == 200
    assert log == ["guard", "endpoint"]


def test_guard_http_exception_stops_the_endpoint() -> None:
    app = App()
    called: list[str] = []

    async def require_admin(x_role: str = Header(default="user")) -> None:
        if x_role != "admin":
            raise HTTPException(403, "admins only")

    @app.delete("/things", dependencies=[Depends(require_admin)])
    async def delete_all() -> None:
        called.append("endpoint")

    with TestClient(app) as client:
        forbidden = client.delete("/things")
        allowed = client.delete("/things", headers={"x-role": "admin"})
    assert forbidden.status_code == 403
    assert forbidden.json()["detail"] == "admins only"
    assert allowed.status_code == 204
    assert called == ["endpoint"]


def test_guard_validation_error_is_a_422() -> None:
    app = App()
    called: list[str] = []

    def require_key(x_api_key: Annotated[str, Header()]) -> None:
        called.append("guard")

    @app.get("/g", dependencies=[Depends(require_key)])
    async def endpoint() -> None:
        called.append("endpoint")

    with TestClient(app) as client:
        errors = problem_errors(client.get("/g"))
    assert [e["loc"] for e in errors] == [["header", "x-api-key"]]
    assert called == []


def test_router_guard_applies_to_every_included_route() -> None:
    log: list[str] = []

    def router_guard() -> None:
        log.append("router guard")

    router = Router(dependencies=[Depends(router_guard)])

    @router.get("/a")
    async def a() -> str:
        log.append("a")
        return "a"

    @router.get("/b")
    async def b() -> str:
        log.append("b")
        return "b"

    app = App()
    app.include_router(router, prefix="/v1")
    with TestClient(app) as client:
        client.get("/v1/a")
        client.get("/v1/b")
    assert log == ["router guard", "a", "router guard", "b"]


def test_app_guard_applies_to_every_route() -> None:
    log: list[str] = []

    def app_guard() -> None:
        log.append("app guard")

    app = App(dependencies=[Depends(app_guard)])

    @app.get("/x")
    async def x() -> str:
        log.append("x")
        return "x"

    router = Router()

    @router.get("/y")
    def y() -> str:
        log.append("y")
        return "y"

    app.include_router(router)
    with TestClient(app) as client:
        client.get("/x")
        client.get("/y")
    assert log == ["app guard", "x", "app guard", "y"]


def test_guards_run_app_first_then_router_then_route() -> None:
    log: list[str] = []
    app = App(dependencies=[Depends(lambda: log.append("app"))])
    router = Router(dependencies=[Depends(lambda: log.append("router"))])

    @router.get("/r", dependencies=[Depends(lambda: log.append("route"))])
    async def endpoint() -> None:
        log.append("endpoint")

    app.include_router(router)
    with TestClient(app) as client:
        client.get("/r")
    assert log == ["app", "router", "route", "endpoint"]


def test_guard_and_endpoint_share_one_call_of_a_dependency() -> None:
    app = App()
    calls: list[str] = []

    def current_user() -> str:
        calls.append("current_user")
        return "ada"

    def require_user(user: str = Depends(current_user)) -> None:
        return None

    @app.get("/me", dependencies=[Depends(require_user)])
    async def me(user: str = Depends(current_user)) -> dict[str, str]:
        return {"user": user}

    with TestClient(app) as client:
        assert client.get("/me").json() == {"user": "ada"}
    assert calls == ["current_user"]


def test_guard_can_be_overridden() -> None:
    app = App()

    def require_admin() -> None:
        raise HTTPException(403)

    @app.get("/admin", dependencies=[Depends(require_admin)])
    async def admin() -> str:
        return "welcome"

    with TestClient(app) as client:
        assert client.get("/admin").status_code == 403
        app.dependency_overrides[require_admin] = lambda: None
        assert client.get("/admin").text == "welcome"

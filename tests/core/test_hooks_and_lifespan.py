"""Startup and shutdown, the lifespan protocol, and before/after-request hooks."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from minimal_asgi import App, ConfigurationError, JSONResponse, PlainTextResponse, Request, Response
from minimal_asgi.testing import TestClient
from minimal_asgi.types import Message


class LifespanServer:
    """Drives the ASGI lifespan protocol by hand, as a server does."""

    def __init__(self, *incoming: str) -> None:
        self.incoming = [{"type": t} for t in incoming]
        self.sent: list[Message] = []
        self.state: dict[str, Any] = {}

    async def receive(self) -> Message:
        return self.incoming.pop(0)

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def run(self, app: App) -> None:
        await app({"type": "lifespan", "state": self.state}, self.receive, self.send)


# -- startup and shutdown ------------------------------------------------------------
def test_startup_hooks_run_in_registration_order() -> None:
    log: list[str] = []
    app = App(on_startup=[lambda: log.append("first")])
    app.on_startup(lambda: log.append("second"))
    with TestClient(app):
        assert log == ["first", "second"]


def test_shutdown_hooks_run_in_reverse_registration_order() -> None:
    log: list[str] = []
    app = App(on_shutdown=[lambda: log.append("first")])
    app.on_shutdown(lambda: log.append("second"))
    with TestClient(app):
        assert log == []
    assert log == ["second", "first"]


def test_sync_and_async_hooks_both_run() -> None:
    log: list[str] = []
    app = App()

    @app.on_startup
    def sync_hook() -> None:
        log.append("sync")

    @app.on_startup
    async def async_hook() -> None:
        log.append("async")

    with TestClient(app):
        assert log == ["sync", "async"]


def test_a_sync_startup_hook_runs_in_a_worker_thread() -> None:
    threads: list[int] = []
    app = App(on_startup=[lambda: threads.append(threading.get_ident())])
    with TestClient(app):
        pass
    assert threads and threads[0] != threading.get_ident()


def test_the_lifespan_context_wraps_the_hooks() -> None:
    log: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[None]:
        log.append("enter lifespan")
        yield
        log.append("exit lifespan")

    app = App(lifespan=lifespan)
    app.on_startup(lambda: log.append("startup"))
    app.on_shutdown(lambda: log.append("shutdown"))
    with TestClient(app):
        log.append("serving")
    assert log == ["enter lifespan", "startup", "serving", "shutdown", "exit lifespan"]


def test_the_lifespan_context_is_given_the_app() -> None:
    seen: list[Any] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[None]:
        seen.append(app)
        yield

    app = App(lifespan=lifespan)
    with TestClient(app):
        pass
    assert seen == [app]


def test_the_dict_a_lifespan_yields_is_in_every_request_state() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
        yield {"pool": "the-pool"}

    app = App(lifespan=lifespan)

    @app.get("/")
    async def endpoint(request: Request) -> str:
        return str(request.state.pool)

    with TestClient(app) as client:
        assert client.get("/").text == "the-pool"
        assert client.get("/").text == "the-pool"


def test_request_state_changes_do_not_leak_into_the_lifespan_state() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
        yield {"pool": "the-pool"}

    app = App(lifespan=lifespan)

    @app.get("/")
    async def endpoint(request: Request) -> dict[str, bool]:
        seen = hasattr(request.state, "user")
        request.state.user = "ada"
        return {"seen": seen}

    with TestClient(app) as client:
        assert client.get("/").json() == {"seen": False}
        assert client.get("/").json() == {"seen": False}


def test_startup_builds_the_app() -> None:
    app = App()
    assert not app.started
    with TestClient(app):
        assert app.started


@pytest.mark.anyio
async def test_the_lifespan_protocol_reports_startup_and_shutdown_complete() -> None:
    server = LifespanServer("lifespan.startup", "lifespan.shutdown")
    await server.run(App())
    assert server.sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]


@pytest.mark.anyio
async def test_the_lifespan_protocol_puts_the_lifespan_dict_in_the_scope_state() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
        yield {"pool": "the-pool"}

    server = LifespanServer("lifespan.startup", "lifespan.shutdown")
    await server.run(App(lifespan=lifespan))
    assert server.state == {"pool": "the-pool"}


@pytest.mark.anyio
async def test_a_failing_startup_hook_sends_startup_failed_with_the_message() -> None:
    app = App()

    @app.on_startup
    async def connect() -> None:
        raise RuntimeError("database unreachable")

    server = LifespanServer("lifespan.startup")
    await server.run(app)
    assert server.sent == [
        {"type": "lifespan.startup.failed", "message": "RuntimeError: database unreachable"}
    ]


@pytest.mark.anyio
async def test_a_failing_startup_hook_unwinds_the_lifespan_context() -> None:
    log: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[None]:
        try:
            yield
        finally:
            log.append("lifespan closed")

    app = App(lifespan=lifespan)
    app.on_startup(lambda: 1 / 0)
    app.on_shutdown(lambda: log.append("shutdown hook"))
    await LifespanServer("lifespan.startup").run(app)
    assert log == ["lifespan closed"]


@pytest.mark.anyio
async def test_a_failing_shutdown_hook_sends_shutdown_failed_with_the_message() -> None:
    app = App()

    @app.on_shutdown
    async def close() -> None:
        raise RuntimeError("flush failed")

    server = LifespanServer("lifespan.startup", "lifespan.shutdown")
    await server.run(app)
    assert server.sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.failed", "message": "RuntimeError: flush failed"},
    ]


def test_a_failing_startup_hook_makes_the_test_client_raise() -> None:
    app = App()

    @app.on_startup
    def connect() -> None:
        raise RuntimeError("database unreachable")

    message = "lifespan startup failed: RuntimeError: database unreachable"
    with pytest.raises(RuntimeError, match=message), TestClient(app):
        pass


# -- before_request / after_request ------------------------------------------------------
def hooked_app(log: list[str]) -> App:
    app = App()

    @app.get("/")
    async def endpoint(request: Request) -> Response:
        log.append("endpoint")
        return PlainTextResponse(getattr(request.state, "user", "anonymous"))

    @app.get("/fail")
    async def fail() -> None:
        log.append("endpoint")
        raise RuntimeError("bug")

    return app


def test_before_request_hooks_run_in_order_before_the_endpoint() -> None:
    log: list[str] = []
    app = hooked_app(log)
    app.before_request(lambda request: log.append("first"))
    app.before_request(lambda request: log.append("second"))
    with TestClient(app) as client:
        client.get("/")
    assert log == ["first", "second", "endpoint"]


def test_before_request_can_put_values_on_request_state() -> None:
    app = hooked_app([])

    @app.before_request
    async def authenticate(request: Request) -> None:
        request.state.user = "ada"

    with TestClient(app) as client:
        assert client.get("/").text == "ada"


def test_a_before_request_response_short_circuits_the_endpoint() -> None:
    log: list[str] = []
    app = hooked_app(log)

    @app.before_request
    async def deny(request: Request) -> Response:
        return JSONResponse({"error": "no"}, status_code=401)

    app.before_request(lambda request: log.append("later hook"))
    with TestClient(app) as client:
        response = client.get("/")
    assert (response.status_code, response.json()) == (401, {"error": "no"})
    assert log == []


def test_a_sync_before_request_hook_can_short_circuit() -> None:
    app = hooked_app([])

    @app.before_request
    def deny(request: Request) -> Response:
        return PlainTextResponse("maintenance", status_code=503)

    with TestClient(app) as client:
        assert client.get("/").status_code == 503


def test_after_request_can_replace_the_response() -> None:
    app = hooked_app([])

    @app.after_request
    async def replace(request: Request, response: Response) -> Response:
        return PlainTextResponse("replaced", status_code=202)

    with TestClient(app) as client:
        response = client.get("/")
    assert (response.status_code, response.text) == (202, "replaced")


def test_after_request_can_modify_the_response_and_return_none() -> None:
    app = hooked_app([])

    @app.after_request
    def add_header(request: Request, response: Response) -> None:
        response.headers["x-frame-options"] = "DENY"

    with TestClient(app) as client:
        response = client.get("/")
    assert response.text == "anonymous"
    assert response.headers["x-frame-options"] == "DENY"


def test_after_request_hooks_run_in_order_on_the_previous_result() -> None:
    app = hooked_app([])

    @app.after_request
    async def first(request: Request, response: Response) -> Response:
        return PlainTextResponse("first")

    @app.after_request
    async def second(request: Request, response: Response) -> Response:
        return PlainTextResponse(bytes(response.body).decode() + "+second")

    with TestClient(app) as client:
        assert client.get("/").text == "first+second"


def test_after_request_runs_after_a_short_circuit() -> None:
    app = hooked_app([])
    app.before_request(lambda request: PlainTextResponse("early"))

    @app.after_request
    async def tag(request: Request, response: Response) -> None:
        response.headers["x-tagged"] = "1"

    with TestClient(app) as client:
        response = client.get("/")
    assert (response.text, response.headers["x-tagged"]) == ("early", "1")


def test_after_request_does_not_run_when_the_endpoint_raises() -> None:
    log: list[str] = []
    app = hooked_app(log)
    app.after_request(lambda request, response: log.append("after"))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/fail").status_code == 500
    assert log == ["endpoint"]


def test_hooks_do_not_run_when_no_route_matches() -> None:
    log: list[str] = []
    app = hooked_app(log)
    app.before_request(lambda request: log.append("before"))
    app.after_request(lambda request, response: log.append("after"))
    with TestClient(app) as client:
        assert client.get("/missing").status_code == 404
    assert log == []


@pytest.mark.parametrize("register", ["before_request", "after_request"])
def test_adding_a_hook_after_startup_raises(register: str) -> None:
    app = hooked_app([])
    with TestClient(app), pytest.raises(ConfigurationError):
        getattr(app, register)(lambda *args: None)

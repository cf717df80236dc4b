"""Middleware: pure ASGI layers around the app, in a documented order."""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from typing import Any

import pytest

from minimal_asgi import (
    App,
    ConfigurationError,
    HTTPException,
    Middleware,
    Request,
    StreamingResponse,
)
from minimal_asgi.testing import TestClient
from minimal_asgi.types import ASGIApp, Message, Receive, Scope, Send


class AddHeader:
    """Adds one response header - the shape of CORS or request-id middleware."""

    def __init__(self, app: ASGIApp, name: str = "x-added", value: str = "yes") -> None:
        self.app = app
        self.header = (name.encode(), value.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)


def recorder(label: str, log: list[str]) -> type:
    """A middleware class that logs when a request enters and leaves it."""

    class Record:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            log.append(f"enter {label}")
            await self.app(scope, receive, send)
            log.append(f"exit {label}")

    Record.__name__ = label
    return Record


def app_logging_to(log: list[str], **options: Any) -> App:
    app = App(**options)

    @app.get("/")
    async def endpoint() -> str:
        log.append("endpoint")
        return "ok"

    return app


def test_add_middleware_wraps_the_app_with_the_options_given() -> None:
    app = App()
    app.add_middleware(AddHeader, name="x-request-id", value="42")

    @app.get("/")
    async def endpoint() -> str:
        return "ok"

    with TestClient(app) as client:
        assert client.get("/").headers["x-request-id"] == "42"


def test_middleware_in_the_constructor_is_built_with_its_options() -> None:
    app = App(middleware=[Middleware(AddHeader, name="x-request-id", value="42")])

    @app.get("/")
    async def endpoint() -> str:
        return "ok"

    with TestClient(app) as client:
        assert client.get("/").headers["x-request-id"] == "42"


def test_middleware_accepts_positional_options() -> None:
    app = App(middleware=[Middleware(AddHeader, "x-positional", "1")])

    @app.get("/")
    async def endpoint() -> str:
        return "ok"

    with TestClient(app) as client:
        assert client.get("/").headers["x-positional"] == "1"


def test_middleware_describes_itself() -> None:
    assert repr(Middleware(AddHeader, "x", value="1")) == "Middleware(AddHeader, 'x', value='1')"


def test_constructor_middleware_runs_the_first_listed_outermost() -> None:
    log: list[str] = []
    app = app_logging_to(log, middleware=[Middleware(recorder(n, log)) for n in "AB"])
    with TestClient(app) as client:
        client.get("/")
    assert log == ["enter A", "enter B", "endpoint", "exit B", "exit A"]


def test_add_middleware_makes_the_last_added_outermost() -> None:
    log: list[str] = []
    app = app_logging_to(log)
    app.add_middleware(recorder("A", log))
    app.add_middleware(recorder("B", log))
    with TestClient(app) as client:
        client.get("/")
    assert log == ["enter B", "enter A", "endpoint", "exit A", "exit B"]


def test_three_middlewares_enter_and_exit_in_the_documented_order() -> None:
    # App(middleware=[A, B]) puts A outside B; add_middleware(C) wraps them both.
    log: list[str] = []
    app = app_logging_to(log, middleware=[Middleware(recorder(n, log)) for n in "AB"])
    app.add_middleware(recorder("C", log))
    with TestClient(app) as client:
        client.get("/")
    assert log == [
        "enter C",
        "enter A",
        "enter B",
        "endpoint",
        "exit B",
        "exit A",
        "exit C",
    ]


def test_the_middleware_stack_is_built_once() -> None:
    built: list[int] = []

    class CountBuilds:
        def __init__(self, app: ASGIApp) -> None:
            built.append(1)
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await self.app(scope, receive, send)

    app = app_logging_to([], middleware=[Middleware(CountBuilds)])
    with TestClient(app) as client:
        client.get("/")
        client.get("/")
    assert built == [1]


def test_adding_middleware_after_startup_raises() -> None:
    app = app_logging_to([])
    with TestClient(app), pytest.raises(ConfigurationError, match="before startup"):
        app.add_middleware(AddHeader)


def test_adding_middleware_after_the_first_request_raises() -> None:
    app = app_logging_to([])
    client = TestClient(app)
    client.get("/")
    try:
        with pytest.raises(ConfigurationError):
            app.add_middleware(AddHeader)
    finally:
        client.close()


# -- errors become responses inside the user's middleware ---------------------------------
def app_with_errors() -> App:
    app = App()
    app.add_middleware(AddHeader)

    @app.get("/items")
    async def items() -> list[int]:
        return []

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, "short and stout")

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("bug")

    return app


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("DELETE", "/items", 405),
        ("GET", "/teapot", 418),
        ("GET", "/crash", 500),
    ],
)
def test_a_middleware_header_is_on_error_responses(method: str, path: str, status: int) -> None:
    with TestClient(app_with_errors(), raise_server_exceptions=False) as client:
        response = client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-added"] == "yes"


def test_an_unhandled_error_still_propagates_out_through_the_middleware() -> None:
    seen: list[BaseException] = []

    class Watch:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            try:
                await self.app(scope, receive, send)
            except Exception as exc:
                seen.append(exc)
                raise

    app = app_with_errors()
    app.add_middleware(Watch)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/crash").status_code == 500
    assert [type(e) for e in seen] == [RuntimeError]


# -- pure ASGI: nothing buffered, context preserved --------------------------------------
def test_a_middleware_sees_a_streamed_body_chunk_by_chunk() -> None:
    bodies: list[bytes] = []

    class Watch:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async def watching(message: Message) -> None:
                if message["type"] == "http.response.body":
                    bodies.append(message["body"])
                await send(message)

            await self.app(scope, receive, watching)

    app = App()
    app.add_middleware(Watch)

    @app.get("/")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"a"
            yield b"b"

        return StreamingResponse(chunks())

    with TestClient(app) as client:
        assert client.get("/").content == b"ab"
    assert bodies == [b"a", b"b", b""]


request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def test_a_context_variable_set_in_middleware_is_seen_by_the_endpoint() -> None:
    class SetRequestId:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            token = request_id.set("r-1")
            try:
                await self.app(scope, receive, send)
            finally:
                request_id.reset(token)

    app = App()
    app.add_middleware(SetRequestId)

    @app.get("/async")
    async def async_endpoint() -> str:
        return request_id.get()

    @app.get("/sync")
    def sync_endpoint() -> str:
        return request_id.get()

    with TestClient(app) as client:
        assert client.get("/async").text == "r-1"
        assert client.get("/sync").text == "r-1"


def test_a_middleware_can_answer_without_calling_the_app() -> None:
    class Maintenance:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"down"})

    log: list[str] = []
    app = app_logging_to(log)
    app.add_middleware(Maintenance)
    with TestClient(app) as client:
        response = client.get("/")
    assert (response.status_code, response.content) == (503, b"down")
    assert log == []


def test_a_middleware_can_read_the_request_body_stream() -> None:
    received: list[Message] = []

    class Watch:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async def watching() -> Message:
                message = await receive()
                received.append(message)
                return message

            await self.app(scope, watching, send)

    app = App()
    app.add_middleware(Watch)

    @app.post("/body")
    async def body(request: Request) -> str:
        return (await request.body()).decode()

    with TestClient(app) as client:
        assert client.post("/body", content=b"hello").text == "hello"
    assert received[0]["body"] == b"hello"

"""Background tasks: work done after the response has been sent.

Reads as the specification of minimal_asgi/background.py (issue 7).
"""

import logging
import threading
from collections.abc import Iterator

import anyio
import pytest

from minimal_asgi import (
    App,
    BackgroundTask,
    BackgroundTasks,
    HTTPException,
    JSONResponse,
    Request,
    Response,
    StreamingResponse,
)
from minimal_asgi.testing import TestClient
from minimal_asgi.types import Message


async def call_asgi(app: App, path: str, log: list[str]) -> None:
    """A GET through ``app`` as a server would make it, writing each message the
    app sends into ``log``: the shared log shows what happened before what."""
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": b"", "more_body": False}
        # Only a streaming response listens past the body: the client stays.
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(message: Message) -> None:
        more = " (more)" if message.get("more_body") else ""
        log.append(f"send {message['type']}{more}")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)


SENT = ["send http.response.start", "send http.response.body"]


def make_app(mode: str, log: list[str]) -> App:
    app = App(trace=(mode == "trace"))
    if mode == "hooks":

        @app.after_request
        async def after(request: Request, response: Response) -> Response:
            return response

    async def async_task(name: str) -> None:
        log.append(f"task {name}")

    def sync_task(name: str, *, suffix: str = "") -> None:
        log.append(f"task {name}{suffix}")

    @app.get("/tasks")
    async def endpoint(tasks: BackgroundTasks) -> dict[str, bool]:
        tasks.add_task(async_task, "one")
        tasks.add_task(sync_task, "two", suffix="!")
        tasks.add_task(async_task, "three")
        log.append("endpoint returns")
        return {"ok": True}

    return app


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["plain", "hooks", "trace"])
async def test_injected_tasks_run_after_the_response_in_the_order_added(mode: str) -> None:
    log: list[str] = []
    await call_asgi(make_app(mode, log), "/tasks", log)
    assert log == ["endpoint returns", *SENT, "task one", "task two!", "task three"]


def test_a_failing_task_is_logged_and_the_later_tasks_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App()
    ran: list[str] = []

    def send_email(to: str) -> None:
        raise ConnectionError("smtp is down")

    @app.post("/signup")
    async def signup(tasks: BackgroundTasks) -> dict[str, str]:
        tasks.add_task(send_email, "ada@example.com")
        tasks.add_task(ran.append, "audit")
        return {"status": "welcome"}

    with (
        caplog.at_level(logging.ERROR, logger="minimal_asgi.background"),
        TestClient(app) as client,
    ):
        response = client.post("/signup")
    assert (response.status_code, response.json()) == (200, {"status": "welcome"})
    assert ran == ["audit"]
    [record] = [r for r in caplog.records if r.name == "minimal_asgi.background"]
    assert "send_email" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], ConnectionError)


def test_tasks_do_not_run_when_the_endpoint_fails() -> None:
    app = App()
    ran: list[str] = []

    @app.post("/pay")
    async def pay(tasks: BackgroundTasks) -> None:
        tasks.add_task(ran.append, "receipt")
        raise HTTPException(402, "card declined")

    with TestClient(app) as client:
        assert client.post("/pay").status_code == 402
    assert ran == []


def test_sync_task_runs_in_a_worker_thread() -> None:
    app = App()
    threads: dict[str, int] = {}

    def record_thread() -> None:
        threads["task"] = threading.get_ident()

    @app.get("/t")
    async def endpoint(tasks: BackgroundTasks) -> None:
        threads["loop"] = threading.get_ident()
        tasks.add_task(record_thread)

    with TestClient(app) as client:
        client.get("/t")
    assert threads["task"] != threads["loop"]


@pytest.mark.anyio
async def test_response_background_task_runs_after_the_response() -> None:
    app = App()
    log: list[str] = []

    @app.get("/r")
    async def endpoint() -> Response:
        return JSONResponse({"ok": True}, background=BackgroundTask(log.append, "task"))

    await call_asgi(app, "/r", log)
    assert log == [*SENT, "task"]


@pytest.mark.anyio
async def test_response_background_tasks_run_in_order_after_the_response() -> None:
    app = App()
    log: list[str] = []

    @app.get("/r")
    async def endpoint() -> Response:
        tasks = BackgroundTasks()
        tasks.add_task(log.append, "first")
        tasks.add_task(log.append, "second")
        return Response("done", background=tasks)

    await call_asgi(app, "/r", log)
    assert log == [*SENT, "first", "second"]


@pytest.mark.anyio
async def test_streaming_response_background_task_runs_after_the_last_chunk() -> None:
    app = App()
    log: list[str] = []

    def chunks() -> Iterator[bytes]:
        yield b"a"
        yield b"b"

    @app.get("/stream")
    async def endpoint() -> Response:
        return StreamingResponse(chunks(), background=BackgroundTask(log.append, "task"))

    await call_asgi(app, "/stream", log)
    assert log == [
        "send http.response.start",
        "send http.response.body (more)",
        "send http.response.body (more)",
        "send http.response.body",
        "task",
    ]


@pytest.mark.anyio
async def test_response_and_injected_tasks_both_run_response_first() -> None:
    app = App()
    log: list[str] = []

    @app.get("/r")
    async def endpoint(tasks: BackgroundTasks) -> Response:
        tasks.add_task(log.append, "injected")
        return Response("done", background=BackgroundTask(log.append, "response"))

    await call_asgi(app, "/r", log)
    assert log == [*SENT, "response", "injected"]

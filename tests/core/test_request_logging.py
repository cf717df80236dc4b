"""minimal_asgi.request_logging: one log line and one request id per request."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import anyio
import pytest

from minimal_asgi import App, PlainTextResponse, Request, Response
from minimal_asgi.request_logging import (
    JSONFormatter,
    RequestIdFilter,
    RequestLoggingMiddleware,
    get_request_id,
)
from minimal_asgi.testing import TestClient
from minimal_asgi.types import Receive, Scope, Send

ACCESS = "minimal_asgi.access"
HEX_ID = re.compile(r"[0-9a-f]{32}")


def make_app(**options: Any) -> App:
    app = App()

    @app.get("/items/{item_id:int}")
    async def read_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/state")
    async def state(request: Request) -> dict[str, Any]:
        return {"state": request.state.request_id, "context": get_request_id()}

    @app.get("/sync")
    def sync_endpoint() -> dict[str, Any]:
        return {"context": get_request_id()}

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    @app.get("/own-id")
    async def own_id() -> Response:
        return PlainTextResponse("x", headers={"X-Request-ID": "set-by-app"})

    app.add_middleware(RequestLoggingMiddleware, **options)
    return app


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """The lifespan protocol of a raw ASGI app that has nothing to start."""
    for phase in ("startup", "shutdown"):
        await receive()
        await send({"type": f"lifespan.{phase}.complete"})


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == ACCESS]


@pytest.fixture
def client() -> Any:
    with TestClient(make_app()) as client:
        yield client


# -- the log line -----------------------------------------------------------------------


def test_one_line_is_logged_per_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    client.get("/items/1")
    client.get("/items/2")
    assert len(access_records(caplog)) == 2


def test_line_has_method_path_status_duration_client_and_request_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    response = client.get("/items/3", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 200
    (record,) = access_records(caplog)
    assert re.fullmatch(
        r"GET /items/3 -> 200 in \d+(\.\d+)? ms client=testclient:50000 request_id=abc-123",
        record.getMessage(),
    )


def test_fields_are_also_attributes_of_the_record(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    client.get("/items/3", headers={"X-Request-ID": "abc-123"})
    (record,) = access_records(caplog)
    assert (record.method, record.path, record.status, record.request_id) == (
        "GET", "/items/3", 200, "abc-123"
    )  # fmt: skip
    assert record.duration_ms >= 0


def test_json_option_logs_one_json_object(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    with TestClient(make_app(json=True)) as client:
        client.get("/items/3", headers={"X-Request-ID": "abc-123"})
    (record,) = access_records(caplog)
    line = json.loads(record.getMessage())
    assert line.pop("duration_ms") >= 0
    assert line == {
        "method": "GET",
        "path": "/items/3",
        "status": 200,
        "client": "testclient:50000",
        "request_id": "abc-123",
    }


def test_json_line_is_a_single_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    with TestClient(make_app(json=True)) as client:
        client.get("/a%0Ab")
    (record,) = access_records(caplog)
    assert "\n" not in record.getMessage()
    assert json.loads(record.getMessage())["path"] == "/a\\nb"


def test_control_characters_in_the_path_cannot_start_a_new_log_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    client.get("/a%0D%0AGET%20/admin%20-%3E%20200")
    (record,) = access_records(caplog)
    assert "\n" not in record.getMessage() and "\r" not in record.getMessage()
    assert record.getMessage().startswith("GET /a\\r\\nGET /admin -> 200 -> 404")


def test_404_is_logged_with_its_status(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    client.get("/nowhere")
    (record,) = access_records(caplog)
    assert record.status == 404


def test_unhandled_error_is_logged_as_500(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    with TestClient(make_app(), raise_server_exceptions=False) as client:
        response = client.get("/crash")
    assert response.status_code == 500
    (record,) = access_records(caplog)
    assert record.status == 500


def test_exception_before_any_response_is_logged_as_500_and_propagates(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        raise RuntimeError("no response at all")

    caplog.set_level(logging.INFO, logger=ACCESS)
    middleware = RequestLoggingMiddleware(broken)
    with TestClient(middleware) as client, pytest.raises(RuntimeError):
        client.get("/")
    (record,) = access_records(caplog)
    assert record.status == 500
    assert record.getMessage().endswith("error=RuntimeError")


def test_a_file_sent_with_the_pathsend_extension_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": "/srv/report.pdf"})

    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    caplog.set_level(logging.INFO, logger=ACCESS)
    scope = {"type": "http", "method": "GET", "path": "/report", "headers": []}
    anyio.run(RequestLoggingMiddleware(app), scope, receive, send)
    assert [r.status for r in access_records(caplog)] == [200]


def test_line_is_written_when_the_response_is_sent_before_background_tasks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App()
    task_logger = logging.getLogger("tests.background")

    @app.get("/")
    async def index() -> Response:
        return PlainTextResponse("ok", background=lambda: task_logger.info("task ran"))

    app.add_middleware(RequestLoggingMiddleware)
    caplog.set_level(logging.INFO)
    with TestClient(app) as client:
        client.get("/")
    names = [r.name for r in caplog.records if r.name in (ACCESS, "tests.background")]
    assert names == [ACCESS, "tests.background"]


def test_level_option_sets_the_level_of_the_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=ACCESS)
    with TestClient(make_app(level=logging.DEBUG)) as client:
        client.get("/items/1")
    (record,) = access_records(caplog)
    assert record.levelno == logging.DEBUG


def test_logger_option_chooses_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="myapp.access")
    with TestClient(make_app(logger="myapp.access")) as client:
        client.get("/items/1")
    assert [r.name for r in caplog.records] == ["myapp.access"]


def test_nothing_is_logged_when_the_logger_is_disabled_for_the_level(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=ACCESS)
    client.get("/items/1")
    assert access_records(caplog) == []


# -- the request id ---------------------------------------------------------------------


def test_a_request_id_is_generated_and_returned(client: TestClient) -> None:
    response = client.get("/items/1")
    assert HEX_ID.fullmatch(response.headers["x-request-id"])


def test_each_request_gets_its_own_generated_id(client: TestClient) -> None:
    first = client.get("/items/1").headers["x-request-id"]
    second = client.get("/items/1").headers["x-request-id"]
    assert first != second


def test_a_valid_incoming_id_is_kept_and_returned(client: TestClient) -> None:
    response = client.get("/items/1", headers={"X-Request-ID": "req_01:abc.DEF-9"})
    assert response.headers["x-request-id"] == "req_01:abc.DEF-9"


@pytest.mark.parametrize(
    "incoming",
    [
        "has space",
        "<script>alert(1)</script>",
        'quote"d',
        "a" * 129,
        "",
        "café",
    ],
)
def test_an_unsafe_incoming_id_is_replaced_by_a_new_one(client: TestClient, incoming: str) -> None:
    response = client.get("/items/1", headers={"X-Request-ID": incoming})
    assert HEX_ID.fullmatch(response.headers["x-request-id"])


def test_an_id_of_128_safe_characters_is_accepted(client: TestClient) -> None:
    incoming = "a" * 128
    assert (
        client.get("/items/1", headers={"X-Request-ID": incoming}).headers["x-request-id"]
        == incoming
    )


def test_incoming_ids_can_be_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(make_app(accept_request_id=False)) as client:
        response = client.get("/items/1", headers={"X-Request-ID": "chosen-by-client"})
    assert HEX_ID.fullmatch(response.headers["x-request-id"])


def test_the_header_name_can_be_changed() -> None:
    with TestClient(make_app(header="X-Correlation-ID")) as client:
        response = client.get("/items/1", headers={"X-Correlation-ID": "corr-1"})
    assert response.headers["x-correlation-id"] == "corr-1"
    assert "x-request-id" not in response.headers


def test_request_state_holds_the_id(client: TestClient) -> None:
    response = client.get("/state", headers={"X-Request-ID": "abc-123"})
    assert response.json()["state"] == "abc-123"


def test_get_request_id_works_in_an_async_endpoint(client: TestClient) -> None:
    response = client.get("/state", headers={"X-Request-ID": "abc-123"})
    assert response.json()["context"] == "abc-123"


def test_get_request_id_works_in_a_sync_endpoint_run_in_a_thread(client: TestClient) -> None:
    response = client.get("/sync", headers={"X-Request-ID": "abc-123"})
    assert response.json()["context"] == "abc-123"


def test_get_request_id_is_none_outside_a_request() -> None:
    assert get_request_id() is None


def test_the_id_is_on_404_responses(client: TestClient) -> None:
    response = client.get("/nowhere", headers={"X-Request-ID": "abc-123"})
    assert (response.status_code, response.headers["x-request-id"]) == (404, "abc-123")


def test_the_id_is_on_500_responses() -> None:
    with TestClient(make_app(), raise_server_exceptions=False) as client:
        response = client.get("/crash", headers={"X-Request-ID": "abc-123"})
    assert (response.status_code, response.headers["x-request-id"]) == (500, "abc-123")


def test_an_id_the_app_set_itself_is_not_duplicated(client: TestClient) -> None:
    response = client.get("/own-id")
    assert response.headers.getlist("x-request-id") == ["set-by-app"]


def test_state_is_created_when_the_server_sends_none() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen["state"] = scope["state"]
        await PlainTextResponse("ok")(scope, receive, send)

    middleware = RequestLoggingMiddleware(app)
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/", "headers": []}
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    anyio.run(middleware, scope, receive, send)
    assert set(seen["state"]) == {"request_id"}


def test_lifespan_passes_through_the_middleware() -> None:
    started: list[bool] = []
    app = make_app()
    app.on_startup(lambda: started.append(True))
    with TestClient(app):
        pass
    assert started == [True]


# -- for the app's own log lines ------------------------------------------------------------


def test_request_id_filter_stamps_records_written_during_a_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App()
    app_logger = logging.getLogger("tests.app")

    @app.get("/")
    async def index() -> str:
        app_logger.info("handling")
        return "ok"

    app.add_middleware(RequestLoggingMiddleware)
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.INFO, logger="tests.app")
    try:
        with TestClient(app) as client:
            client.get("/", headers={"X-Request-ID": "abc-123"})
    finally:
        caplog.handler.filters.clear()
    (record,) = [r for r in caplog.records if r.name == "tests.app"]
    assert record.request_id == "abc-123"


def test_request_id_filter_uses_a_dash_outside_a_request() -> None:
    record = logging.LogRecord("x", logging.INFO, "", 0, "message", None, None)
    RequestIdFilter().filter(record)
    assert record.request_id == "-"


def make_record(
    message: str = "hello %s", args: Any = ("world",), **extra: Any
) -> logging.LogRecord:
    record = logging.LogRecord("tests.app", logging.WARNING, "", 0, message, args, None)
    record.__dict__.update(extra)
    return record


def test_json_formatter_writes_the_basic_keys() -> None:
    line = json.loads(JSONFormatter().format(make_record()))
    assert (line["level"], line["logger"], line["message"]) == (
        "WARNING",
        "tests.app",
        "hello world",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])


def test_json_formatter_includes_extra_fields() -> None:
    line = json.loads(JSONFormatter().format(make_record(user_id=7, order="A-1")))
    assert (line["user_id"], line["order"]) == (7, "A-1")


def test_json_formatter_includes_the_traceback() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, "", 0, "failed", None, sys.exc_info())
    line = json.loads(JSONFormatter().format(record))
    assert "ValueError: bad" in line["exception"]


def test_json_formatter_output_is_one_line() -> None:
    assert "\n" not in JSONFormatter().format(make_record("two\nlines", None))


def test_json_formatter_adds_the_current_request_id(caplog: pytest.LogCaptureFixture) -> None:
    app = App()
    lines: list[str] = []

    @app.get("/")
    async def index() -> str:
        lines.append(JSONFormatter().format(make_record()))
        return "ok"

    app.add_middleware(RequestLoggingMiddleware)
    with TestClient(app) as client:
        client.get("/", headers={"X-Request-ID": "abc-123"})
    assert json.loads(lines[0])["request_id"] == "abc-123"


def test_json_formatter_turns_other_values_into_text() -> None:
    line = json.loads(JSONFormatter().format(make_record(where=object)))
    assert line["where"] == "<class 'object'>"

"""Temporary files go with the response: whatever ends the request.

Every upload here is spooled to disk (``spool_size=0``) in a directory of the
test's own, so each one is an open descriptor on a file there; the test reads
the process's descriptor table (/proc/self/fd) to see which are left. The
files are anonymous (``O_TMPFILE``: never a name in the directory), so closing
the descriptor is deleting the file; the directory is checked to be empty too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import pytest

from minimal_asgi import App, BackgroundTasks, Form, FormLimits, Request, UploadFile
from minimal_asgi.testing import encode_multipart
from minimal_asgi.types import ASGIApp, Receive, Scope, Send

pytestmark = pytest.mark.anyio

RUNS = 100
BOUNDARY = "cleanup"
BODY = encode_multipart({"title": "x"}, {"file": ("a.bin", b"z" * 50_000)}, BOUNDARY)


def descriptors_into(directory: Path) -> list[str]:
    """The open descriptors of this process on files in ``directory``."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed between listing and reading
        if target.startswith(str(directory)):
            found.append(target)
    return found


def scope() -> Scope:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/upload", "raw_path": b"/upload", "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())],
        "client": ("127.0.0.1", 1), "server": ("testserver", 80),
    }


async def call(
    app: ASGIApp, messages: list[dict[str, Any]], sent: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Send ``messages`` as the request; then, if the app asks for more, the
    client is gone (``http.disconnect``). What the app sends goes into ``sent``."""
    pending = list(messages)
    sent = [] if sent is None else sent

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        await anyio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope(), receive, send)
    return sent


def whole_body() -> list[dict[str, Any]]:
    return [{"type": "http.request", "body": BODY, "more_body": False}]


def status(sent: list[dict[str, Any]]) -> int | None:
    return next((m["status"] for m in sent if m["type"] == "http.response.start"), None)


class RefuseAll:
    """A middleware that answers 403 before the app sees the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 403, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path


def make_app(upload_dir: Path, seen: list[int], **options: Any) -> App:
    limits = FormLimits(spool_size=0, upload_dir=str(upload_dir), **options)
    app = App(form_limits=limits)

    @app.post("/upload")
    async def upload(
        file: UploadFile, tasks: BackgroundTasks, title: str = Form()
    ) -> dict[str, int]:
        seen.append(len(descriptors_into(upload_dir)))
        if title == "fail":
            raise RuntimeError("the handler failed")
        if title == "hang":
            app.state.hanging.set()
            await anyio.sleep_forever()

        async def still_readable() -> None:
            await file.seek(0)
            seen.append(len(await file.read()))

        tasks.add_task(still_readable)
        return {"size": file.size}

    return app


def assert_nothing_left(upload_dir: Path) -> None:
    assert descriptors_into(upload_dir) == []
    assert list(upload_dir.iterdir()) == []


async def test_100_successful_uploads_leave_no_file(upload_dir: Path) -> None:
    seen: list[int] = []
    app = make_app(upload_dir, seen)
    for _ in range(RUNS):
        sent = await call(app, whole_body())
        assert status(sent) == 200
    # While the endpoint ran its file was open on disk; the background task
    # (after the response) could still read it; then it was gone.
    assert seen[0::2] == [1] * RUNS
    assert seen[1::2] == [50_000] * RUNS
    assert_nothing_left(upload_dir)


async def test_100_uploads_whose_handler_fails_leave_no_file(upload_dir: Path) -> None:
    seen: list[int] = []
    app = make_app(upload_dir, seen)
    body = BODY.replace(b"\r\n\r\nx\r\n", b"\r\n\r\nfail\r\n")
    for _ in range(RUNS):
        sent: list[dict[str, Any]] = []
        with pytest.raises(RuntimeError, match="the handler failed"):
            # After the 500 is sent the error goes on up, for the server to log.
            sent = await call(app, [{"type": "http.request", "body": body}], sent)
        assert status(sent) == 500
    assert seen == [1] * RUNS
    assert_nothing_left(upload_dir)


async def test_100_clients_that_abort_mid_upload_leave_no_file(upload_dir: Path) -> None:
    seen: list[int] = []
    app = make_app(upload_dir, seen)
    half = BODY[: len(BODY) // 2]  # into the file's content, then the client is gone
    for _ in range(RUNS):
        await call(app, [{"type": "http.request", "body": half, "more_body": True}])
    assert seen == []  # the endpoint never ran
    assert_nothing_left(upload_dir)


async def test_100_requests_cancelled_inside_the_endpoint_leave_no_file(
    upload_dir: Path,
) -> None:
    seen: list[int] = []
    app = make_app(upload_dir, seen)
    body = BODY.replace(b"\r\n\r\nx\r\n", b"\r\n\r\nhang\r\n")
    for _ in range(RUNS):
        app.state.hanging = anyio.Event()
        async with anyio.create_task_group() as requests:
            requests.start_soon(call, app, [{"type": "http.request", "body": body}])
            await app.state.hanging.wait()
            requests.cancel_scope.cancel()  # the server cancels: the client went away
    assert seen == [1] * RUNS
    assert_nothing_left(upload_dir)


async def test_100_uploads_refused_by_a_middleware_leave_no_file(upload_dir: Path) -> None:
    seen: list[int] = []
    app = make_app(upload_dir, seen)
    app.add_middleware(RefuseAll)
    for _ in range(RUNS):
        assert status(await call(app, whole_body())) == 403
    assert seen == []
    assert_nothing_left(upload_dir)


async def test_100_uploads_over_a_limit_mid_file_leave_no_file(upload_dir: Path) -> None:
    seen: list[int] = []
    app = make_app(upload_dir, seen, max_file_size=10_000)
    for _ in range(RUNS):
        assert status(await call(app, whole_body())) == 413
    assert seen == []
    assert_nothing_left(upload_dir)


@pytest.mark.parametrize("handler", ["request", "hooked"])
async def test_every_kind_of_handler_closes_the_forms_files(
    upload_dir: Path, handler: str
) -> None:
    # The handler that takes only the Request, and the one that runs the
    # app's before/after hooks, each make a Request of their own.
    app = App(form_limits=FormLimits(spool_size=0, upload_dir=str(upload_dir)))
    open_during: list[int] = []
    if handler == "hooked":
        app.before_request(lambda request: None)

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        form = await request.form()
        open_during.append(len(descriptors_into(upload_dir)))
        return {"fields": len(form)}

    app.build()
    assert app.router.routes[0].explain().count(f"handler: {handler}") == 1
    for _ in range(RUNS):
        assert status(await call(app, whole_body())) == 200
    assert open_during == [1] * RUNS
    assert_nothing_left(upload_dir)

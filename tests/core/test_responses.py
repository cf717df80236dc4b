"""Responses: the two ASGI messages, built correctly and safely."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minimal_asgi import (
    App,
    BackgroundTasks,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from minimal_asgi.testing import TestClient
from minimal_asgi.types import Message, Receive, Scope, Send

SCOPE: Scope = {"type": "http", "method": "GET", "path": "/", "headers": []}


async def never_disconnects() -> Message:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


async def run(response: Response, receive: Receive = never_disconnects) -> list[Message]:
    """Call ``response`` as an ASGI app and return what it sent."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await response(dict(SCOPE), receive, send)
    return sent


def headers_of(messages: list[Message]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in messages[0]["headers"]}


def body_of(messages: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in messages[1:])


# -- complete responses -------------------------------------------------------------
@pytest.mark.anyio
async def test_a_response_sends_start_then_one_body_message() -> None:
    sent = await run(Response(b"hello", status_code=201))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 201
    assert sent[1]["body"] == b"hello"
    assert not sent[1].get("more_body", False)


def test_a_response_counts_its_content_length() -> None:
    assert Response("héllo").headers["content-length"] == "6"


def test_a_plain_response_has_no_content_type() -> None:
    assert "content-type" not in Response(b"raw").headers


def test_str_content_is_encoded_with_the_charset() -> None:
    assert Response("héllo").body == "héllo".encode()


def test_content_that_is_not_text_or_bytes_is_refused() -> None:
    with pytest.raises(TypeError, match="use JSONResponse"):
        Response({"a": 1})


def test_plain_text_response_declares_text_plain_utf8() -> None:
    response = PlainTextResponse("hi")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.body == b"hi"


def test_html_response_declares_text_html_utf8() -> None:
    assert HTMLResponse("<p>hi</p>").headers["content-type"] == "text/html; charset=utf-8"


def test_a_content_type_header_given_by_the_caller_is_not_duplicated() -> None:
    response = PlainTextResponse("a,b", headers={"Content-Type": "text/csv"})
    assert response.headers.getlist("content-type") == ["text/csv"]


def test_json_response_is_compact_utf8_json() -> None:
    response = JSONResponse({"name": "Zoë", "tags": [1, 2]})
    assert response.body == '{"name":"Zoë","tags":[1,2]}'.encode()
    assert response.headers["content-type"] == "application/json"


def test_json_response_encodes_dataclasses_datetimes_uuids_and_enums() -> None:
    class Colour(enum.Enum):
        RED = "red"

    @dataclasses.dataclass
    class Item:
        id: uuid.UUID
        at: dt.datetime
        colour: Colour

    item = Item(uuid.UUID(int=1), dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC), Colour.RED)
    assert JSONResponse(item).body == (
        b'{"id":"00000000-0000-0000-0000-000000000001",'
        b'"at":"2024-05-01T12:00:00+00:00","colour":"red"}'
    )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_json_response_rejects_nan_and_infinity(value: float) -> None:
    with pytest.raises(ValueError):
        JSONResponse({"x": value})


def test_json_response_names_the_type_it_cannot_encode() -> None:
    with pytest.raises(TypeError, match="object is not JSON serialisable"):
        JSONResponse({"x": object()})


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_send_no_body_and_no_content_length(status: int) -> None:
    response = JSONResponse({"ignored": True}, status_code=status)
    assert response.body == b""
    assert "content-length" not in response.headers
    assert "content-type" not in response.headers


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_reach_the_client_without_a_body(status: int) -> None:
    app = App()

    @app.get("/")
    async def empty() -> Response:
        return PlainTextResponse("ignored", status_code=status)

    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == status
    assert response.content == b""
    assert "content-length" not in response.headers


# -- endpoint return values --------------------------------------------------------------
def returning(value: Any) -> App:
    app = App()

    @app.get("/")
    async def endpoint() -> Any:
        return value

    return app


def test_an_endpoint_returning_none_answers_204_without_a_body() -> None:
    with TestClient(returning(None)) as client:
        response = client.get("/")
    assert (response.status_code, response.content) == (204, b"")
    assert "content-length" not in response.headers


def test_an_endpoint_returning_a_dict_answers_json() -> None:
    with TestClient(returning({"a": 1})) as client:
        response = client.get("/")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"a": 1}


def test_an_endpoint_returning_a_str_answers_plain_text() -> None:
    with TestClient(returning("hi")) as client:
        response = client.get("/")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "hi"


def test_an_endpoint_returning_bytes_answers_octet_stream() -> None:
    with TestClient(returning(b"\x00\x01")) as client:
        response = client.get("/")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == b"\x00\x01"


def test_an_endpoint_returning_nan_is_a_500_not_invalid_json() -> None:
    with TestClient(returning({"x": float("nan")}), raise_server_exceptions=False) as client:
        response = client.get("/")
    assert response.status_code == 500


# -- redirects ----------------------------------------------------------------------------
def test_a_redirect_is_307_with_a_location_by_default() -> None:
    response = RedirectResponse("/next")
    assert response.status_code == 307
    assert response.headers["location"] == "/next"
    assert response.body == b""


def test_a_redirect_percent_encodes_what_is_not_legal_in_a_url() -> None:
    response = RedirectResponse("/search?q=a b&x=é", status_code=303)
    assert response.status_code == 303
    assert response.headers["location"] == "/search?q=a%20b&x=%C3%A9"


def test_a_redirect_keeps_existing_percent_escapes() -> None:
    assert RedirectResponse("/a%20b").headers["location"] == "/a%20b"


# -- streaming ------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_streaming_sends_each_chunk_of_an_async_iterator() -> None:
    async def chunks() -> AsyncIterator[str | bytes]:
        yield b"one,"
        yield "two"

    sent = await run(StreamingResponse(chunks(), media_type="text/csv"))
    assert [m.get("body") for m in sent[1:]] == [b"one,", b"two", b""]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, True, False]
    assert headers_of(sent)["content-type"] == "text/csv; charset=utf-8"


@pytest.mark.anyio
async def test_streaming_accepts_a_sync_iterator() -> None:
    chunks: list[str | bytes] = [b"a", "b", b"c"]
    sent = await run(StreamingResponse(iter(chunks)))
    assert body_of(sent) == b"abc"


@pytest.mark.anyio
async def test_a_streamed_response_has_no_content_length() -> None:
    sent = await run(StreamingResponse(iter([b"abc"])))
    assert "content-length" not in headers_of(sent)


@pytest.mark.anyio
async def test_a_sync_generator_runs_off_the_event_loop() -> None:
    threads: list[int] = []

    def chunks() -> Iterator[bytes]:
        threads.append(threading.get_ident())
        yield b"a"
        threads.append(threading.get_ident())
        yield b"b"

    sent = await run(StreamingResponse(chunks()))
    assert body_of(sent) == b"ab"
    assert threads
    assert threading.get_ident() not in threads


@pytest.mark.anyio
async def test_streaming_stops_when_the_client_disconnects() -> None:
    produced = 0
    gone = anyio.Event()

    async def endless() -> AsyncIterator[bytes]:
        nonlocal produced
        while True:
            produced += 1
            yield b"tick"

    async def receive() -> Message:
        await gone.wait()
        return {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)
        if len(sent) == 4:  # the client leaves after three chunks
            gone.set()
        await anyio.sleep(0)

    with anyio.fail_after(5):
        await StreamingResponse(endless())(dict(SCOPE), receive, send)
    assert 4 <= len(sent) < 10
    assert produced < 10


@pytest.mark.anyio
async def test_a_sync_generator_stops_when_the_client_disconnects() -> None:
    gone = anyio.Event()
    produced = 0

    def endless() -> Iterator[bytes]:
        nonlocal produced
        while True:
            produced += 1
            yield b"tick"

    async def receive() -> Message:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message.get("more_body"):
            gone.set()

    with anyio.fail_after(5):
        await StreamingResponse(endless())(dict(SCOPE), receive, send)
    assert produced < 10


def test_a_streaming_endpoint_reaches_the_client_whole() -> None:
    app = App()

    @app.get("/")
    async def stream() -> StreamingResponse:
        def lines() -> Iterator[str]:
            for n in range(3):
                yield f"line {n}\n"

        return StreamingResponse(lines(), media_type="text/plain")

    with TestClient(app) as client:
        assert client.get("/").text == "line 0\nline 1\nline 2\n"


# -- cookies ------------------------------------------------------------------------------
def set_cookie_header(**options: Any) -> str:
    response = Response()
    response.set_cookie("sid", "abc", **options)
    return response.headers["set-cookie"]


def test_set_cookie_is_httponly_samesite_lax_and_secure_by_default() -> None:
    assert set_cookie_header() == "sid=abc; Path=/; SameSite=Lax; Secure; HttpOnly"


def test_set_cookie_httponly_can_be_turned_off() -> None:
    assert "HttpOnly" not in set_cookie_header(httponly=False)


def test_set_cookie_secure_can_be_turned_off() -> None:
    assert "Secure" not in set_cookie_header(secure=False)


def test_set_cookie_samesite_can_be_left_out() -> None:
    assert "SameSite" not in set_cookie_header(samesite=None)


def test_set_cookie_samesite_strict() -> None:
    assert "SameSite=Strict" in set_cookie_header(samesite="strict")


def test_samesite_none_with_secure_is_allowed() -> None:
    assert "SameSite=None; Secure" in set_cookie_header(samesite="none")


def test_samesite_none_without_secure_raises() -> None:
    with pytest.raises(ValueError, match="SameSite=None without Secure"):
        Response().set_cookie("sid", "abc", samesite="none", secure=False)


def test_an_unknown_samesite_value_raises() -> None:
    with pytest.raises(ValueError, match="samesite must be"):
        Response().set_cookie("sid", "abc", samesite="sometimes")


def test_set_cookie_writes_max_age_expires_path_and_domain() -> None:
    when = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    header = set_cookie_header(max_age=60, expires=when, path="/app", domain="example.com")
    assert header.startswith("sid=abc; Max-Age=60; Expires=Wed, 02 Jan 2030 03:04:05 GMT; ")
    assert "Path=/app; Domain=example.com" in header


def test_a_partitioned_cookie_is_marked_so() -> None:
    assert set_cookie_header(partitioned=True).endswith("; Partitioned")


def test_a_partitioned_cookie_must_be_secure() -> None:
    with pytest.raises(ValueError, match="Secure"):
        Response().set_cookie("sid", "abc", partitioned=True, secure=False, samesite=None)


def test_setting_two_cookies_sends_two_headers() -> None:
    response = Response()
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    assert [v.split(";")[0] for v in response.headers.getlist("set-cookie")] == ["a=1", "b=2"]


@pytest.mark.parametrize("name", ["", "a b", "a;b", "a=b", "a,b", "é", "a\nb"])
def test_an_invalid_cookie_name_raises(name: str) -> None:
    with pytest.raises(ValueError, match="cookie name"):
        Response().set_cookie(name, "v")


@pytest.mark.parametrize("value", ["a b", "a;b", "a,b", 'a"b', "a\\b", "é", "a\r\nb"])
def test_an_invalid_cookie_value_raises(value: str) -> None:
    with pytest.raises(ValueError, match="percent-encode or base64"):
        Response().set_cookie("sid", value)


def test_a_double_quoted_cookie_value_is_allowed() -> None:
    response = Response()
    response.set_cookie("sid", '"abc"')
    assert response.headers["set-cookie"].startswith('sid="abc";')


@pytest.mark.parametrize("option", ["path", "domain"])
def test_a_semicolon_in_a_cookie_path_or_domain_raises(option: str) -> None:
    with pytest.raises(ValueError, match="may not contain ';'"):
        options: dict[str, Any] = {option: "x; Secure"}
        Response().set_cookie("sid", "abc", **options)


def test_delete_cookie_expires_it_in_the_past() -> None:
    response = Response()
    response.delete_cookie("sid", path="/app")
    header = response.headers["set-cookie"]
    assert header.startswith("sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/app;")
    assert header.endswith("SameSite=Lax; Secure; HttpOnly")


# -- header injection ---------------------------------------------------------------------
FORBIDDEN = ["\r", "\n", "\r\n", "\x00"]


@pytest.mark.parametrize("char", FORBIDDEN)
def test_a_header_value_with_cr_lf_or_nul_raises_in_the_constructor(char: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        Response(headers={"x-note": f"a{char}Set-Cookie: admin=1"})


@pytest.mark.parametrize("char", FORBIDDEN)
def test_a_header_name_with_cr_lf_or_nul_raises_in_the_constructor(char: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        Response(headers={f"x{char}y": "v"})


@pytest.mark.parametrize("char", FORBIDDEN)
def test_a_header_value_with_cr_lf_or_nul_raises_when_set(char: str) -> None:
    response = Response()
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        response.headers["x-note"] = f"a{char}b"
    assert "x-note" not in response.headers


@pytest.mark.parametrize("char", FORBIDDEN)
def test_a_header_name_with_cr_lf_or_nul_raises_when_set(char: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        Response().headers[f"x{char}y"] = "v"


@pytest.mark.parametrize("char", FORBIDDEN)
def test_a_header_value_with_cr_lf_or_nul_raises_when_appended(char: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        Response().headers.append("x-note", f"a{char}b")


@pytest.mark.parametrize("char", FORBIDDEN)
def test_a_redirect_url_with_cr_lf_or_nul_raises(char: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        RedirectResponse(f"/next{char}Set-Cookie: admin=1")


@pytest.mark.parametrize("name", ["", "x y", "x:y", "x(y)", 'x"y', "x/y"])
def test_an_invalid_header_name_raises(name: str) -> None:
    with pytest.raises(ValueError, match="not a valid header name"):
        Response(headers={name: "v"})


@given(
    prefix=st.text(max_size=10).filter(lambda s: not set(s) & {"\r", "\n", "\x00"}),
    bad=st.sampled_from(FORBIDDEN),
    suffix=st.text(max_size=10),
)
def test_any_header_value_containing_cr_lf_or_nul_raises(
    prefix: str, bad: str, suffix: str
) -> None:
    with pytest.raises(ValueError):
        Response().headers["x-value"] = prefix + bad + suffix


# -- editing the headers of a response ---------------------------------------------------
def test_edits_to_response_headers_are_what_is_sent() -> None:
    response = PlainTextResponse("hi")
    response.headers["X-Request-Id"] = "42"
    response.headers["content-type"] = "text/markdown"
    del response.headers["content-length"]
    assert sorted(response.raw_headers) == [
        (b"content-type", b"text/markdown"),
        (b"x-request-id", b"42"),
    ]


@pytest.mark.anyio
async def test_headers_set_after_construction_reach_the_client() -> None:
    response = Response(b"x")
    response.headers["cache-control"] = "no-store"
    assert headers_of(await run(response))["cache-control"] == "no-store"


# -- background tasks ---------------------------------------------------------------------
@pytest.mark.anyio
async def test_background_tasks_run_after_the_body_in_order() -> None:
    events: list[str] = []
    tasks = BackgroundTasks()

    async def first() -> None:
        events.append("first")

    def second(label: str) -> None:
        events.append(label)

    tasks.add_task(first)
    tasks.add_task(second, label="second")

    async def send(message: Message) -> None:
        events.append(message["type"])

    await Response(b"ok", background=tasks)(dict(SCOPE), never_disconnects, send)
    assert events == ["http.response.start", "http.response.body", "first", "second"]


@pytest.mark.anyio
async def test_a_failing_background_task_is_logged_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []
    tasks = BackgroundTasks()

    def broken() -> None:
        raise RuntimeError("smtp down")

    tasks.add_task(broken)
    tasks.add_task(ran.append, "after")
    with caplog.at_level(logging.ERROR, logger="minimal_asgi.background"):
        sent = await run(Response(b"ok", background=tasks))
    assert body_of(sent) == b"ok"
    assert ran == ["after"]
    [record] = [r for r in caplog.records if r.name == "minimal_asgi.background"]
    assert "broken" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


def test_background_tasks_run_after_the_client_has_the_response() -> None:
    events: list[str] = []
    app = App()

    class RecordBody:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async def recording(message: Message) -> None:
                await send(message)
                if message["type"] == "http.response.body":
                    events.append("body sent")

            await self.app(scope, receive, recording)

    app.add_middleware(RecordBody)

    @app.get("/")
    async def endpoint() -> Response:
        return PlainTextResponse("ok", background=lambda: events.append("task"))

    with TestClient(app) as client:
        assert client.get("/").text == "ok"
    assert events == ["body sent", "task"]


@pytest.mark.anyio
async def test_streaming_background_tasks_run_after_the_last_chunk() -> None:
    events: list[str] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b"a"

    async def send(message: Message) -> None:
        events.append("more" if message.get("more_body") else message["type"])

    response = StreamingResponse(chunks(), background=lambda: events.append("task"))
    await response(dict(SCOPE), never_disconnects, send)
    assert events == ["http.response.start", "more", "http.response.body", "task"]


def test_streaming_background_tasks_run_when_a_disconnect_follows_the_last_chunk() -> None:
    # The test client reports http.disconnect once the response is complete, as
    # uvicorn does; a middleware that awaits after sending lets the stream's
    # disconnect watcher see it. That is the normal end, not an abort.
    ran: list[str] = []
    app = App()

    class AwaitsAfterSend:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async def send_then_yield(message: Message) -> None:
                await send(message)
                await anyio.sleep(0)

            await self.app(scope, receive, send_then_yield)

    app.add_middleware(AwaitsAfterSend)

    @app.get("/")
    async def endpoint() -> StreamingResponse:
        return StreamingResponse(iter([b"a", b"b"]), background=lambda: ran.append("task"))

    with TestClient(app) as client:
        assert client.get("/").content == b"ab"
    assert ran == ["task"]


@pytest.mark.anyio
async def test_a_plain_sync_function_can_be_the_background() -> None:
    threads: list[int] = []
    await run(Response(b"ok", background=lambda: threads.append(threading.get_ident())))
    assert len(threads) == 1
    assert threads[0] != threading.get_ident()  # run in a worker thread


@pytest.mark.anyio
async def test_a_failing_plain_background_function_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise RuntimeError("smtp down")

    with caplog.at_level(logging.ERROR, logger="minimal_asgi.background"):
        sent = await run(Response(b"ok", background=broken))
    assert body_of(sent) == b"ok"
    assert any(r.name == "minimal_asgi.background" for r in caplog.records)

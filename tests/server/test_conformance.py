"""``minimal_asgi.testing.validate(app)``: the ASGI conformance checker.

First, the example apps pass it under the TestClient - every message they send
and receive is checked. Then one app per rule breaks it, and the error names
the rule. Apps here are raw ASGI: a framework would never let us break the rules.
"""

from __future__ import annotations

import re
from typing import Any

import anyio
import pytest

from examples.hello.app import app as hello_app
from examples.todo.app import app as todo_app
from minimal_asgi.testing import ASGIValidationError, TestClient, validate
from minimal_asgi.types import Message, Receive, Scope, Send

HTTP_SCOPE: dict[str, Any] = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
    "scheme": "http", "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "",
    "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 5000),
    "server": ("127.0.0.1", 8000),
}
WEBSOCKET_SCOPE: dict[str, Any] = {
    **{k: v for k, v in HTTP_SCOPE.items() if k != "method"}, "type": "websocket",
    "scheme": "ws", "subprotocols": [],
}
LIFESPAN_SCOPE: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}


def converse(app: Any, scope: dict[str, Any], incoming: list[Message]) -> list[Message]:
    """Call ``validate(app)`` with ``incoming`` as what receive() returns; what it sent."""
    sent: list[Message] = []
    inbox = list(incoming)

    async def receive() -> Message:
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    anyio.run(validate(app), dict(scope), receive, send)
    return sent


def sends(*messages: Message) -> Any:
    """An app that reads once, then sends ``messages`` as given."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        for message in messages:
            await send(message)

    return app


START = {"type": "http.response.start", "status": 200, "headers": []}
BODY = {"type": "http.response.body", "body": b"ok"}
REQUEST = [{"type": "http.request", "body": b"", "more_body": False}]


# -- the examples pass --------------------------------------------------------------
def test_hello_example_speaks_asgi_correctly() -> None:
    with TestClient(validate(hello_app)) as client:
        assert client.get("/").status_code == 200
        assert client.get("/hello/you").json() == {"message": "Hello, you"}
        assert client.head("/").status_code == 200
        assert client.get("/missing").status_code == 404
        assert client.post("/").status_code == 405


def test_todo_example_speaks_asgi_correctly() -> None:
    with TestClient(validate(todo_app)) as client:
        created = client.post("/v1/todos", json={"title": "write the server"})
        assert created.status_code == 201
        todo_id = created.json()["id"]
        assert client.get(f"/v1/todos/{todo_id}").status_code == 200
        assert client.patch(f"/v1/todos/{todo_id}", json={"done": True}).json()["done"] is True
        assert client.get("/v1/todos?limit=1").status_code == 200
        assert client.post("/v1/todos", json={"title": ""}).status_code == 422
        assert client.delete(f"/v1/todos/{todo_id}").status_code == 204
        assert client.get(f"/v1/todos/{todo_id}").status_code == 404


def test_a_correct_raw_app_passes_and_its_messages_go_through_unchanged() -> None:
    assert converse(sends(START, BODY), HTTP_SCOPE, REQUEST) == [START, BODY]


# -- http: each rule, broken once ---------------------------------------------------
HTTP_BREAKS = {
    "body before start": (
        [BODY],
        "http.response.start comes before http.response.body",
    ),
    "start twice": (
        [START, START],
        "http.response.start is sent once",
    ),
    "body after the last": (
        [START, BODY, BODY],
        "no http.response.body after the last one",
    ),
    "status as text": (
        [{**START, "status": "200"}, BODY],
        "'status' is int",
    ),
    "status out of range": (
        [{**START, "status": 42}, BODY],
        "'status' is an HTTP status code",
    ),
    "str headers": (
        [{**START, "headers": [("content-type", "text/plain")]}, BODY],
        "'headers' is an iterable",
    ),
    "upper-case header name": (
        [{**START, "headers": [(b"Content-Type", b"text/plain")]}, BODY],
        "header names are lower-case",
    ),
    "str body": (
        [START, {"type": "http.response.body", "body": "ok"}],
        "'body' is bytes",
    ),
    "more_body as text": (
        [START, {**BODY, "more_body": "no"}],
        "'more_body' is bool",
    ),
    "unknown type": (
        [{"type": "http.response.begin", "status": 200}],
        "the messages here are",
    ),
    "not a dict": (
        [("http.response.start", 200)],
        "a message is a dict with a str 'type'",
    ),
    "unfinished response": (
        [START, {**BODY, "more_body": True}],
        "the app completes its response",
    ),
    "no response at all": (
        [],
        "the app completes its response",
    ),
}


@pytest.mark.parametrize(("messages", "rule"), HTTP_BREAKS.values(), ids=HTTP_BREAKS.keys())
def test_http_rule_broken_by_the_app_is_named(messages: list[Message], rule: str) -> None:
    with pytest.raises(ASGIValidationError, match=re.escape(rule)) as error:
        converse(sends(*messages), HTTP_SCOPE, REQUEST)
    assert error.value.rule.startswith("http: ")
    assert isinstance(error.value, AssertionError)


def test_app_that_swallows_the_error_still_fails_when_it_returns() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(START)
        try:
            await send(START)  # a second start: raises ...
        except Exception:
            pass  # ... and a careless error handler hides it
        await send(BODY)

    with pytest.raises(ASGIValidationError, match=re.escape("http.response.start is sent once")):
        converse(app, HTTP_SCOPE, REQUEST)


def test_app_may_stop_without_a_response_once_the_client_has_gone() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    sent = converse(app, HTTP_SCOPE, [{"type": "http.request", "body": b"x", "more_body": True}])
    assert sent == []  # no response, and no violation raised


def test_server_side_mistakes_are_caught_too() -> None:
    broken_scope = {k: v for k, v in HTTP_SCOPE.items() if k != "path"}
    with pytest.raises(ASGIValidationError, match="'path' is required"):
        converse(sends(START, BODY), broken_scope, REQUEST)
    with pytest.raises(ASGIValidationError, match="'method' is an upper-case str"):
        converse(sends(START, BODY), {**HTTP_SCOPE, "method": "get"}, REQUEST)
    with pytest.raises(ASGIValidationError, match="'body' is bytes"):
        converse(sends(START, BODY), HTTP_SCOPE, [{"type": "http.request", "body": "text"}])
    twice = [REQUEST[0], REQUEST[0]]

    async def reads_twice(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await receive()

    rule = "no http.request after the last chunk"
    with pytest.raises(ASGIValidationError, match=re.escape(rule)):
        converse(reads_twice, HTTP_SCOPE, twice)


# -- websocket ------------------------------------------------------------------------
CONNECT = {"type": "websocket.connect"}
ACCEPT = {"type": "websocket.accept"}
CLOSE = {"type": "websocket.close", "code": 1000}


def test_a_correct_websocket_conversation_passes() -> None:
    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send(ACCEPT)
        message = await receive()
        await send({"type": "websocket.send", "text": message["text"]})
        await send(CLOSE)

    sent = converse(echo, WEBSOCKET_SCOPE, [CONNECT, {"type": "websocket.receive", "text": "hi"}])
    assert sent == [ACCEPT, {"type": "websocket.send", "text": "hi"}, CLOSE]  # unchanged


WEBSOCKET_BREAKS = {
    "send before accept": (
        [{"type": "websocket.send", "text": "hi"}],
        "websocket.send comes after websocket.accept",
    ),
    "send after close": (
        [ACCEPT, CLOSE, {"type": "websocket.send", "text": "hi"}],
        "nothing is sent after websocket.close",
    ),
    "accept twice": (
        [ACCEPT, ACCEPT],
        "websocket.accept is sent once",
    ),
    "text and bytes": (
        [ACCEPT, {"type": "websocket.send", "text": "a", "bytes": b"a"}],
        "exactly one of 'bytes' and 'text'",
    ),
    "neither text nor bytes": (
        [ACCEPT, {"type": "websocket.send"}],
        "exactly one of 'bytes' and 'text'",
    ),
    "subprotocol as a header": (
        [{**ACCEPT, "headers": [(b"sec-websocket-protocol", b"chat")]}],
        "in 'subprotocol', not a header",
    ),
    "no answer to connect": (
        [],
        "websocket.connect is answered with accept or close",
    ),
}


@pytest.mark.parametrize(
    ("messages", "rule"), WEBSOCKET_BREAKS.values(), ids=WEBSOCKET_BREAKS.keys()
)
def test_websocket_rule_broken_by_the_app_is_named(messages: list[Message], rule: str) -> None:
    with pytest.raises(ASGIValidationError, match=re.escape(rule)) as error:
        converse(sends(*messages), WEBSOCKET_SCOPE, [CONNECT])
    assert error.value.rule.startswith("websocket: ")


def test_accepting_before_hearing_websocket_connect_is_an_error() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(ACCEPT)

    rule = "websocket.accept comes after websocket.connect"
    with pytest.raises(ASGIValidationError, match=re.escape(rule)):
        converse(app, WEBSOCKET_SCOPE, [CONNECT])


# -- lifespan -------------------------------------------------------------------------
STARTUP, SHUTDOWN = {"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}


def test_a_correct_lifespan_passes() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    sent = converse(app, LIFESPAN_SCOPE, [STARTUP, SHUTDOWN])
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


def test_lifespan_answer_must_follow_its_question() -> None:
    async def eager(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "lifespan.startup.complete"})  # before being asked

    with pytest.raises(ASGIValidationError, match=re.escape("answers lifespan.startup, once")):
        converse(eager, LIFESPAN_SCOPE, [STARTUP])


def test_lifespan_answered_twice_is_an_error() -> None:
    async def twice(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.startup.failed", "message": "oops"})

    with pytest.raises(ASGIValidationError, match=re.escape("answers lifespan.startup, once")):
        converse(twice, LIFESPAN_SCOPE, [STARTUP])


def test_app_refusing_the_lifespan_scope_is_not_a_violation() -> None:
    async def http_only(scope: Scope, receive: Receive, send: Send) -> None:
        raise ValueError(f"unsupported scope {scope['type']}")

    with pytest.raises(ValueError, match="unsupported scope"):  # the app's own error, unchanged
        converse(http_only, LIFESPAN_SCOPE, [STARTUP])

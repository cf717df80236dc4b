"""The lifecycle trace: one log record per request, showing every layer it passed."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from minimal_asgi import App, HTTPException, PlainTextResponse, Request, Response
from minimal_asgi.routing import Router
from minimal_asgi.testing import TestClient
from minimal_asgi.trace import TracedLayer
from minimal_asgi.types import ASGIApp, Receive, Scope, Send


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def read_item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


async def teapot() -> None:
    raise HTTPException(418)


async def check_auth(request: Request) -> Response | None:
    return PlainTextResponse("no", status_code=401)


async def add_headers(request: Request, response: Response) -> None:
    return None


def traced_app(**options: Any) -> App:
    # Module-level endpoints and hooks: the trace labels them by qualified name.
    app = App(**options)
    app.add_middleware(RequestId)
    app.add_route("/items/{item_id:int}", read_item)
    app.add_route("/teapot", teapot)
    return app


@pytest.fixture
def trace_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="minimal_asgi.trace")
    return caplog


def traces(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "minimal_asgi.trace"]


def test_trace_logs_one_record_per_request(trace_log: pytest.LogCaptureFixture) -> None:
    with TestClient(traced_app(trace=True)) as client:
        client.get("/items/3")
        client.get("/items/4")
    assert len(traces(trace_log)) == 2


def test_the_trace_title_names_the_request_and_its_status(
    trace_log: pytest.LogCaptureFixture,
) -> None:
    with TestClient(traced_app(trace=True)) as client:
        client.get("/items/3")
    [tree] = traces(trace_log)
    assert tree.splitlines()[0].startswith("GET /items/3 -> 200 in ")


def test_the_trace_shows_middleware_router_match_endpoint_and_response(
    trace_log: pytest.LogCaptureFixture,
) -> None:
    with TestClient(traced_app(trace=True)) as client:
        client.get("/items/3")
    [tree] = traces(trace_log)
    labels = [line.lstrip("│ ├└─").rsplit(" ", 2)[0] for line in tree.splitlines()[1:]]
    assert labels == [
        "middleware RequestId",
        "router matched /items/{item_id:int} -> read_item",
        "endpoint read_item",
        "response 200",
    ]


def test_the_trace_draws_nested_layers_as_a_tree(trace_log: pytest.LogCaptureFixture) -> None:
    with TestClient(traced_app(trace=True)) as client:
        client.get("/items/3")
    [tree] = traces(trace_log)
    shape = [re.sub(r"[^│├└─ ].*", "", line) for line in tree.splitlines()[1:]]
    assert shape == ["└─ ", "   └─ ", "      ├─ ", "      └─ "]


async def load_user(request: Request) -> None:
    return None


def test_the_trace_shows_hooks_around_the_endpoint(trace_log: pytest.LogCaptureFixture) -> None:
    app = traced_app(trace=True)
    app.before_request(load_user)
    app.after_request(add_headers)
    with TestClient(app) as client:
        client.get("/items/3")
    [tree] = traces(trace_log)
    labels = [line.lstrip("│ ├└─").rsplit(" ", 2)[0] for line in tree.splitlines()[3:]]
    assert labels == [
        "before_request load_user",
        "endpoint read_item",
        "after_request add_headers",
        "response 200",
    ]


def test_the_trace_shows_hooks_and_a_short_circuit(trace_log: pytest.LogCaptureFixture) -> None:
    app = traced_app(trace=True)
    app.before_request(check_auth)
    app.after_request(add_headers)
    with TestClient(app) as client:
        client.get("/items/3")
    [tree] = traces(trace_log)
    assert tree.startswith("GET /items/3 -> 401")
    assert "before_request check_auth -> short-circuit" in tree
    assert "after_request add_headers" in tree
    assert "endpoint read_item" not in tree
    assert "response 401" in tree


def test_the_trace_of_an_unmatched_path_says_so(trace_log: pytest.LogCaptureFixture) -> None:
    with TestClient(traced_app(trace=True)) as client:
        client.get("/nowhere")
    [tree] = traces(trace_log)
    assert tree.startswith("GET /nowhere -> 404")
    assert "router no match for GET /nowhere" in tree


def test_the_trace_of_an_error_shows_the_error_status(trace_log: pytest.LogCaptureFixture) -> None:
    with TestClient(traced_app(trace=True)) as client:
        client.get("/teapot")
    [tree] = traces(trace_log)
    assert tree.startswith("GET /teapot -> 418")


def test_the_environment_variable_turns_tracing_on(
    trace_log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINIMAL_ASGI_TRACE", "1")
    with TestClient(traced_app()) as client:
        client.get("/items/3")
    assert len(traces(trace_log)) == 1


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_the_environment_variable_can_leave_tracing_off(
    value: str, trace_log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINIMAL_ASGI_TRACE", value)
    with TestClient(traced_app()) as client:
        client.get("/items/3")
    assert traces(trace_log) == []


def test_trace_false_overrides_the_environment(
    trace_log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINIMAL_ASGI_TRACE", "1")
    with TestClient(traced_app(trace=False)) as client:
        client.get("/items/3")
    assert traces(trace_log) == []


def test_with_trace_off_nothing_is_logged(
    trace_log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINIMAL_ASGI_TRACE", raising=False)
    with TestClient(traced_app()) as client:
        client.get("/items/3")
        client.get("/nowhere")
    assert traces(trace_log) == []


def layers(app: Any) -> list[Any]:
    """Every layer of a built stack, outermost first, following ``.app``."""
    found = []
    while app is not None:
        found.append(app)
        app = getattr(app, "app", None)
    return found


def test_with_trace_off_no_traced_layer_is_in_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MINIMAL_ASGI_TRACE", raising=False)
    stack = layers(traced_app().build())
    assert [type(layer).__name__ for layer in stack] == ["RequestId", "Router"]
    assert not any(isinstance(layer, TracedLayer) for layer in stack)


def test_with_no_middleware_and_no_trace_the_stack_is_the_router(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MINIMAL_ASGI_TRACE", raising=False)
    assert isinstance(App().build(), Router)

"""How a route runs: the handler chosen once per route, and route.explain()."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from minimal_asgi import App, BackgroundTasks, Depends, Request, Response, WebSocket
from minimal_asgi.dependencies import CallShape
from minimal_asgi.handlers import HandlerKind
from minimal_asgi.routing import Route
from minimal_asgi.testing import TestClient


def started(app: App) -> dict[str, Route]:
    """The app's prepared routes, by path (routes are prepared at startup)."""
    app.build()
    return {route.path: route for route in app.routes}


def bare_app(**options: Any) -> App:
    return App(openapi_url=None, docs_url=None, **options)


async def get_token(request: Request) -> str:
    return request.headers.get("x-token", "")


def shapes_app(**options: Any) -> App:
    app = bare_app(**options)

    @app.get("/static")
    async def static() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/items/{item_id:int}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/echo")
    async def echo(request: Request) -> str:
        return request.url.path

    @app.get("/sync/{name}")
    def sync(name: str) -> str:
        return name

    @app.get("/keywords/{name}")
    async def keywords(request: Request, name: str) -> str:
        return f"{name} at {request.url.path}"

    @app.get("/search")
    async def search(q: str, token: str = Depends(get_token)) -> dict[str, str]:
        return {"q": q, "token": token}

    @app.get("/params/{name}")
    async def ignores_values() -> str:
        return "ignored"

    @app.delete("/things/{name}", status_code=204)
    async def remove(name: str) -> None:
        return None

    @app.websocket("/ws")
    async def ws() -> None:
        return None

    return app


EXPECTED = {
    "/static": (HandlerKind.DIRECT, CallShape.NO_ARGS),
    "/items/{item_id:int}": (HandlerKind.DIRECT, CallShape.PATH_VALUES),
    "/echo": (HandlerKind.REQUEST, CallShape.REQUEST),
    "/sync/{name}": (HandlerKind.SIMPLE, CallShape.PATH_VALUES),
    "/keywords/{name}": (HandlerKind.SIMPLE, CallShape.KEYWORDS),
    "/search": (HandlerKind.CONTEXT, CallShape.CONTEXT),
    "/params/{name}": (HandlerKind.SIMPLE, CallShape.NO_ARGS),
    "/things/{name}": (HandlerKind.SIMPLE, CallShape.PATH_VALUES),
    "/ws": (HandlerKind.WEBSOCKET, CallShape.NO_ARGS),
}


@pytest.mark.parametrize("path", list(EXPECTED))
def test_each_route_gets_the_leanest_handler_for_its_shape(path: str) -> None:
    route = started(shapes_app())[path]
    assert route.choice is not None and route.plan is not None
    assert (route.choice.kind, route.plan.shape) == EXPECTED[path]


@pytest.mark.parametrize("path", [p for p in EXPECTED if p != "/ws"])
def test_with_hooks_every_http_route_gets_the_hooked_handler(path: str) -> None:
    app = shapes_app()

    @app.before_request
    async def noop(request: Request) -> None:
        return None

    route = started(app)[path]
    assert route.choice is not None and route.plan is not None
    assert route.choice.kind is HandlerKind.HOOKED
    assert route.plan.shape is EXPECTED[path][1]  # the shape is the endpoint's, hooks or not


@pytest.mark.parametrize("path", list(EXPECTED))
def test_tracing_keeps_the_handler_an_untraced_app_would_choose(path: str) -> None:
    traced = started(shapes_app(trace=True))[path]
    assert traced.choice is not None
    assert traced.choice.kind is EXPECTED[path][0]


@pytest.mark.parametrize("trace", [False, True])
def test_every_shape_answers_the_same_traced_or_not(trace: bool) -> None:
    with TestClient(shapes_app(trace=trace)) as client:
        answers = [
            client.get("/static").json(),
            client.get("/items/3").json(),
            client.get("/echo").text,
            client.get("/sync/ada").text,
            client.get("/keywords/ada").text,
            client.get("/search?q=tea", headers={"x-token": "t"}).json(),
            client.get("/params/x").text,
            client.delete("/things/x").status_code,
        ]
    assert answers == [
        {"ok": True},
        {"id": 3},
        "/echo",
        "ada",
        "ada at /keywords/ada",
        {"q": "tea", "token": "t"},
        "ignored",
        204,
    ]


def test_a_direct_route_sends_a_returned_response_object_as_is() -> None:
    app = bare_app()

    @app.get("/teapot/{n:int}")
    async def teapot(n: int) -> Response:
        return Response(b"short and stout", status_code=418, headers={"x-n": str(n)})

    with TestClient(app) as client:
        response = client.get("/teapot/2")
    assert started(app)["/teapot/{n:int}"].choice.kind is HandlerKind.DIRECT  # type: ignore[union-attr]
    assert (response.status_code, response.content, response.headers["x-n"]) == (
        418,
        b"short and stout",
        "2",
    )


def test_explain_names_the_handler_the_reason_and_the_plan() -> None:
    routes = started(shapes_app())
    assert routes["/items/{item_id:int}"].explain().splitlines() == [
        "GET /items/{item_id:int}",
        "  handler: direct, calling endpoint(*path_values)",
        "  why: an async endpoint, no hooks: a dict or str it returns goes out as the two "
        "ASGI messages, with no Request or Response object",
        "  plan:",
        "    shapes_app.<locals>.item",
        "    └─ item_id: path",
    ]
    search = routes["/search"].explain()
    assert "handler: context" in search
    assert "why: a per-request Context resolves q, token" in search
    assert "├─ q: query 'q' (str, required)" in search
    assert "token: Depends(get_token)" in search


def test_explain_says_why_a_sync_route_is_not_direct() -> None:
    explained = started(shapes_app())["/sync/{name}"].explain()
    assert "handler: simple" in explained
    assert "a sync endpoint: it runs in a worker thread" in explained


def test_explain_before_startup_says_the_route_is_not_prepared() -> None:
    app = shapes_app()
    (route,) = [r for r in app.routes if r.path == "/static"]
    assert "not prepared yet" in route.explain()


# -- after the response: background tasks, then teardowns, in one place ---------------
def after_response_app(events: list[str], **options: Any) -> App:
    app = bare_app(**options)

    async def session() -> Any:
        events.append("open")
        try:
            yield "session"
        except Exception as exc:
            events.append(f"rollback {type(exc).__name__}")
            raise
        else:
            events.append("close")

    @app.get("/ok")
    async def ok(tasks: BackgroundTasks, db: str = Depends(session)) -> str:
        tasks.add_task(events.append, "background")
        return db

    @app.get("/fails")
    async def fails(tasks: BackgroundTasks, db: str = Depends(session)) -> str:
        tasks.add_task(events.append, "background")
        raise KeyError(db)

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, tasks: BackgroundTasks, db: str = Depends(session)) -> None:
        await websocket.accept()
        tasks.add_task(events.append, "background")

    return app


def hooked(app: App) -> App:
    @app.after_request
    async def noop(request: Request, response: Response) -> None:
        return None

    return app


@pytest.mark.parametrize("make", [after_response_app, lambda e: hooked(after_response_app(e))])
def test_after_a_response_background_tasks_run_before_teardowns(make: Any) -> None:
    events: list[str] = []
    with TestClient(make(events), raise_server_exceptions=False) as client:
        assert client.get("/ok").text == "session"
        assert events == ["open", "background", "close"]
        events.clear()
        assert client.get("/fails").status_code == 500
    assert events == ["open", "rollback KeyError"]  # no background tasks after a failure


def test_a_websocket_route_runs_the_same_after_response_step() -> None:
    events: list[str] = []
    with TestClient(after_response_app(events)) as client, client.websocket_connect("/ws"):
        pass
    assert events == ["open", "background", "close"]


# -- the trace follows the normal path -------------------------------------------------
def test_the_trace_shows_dependencies_and_the_after_response_step(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="minimal_asgi.trace")
    events: list[str] = []
    with TestClient(after_response_app(events, trace=True)) as client:
        client.get("/ok")
    [tree] = [r.getMessage() for r in caplog.records if r.name == "minimal_asgi.trace"]
    labels = [line.lstrip("│ ├└─").rsplit(" ", 2)[0] for line in tree.splitlines()[1:]]
    assert labels == [
        "router matched /ok -> ok",
        "dependencies",
        "dependency session",
        "endpoint ok",
        "response 200",
        "after response: background tasks, dependency teardowns",
    ]

"""Plain async dependencies run by one coroutine written at startup
(minimal_asgi/straight_dependencies.py) behave as the Context's walk does:
the same calls in the same order, the per-request cache, use_cache=False,
overrides and tracing."""

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_asgi import App, Depends
from minimal_asgi.handlers import HandlerKind
from minimal_asgi.testing import TestClient


def diamond_app(log: list[str], **options: Any) -> App:
    """endpoint -> (left, right, fresh); left and right -> base; fresh not cached."""
    app = App(openapi_url=None, docs_url=None, **options)

    async def base() -> int:
        log.append("base")
        return 1

    async def left(b: int = Depends(base)) -> int:
        log.append("left")
        return b + 10

    async def right(b: int = Depends(base)) -> int:
        log.append("right")
        return b + 100

    async def fresh(b: int = Depends(base, use_cache=False)) -> int:
        log.append("fresh")
        return b + 1000

    @app.get("/diamond")
    async def endpoint(
        x: int = Depends(left), y: int = Depends(right), z: int = Depends(fresh)
    ) -> dict[str, int]:
        log.append("endpoint")
        return {"sum": x + y + z}

    BASES[id(app)] = base  # for the override test
    return app


BASES: dict[int, Any] = {}


def handler_kind(app: App, path: str) -> HandlerKind:
    for route in app.routes:
        if getattr(route, "path", None) == path and route.choice is not None:
            return route.choice.kind
    raise AssertionError(path)


def test_plain_dependencies_get_the_dependencies_handler() -> None:
    app = diamond_app([])
    with TestClient(app):
        assert handler_kind(app, "/diamond") is HandlerKind.DEPENDENCIES
        explained = next(r for r in app.routes if getattr(r, "path", "") == "/diamond").explain()
        assert "handler: dependencies" in explained and "└─ z: Depends(" in explained


def test_the_same_calls_in_the_same_order_as_the_walk() -> None:
    written: list[str] = []
    walked: list[str] = []
    with TestClient(diamond_app(written)) as client:
        assert client.get("/diamond").json() == {"sum": 1113}
    # trace=True keeps the Context's walk (it records a span per dependency).
    with TestClient(diamond_app(walked, trace=True)) as client:
        assert client.get("/diamond").json() == {"sum": 1113}
    assert written == walked
    # base once for left and right (cached), once more for use_cache=False.
    assert written == ["base", "left", "right", "base", "fresh", "endpoint"]


def test_an_override_set_on_a_running_app_takes_the_walk() -> None:
    log: list[str] = []
    app = diamond_app(log)

    async def fake_base() -> int:
        return 0

    with TestClient(app) as client:
        assert client.get("/diamond").json() == {"sum": 1113}
        app.dependency_overrides[BASES[id(app)]] = fake_base
        assert client.get("/diamond").json() == {"sum": 1110}
        app.dependency_overrides.clear()
        assert client.get("/diamond").json() == {"sum": 1113}


def test_an_exception_in_a_dependency_is_an_error_response() -> None:
    app = App(openapi_url=None, docs_url=None)

    async def broken() -> int:
        raise LookupError("no such thing")

    @app.exception_handler(LookupError)
    async def not_found(request: Any, exc: LookupError) -> Any:
        from minimal_asgi.errors import ProblemResponse

        return ProblemResponse(404, str(exc))

    @app.get("/broken")
    async def endpoint(value: int = Depends(broken)) -> dict[str, int]:
        return {"value": value}

    with TestClient(app) as client:
        assert handler_kind(app, "/broken") is HandlerKind.DEPENDENCIES
        response = client.get("/broken")
        assert response.status_code == 404 and response.json()["detail"] == "no such thing"


def test_a_sync_dependency_or_a_query_value_keeps_the_context_handler() -> None:
    app = App(openapi_url=None, docs_url=None)

    def sync_dep() -> int:
        return 1

    @app.get("/sync")
    async def uses_sync(value: int = Depends(sync_dep)) -> dict[str, int]:
        return {"value": value}

    async def reads_query(q: str) -> str:
        return q

    @app.get("/query")
    async def uses_query(value: str = Depends(reads_query)) -> dict[str, str]:
        return {"value": value}

    with TestClient(app) as client:
        assert handler_kind(app, "/sync") is HandlerKind.CONTEXT
        assert handler_kind(app, "/query") is HandlerKind.CONTEXT
        assert client.get("/sync").json() == {"value": 1}
        assert client.get("/query?q=x").json() == {"value": "x"}


# Random trees of plain dependencies: the written coroutine and the walk agree.
trees = st.lists(  # node i depends on some of the nodes after it, each cached or not
    st.lists(st.tuples(st.integers(0, 5), st.booleans()), max_size=3), min_size=1, max_size=6
)


def tree_app(shape: list[list[tuple[int, bool]]], log: list[str], **options: Any) -> App:
    app = App(openapi_url=None, docs_url=None, **options)
    functions: dict[int, Any] = {}
    for index in reversed(range(len(shape))):
        below = [(child, cached) for child, cached in shape[index] if child > index
                 and child < len(shape)]
        functions[index] = _node(index, below, functions, log)
    endpoint = functions[0]

    async def route(value: int = Depends(endpoint)) -> dict[str, int]:
        log.append("endpoint")
        return {"value": value}

    app.add_route("/tree", route)
    return app


def _node(index: int, below: list[tuple[int, bool]], functions: dict[int, Any],
          log: list[str]) -> Any:
    parameters = ", ".join(
        f"p{n}: int = Depends(functions[{child}], use_cache={cached})"
        for n, (child, cached) in enumerate(below)
    )
    total = " + ".join([str(index + 1)] + [f"p{n}" for n in range(len(below))])
    source = (f"async def node_{index}({parameters}) -> int:\n"
              f"    log.append('node_{index}')\n"
              f"    return {total}\n")
    namespace = {"Depends": Depends, "functions": functions, "log": log}
    exec(source, namespace)
    return namespace[f"node_{index}"]


@settings(max_examples=40, deadline=None)
@given(shape=trees)
def test_random_trees_are_called_as_the_walk_calls_them(
    shape: list[list[tuple[int, bool]]],
) -> None:
    written: list[str] = []
    walked: list[str] = []
    with TestClient(tree_app(shape, written)) as client:
        first = client.get("/tree").json()
    with TestClient(tree_app(shape, walked, trace=True)) as client:
        second = client.get("/tree").json()
    assert first == second
    assert written == walked and written[-1] == "endpoint"


@dataclass
class Item:
    name: str
    price: float


def body_app(log: list[str], **options: Any) -> App:
    app = App(openapi_url=None, docs_url=None, **options)

    async def audit() -> str:
        log.append("audit")
        return "ok"

    @app.post("/items")
    async def create(item: Item, note: str = Depends(audit)) -> dict[str, Any]:
        log.append("endpoint")
        return {"name": item.name, "note": note}

    return app


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"name": "w", "price": 2}', "application/json"),
        (b'{"name": 1, "colour": "red"}', "application/json"),
        (b"", "application/json"),
        (b"{not json", "application/json"),
        (b'{"name": "w", "price": 2}', "text/plain"),
        (b'\xef\xbb\xbf{"name": "w", "price": 2}', "application/json; charset=utf-8"),
    ],
)
def test_a_json_body_is_read_as_the_walk_reads_it(content: bytes, content_type: str) -> None:
    written: list[str] = []
    walked: list[str] = []
    answers = []
    for log, options in ((written, {}), (walked, {"trace": True})):
        app = body_app(log, **options)
        with TestClient(app) as client:
            assert handler_kind(app, "/items") is HandlerKind.DEPENDENCIES
            response = client.post("/items", content=content,
                                   headers={"content-type": content_type})
            answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1]
    assert written == walked  # the dependency runs even when the body is invalid

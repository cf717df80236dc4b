"""Scenario 1, framework overhead: one tiny endpoint per case, in every framework.

Each framework is written the way its own docs teach (FastAPI reads the query
parameter as ``q: str``, minimal_asgi through ``Request.query_params``, raw
ASGI by hand), and every app must give the *same* response: the benchmark
checks that before it measures anything.

The raw ASGI apps are the physical limit: what a careful person writes by hand
with the standard library (``json.dumps``, ``parse_qsl``, a dict for routing).
"""

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from benchmarks.apps.common import AddHeader, Item, Unavailable, raw_lifespan, raw_send_json
from benchmarks.harness import Expected, HTTPRequest

__all__ = ["FRAMEWORKS", "SCENARIOS", "Scenario", "build"]

FRAMEWORKS = ("raw", "minimal_asgi", "starlette", "fastapi", "litestar", "blacksheep",
              "msgspec", "pydantic_core")
# Not frameworks: raw ASGI apps that validate the POST body with a compiled
# validator (C, Rust), the references for minimal_asgi's validation.
VALIDATORS = ("msgspec", "pydantic_core")
ROUTES = 300  # the route_300 case: the target is the last of this many


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    request: HTTPRequest
    expected: Expected
    needs_di: bool = False  # needs minimal_asgi's dependency injection


SCENARIOS = {
    s.name: s
    for s in [
        Scenario("plaintext", "plaintext", HTTPRequest(path="/plaintext"),
                 Expected(content_type="text/plain", body=b"Hello, World!")),
        Scenario("json", "JSON hello", HTTPRequest(path="/json"),
                 Expected(json={"message": "Hello, World!"})),
        Scenario("path_param", "one int path parameter", HTTPRequest(path="/items/42"),
                 Expected(json={"id": 42})),
        Scenario("query_param", "one query parameter",
                 HTTPRequest(path="/search", query="q=hello"), Expected(json={"q": "hello"})),
        Scenario("middleware", "JSON through one pure-ASGI middleware",
                 HTTPRequest(path="/json"),
                 Expected(json={"message": "Hello, World!"}, headers={"x-bench": "1"})),
        Scenario("route_300", f"route {ROUTES} of {ROUTES}",
                 HTTPRequest(path=f"/r{ROUTES - 1}/7"),
                 Expected(json={"route": ROUTES - 1, "id": 7})),
        Scenario("deps_3", "3 nested dependencies", HTTPRequest(path="/deps"),
                 Expected(json={"value": 3}), needs_di=True),
        Scenario("post_json", "POST JSON body into a dataclass",
                 HTTPRequest("POST", "/items", body=b'{"name":"widget","price":2.5,"quantity":4}',
                             content_type="application/json"),
                 Expected(json={"name": "widget", "total": 10.0}), needs_di=True),
        # Issue 7's micro-benchmark: both of the above in one route.
        Scenario("deps_body", "3 nested dependencies + a JSON body",
                 HTTPRequest("POST", "/orders", body=b'{"name":"widget","price":2.5,"quantity":4}',
                             content_type="application/json"),
                 Expected(json={"name": "widget", "total": 10.0, "value": 3}), needs_di=True),
    ]
}

HELLO = {"message": "Hello, World!"}


# The three nested dependencies, as plain functions: c -> b -> a -> endpoint.
async def dep_c() -> int:
    return 1


async def raw_dep_b(c: int) -> int:
    return c + 1


async def raw_dep_a(b: int) -> int:
    return b + 1


# -- raw ASGI -------------------------------------------------------------------
_TEXT_BODY = b"Hello, World!"
_TEXT_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"),
                 (b"content-length", str(len(_TEXT_BODY)).encode())]


async def _raw_body(receive: Any) -> bytes:
    """What a raw ASGI app does to read a request body: every http.request message."""
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


def _raw(case: str) -> Any:
    async def plaintext(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await raw_lifespan(receive, send)
        await send({"type": "http.response.start", "status": 200, "headers": _TEXT_HEADERS})
        await send({"type": "http.response.body", "body": _TEXT_BODY})

    async def hello_json(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await raw_lifespan(receive, send)
        await raw_send_json(send, {"message": "Hello, World!"})

    async def path_param(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await raw_lifespan(receive, send)
        await raw_send_json(send, {"id": int(scope["path"][len("/items/"):])})

    async def query_param(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await raw_lifespan(receive, send)
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        await raw_send_json(send, {"q": query.get("q")})

    routes = {f"r{i}": i for i in range(ROUTES)}

    async def route_300(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await raw_lifespan(receive, send)
        _, first, rest = scope["path"].split("/", 2)
        await raw_send_json(send, {"route": routes[first], "id": int(rest)})

    async def deps_3(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await raw_lifespan(receive, send)
        value = await raw_dep_a(await raw_dep_b(await dep_c()))
        await raw_send_json(send, {"value": value})

    async def post_json(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await raw_lifespan(receive, send)
        item = Item(**json.loads(await _raw_body(receive)))
        await raw_send_json(send, {"name": item.name, "total": item.price * item.quantity})

    async def deps_body(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await raw_lifespan(receive, send)
        item = Item(**json.loads(await _raw_body(receive)))
        value = await raw_dep_a(await raw_dep_b(await dep_c()))
        await raw_send_json(
            send, {"name": item.name, "total": item.price * item.quantity, "value": value}
        )

    apps = {"plaintext": plaintext, "json": hello_json, "path_param": path_param,
            "query_param": query_param, "middleware": AddHeader(hello_json),
            "route_300": route_300, "deps_3": deps_3, "post_json": post_json,
            "deps_body": deps_body}
    return apps[case]


# -- minimal_asgi -----------------------------------------------------------------
def _minimal_asgi(case: str) -> Any:
    import minimal_asgi
    from minimal_asgi import App, Request

    scenario = SCENARIOS[case]
    if scenario.needs_di and not hasattr(minimal_asgi, "Depends"):
        raise Unavailable("needs DI: minimal_asgi.Depends does not exist yet")
    app = App()
    if case == "plaintext":

        @app.get("/plaintext")
        async def plaintext() -> str:
            return "Hello, World!"

    elif case in ("json", "middleware"):

        @app.get("/json")
        async def hello() -> dict[str, str]:
            return {"message": "Hello, World!"}

        if case == "middleware":
            app.add_middleware(AddHeader)
    elif case == "path_param":

        @app.get("/items/{item_id:int}")
        async def read_item(item_id: int) -> dict[str, int]:
            return {"id": item_id}

    elif case == "query_param":

        @app.get("/search")
        async def search(request: Request) -> dict[str, str | None]:
            return {"q": request.query_params.get("q")}

    elif case == "route_300":
        for i in range(ROUTES):
            app.add_route(f"/r{i}/{{item_id:int}}", _numbered_endpoint(i), name=f"r{i}")
    elif case in ("deps_3", "deps_body"):
        Depends = minimal_asgi.Depends

        async def dep_b(c: int = Depends(dep_c)) -> int:
            return c + 1

        async def dep_a(b: int = Depends(dep_b)) -> int:
            return b + 1

        if case == "deps_3":

            @app.get("/deps")
            async def deps(a: int = Depends(dep_a)) -> dict[str, int]:
                return {"value": a}

        else:

            @app.post("/orders")
            async def order(item: Item, a: int = Depends(dep_a)) -> dict[str, Any]:
                return {"name": item.name, "total": item.price * item.quantity, "value": a}

    elif case == "post_json":

        @app.post("/items")
        async def create_item(item: Item) -> dict[str, Any]:
            return {"name": item.name, "total": item.price * item.quantity}

    return app


def _numbered_endpoint(i: int) -> Callable[[int], Any]:
    async def endpoint(item_id: int) -> dict[str, int]:
        return {"route": i, "id": item_id}

    endpoint.__name__ = endpoint.__qualname__ = f"route_{i}"
    return endpoint


# -- Starlette ------------------------------------------------------------------------
def _starlette(case: str) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    async def plaintext(request: Request) -> Response:
        return PlainTextResponse("Hello, World!")

    async def hello(request: Request) -> Response:
        return JSONResponse({"message": "Hello, World!"})

    async def read_item(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["item_id"]})

    async def search(request: Request) -> Response:
        return JSONResponse({"q": request.query_params.get("q")})

    def numbered(i: int) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return JSONResponse({"route": i, "id": request.path_params["item_id"]})

        return endpoint

    async def deps(request: Request) -> Response:
        # Starlette has no dependency injection: the endpoint calls them by hand.
        return JSONResponse({"value": await raw_dep_a(await raw_dep_b(await dep_c()))})

    async def create_item(request: Request) -> Response:
        item = Item(**await request.json())
        return JSONResponse({"name": item.name, "total": item.price * item.quantity})

    async def order(request: Request) -> Response:
        item = Item(**await request.json())
        value = await raw_dep_a(await raw_dep_b(await dep_c()))
        return JSONResponse(
            {"name": item.name, "total": item.price * item.quantity, "value": value}
        )

    routes = {
        "plaintext": [Route("/plaintext", plaintext)],
        "json": [Route("/json", hello)],
        "middleware": [Route("/json", hello)],
        "path_param": [Route("/items/{item_id:int}", read_item)],
        "query_param": [Route("/search", search)],
        "route_300": [Route(f"/r{i}/{{item_id:int}}", numbered(i)) for i in range(ROUTES)],
        "deps_3": [Route("/deps", deps)],
        "post_json": [Route("/items", create_item, methods=["POST"])],
        "deps_body": [Route("/orders", order, methods=["POST"])],
    }[case]
    middleware = [Middleware(AddHeader)] if case == "middleware" else []
    return Starlette(routes=routes, middleware=middleware)


# -- FastAPI ----------------------------------------------------------------------------
def _fastapi(case: str) -> Any:
    from fastapi import Depends, FastAPI
    from fastapi.responses import PlainTextResponse

    app = FastAPI()
    if case == "plaintext":

        @app.get("/plaintext", response_class=PlainTextResponse)
        async def plaintext() -> str:
            return "Hello, World!"

    elif case in ("json", "middleware"):

        @app.get("/json")
        async def hello() -> dict[str, str]:
            return {"message": "Hello, World!"}

        if case == "middleware":
            app.add_middleware(AddHeader)
    elif case == "path_param":

        @app.get("/items/{item_id}")
        async def read_item(item_id: int) -> dict[str, int]:
            return {"id": item_id}

    elif case == "query_param":

        @app.get("/search")
        async def search(q: str) -> dict[str, str]:
            return {"q": q}

    elif case == "route_300":
        for i in range(ROUTES):
            app.add_api_route(f"/r{i}/{{item_id}}", _numbered_endpoint(i), name=f"r{i}")
    elif case in ("deps_3", "deps_body"):

        async def dep_b(c: int = Depends(dep_c)) -> int:
            return c + 1

        async def dep_a(b: int = Depends(dep_b)) -> int:
            return b + 1

        if case == "deps_3":

            @app.get("/deps")
            async def deps(a: int = Depends(dep_a)) -> dict[str, int]:
                return {"value": a}

        else:

            @app.post("/orders")
            async def order(item: Item, a: int = Depends(dep_a)) -> dict[str, Any]:
                return {"name": item.name, "total": item.price * item.quantity, "value": a}

    elif case == "post_json":

        @app.post("/items")
        async def create_item(item: Item) -> dict[str, Any]:
            return {"name": item.name, "total": item.price * item.quantity}

    return app


# -- Litestar (optional) ------------------------------------------------------------------
def _litestar(case: str) -> Any:
    if case == "deps_body":
        raise Unavailable("not written (the issue asks for minimal_asgi vs FastAPI here)")
    from litestar import Litestar, MediaType, get, post
    from litestar.di import Provide

    @get("/plaintext", media_type=MediaType.TEXT)
    async def plaintext() -> str:
        return "Hello, World!"

    @get("/json")
    async def hello() -> dict[str, str]:
        return {"message": "Hello, World!"}

    @get("/items/{item_id:int}")
    async def read_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @get("/search")
    async def search(q: str) -> dict[str, str]:
        return {"q": q}

    async def dep_b(c: int) -> int:
        return c + 1

    async def dep_a(b: int) -> int:
        return b + 1

    @get("/deps", dependencies={"a": Provide(dep_a), "b": Provide(dep_b), "c": Provide(dep_c)})
    async def deps(a: int) -> dict[str, int]:
        return {"value": a}

    @post("/items", status_code=200)
    async def create_item(data: Item) -> dict[str, Any]:
        return {"name": data.name, "total": data.price * data.quantity}

    handlers = {
        "plaintext": [plaintext], "json": [hello], "middleware": [hello],
        "path_param": [read_item], "query_param": [search],
        "route_300": [get(f"/r{i}/{{item_id:int}}", name=f"r{i}")(_numbered_endpoint(i))
                      for i in range(ROUTES)],
        "deps_3": [deps], "post_json": [create_item],
    }[case]
    middleware = [AddHeader] if case == "middleware" else []
    return Litestar(route_handlers=handlers, middleware=middleware, openapi_config=None)


# -- BlackSheep (optional) ------------------------------------------------------------------
def _blacksheep(case: str) -> Any:
    from blacksheep import Application, FromJSON, Router, text
    from blacksheep import json as json_response

    if case in ("deps_3", "deps_body"):
        raise Unavailable("not written: BlackSheep injects services by type, not Depends()")
    app = Application(router=Router())  # its own router, not the module-level default
    get, post = app.router.add_get, app.router.add_post

    async def plaintext() -> Any:
        return text("Hello, World!")

    async def hello() -> Any:
        return json_response({"message": "Hello, World!"})

    async def read_item(item_id: int) -> Any:
        return json_response({"id": item_id})

    async def search(q: str) -> Any:
        return json_response({"q": q})

    async def create_item(item: FromJSON[Item]) -> Any:
        value = item.value
        return json_response({"name": value.name, "total": value.price * value.quantity})

    def numbered(i: int) -> Callable[[int], Any]:
        async def endpoint(item_id: int) -> Any:
            return json_response({"route": i, "id": item_id})

        return endpoint

    if case == "plaintext":
        get("/plaintext", plaintext)
    elif case in ("json", "middleware"):
        get("/json", hello)
    elif case == "path_param":
        get("/items/{int:item_id}", read_item)
    elif case == "query_param":
        get("/search", search)
    elif case == "route_300":
        for i in range(ROUTES):
            get(f"/r{i}/{{int:item_id}}", numbered(i))
    elif case == "post_json":
        post("/items", create_item)
    # BlackSheep middlewares have their own (request, handler) shape; a pure-ASGI one
    # wraps the whole application from outside, which is what the others do inside.
    return AddHeader(app) if case == "middleware" else app


def _litestar_quietly(case: str) -> Any:
    # Litestar 2.25 deprecates the inferred parameter style its 2.x docs teach (and that
    # older 2.x releases need); the warnings say nothing about speed, so keep them out.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return _litestar(case)


# -- raw ASGI + a compiled validator (references for the POST body only) -------------------
_TOTAL_ERROR = b'{"detail":"invalid body"}'


async def _send_invalid(send: Any, status: int = 422) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", b"%d" % len(_TOTAL_ERROR))]})
    await send({"type": "http.response.body", "body": _TOTAL_ERROR})


def _validated_raw(case: str, decode: Callable[[bytes], Any], errors: tuple[type, ...]) -> Any:
    """The raw POST app, with ``decode`` (JSON bytes -> a validated object, or
    one of ``errors``) in place of ``Item(**json.loads(body))``."""
    if case != "post_json":
        raise Unavailable("a reference for the JSON body only")

    async def post_json(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await raw_lifespan(receive, send)
        try:
            item = decode(await _raw_body(receive))
        except errors:
            return await _send_invalid(send)
        await raw_send_json(send, {"name": item.name, "total": item.price * item.quantity})

    return post_json


def _msgspec(case: str) -> Any:
    import msgspec

    # The same checks as minimal_asgi's: exact JSON types (an int is accepted
    # for a float), every field required, unknown fields refused.
    class ItemStruct(msgspec.Struct, forbid_unknown_fields=True):
        name: str
        price: float
        quantity: int

    decoder = msgspec.json.Decoder(ItemStruct)
    return _validated_raw(case, decoder.decode, (msgspec.ValidationError, msgspec.DecodeError))


def _pydantic_core(case: str) -> Any:
    from pydantic_core import SchemaValidator, ValidationError, core_schema

    fields = [
        core_schema.dataclass_field("name", core_schema.str_schema(strict=True)),
        core_schema.dataclass_field("price", core_schema.float_schema(strict=True,
                                                                      allow_inf_nan=False)),
        core_schema.dataclass_field("quantity", core_schema.int_schema(strict=True)),
    ]
    schema = core_schema.dataclass_schema(
        Item, core_schema.dataclass_args_schema("Item", fields, extra_behavior="forbid"),
        ["name", "price", "quantity"],
    )
    validator = SchemaValidator(schema)
    return _validated_raw(case, validator.validate_json, (ValidationError,))


_BUILDERS: dict[str, Callable[[str], Any]] = {
    "raw": _raw, "minimal_asgi": _minimal_asgi, "starlette": _starlette, "fastapi": _fastapi,
    "litestar": _litestar_quietly, "blacksheep": _blacksheep,
    "msgspec": _msgspec, "pydantic_core": _pydantic_core,
}


def build(framework: str, case: str) -> Any:
    """The ASGI app of ``framework`` for scenario ``case``; ``Unavailable`` if it can't run."""
    if case not in SCENARIOS:
        raise KeyError(f"unknown scenario {case!r}; choose from {sorted(SCENARIOS)}")
    try:
        return _BUILDERS[framework](case)
    except ModuleNotFoundError as exc:
        if exc.name != framework:
            raise  # an import that fails inside an installed package is a real error
        raise Unavailable(f"{framework} is not installed: pip install -e '.[bench]'") from None

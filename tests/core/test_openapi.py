"""The OpenAPI document: generated from the routes, valid OpenAPI 3.1, served
at /openapi.json with a self-contained page at /docs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import importlib
import json
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema
import pytest
import referencing
import referencing.jsonschema
from openapi_spec_validator import validate

from minimal_asgi import (
    App,
    ConfigurationError,
    Cookie,
    Depends,
    Ge,
    Gt,
    Header,
    HTMLResponse,
    HTTPException,
    JSONResponse,
    Le,
    Lt,
    MaxLen,
    MinLen,
    Pattern,
    Query,
    RedirectResponse,
    Request,
    Response,
    Router,
)
from minimal_asgi.openapi import SchemaRegistry
from minimal_asgi.testing import TestClient
from minimal_asgi.types import Receive, Scope, Send

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_APPS = sorted(p.parent.name for p in EXAMPLES.glob("*/app.py"))


# -- an app that uses every feature the generator knows --------------------------
class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Comment:
    """A comment, with replies to it (a recursive type)."""

    text: Annotated[str, MinLen(1), MaxLen(500)]
    replies: list[Comment] = field(default_factory=list)


@dataclass
class Item:
    """An item for sale."""

    name: str
    price: Annotated[float, Gt(0)]
    color: Color = Color.RED
    labels: set[str] = field(default_factory=set)
    sku: uuid.UUID | None = None
    created: dt.datetime | None = None
    launch: dt.date | None = None
    kind: Literal["physical", "digital"] = "physical"
    stock: dict[str, int] = field(default_factory=dict)
    size: tuple[int, ...] = ()
    note: Comment | None = None
    total: float = field(default=0.0, init=False)


def token(x_token: Annotated[str, MinLen(8)] = Header(description="API token")) -> str:
    return x_token


def session(sid: str | None = Cookie(None), user: str = Depends(token)) -> str:
    return sid or user


def page(offset: Annotated[int, Ge(0)] = 0, limit: Annotated[int, Ge(1), Le(100)] = 20) -> int:
    return offset


def build_feature_app(**options: Any) -> App:
    app = App(title="Shop", version="1.2.3", **options)

    @app.get("/items/{item_id:int}", tags=["items"])
    async def read_item(
        item_id: Annotated[int, Ge(1)],
        q: str | None = None,
        colors: list[Color] = Query([]),
        who: str = Depends(session),
        offset: int = Depends(page),
    ) -> Item:
        """Read one item.

        Looks the item up by its id.
        """
        return Item("kettle", 12.5)

    @app.post("/items", status_code=201, tags=["items"], dependencies=[Depends(token)])
    async def create_item(item: Item) -> Item:
        """Create an item."""
        return item

    @app.put("/items", tags=["items", "bulk"])
    async def replace_items(items: list[Item], who: str = Depends(session)) -> list[Item]:
        return items

    @app.delete("/items/{item_id:uuid}")
    async def delete_item(item_id: uuid.UUID) -> None:
        return None

    @app.get("/files/{name:path}")
    async def read_file(name: str) -> str:
        return name

    @app.get("/codes/{code}")
    async def read_code(
        code: Annotated[str, Pattern("[A-Z]{3}")],
        since: dt.date | None = None,
        ratio: Annotated[float, Gt(0), Lt(1)] = 0.5,
        mode: Literal["fast", "slow"] = "fast",
    ) -> dict[str, str]:
        return {"code": code}

    @app.get("/colors/{color}")
    async def by_color(color: Color) -> dict[str, Any]:
        return {}

    @app.get("/page")
    async def html_page() -> HTMLResponse:
        return HTMLResponse("<p>hi</p>")

    @app.get("/maybe")
    async def maybe() -> Item | None:
        return None

    @app.route("/both", methods=["GET", "POST"])
    async def both() -> dict[str, str]:
        return {}

    @app.get("/raw")
    async def raw(request: Request):  # type: ignore[no-untyped-def]
        return {}

    @app.get("/hidden", include_in_schema=False)
    async def hidden() -> dict[str, str]:
        return {}

    v1 = Router()

    @v1.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    app.include_router(v1, prefix="/v1")
    app.include_router(v1, prefix="/v2")
    return app


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = build_feature_app()
    with TestClient(app):
        return app.openapi()


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return document["paths"][path][method]  # type: ignore[no-any-return]


def parameters(op: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(p["in"], p["name"]): p for p in op.get("parameters", [])}


# -- the document is valid ---------------------------------------------------------
def test_document_of_an_app_using_every_feature_is_valid_openapi_3_1(
    document: dict[str, Any],
) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "Shop", "version": "1.2.3"}


@pytest.mark.parametrize("name", EXAMPLE_APPS)
def test_every_example_app_has_a_valid_document_with_each_of_its_operations(name: str) -> None:
    app = importlib.import_module(f"examples.{name}.app").app
    document = app.openapi()
    validate(document)
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    routes = {
        (re.sub(r":[^}]*}", "}", route.path), method.lower())
        for route in app.routes
        if route.include_in_schema
        for method in route.methods
    }
    assert routes and documented == routes


def test_there_is_at_least_one_example_app() -> None:
    assert EXAMPLE_APPS


# -- paths and operations ----------------------------------------------------------
def test_converter_patterns_become_plain_templates(document: dict[str, Any]) -> None:
    assert "/items/{item_id}" in document["paths"]
    assert "/files/{name}" in document["paths"]
    assert not any(":" in path for path in document["paths"])


def test_path_parameter_schemas_come_from_converter_and_annotation(
    document: dict[str, Any],
) -> None:
    def path_schema(method: str, path: str, name: str) -> Any:
        return parameters(operation(document, method, path))[("path", name)]["schema"]

    assert path_schema("get", "/items/{item_id}", "item_id") == {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": 2**63 - 1,
    }
    assert path_schema("delete", "/items/{item_id}", "item_id") == {
        "type": "string",
        "format": "uuid",
    }
    assert path_schema("get", "/files/{name}", "name") == {"type": "string"}
    assert path_schema("get", "/codes/{code}", "code") == {
        "type": "string",
        "minLength": 1,
        "pattern": "^(?:[A-Z]{3})$",
    }
    assert path_schema("get", "/colors/{color}", "color") == {
        "type": "string",
        "enum": ["red", "blue"],
    }


def test_summary_and_description_come_from_the_docstring(document: dict[str, Any]) -> None:
    op = operation(document, "get", "/items/{item_id}")
    assert op["summary"] == "Read one item."
    assert op["description"] == "Looks the item up by its id."
    assert "summary" not in operation(document, "get", "/page")


def test_tags_come_from_the_route_option(document: dict[str, Any]) -> None:
    assert operation(document, "post", "/items")["tags"] == ["items"]
    assert operation(document, "put", "/items")["tags"] == ["items", "bulk"]
    assert document["tags"] == [{"name": "items"}, {"name": "bulk"}]


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert operation(document, "get", "/v1/ping")["operationId"] == "ping"
    assert operation(document, "get", "/v2/ping")["operationId"] == "ping_2"
    assert operation(document, "post", "/both")["operationId"] == "both_post"


def test_head_and_options_are_not_listed(document: dict[str, Any]) -> None:
    for item in document["paths"].values():
        assert not {"head", "options"} & item.keys()


def test_include_in_schema_false_hides_a_route(document: dict[str, Any]) -> None:
    assert "/hidden" not in document["paths"]
    assert "/openapi.json" not in document["paths"]
    assert "/docs" not in document["paths"]


# -- parameters ----------------------------------------------------------------------
def test_parameters_of_nested_dependencies_and_guards_are_listed(
    document: dict[str, Any],
) -> None:
    found = parameters(operation(document, "get", "/items/{item_id}"))
    assert set(found) == {
        ("path", "item_id"),
        ("query", "q"),
        ("query", "colors"),
        ("cookie", "sid"),
        ("header", "x-token"),
        ("query", "offset"),
        ("query", "limit"),
    }
    guarded = parameters(operation(document, "post", "/items"))
    assert set(guarded) == {("header", "x-token")}


def test_a_parameter_read_twice_is_listed_once() -> None:
    app = App()

    def first(x_token: str = Header()) -> str:
        return x_token

    def second(x_token: str = Header(), q: int = 1) -> str:
        return x_token

    @app.get("/", dependencies=[Depends(first)])
    async def index(
        a: str = Depends(first), b: str = Depends(second), q: int = 1
    ) -> dict[str, str]:
        return {}

    names = [(p["in"], p["name"]) for p in app.openapi()["paths"]["/"]["get"]["parameters"]]
    assert sorted(names) == [("header", "x-token"), ("query", "q")]


def test_required_when_no_default(document: dict[str, Any]) -> None:
    found = parameters(operation(document, "get", "/items/{item_id}"))
    assert found[("path", "item_id")]["required"] is True
    assert found[("header", "x-token")]["required"] is True
    assert found[("query", "q")]["required"] is False
    assert found[("cookie", "sid")]["required"] is False


def test_parameter_schemas_carry_constraints_defaults_and_descriptions(
    document: dict[str, Any],
) -> None:
    found = parameters(operation(document, "get", "/items/{item_id}"))
    assert found[("header", "x-token")] == {
        "name": "x-token",
        "in": "header",
        "required": True,
        "description": "API token",
        "schema": {"type": "string", "minLength": 8},
    }
    assert found[("query", "limit")]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 20,
    }
    assert found[("query", "q")]["schema"] == {"type": "string"}  # absent, never null
    assert found[("query", "colors")]["schema"] == {
        "type": "array",
        "items": {"type": "string", "enum": ["red", "blue"]},
        "default": [],
    }
    code = parameters(operation(document, "get", "/codes/{code}"))
    assert code[("query", "ratio")]["schema"] == {
        "type": "number",
        "exclusiveMinimum": 0,
        "exclusiveMaximum": 1,
        "default": 0.5,
    }
    assert code[("query", "since")]["schema"] == {"type": "string", "format": "date"}
    assert code[("query", "mode")]["schema"] == {
        "type": "string",
        "enum": ["fast", "slow"],
        "default": "fast",
    }


# -- bodies and responses ------------------------------------------------------------
def test_dataclass_body_refers_to_a_component(document: dict[str, Any]) -> None:
    assert operation(document, "post", "/items")["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}},
    }
    put_body = operation(document, "put", "/items")["requestBody"]
    assert put_body["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Item"},
    }


def test_dataclass_schema(document: dict[str, Any]) -> None:
    assert document["components"]["schemas"]["Item"] == {
        "type": "object",
        "description": "An item for sale.",
        "properties": {
            "name": {"type": "string"},
            "price": {"type": "number", "exclusiveMinimum": 0},
            "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
            "labels": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "sku": {"type": ["string", "null"], "format": "uuid", "default": None},
            "created": {"type": ["string", "null"], "format": "date-time", "default": None},
            "launch": {"type": ["string", "null"], "format": "date", "default": None},
            "kind": {"type": "string", "enum": ["physical", "digital"], "default": "physical"},
            "stock": {"type": "object", "additionalProperties": {"type": "integer"}},
            "size": {"type": "array", "items": {"type": "integer"}, "default": []},
            "note": {
                "anyOf": [{"$ref": "#/components/schemas/Comment"}, {"type": "null"}],
                "default": None,
            },
            "total": {"type": "number", "readOnly": True},
        },
        "required": ["name", "price"],
        "additionalProperties": False,
    }


def test_recursive_dataclass_refers_to_itself(document: dict[str, Any]) -> None:
    comment = document["components"]["schemas"]["Comment"]
    assert comment["properties"]["replies"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Comment"},
    }
    assert comment["required"] == ["text"]


def test_unknown_fields_allowed_means_no_additional_properties_false() -> None:
    app = App(reject_unknown_fields=False)

    @app.post("/items")
    async def create(item: Item) -> None:
        return None

    assert "additionalProperties" not in app.openapi()["components"]["schemas"]["Item"]


def test_success_response_comes_from_the_return_annotation(document: dict[str, Any]) -> None:
    def responses(method: str, path: str) -> dict[str, Any]:
        return operation(document, method, path)["responses"]  # type: ignore[no-any-return]

    item = {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}
    assert responses("get", "/items/{item_id}")["200"] == {"description": "OK", "content": item}
    assert responses("post", "/items")["201"] == {"description": "Created", "content": item}
    assert responses("delete", "/items/{item_id}")["204"] == {"description": "No Content"}
    assert responses("get", "/files/{name}")["200"]["content"] == {
        "text/plain": {"schema": {"type": "string"}}
    }
    assert responses("get", "/codes/{code}")["200"]["content"] == {
        "application/json": {
            "schema": {"type": "object", "additionalProperties": {"type": "string"}}
        }
    }
    assert responses("get", "/page")["200"]["content"] == {
        "text/html": {"schema": {"type": "string"}}
    }
    assert responses("get", "/maybe").keys() >= {"200", "204"}
    assert responses("get", "/raw")["200"] == {"description": "OK"}  # not annotated


def test_every_operation_answers_problem_details_for_errors(document: dict[str, Any]) -> None:
    for item in document["paths"].values():
        for op in item.values():
            assert op["responses"]["4XX"] == {"$ref": "#/components/responses/ClientError"}
            assert op["responses"]["5XX"] == {"$ref": "#/components/responses/ServerError"}
    client_error = document["components"]["responses"]["ClientError"]
    assert client_error["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "instance"}


def test_422_is_listed_only_for_operations_with_validated_input(
    document: dict[str, Any],
) -> None:
    assert "422" in operation(document, "get", "/items/{item_id}")["responses"]
    assert "422" in operation(document, "post", "/items")["responses"]
    assert "422" not in operation(document, "get", "/v1/ping")["responses"]
    assert "422" not in operation(document, "delete", "/items/{item_id}")["responses"]
    failed = document["components"]["responses"]["ValidationFailed"]
    schema = failed["content"]["application/problem+json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ValidationProblem"}
    error = document["components"]["schemas"]["ValidationError"]
    assert error["required"] == ["loc", "msg", "type"]


def test_the_422_schema_describes_a_real_422() -> None:
    app = build_feature_app()
    with TestClient(app) as client:
        body = client.post("/items", json={"price": -1}, headers={"x-token": "12345678"}).json()
    document = app.openapi()
    conforms(document, document["paths"]["/items"]["post"]["responses"]["422"], body)
    for error in body["errors"]:
        assert set(error) == {"loc", "msg", "type"}


def conforms(document: dict[str, Any], response: dict[str, Any], body: Any) -> None:
    """Check ``body`` against the problem+json schema of ``response`` (or its $ref)."""
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response["content"]["application/problem+json"]["schema"]
    resource = referencing.Resource.from_contents(
        document, default_specification=referencing.jsonschema.DRAFT202012
    )
    registry: referencing.Registry[Any] = referencing.Registry().with_resource("urn:doc", resource)
    root = {"$ref": "urn:doc" + schema["$ref"]}
    validator = jsonschema.Draft202012Validator(root, registry=registry)
    validator.validate(body)


def test_an_http_exception_422_matches_the_documented_422() -> None:
    # A 422 raised by the endpoint (a rule the types cannot say) has no errors list.
    app = App()

    @app.post("/posts")
    async def create_post(author_id: int) -> dict[str, int]:
        raise HTTPException(422, f"there is no user {author_id}")

    with TestClient(app) as client:
        response = client.post("/posts?author_id=7")
    assert response.status_code == 422 and "errors" not in response.json()
    document = app.openapi()
    conforms(document, document["paths"]["/posts"]["post"]["responses"]["422"], response.json())


def test_a_route_returning_a_response_is_documented_with_its_declared_status() -> None:
    app = App()

    @app.post("/things", status_code=201)
    async def create_thing() -> Response:
        return JSONResponse({"id": 1}, status_code=201)

    @app.post("/other-things", status_code=201)
    async def create_other_thing() -> JSONResponse:
        return JSONResponse({"id": 1}, status_code=201)

    @app.get("/plain")
    async def plain() -> Response:
        return Response(b"hi")

    @app.get("/old")
    async def old() -> RedirectResponse:
        return RedirectResponse("/new")

    document = app.openapi()
    validate(document)

    def success(method: str, path: str) -> dict[str, Any]:
        return {k: v for k, v in operation(document, method, path)["responses"].items()
                if k.startswith(("2", "3"))}

    assert success("post", "/things") == {"201": {"description": "Created"}}
    assert success("post", "/other-things") == {
        "201": {"description": "Created", "content": {"application/json": {}}}
    }
    assert success("get", "/plain") == {"200": {"description": "OK"}}
    assert success("get", "/old") == {"307": {"description": "Temporary Redirect"}}


def test_a_route_declares_its_other_responses() -> None:
    app = App()

    @app.get(
        "/items/{item_id:int}",
        responses={404: "There is no item with that id.", "409": {"description": "Taken."}},
    )
    async def read_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.post("/items", status_code=201, responses={200: "It existed already."})
    async def create_item(name: str) -> Response:
        return JSONResponse({"name": name}, status_code=201)

    document = app.openapi()
    validate(document)
    responses = operation(document, "get", "/items/{item_id}")["responses"]
    assert responses["404"] == {
        "description": "There is no item with that id.",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    assert responses["409"] == {"description": "Taken."}  # a Response Object, as it is
    created = operation(document, "post", "/items")["responses"]
    assert created["201"] == {"description": "Created"}
    assert created["200"] == {"description": "It existed already."}


def test_a_declared_422_keeps_the_validation_errors_beside_it() -> None:
    app = App()

    @app.post("/posts", responses={422: "There is no such author."})
    async def create_post(author_id: int) -> dict[str, int]:
        raise HTTPException(422, "There is no such author.")

    with TestClient(app) as client:
        refused = client.post("/posts?author_id=7").json()
        invalid = client.post("/posts?author_id=x").json()
    document = app.openapi()
    validate(document)
    declared = operation(document, "post", "/posts")["responses"]["422"]
    assert declared["description"].startswith("There is no such author.")
    assert "failed validation" in declared["description"]
    conforms(document, declared, refused)
    conforms(document, declared, invalid)
    assert "errors" in invalid


@pytest.mark.parametrize(
    ("responses", "wrong"),
    [
        ({99: "x"}, "99"),
        ({"4xx": "x"}, "'4xx'"),
        ({404: 3}, "3"),
        ([404], "[404]"),
    ],
)
def test_a_malformed_responses_option_fails_at_startup_naming_the_route(
    responses: Any, wrong: str
) -> None:
    app = App()

    @app.get("/items", responses=responses)
    async def items() -> list[int]:
        return []

    with pytest.raises(ConfigurationError) as caught:
        app.build()
    assert "GET /items" in str(caught.value) and wrong in str(caught.value)


def links_app(**links: Any) -> App:
    """Users: created with a 201 that links to reading and deleting them."""
    app = App()

    @app.post("/users", status_code=201, responses={200: "Known already."}, **links)
    async def create_user(name: str) -> Response:
        return JSONResponse({"id": 1, "name": name}, status_code=201)

    @app.get("/users/{user_id:int}")
    async def read_user(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    @app.delete("/users/{user_id:int}", links={"read_user": {"user_id": "$request.path.user_id"}})
    async def delete_user(user_id: int) -> None:
        return None

    return app


def test_links_go_on_the_success_response_as_openapi_link_objects() -> None:
    by_id = {"user_id": "$response.body#/id"}
    document = links_app(links={"read_user": by_id, "delete_user": by_id}).openapi()
    validate(document)
    created = operation(document, "post", "/users")["responses"]
    assert created["201"]["links"] == {
        "read_user": {"operationId": "read_user", "parameters": by_id},
        "delete_user": {"operationId": "delete_user", "parameters": by_id},
    }
    assert "links" not in created["200"]  # the declared status_code, not the first 2xx
    deleted = operation(document, "delete", "/users/{user_id}")["responses"]
    same_user = {"user_id": "$request.path.user_id"}
    assert deleted["204"]["links"] == {
        "read_user": {"operationId": "read_user", "parameters": same_user}
    }


def test_a_link_to_an_operation_the_document_lacks_names_the_ones_it_has() -> None:
    app = links_app(links={"read_usr": {"user_id": "$response.body#/id"}})
    with pytest.raises(ConfigurationError) as caught:
        app.openapi()
    message = str(caught.value)
    assert "route POST /users" in message and "'read_usr'" in message
    assert "'read_user'" in message


def test_links_on_a_route_without_a_success_response_name_the_route() -> None:
    app = links_app()

    @app.get("/old", links={"read_user": {"user_id": 1}})
    async def old() -> RedirectResponse:
        return RedirectResponse("/users/1")

    with pytest.raises(ConfigurationError, match=r"route GET /old: links= needs a 2xx"):
        app.openapi()


@pytest.mark.parametrize("links", [["read_user"], {"read_user": "user_id"}, {3: {}}])
def test_a_malformed_links_option_fails_at_startup_naming_the_route(links: Any) -> None:
    app = links_app(links=links)
    with pytest.raises(ConfigurationError) as caught:
        app.build()
    assert "route POST /users" in str(caught.value) and "links=" in str(caught.value)


# -- types to JSON Schema --------------------------------------------------------------
@dataclass
class Node:
    value: int
    children: list[Node] = field(default_factory=list)


@pytest.mark.parametrize(
    ("annotation", "schema"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (uuid.UUID, {"type": "string", "format": "uuid"}),
        (dt.datetime, {"type": "string", "format": "date-time"}),
        (dt.date, {"type": "string", "format": "date"}),
        (Color, {"type": "string", "enum": ["red", "blue"]}),
        (Literal["a"], {"type": "string", "const": "a"}),
        (Literal[1, "a"], {"enum": [1, "a"]}),
        (int | None, {"type": ["integer", "null"]}),
        (Color | None, {"type": ["string", "null"], "enum": ["red", "blue", None]}),
        (Literal["a"] | None, {"anyOf": [{"type": "string", "const": "a"}, {"type": "null"}]}),
        (int | str, {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (set[str], {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (
            tuple[int, str],
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
                "items": False,
            },
        ),
        (dict, {"type": "object"}),
        (dict[str, Any], {"type": "object"}),
        (dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
        (Any, {}),
        (Annotated[str, MinLen(2), MaxLen(5)], {"type": "string", "minLength": 2, "maxLength": 5}),
        (Annotated[list[int], MinLen(1)], {"type": "array", "items": {"type": "integer"},
                                           "minItems": 1}),
        (Annotated[int, Ge(0), Lt(10)], {"type": "integer", "minimum": 0, "exclusiveMaximum": 10}),
        (Annotated[float, Gt(0), Le(1)], {"type": "number", "exclusiveMinimum": 0, "maximum": 1}),
        (Annotated[str, Pattern(r"\d+")], {"type": "string", "pattern": r"^(?:\d+)$"}),
        (
            Annotated[str | None, MaxLen(3)],
            {"type": ["string", "null"], "maxLength": 3},
        ),
        (Node, {"$ref": "#/components/schemas/Node"}),
    ],
)
def test_json_schema_for(annotation: Any, schema: dict[str, Any]) -> None:
    assert SchemaRegistry().schema(annotation) == schema


def test_recursive_dataclass_does_not_loop() -> None:
    registry = SchemaRegistry()
    registry.schema(Node)
    assert registry.components["Node"]["properties"]["children"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Node"},
    }


def test_two_dataclasses_with_one_name_get_two_components() -> None:
    def make() -> type:
        @dataclass
        class Node:
            name: str

        return Node

    registry = SchemaRegistry()
    first = registry.schema(Node)["$ref"].rsplit("/", 1)[-1]
    second = registry.schema(make())["$ref"].rsplit("/", 1)[-1]
    assert first == "Node" and second != "Node"
    assert re.fullmatch(r"[A-Za-z0-9._-]+", second)
    assert set(registry.components) == {first, second}


@dataclass
class Problem:
    """A user's own class that happens to share a name with the error schema."""

    reason: str


def test_a_user_dataclass_cannot_replace_the_problem_schema() -> None:
    app = App()

    @app.get("/")
    async def index() -> Problem:
        return Problem("none")

    document = app.openapi()
    validate(document)
    assert set(document["components"]["schemas"]["Problem"]["properties"]) >= {"type", "status"}
    ref = document["paths"]["/"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ref["schema"]["$ref"] != "#/components/schemas/Problem"


def test_dataclass_field_metadata_description_is_shown() -> None:
    @dataclass
    class Box:
        width: int = dataclasses.field(metadata={"description": "in mm"})

    registry = SchemaRegistry()
    registry.schema(Box)
    assert registry.components["Box"]["properties"]["width"] == {
        "type": "integer",
        "description": "in mm",
    }


# -- serving ---------------------------------------------------------------------------
def test_document_is_served_as_json() -> None:
    app = build_feature_app()
    with TestClient(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == app.openapi()


def test_document_is_generated_once_after_startup() -> None:
    app = build_feature_app()
    with TestClient(app):
        assert app.openapi() is app.openapi()


def test_openapi_before_startup_leaves_the_app_open() -> None:
    app = App()

    @app.get("/one")
    async def one() -> dict[str, str]:
        return {}

    assert list(app.openapi()["paths"]) == ["/one"]

    @app.get("/two")
    async def two() -> dict[str, str]:
        return {}

    assert list(app.openapi()["paths"]) == ["/one", "/two"]
    assert not app.started


def test_docs_page_lists_endpoints_from_the_document() -> None:
    with TestClient(build_feature_app()) as client:
        response = client.get("/docs")
        script = client.get("/docs/assets/docs.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert 'data-openapi-url="/openapi.json"' in page
    assert '<script src="/docs/assets/docs.js"' in page
    assert "<title>Shop - endpoints</title>" in page
    assert "fetch(page.openapiUrl" in script.text


def test_docs_page_loads_nothing_from_the_internet() -> None:
    with TestClient(build_feature_app()) as client:
        response = client.get("/docs")
        page = response.text
        assert not re.search(r"https?://", page, re.IGNORECASE)
        assert "<script>" not in page and "<style>" not in page  # no inline code at all
        loaded = re.findall(r"<(?:script|link|img|iframe)[^>]+(?:src|href)=\"([^\"]+)\"", page)
        assert loaded == ["/docs/assets/docs.css", "/docs/assets/docs.js"]
        for url in loaded:
            assert client.get(url).status_code == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy


def test_docs_page_fetches_the_document_under_the_root_path() -> None:
    app = build_feature_app()

    async def behind_proxy(scope: Scope, receive: Receive, send: Send) -> None:
        # What a proxy serving the app under /api (uvicorn --root-path) hands over.
        if scope["type"] == "http":
            scope = {**scope, "root_path": "/api", "path": "/api" + scope["path"]}
        await app(scope, receive, send)

    with TestClient(behind_proxy) as client:
        response = client.get("/docs")
    assert response.status_code == 200
    assert 'data-openapi-url="/api/openapi.json"' in response.text
    # The page's files and the tried requests are under the prefix too.
    assert 'src="/api/docs/assets/docs.js"' in response.text
    assert 'data-root-path="/api"' in response.text


def test_docs_page_escapes_the_title() -> None:
    app = App(title="<script>x</script>")
    with TestClient(app) as client:
        page = client.get("/docs").text
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page


def test_urls_can_be_moved() -> None:
    app = App(openapi_url="/api/schema.json", docs_url="/api/reference")
    with TestClient(app) as client:
        assert client.get("/api/schema.json").json()["openapi"] == "3.1.0"
        page = client.get("/api/reference").text
        assert 'data-openapi-url="/api/schema.json"' in page
        assert client.get("/api/reference/assets/docs.js").status_code == 200
        assert client.get("/openapi.json").status_code == 404


def test_docs_can_be_turned_off() -> None:
    with TestClient(App(docs_url=None)) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 200


def test_turning_off_the_document_turns_off_the_docs_page() -> None:
    app = App(openapi_url=None)
    with TestClient(app) as client:
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/docs").status_code == 404
    assert app.openapi()["openapi"] == "3.1.0"  # still available in code


def test_a_route_at_the_docs_url_fails_at_startup_naming_the_fix() -> None:
    app = App()

    @app.get("/docs")
    async def docs() -> str:
        return "my own docs"

    with pytest.raises(ConfigurationError, match=r"App\(docs_url="):
        app.build()


# The page's script (docs_assets/docs.js), run by Node against a stand-in for
# the DOM calls it makes: it must list every operation of the document without
# throwing. tests/test_browser_docs.py runs it in a real browser too.
_FAKE_DOM = """
class Node {
  constructor(tag) {
    this.tag = tag; this.children = []; this.className = ""; this.text = ""; this.nodeType = 1;
    this.dataset = {}; this.listeners = {};
  }
  set textContent(value) { this.text = String(value); this.children = []; }
  get textContent() { return [this.text, ...this.children.map((c) => c.textContent)].join(" "); }
  append(...nodes) { this.children.push(...nodes); }
  replaceChildren(...nodes) { this.children = nodes; this.text = ""; }
  addEventListener(kind, listener) { this.listeners[kind] = listener; }
}
const byId = {
  endpoints: new Node("main"), status: new Node("p"), title: new Node("h1"),
  authorize: new Node("section"),
};
globalThis.document = {
  title: "",
  body: { dataset: { openapiUrl: "/openapi.json", rootPath: "" } },
  getElementById: (id) => byId[id],
  createElement: (tag) => new Node(tag),
};
const DOC = JSON.parse(process.argv[1]);
globalThis.fetch = async () => ({ ok: true, status: 200, json: async () => DOC });
process.on("beforeExit", () => {
  const boxes = byId.endpoints.children;
  console.log(JSON.stringify({
    status: byId.status.textContent.trim(),
    authorize: byId.authorize.textContent,
    lines: boxes.map((box) => box.children[0].textContent.trim()),
    details: boxes.map((box) => box.textContent),
  }));
});
"""


def docs_script() -> str:
    """The built-in page's script, as the app serves it."""
    with TestClient(App()) as client:
        return client.get("/docs/assets/docs.js").text


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_docs_page_script_lists_every_operation() -> None:
    app = build_feature_app()
    document = app.openapi()
    run = subprocess.run(
        ["node", "-e", _FAKE_DOM + docs_script(), json.dumps(document)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    shown = json.loads(run.stdout)
    expected = [
        (method.upper(), path, op) for path, item in document["paths"].items()
        for method, op in item.items()
    ]
    assert shown["status"].startswith(f"{len(expected)} endpoints")
    for line, (method, path, op) in zip(shown["lines"], expected, strict=True):
        assert line.startswith(f"{method} {path}")
        assert op.get("summary", "") in line
    read_item = shown["details"][0]
    assert "x-token" in read_item and "API token" in read_item
    assert "operationId: read_item" in read_item

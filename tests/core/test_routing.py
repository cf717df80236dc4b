"""Routing, as a specification: how a method and a path find their endpoint.

Sections follow the lifecycle of a route: its pattern and converters, how the
tree picks between candidates, what the router answers when nothing fits (404,
405, OPTIONS, HEAD, trailing-slash redirects), routers mounted under prefixes,
names and ``url_path_for``, the mistakes caught at startup, how endpoints are
called, and what their return values become.
"""

import dataclasses
import uuid
from typing import Any
from urllib.parse import quote

import anyio
import pytest

from minimal_asgi import (
    App,
    ConfigurationError,
    NoMatchFound,
    Request,
    Response,
    Router,
)
from minimal_asgi.testing import TestClient, TestResponse
from minimal_asgi.types import Message


def get(app: App, path: str, **kwargs: Any) -> TestResponse:
    """One GET through the in-process client (lifespan included)."""
    with TestClient(app) as client:
        return client.get(path, **kwargs)


def echo_app(pattern: str, **app_options: Any) -> App:
    """An app with one route that answers with its converted path parameters,
    and the Python type of each, so tests can see what the converter produced."""
    app = App(**app_options)

    async def echo(request: Request) -> dict[str, Any]:
        params = request.path_params
        return {
            "params": {k: str(v) for k, v in params.items()},
            "types": {k: type(v).__name__ for k, v in params.items()},
        }

    app.add_route(pattern, echo)
    return app


def answer(label: str) -> Any:
    """An endpoint that says which route ran."""

    async def endpoint() -> str:
        return label

    endpoint.__name__ = endpoint.__qualname__ = f"endpoint_{label}"
    return endpoint


async def _asgi_call(app: App, path: str, root_path: str) -> list[Message]:
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": [(b"host", b"example.com")],
        "client": ("127.0.0.1", 1234),
        "server": ("example.com", 80),
    }
    await app(scope, receive, send)
    return messages


def asgi_get(app: App, path: str, *, root_path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    """A GET sent straight to the ASGI app, with a ``root_path`` (as a server
    behind a proxy sends it; the TestClient always sends an empty one)."""
    messages = anyio.run(_asgi_call, app, path, root_path)
    start, *bodies = messages
    body = b"".join(m.get("body", b"") for m in bodies)
    return start["status"], dict(start["headers"]), body


# -- converters -----------------------------------------------------------------


def test_str_parameter_matches_one_segment() -> None:
    response = get(echo_app("/hello/{name}"), "/hello/ada")
    assert response.json() == {"params": {"name": "ada"}, "types": {"name": "str"}}


def test_str_parameter_does_not_match_across_a_slash() -> None:
    assert get(echo_app("/hello/{name}"), "/hello/ada/lovelace").status_code == 404


def test_str_parameter_rejects_an_empty_segment() -> None:
    app = echo_app("/hello/{name}", redirect_slashes=False)
    assert get(app, "/hello/").status_code == 404


def test_str_parameter_receives_the_percent_decoded_segment() -> None:
    response = get(echo_app("/hello/{name}"), "/hello/caf%C3%A9%20au%20lait")
    assert response.json()["params"] == {"name": "café au lait"}


def test_int_parameter_converts_ascii_digits_to_int() -> None:
    response = get(echo_app("/items/{item_id:int}"), "/items/0042")
    assert response.json() == {"params": {"item_id": "42"}, "types": {"item_id": "int"}}


@pytest.mark.parametrize(
    "segment",
    [
        "-1",  # negative
        "+1",  # sign
        "1.5",  # decimal
        "1e3",  # exponent
        "abc",
        " 1",  # whitespace
        "\u0661\u0662",  # Arabic-Indic digits: str.isdigit() says yes, a URL says no
        "\u00b2",  # superscript two
        "\uff11",  # fullwidth one
        "1_000",  # int() accepts underscores
    ],
)
def test_int_parameter_rejects_anything_but_ascii_digits(segment: str) -> None:
    assert get(echo_app("/items/{item_id:int}"), "/items/" + quote(segment)).status_code == 404


@pytest.mark.parametrize(("segment", "value"), [("1.5", "1.5"), ("2", "2.0"), ("0.25", "0.25")])
def test_float_parameter_converts_decimals_to_float(segment: str, value: str) -> None:
    response = get(echo_app("/price/{amount:float}"), f"/price/{segment}")
    assert response.json() == {"params": {"amount": value}, "types": {"amount": "float"}}


@pytest.mark.parametrize("segment", ["1e5", "nan", "inf", "Infinity", ".5", "1.", "-1.5", "1,5"])
def test_float_parameter_rejects_anything_but_plain_decimals(segment: str) -> None:
    assert get(echo_app("/price/{amount:float}"), f"/price/{segment}").status_code == 404


@pytest.mark.parametrize(
    "segment", ["0f8c4e5a-6b1d-4c0e-9a57-2f3e4d5c6b7a", "0F8C4E5A-6B1D-4C0E-9A57-2F3E4D5C6B7A"]
)
def test_uuid_parameter_converts_to_uuid(segment: str) -> None:
    response = get(echo_app("/users/{user_id:uuid}"), f"/users/{segment}")
    assert response.json() == {
        "params": {"user_id": "0f8c4e5a-6b1d-4c0e-9a57-2f3e4d5c6b7a"},
        "types": {"user_id": "UUID"},
    }


@pytest.mark.parametrize(
    "segment",
    [
        "0f8c4e5a6b1d4c0e9a572f3e4d5c6b7a",  # no hyphens
        "{0f8c4e5a-6b1d-4c0e-9a57-2f3e4d5c6b7a}",  # braces
        "urn:uuid:0f8c4e5a-6b1d-4c0e-9a57-2f3e4d5c6b7a",
        "0f8c4e5a-6b1d-4c0e-9a57-2f3e4d5c6b7",  # one digit short
        "0f8c4e5a-6b1d-4c0e-9a57-2f3e4d5c6b7g",  # not hex
    ],
)
def test_uuid_parameter_rejects_other_spellings(segment: str) -> None:
    assert get(echo_app("/users/{user_id:uuid}"), "/users/" + quote(segment)).status_code == 404


def test_path_parameter_matches_the_rest_of_the_path_slashes_included() -> None:
    response = get(echo_app("/files/{rest:path}"), "/files/docs/2024/report.pdf")
    assert response.json()["params"] == {"rest": "docs/2024/report.pdf"}


def test_path_parameter_matches_an_empty_rest() -> None:
    response = get(echo_app("/files/{rest:path}"), "/files/")
    assert response.json()["params"] == {"rest": ""}


def test_path_parameter_needs_the_slash_before_it() -> None:
    app = echo_app("/files/{rest:path}", redirect_slashes=False)
    assert get(app, "/files").status_code == 404


# -- which route wins ---------------------------------------------------------------


def test_static_route_wins_over_a_parameter_whatever_the_order_of_registration() -> None:
    app = App()
    app.add_route("/users/{name}", answer("by-name"))
    app.add_route("/users/me", answer("me"))
    with TestClient(app) as client:
        assert client.get("/users/me").text == "me"
        assert client.get("/users/ada").text == "by-name"


def test_static_segment_wins_over_a_parameter_inside_the_tree() -> None:
    app = App()
    app.add_route("/users/{id:int}/{section}", answer("section"))
    app.add_route("/users/{id:int}/profile", answer("profile"))
    with TestClient(app) as client:
        assert client.get("/users/1/profile").text == "profile"
        assert client.get("/users/1/posts").text == "section"


@pytest.mark.parametrize(
    ("narrow", "wide", "segment"),
    [
        ("{id:int}", "{name}", "12"),
        ("{id:uuid}", "{name}", "0f8c4e5a-6b1d-4c0e-9a57-2f3e4d5c6b7a"),
        ("{x:float}", "{name}", "1.5"),
        ("{id:int}", "{x:float}", "12"),
        ("{name}", "{rest:path}", "plain"),
    ],
)
def test_narrower_converter_is_tried_before_a_wider_one(
    narrow: str, wide: str, segment: str
) -> None:
    app = App()
    app.add_route(f"/things/{wide}", answer("wide"))  # registered first on purpose
    app.add_route(f"/things/{narrow}", answer("narrow"))
    with TestClient(app) as client:
        assert client.get(f"/things/{segment}").text == "narrow"


def test_segment_the_narrow_converter_refuses_falls_to_the_wider_one() -> None:
    app = App()
    app.add_route("/things/{id:int}", answer("int"))
    app.add_route("/things/{name}", answer("str"))
    assert get(app, "/things/twelve").text == "str"


def test_matching_backtracks_when_a_narrower_branch_dead_ends() -> None:
    app = App()

    @app.get("/a/{n:int}/b")
    async def int_then_b(n: int) -> dict[str, Any]:
        return {"route": "int", "n": n}

    @app.get("/a/{s}/c")
    async def str_then_c(s: str) -> dict[str, Any]:
        return {"route": "str", "s": s}

    with TestClient(app) as client:
        assert client.get("/a/1/b").json() == {"route": "int", "n": 1}
        # "1" fits int, but int's branch has no "c": back up and try str.
        assert client.get("/a/1/c").json() == {"route": "str", "s": "1"}


def test_matching_backtracks_out_of_a_static_branch() -> None:
    app = App()
    app.add_route("/files/latest/{n:int}", answer("latest"))
    app.add_route("/files/{name}/meta", answer("meta"))
    with TestClient(app) as client:
        assert client.get("/files/latest/3").text == "latest"
        assert client.get("/files/latest/meta").text == "meta"


def test_catch_all_is_the_last_resort_after_deeper_branches_fail() -> None:
    app = App()
    app.add_route("/docs/{page}/edit", answer("edit"))
    app.add_route("/docs/{rest:path}", answer("catch-all"))
    with TestClient(app) as client:
        assert client.get("/docs/intro/edit").text == "edit"
        assert client.get("/docs/intro/view").text == "catch-all"


def test_a_route_for_another_method_does_not_hide_a_parameter_route() -> None:
    app = App()
    app.add_route("/users/me", answer("update-me"), methods=["PUT"])
    app.add_route("/users/{name}", answer("by-name"))
    assert get(app, "/users/me").text == "by-name"


# -- 404 and 405 --------------------------------------------------------------------


def test_404_is_a_problem_details_response() -> None:
    app = App()
    app.add_route("/items", answer("items"))
    response = get(app, "/nothing/here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "about:blank"
    assert problem["title"] == "Not Found"
    assert problem["status"] == 404
    assert "/nothing/here" in problem["detail"]


def test_405_is_a_problem_details_response() -> None:
    app = App()
    app.add_route("/items", answer("items"), methods=["GET", "POST"])
    with TestClient(app) as client:
        response = client.delete("/items")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "about:blank"
    assert problem["title"] == "Method Not Allowed"
    assert problem["status"] == 405
    assert "DELETE" in problem["detail"]


def test_405_lists_allowed_methods_in_the_allow_header() -> None:
    app = App()
    app.add_route("/items", answer("items"), methods=["GET", "POST"])
    with TestClient(app) as client:
        response = client.delete("/items")
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"


def test_405_allow_header_gathers_every_route_on_the_path() -> None:
    app = App()
    app.add_route("/items/{id:int}", answer("read"), methods=["GET"])
    app.add_route("/items/{item_id:int}", answer("delete"), methods=["DELETE"])
    with TestClient(app) as client:
        response = client.put("/items/3")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"


# -- HEAD and OPTIONS --------------------------------------------------------------


def test_head_on_a_get_route_sends_the_same_headers_and_no_body() -> None:
    app = App()

    @app.get("/items/{id:int}")
    async def read_item(id: int) -> dict[str, int]:
        return {"id": id}

    with TestClient(app) as client:
        got = client.get("/items/7")
        head = client.head("/items/7")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers.items() == got.headers.items()
    assert head.headers["content-length"] == str(len(got.content))


def test_head_route_of_its_own_is_preferred_over_get() -> None:
    app = App()
    app.add_route("/items", answer("get"), methods=["GET"])

    async def head_items() -> Response:
        return Response(headers={"x-handled-by": "head"})

    app.add_route("/items", head_items, methods=["HEAD"])
    with TestClient(app) as client:
        assert client.head("/items").headers["x-handled-by"] == "head"


def test_options_is_answered_204_with_allow_when_no_route_handles_it() -> None:
    app = App()
    app.add_route("/items", answer("items"), methods=["GET", "POST"])
    with TestClient(app) as client:
        response = client.options("/items")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert response.content == b""


def test_options_route_of_its_own_is_used_instead_of_the_automatic_answer() -> None:
    app = App()
    app.add_route("/items", answer("items"))
    app.add_route("/items", answer("custom-options"), methods=["OPTIONS"])
    with TestClient(app) as client:
        response = client.options("/items")
    assert (response.status_code, response.text) == (200, "custom-options")


def test_options_on_a_path_without_routes_is_404() -> None:
    app = App()
    app.add_route("/items", answer("items"))
    with TestClient(app) as client:
        assert client.options("/other").status_code == 404


# -- trailing slashes -----------------------------------------------------------------


def test_extra_trailing_slash_redirects_307_to_the_route() -> None:
    app = App()
    app.add_route("/items", answer("items"))
    with TestClient(app, follow_redirects=False) as client:
        response = client.get("/items/")
    assert response.status_code == 307
    assert response.headers["location"] == "/items"


def test_missing_trailing_slash_redirects_307_to_the_route() -> None:
    app = App()
    app.add_route("/items/", answer("items"))
    with TestClient(app, follow_redirects=False) as client:
        response = client.get("/items")
    assert response.status_code == 307
    assert response.headers["location"] == "/items/"


def test_trailing_slash_redirect_keeps_the_query_string() -> None:
    app = App()
    app.add_route("/items", answer("items"))
    with TestClient(app, follow_redirects=False) as client:
        response = client.get("/items/?page=2&q=a%20b")
    assert response.headers["location"] == "/items?page=2&q=a%20b"


def test_trailing_slash_redirect_keeps_percent_encoded_characters_in_the_path() -> None:
    app = echo_app("/files/{name}")
    with TestClient(app, follow_redirects=False) as client:
        response = client.get("/files/what%3F%23%25/")
        assert response.headers["location"] == "/files/what%3F%23%25"
        followed = client.get(response.headers["location"])
    assert followed.json()["params"] == {"name": "what?#%"}


def test_trailing_slash_redirect_keeps_the_method() -> None:
    app = App()
    app.add_route("/items", answer("created"), methods=["POST"])
    with TestClient(app) as client:
        response = client.post("/items/")
    assert [r.status_code for r in response.history] == [307]
    assert (response.status_code, response.text) == (200, "created")


def test_redirect_slashes_false_answers_404_instead() -> None:
    app = App(redirect_slashes=False)
    app.add_route("/items", answer("items"))
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/items/").status_code == 404


def test_redirect_slashes_can_be_switched_off_on_a_router() -> None:
    router = Router(redirect_slashes=False)
    router.add_route("/items", answer("items"))
    router.build()
    route, _, allowed = router.match("/items/", "GET")
    assert (route, allowed) == (None, set())


# -- routers and prefixes ------------------------------------------------------------


def test_versioned_routers_side_by_side_under_their_prefixes() -> None:
    v1, v2 = Router(), Router()
    v1.add_route("/items", answer("v1 items"))
    v2.add_route("/items", answer("v2 items"))
    app = App()
    app.include_router(v1, prefix="/v1")
    app.include_router(v2, prefix="/v2")
    with TestClient(app) as client:
        assert client.get("/v1/items").text == "v1 items"
        assert client.get("/v2/items").text == "v2 items"
        assert client.get("/items").status_code == 404


def test_nested_include_router_joins_the_prefixes() -> None:
    users = Router()
    users.add_route("/{id:int}", answer("user"))
    api = Router()
    api.include_router(users, prefix="/users")
    app = App()
    app.include_router(api, prefix="/api")
    assert get(app, "/api/users/5").text == "user"


def test_routes_added_to_a_router_after_it_was_included_are_seen() -> None:
    v1 = Router()
    app = App()
    app.include_router(v1, prefix="/v1")
    v1.add_route("/late", answer("late"))
    assert get(app, "/v1/late").text == "late"


def test_root_route_of_an_included_router_is_the_prefix_itself() -> None:
    v1 = Router()
    v1.add_route("/", answer("v1 root"))
    app = App()
    app.include_router(v1, prefix="/v1")
    assert get(app, "/v1").text == "v1 root"


def test_include_router_without_prefix_adds_the_routes_as_they_are() -> None:
    extra = Router()
    extra.add_route("/health", answer("ok"))
    app = App()
    app.include_router(extra)
    assert get(app, "/health").text == "ok"


@pytest.mark.parametrize("prefix", ["v1", "/v1/"])
def test_include_router_refuses_a_prefix_without_leading_or_with_trailing_slash(
    prefix: str,
) -> None:
    with pytest.raises(ConfigurationError, match="prefix"):
        App().include_router(Router(), prefix=prefix)


def test_router_cannot_include_itself() -> None:
    router = Router()
    with pytest.raises(ConfigurationError, match="include itself"):
        router.include_router(router, prefix="/again")


def test_router_cannot_include_a_router_that_includes_it() -> None:
    outer, inner = Router(), Router()
    outer.include_router(inner, prefix="/inner")
    with pytest.raises(ConfigurationError, match="include itself"):
        inner.include_router(outer, prefix="/outer")


def test_adding_a_route_after_the_app_started_is_a_configuration_error() -> None:
    app = App()
    with TestClient(app), pytest.raises(ConfigurationError, match="after the app has started"):
        app.add_route("/late", answer("late"))


def test_adding_a_route_to_an_included_router_after_the_app_started_is_an_error() -> None:
    v1 = Router()
    app = App()
    app.include_router(v1, prefix="/v1")
    with TestClient(app), pytest.raises(ConfigurationError, match="after the app has started"):
        v1.add_route("/late", answer("late"))


def test_including_a_router_after_the_app_started_is_a_configuration_error() -> None:
    app = App()
    with TestClient(app), pytest.raises(ConfigurationError, match="after the app has started"):
        app.include_router(Router(), prefix="/v1")


# -- names and url_path_for ---------------------------------------------------------


def test_url_path_for_fills_in_the_parameters_of_a_named_route() -> None:
    app = App()
    app.add_route("/items/{item_id:int}/tags/{tag}", answer("tag"), name="item_tag")
    assert app.url_path_for("item_tag", item_id=3, tag="new") == "/items/3/tags/new"


def test_route_name_defaults_to_the_endpoint_function_name() -> None:
    app = App()

    @app.get("/items/{item_id:int}")
    async def read_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    assert app.url_path_for("read_item", item_id=3) == "/items/3"


def test_url_path_for_includes_the_router_prefixes() -> None:
    users = Router()
    users.add_route("/{id:int}", answer("user"), name="user")
    api = Router()
    api.include_router(users, prefix="/users")
    app = App()
    app.include_router(api, prefix="/v1")
    assert app.url_path_for("user", id=5) == "/v1/users/5"


def test_url_path_for_gives_the_same_answer_before_and_after_startup() -> None:
    v1 = Router()
    v1.add_route("/items/{id:int}", answer("item"), name="item")
    app = App()
    app.include_router(v1, prefix="/v1")
    before = app.url_path_for("item", id=1)
    with TestClient(app):
        after = app.url_path_for("item", id=1)
    assert before == after == "/v1/items/1"


def test_url_path_for_percent_encodes_str_parameters() -> None:
    app = App()
    app.add_route("/search/{term}", answer("search"), name="search")
    assert app.url_path_for("search", term="a b?#%é") == "/search/a%20b%3F%23%25%C3%A9"


@pytest.mark.parametrize("value", ["a/b", ""])
def test_url_path_for_refuses_a_str_parameter_that_is_not_one_segment(value: str) -> None:
    app = App()
    app.add_route("/search/{term}", answer("search"), name="search")
    with pytest.raises(NoMatchFound, match="bad value for 'term'"):
        app.url_path_for("search", term=value)


def test_url_path_for_keeps_slashes_in_path_parameters() -> None:
    app = App()
    app.add_route("/files/{rest:path}", answer("file"), name="file")
    assert app.url_path_for("file", rest="a b/c.txt") == "/files/a%20b/c.txt"


def test_url_path_for_an_unknown_name_raises_no_match_found() -> None:
    app = App()
    with pytest.raises(NoMatchFound, match="no route is named 'missing'"):
        app.url_path_for("missing")


def test_url_path_for_with_wrong_parameters_names_the_ones_expected() -> None:
    app = App()
    app.add_route("/items/{item_id:int}", answer("item"), name="item")
    with pytest.raises(NoMatchFound, match=r"takes parameters \['item_id'\], got \['id'\]"):
        app.url_path_for("item", id=3)


@pytest.mark.parametrize("value", [-1, "3", 1.5, True])
def test_url_path_for_refuses_a_value_the_int_converter_would_not_match(value: Any) -> None:
    app = App()
    app.add_route("/items/{item_id:int}", answer("item"), name="item")
    with pytest.raises(NoMatchFound, match="bad value for 'item_id'"):
        app.url_path_for("item", item_id=value)


@pytest.mark.parametrize("value", [1.5, 2.0, 1e-7, 5e-324, 1e16, 1.5e300, -0.0])
def test_url_path_for_renders_floats_that_route_back_to_the_same_value(value: float) -> None:
    app = App()

    @app.get("/price/{amount:float}")
    async def price(amount: float) -> dict[str, float]:
        return {"amount": amount}

    path = app.url_path_for("price", amount=value)
    response = get(app, path)
    assert response.status_code == 200, path
    assert response.json() == {"amount": value}


def test_url_path_for_tries_each_route_sharing_a_name() -> None:
    app = App()
    app.add_route("/items", answer("all"), name="items")
    app.add_route("/items/{id:int}", answer("one"), name="items")
    assert app.url_path_for("items") == "/items"
    assert app.url_path_for("items", id=2) == "/items/2"


# -- configuration errors at startup --------------------------------------------------


def first_endpoint() -> str:
    return "first"


def second_endpoint() -> str:
    return "second"


def _where(func: Any) -> str:
    return f"test_routing.py:{func.__code__.co_firstlineno}"


def test_same_method_and_pattern_twice_fails_at_startup_naming_both_endpoints() -> None:
    app = App()
    app.add_route("/items/{item_id:int}", first_endpoint)
    app.add_route("/items/{id:int}", second_endpoint)  # another name: still the same route
    with pytest.raises(ConfigurationError) as error:
        app.build()
    message = str(error.value)
    assert "GET" in message
    assert "declared twice" in message
    assert f"first_endpoint ({_where(first_endpoint)})" in message
    assert f"second_endpoint ({_where(second_endpoint)})" in message


def test_conflict_between_included_routers_fails_at_startup() -> None:
    a, b = Router(), Router()
    a.add_route("/items", first_endpoint)
    b.add_route("/v1/items", second_endpoint)
    app = App()
    app.include_router(a, prefix="/v1")
    app.include_router(b)
    with pytest.raises(ConfigurationError, match="GET /v1/items is declared twice"):
        app.build()


def test_same_pattern_with_different_methods_is_not_a_conflict() -> None:
    app = App()
    app.add_route("/items", first_endpoint, methods=["GET"])
    app.add_route("/items", second_endpoint, methods=["POST"])
    with TestClient(app) as client:
        assert client.get("/items").text == "first"
        assert client.post("/items").text == "second"


def test_same_position_with_different_converters_is_not_a_conflict() -> None:
    app = App()
    app.add_route("/items/{id:int}", first_endpoint)
    app.add_route("/items/{slug}", second_endpoint)
    with TestClient(app) as client:  # starting the app builds the routes: no conflict
        assert client.get("/items/3").text == "first"
        assert client.get("/items/three").text == "second"


@pytest.mark.parametrize(
    ("pattern", "complaint"),
    [
        ("items", "must start with '/'"),
        ("/items/{id:number}", "unknown converter 'number'"),
        ("/files/{rest:path}/edit", "must come last"),
        ("/{a}/{a:int}", "parameter 'a' appears twice"),
        ("/a{b}", "must fill a whole segment"),
        ("/{b}c", "must fill a whole segment"),
        ("/{}", "not a valid parameter name"),
        ("/{1st}", "not a valid parameter name"),
    ],
)
def test_bad_pattern_is_a_configuration_error(pattern: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint.replace("(", r"\(")):
        App().add_route(pattern, first_endpoint)


def test_unknown_http_method_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown HTTP method"):
        App().add_route("/items", first_endpoint, methods=["FETCH"])


def test_endpoint_parameter_nothing_can_fill_fails_at_startup() -> None:
    app = App()

    def needs_mystery(mystery):  # type: ignore[no-untyped-def]
        return "never"

    app.add_route("/items", needs_mystery)
    with pytest.raises(ConfigurationError, match="'mystery'"):
        app.build()


# -- calling endpoints ---------------------------------------------------------------


def test_async_endpoint_receives_converted_path_parameters_by_name() -> None:
    app = App()

    @app.get("/orders/{order_id:int}/lines/{line:uuid}")
    async def order_line(line: uuid.UUID, order_id: int) -> dict[str, Any]:
        return {"order_id": order_id, "line": str(line), "type": type(line).__name__}

    line = "0f8c4e5a-6b1d-4c0e-9a57-2f3e4d5c6b7a"
    assert get(app, f"/orders/7/lines/{line}").json() == {
        "order_id": 7,
        "line": line,
        "type": "UUID",
    }


def test_sync_endpoint_receives_converted_path_parameters_by_name() -> None:
    app = App()

    @app.get("/orders/{order_id:int}/total/{amount:float}")
    def order_total(amount: float, order_id: int) -> dict[str, Any]:
        return {"order_id": order_id, "amount": amount}

    assert get(app, "/orders/7/total/9.5").json() == {"order_id": 7, "amount": 9.5}


def test_async_endpoint_receives_the_request_by_annotation() -> None:
    app = App()

    @app.get("/whoami/{name}")
    async def whoami(name: str, incoming: Request) -> dict[str, str]:
        return {"name": name, "method": incoming.method, "path": incoming.url.path}

    assert get(app, "/whoami/ada").json() == {"name": "ada", "method": "GET", "path": "/whoami/ada"}


def test_sync_endpoint_receives_the_request_by_annotation() -> None:
    app = App()

    @app.get("/whoami")
    def whoami(req: Request) -> dict[str, str]:
        return {"method": req.method, "path": req.url.path}

    assert get(app, "/whoami").json() == {"method": "GET", "path": "/whoami"}


def test_matched_route_and_path_params_are_in_the_scope() -> None:
    app = App()

    @app.get("/items/{item_id:int}", name="item")
    async def read_item(request: Request) -> dict[str, Any]:
        return {"route": request.scope["route"].name, "params": request.path_params}

    assert get(app, "/items/3").json() == {"route": "item", "params": {"item_id": 3}}


def test_endpoint_parameter_with_a_default_keeps_its_default() -> None:
    app = App()

    @app.get("/page")
    async def page(size=20) -> dict[str, int]:  # type: ignore[no-untyped-def]
        return {"size": size}

    assert get(app, "/page").json() == {"size": 20}


# -- root_path (an app mounted behind a proxy) ------------------------------------------


def test_root_path_is_removed_from_the_path_before_matching() -> None:
    status, _, body = asgi_get(echo_app("/items/{id:int}"), "/api/items/3", root_path="/api")
    assert (status, body) == (200, b'{"params":{"id":"3"},"types":{"id":"int"}}')


def test_path_without_the_root_path_is_matched_as_it_is() -> None:
    status, _, _ = asgi_get(echo_app("/items/{id:int}"), "/items/3", root_path="/api")
    assert status == 200


def test_root_path_is_removed_only_at_a_segment_boundary() -> None:
    _, _, body = asgi_get(echo_app("/{rest:path}"), "/apis/x", root_path="/api")
    assert body == b'{"params":{"rest":"apis/x"},"types":{"rest":"str"}}'


def test_trailing_slash_redirect_location_keeps_the_root_path() -> None:
    app = App()
    app.add_route("/items", answer("items"))
    status, headers, _ = asgi_get(app, "/api/items/", root_path="/api")
    assert (status, headers[b"location"]) == (307, b"/api/items")


# -- return values --------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int


def returning(value: Any) -> App:
    app = App()

    async def endpoint() -> Any:
        return value

    app.add_route("/", endpoint)
    return app


def test_dict_return_value_is_sent_as_json() -> None:
    response = get(returning({"a": 1, "b": [True, None]}), "/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"a": 1, "b": [True, None]}


def test_list_return_value_is_sent_as_json() -> None:
    response = get(returning([1, "two", 3.0]), "/")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == [1, "two", 3.0]


def test_str_return_value_is_sent_as_utf8_text() -> None:
    response = get(returning("héllo"), "/")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.content == "héllo".encode()


def test_none_return_value_is_204_without_body_or_content_length() -> None:
    response = get(returning(None), "/")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-length" not in response.headers


def test_bytes_return_value_is_sent_as_is() -> None:
    response = get(returning(b"\x00\x01binary"), "/")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == b"\x00\x01binary"


def test_dataclass_return_value_is_sent_as_json() -> None:
    response = get(returning(Point(1, 2)), "/")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"x": 1, "y": 2}


def test_response_return_value_is_sent_unchanged() -> None:
    response = get(returning(Response("made", status_code=202, headers={"x-kind": "own"})), "/")
    assert (response.status_code, response.headers["x-kind"], response.text) == (
        202,
        "own",
        "made",
    )


@pytest.mark.parametrize("value", [42, object(), (1, 2)])
def test_any_other_return_value_is_a_type_error(value: Any) -> None:
    with pytest.raises(TypeError, match=f"an endpoint returned {type(value).__name__}"):
        get(returning(value), "/")

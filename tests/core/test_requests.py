"""Request: a lazy view of the scope, and a body read under a size limit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minimal_asgi import App, ClientDisconnect, Request
from minimal_asgi.datastructures import Address
from minimal_asgi.requests import DEFAULT_MAX_BODY_SIZE, _decode_json
from minimal_asgi.testing import TestClient
from minimal_asgi.types import Message, Scope


def http_scope(
    method: str = "GET",
    path: str = "/",
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    query_string: bytes = b"",
    **extra: Any,
) -> Scope:
    scope: Scope = {
        "type": "http",
        "method": method,
        "scheme": "http",
        "path": path,
        "query_string": query_string,
        "headers": headers if headers is not None else [],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }
    scope.update(extra)
    return scope


class Body:
    """A hand-written ``receive`` that delivers ``chunks`` and counts what was taken."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.calls = 0
        self.bytes_taken = 0

    async def __call__(self) -> Message:
        self.calls += 1
        if not self.chunks:
            return {"type": "http.disconnect"}
        chunk = self.chunks.pop(0)
        self.bytes_taken += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}


class Sent:
    """A hand-written ``send`` that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])


def body_echo_app(**options: Any) -> App:
    app = App(**options)

    @app.post("/")
    async def echo(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    return app


# -- the request line and the headers --------------------------------------------
def test_method_comes_from_the_scope() -> None:
    assert Request(http_scope("PATCH")).method == "PATCH"


def test_path_comes_from_the_scope() -> None:
    assert Request(http_scope(path="/items/3")).path == "/items/3"


def test_url_is_built_from_scheme_host_header_path_and_query() -> None:
    scope = http_scope(
        path="/items",
        query_string=b"q=1&r=2",
        headers=[(b"host", b"example.com:8080")],
        scheme="https",
    )
    url = Request(scope).url
    assert (url.scheme, url.hostname, url.port, url.path, url.query) == (
        "https",
        "example.com",
        8080,
        "/items",
        "q=1&r=2",
    )
    assert str(url) == "https://example.com:8080/items?q=1&r=2"


def test_url_prefers_the_host_header_over_the_server_address() -> None:
    scope = http_scope(headers=[(b"host", b"api.example.com")], server=("10.0.0.5", 8000))
    assert Request(scope).url.netloc == "api.example.com"


def test_url_falls_back_to_the_server_address_without_a_host_header() -> None:
    scope = http_scope(path="/x", server=("10.0.0.5", 8000))
    assert str(Request(scope).url) == "http://10.0.0.5:8000/x"


@pytest.mark.parametrize(
    ("scheme", "host"), [("http", b"example.com:80"), ("https", b"example.com:443")]
)
def test_url_omits_the_default_port_of_the_scheme(scheme: str, host: bytes) -> None:
    url = Request(http_scope(headers=[(b"host", host)], scheme=scheme)).url
    assert url.port is None
    assert str(url) == f"{scheme}://example.com/"


def test_url_understands_an_ipv6_host_header() -> None:
    url = Request(http_scope(headers=[(b"host", b"[::1]:8000")])).url
    assert (url.hostname, url.port, url.netloc) == ("::1", 8000, "[::1]:8000")


def test_query_params_give_the_last_value_and_getlist_gives_all() -> None:
    params = Request(http_scope(query_string=b"tag=a&tag=b&page=2")).query_params
    assert params["tag"] == "b"
    assert params.getlist("tag") == ["a", "b"]
    assert params["page"] == "2"
    assert "missing" not in params


def test_query_params_are_percent_decoded_and_keep_blank_values() -> None:
    params = Request(http_scope(query_string=b"name=J%C3%BCrgen+S&empty=")).query_params
    assert params["name"] == "Jürgen S"
    assert params["empty"] == ""


def test_headers_are_case_insensitive_and_may_repeat() -> None:
    scope = http_scope(headers=[(b"x-tag", b"a"), (b"accept", b"text/html"), (b"x-tag", b"b")])
    headers = Request(scope).headers
    assert headers["Accept"] == "text/html"
    assert headers["ACCEPT"] == "text/html"
    assert headers.getlist("X-Tag") == ["a", "b"]
    assert "x-TAG" in headers
    assert headers.get("missing") is None


def test_cookies_are_parsed_from_every_cookie_header() -> None:
    scope = http_scope(headers=[(b"cookie", b"session=abc; theme=dark"), (b"cookie", b"lang=en")])
    assert Request(scope).cookies == {"session": "abc", "theme": "dark", "lang": "en"}


def test_a_quoted_cookie_value_is_unquoted() -> None:
    scope = http_scope(headers=[(b"cookie", b'token="a b"')])
    assert Request(scope).cookies["token"] == "a b"


def test_the_first_cookie_of_a_name_wins() -> None:
    scope = http_scope(headers=[(b"cookie", b"id=specific; id=general")])
    assert Request(scope).cookies["id"] == "specific"


def test_malformed_cookie_pairs_are_skipped() -> None:
    scope = http_scope(headers=[(b"cookie", b"novalue; =nameless; ok=1")])
    assert Request(scope).cookies == {"ok": "1"}


def test_client_is_the_host_and_port_the_server_reported() -> None:
    client = Request(http_scope(client=("192.0.2.1", 51000))).client
    assert client == Address("192.0.2.1", 51000)
    assert (client.host, client.port) == ("192.0.2.1", 51000)


def test_client_is_none_when_the_server_does_not_say() -> None:
    scope = http_scope()
    del scope["client"]
    assert Request(scope).client is None


def test_path_params_hold_the_converted_path_values() -> None:
    app = App()

    @app.get("/users/{user_id:int}/files/{name}")
    async def show(request: Request) -> dict[str, Any]:
        params = request.path_params
        return {"params": params, "type": type(params["user_id"]).__name__}

    with TestClient(app) as client:
        body = client.get("/users/7/files/a.txt").json()
    assert body == {"params": {"user_id": 7, "name": "a.txt"}, "type": "int"}


def test_state_holds_attributes_for_the_rest_of_the_request() -> None:
    request = Request(http_scope())
    request.state.user = "ada"
    assert request.state.user == "ada"
    assert Request(request.scope).state.user == "ada"  # it lives in the scope


def test_state_set_by_middleware_in_the_scope_is_seen_by_the_endpoint() -> None:
    class SetUser:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
            scope.setdefault("state", {})["user"] = "ada"
            await self.app(scope, receive, send)

    app = App()
    app.add_middleware(SetUser)

    @app.get("/")
    async def who(request: Request) -> str:
        return str(request.state.user)

    with TestClient(app) as client:
        assert client.get("/").text == "ada"


def test_state_is_fresh_for_each_request() -> None:
    app = App()

    @app.get("/")
    async def count(request: Request) -> dict[str, bool]:
        seen = hasattr(request.state, "visited")
        request.state.visited = True
        return {"seen": seen}

    with TestClient(app) as client:
        assert client.get("/").json() == {"seen": False}
        assert client.get("/").json() == {"seen": False}


# -- the body ----------------------------------------------------------------------
@pytest.mark.anyio
async def test_body_joins_every_chunk() -> None:
    request = Request(http_scope("POST"), Body([b"hel", b"lo ", b"world"]))
    assert await request.body() == b"hello world"


@pytest.mark.anyio
async def test_body_can_be_read_twice() -> None:
    receive = Body([b"data"])
    request = Request(http_scope("POST"), receive)
    assert await request.body() == b"data"
    assert await request.body() == b"data"
    assert receive.calls == 1


@pytest.mark.anyio
async def test_stream_yields_chunks_as_they_arrive() -> None:
    request = Request(http_scope("POST"), Body([b"a", b"", b"b", b"c"]))
    assert [chunk async for chunk in request.stream()] == [b"a", b"b", b"c"]


@pytest.mark.anyio
async def test_stream_after_body_yields_the_cached_body() -> None:
    request = Request(http_scope("POST"), Body([b"a", b"b"]))
    await request.body()
    assert [chunk async for chunk in request.stream()] == [b"ab"]


@pytest.mark.anyio
async def test_body_after_a_consumed_stream_raises() -> None:
    request = Request(http_scope("POST"), Body([b"a"]))
    async for _ in request.stream():
        pass
    with pytest.raises(RuntimeError, match="already consumed"):
        await request.body()


@pytest.mark.anyio
async def test_a_disconnect_before_the_body_ends_raises_client_disconnect() -> None:
    async def receive() -> Message:
        return {"type": "http.disconnect"}

    with pytest.raises(ClientDisconnect):
        await Request(http_scope("POST"), receive).body()


@pytest.mark.anyio
async def test_a_request_built_without_receive_has_no_body() -> None:
    with pytest.raises(RuntimeError, match="without a receive channel"):
        await Request(http_scope("POST")).body()


@pytest.mark.anyio
async def test_json_parses_the_body() -> None:
    request = Request(http_scope("POST"), Body([b'{"a": [1, 2', b", 3]}"]))
    assert await request.json() == {"a": [1, 2, 3]}


def test_malformed_json_is_a_400_problem() -> None:
    app = App()

    @app.post("/")
    async def parse(request: Request) -> Any:
        return await request.json()

    with TestClient(app) as client:
        response = client.post("/", content=b'{"a": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert problem["title"] == "Bad Request"
    assert "not valid JSON" in problem["detail"]


def test_deeply_nested_json_is_a_400_not_a_500() -> None:
    app = App()

    @app.post("/")
    async def parse(request: Request) -> Any:
        return await request.json()

    depth = 100_000
    with TestClient(app) as client:
        response = client.post("/", content=b"[" * depth + b"]" * depth)
    assert response.status_code == 400
    assert response.json()["status"] == 400


def test_form_reads_urlencoded_fields() -> None:
    app = App()

    @app.post("/")
    async def submit(request: Request) -> dict[str, Any]:
        form = await request.form()
        return {"name": form["name"], "tags": form.getlist("tag"), "note": form["note"]}

    with TestClient(app) as client:
        response = client.post("/", data={"name": "Ada L", "tag": ["x", "y"], "note": ""})
    assert response.json() == {"name": "Ada L", "tags": ["x", "y"], "note": ""}


def test_a_body_that_is_not_a_form_read_as_a_form_is_refused_with_415() -> None:
    app = App()

    @app.post("/")
    async def submit(request: Request) -> dict[str, Any]:
        return dict(await request.form())

    with TestClient(app) as client:
        response = client.post("/", json={"name": "Ada"})
    assert response.status_code == 415
    assert response.json()["status"] == 415


def test_a_form_that_is_not_utf8_is_a_400() -> None:
    app = App()

    @app.post("/")
    async def submit(request: Request) -> dict[str, Any]:
        return dict(await request.form())

    with TestClient(app) as client:
        response = client.post(
            "/", content=b"name=\xff", headers={"content-type": "application/x-www-form-urlencoded"}
        )
    assert response.status_code == 400


# -- the body size limit -------------------------------------------------------------
def test_the_default_body_limit_is_one_mebibyte() -> None:
    assert DEFAULT_MAX_BODY_SIZE == 1024 * 1024
    assert App().max_body_size == 1024 * 1024


def test_a_body_at_the_default_limit_is_read() -> None:
    with TestClient(body_echo_app()) as client:
        response = client.post("/", content=b"x" * DEFAULT_MAX_BODY_SIZE)
    assert response.json() == {"length": DEFAULT_MAX_BODY_SIZE}


def test_a_body_one_byte_over_the_default_limit_is_a_413() -> None:
    with TestClient(body_echo_app()) as client:
        response = client.post("/", content=b"x" * (DEFAULT_MAX_BODY_SIZE + 1))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["connection"] == "close"
    assert "max_body_size" in response.json()["detail"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("http_version", "connection"), [("1.0", b"close"), ("1.1", b"close"), ("2", None), ("3", None)]
)
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_413_says_connection_close_on_http_1_only(
    http_version: str, connection: bytes | None, declared: bool
) -> None:
    # HTTP/1.x: the unread rest of the body would be parsed as the next request,
    # so the server must close. HTTP/2 and 3 forbid connection-specific headers
    # (RFC 9113, 8.2.2): there, a client rejects the whole response.
    app = body_echo_app(max_body_size=10)
    headers = [(b"content-length", b"100")] if declared else []
    scope, send = http_scope("POST", headers=headers, http_version=http_version), Sent()
    await app(scope, Body([b"x" * 100]), send)
    assert send.status == 413
    response_headers = dict(send.messages[0]["headers"])
    assert response_headers.get(b"connection") == connection


@pytest.mark.anyio
async def test_an_oversized_content_length_is_refused_before_reading_a_byte() -> None:
    app = body_echo_app(max_body_size=10)
    receive, send = Body([b"x" * 100]), Sent()
    scope = http_scope("POST", headers=[(b"content-length", b"100")])
    await app(scope, receive, send)
    assert send.status == 413
    assert receive.calls == 0


@pytest.mark.anyio
async def test_a_chunked_body_is_cut_off_at_the_limit_and_the_rest_is_not_read() -> None:
    app = body_echo_app(max_body_size=10)
    receive, send = Body([b"x" * 4] * 100), Sent()  # 400 bytes, no Content-Length
    await app(http_scope("POST"), receive, send)
    assert send.status == 413
    assert receive.calls == 3  # 4 + 4 + 4 = 12 > 10: the third chunk crosses the limit
    assert receive.bytes_taken == 12
    assert len(receive.chunks) == 97


@pytest.mark.anyio
async def test_a_content_length_that_lies_low_is_still_cut_off() -> None:
    app = body_echo_app(max_body_size=10)
    receive, send = Body([b"x" * 8] * 10), Sent()
    await app(http_scope("POST", headers=[(b"content-length", b"5")]), receive, send)
    assert send.status == 413
    assert receive.calls == 2


def test_max_body_size_none_lifts_the_limit() -> None:
    with TestClient(body_echo_app(max_body_size=None)) as client:
        response = client.post("/", content=b"x" * (DEFAULT_MAX_BODY_SIZE + 1))
    assert response.json() == {"length": DEFAULT_MAX_BODY_SIZE + 1}



_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
_spaces = st.sampled_from(["", " ", "\n", "\t \r\n"])


@given(_json_values, _spaces, _spaces)
def test_the_fast_json_decoder_reads_what_json_loads_reads(
    value: Any, before: str, after: str
) -> None:
    text = before + json.dumps(value) + after
    assert _decode_json(text) == json.loads(text)

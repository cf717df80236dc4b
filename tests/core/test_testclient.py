"""The in-process test client: builds scopes, feeds bodies, keeps cookies, runs the lifespan."""

from __future__ import annotations

from typing import Any

import pytest

from minimal_asgi import App, PlainTextResponse, RedirectResponse, Request, Response
from minimal_asgi.testing import AsyncTestClient, TestClient

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]


def echo_app() -> App:
    """An app whose endpoint describes the request it received."""
    app = App()

    async def echo(request: Request) -> dict[str, Any]:
        return {
            "method": request.method,
            "path": request.path,
            "query": request.url.query,
            "body": (await request.body()).decode(),
            "content_type": request.headers.get("content-type"),
            "headers": dict(request.headers.items()),
            "cookies": request.cookies,
        }

    app.add_route("/echo", echo, methods=ALL_METHODS)
    app.add_route("/echo/{rest:path}", echo, methods=ALL_METHODS)
    return app


@pytest.fixture
def client() -> Any:
    with TestClient(echo_app()) as client:
        yield client


# -- methods -------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
def test_each_method_helper_sends_its_method(client: TestClient, method: str) -> None:
    response = getattr(client, method)("/echo")
    assert response.status_code == 200
    assert response.json()["method"] == method.upper()


def test_head_sends_head_and_gets_no_body(client: TestClient) -> None:
    response = client.head("/echo")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0


def test_request_sends_any_method(client: TestClient) -> None:
    assert client.request("PATCH", "/echo").json()["method"] == "PATCH"


# -- what is sent -------------------------------------------------------------------------------
def test_content_sends_bytes_as_the_body(client: TestClient) -> None:
    assert client.post("/echo", content=b"raw bytes").json()["body"] == "raw bytes"


def test_content_encodes_str_as_utf8(client: TestClient) -> None:
    assert client.post("/echo", content="héllo").json()["body"] == "héllo"


def test_json_sends_a_json_body_and_content_type(client: TestClient) -> None:
    sent = client.post("/echo", json={"a": [1, 2]}).json()
    assert sent["content_type"] == "application/json"
    assert sent["body"] == '{"a": [1, 2]}'


def test_data_sends_an_urlencoded_form(client: TestClient) -> None:
    sent = client.post("/echo", data={"name": "Ada L", "tag": ["a", "b"]}).json()
    assert sent["content_type"] == "application/x-www-form-urlencoded"
    assert sent["body"] == "name=Ada+L&tag=a&tag=b"


def test_an_explicit_content_type_is_kept(client: TestClient) -> None:
    sent = client.post("/echo", json=[1], headers={"Content-Type": "application/vnd.x+json"}).json()
    assert sent["content_type"] == "application/vnd.x+json"


def test_a_body_gets_a_content_length(client: TestClient) -> None:
    assert client.post("/echo", content=b"12345").json()["headers"]["content-length"] == "5"


def test_headers_are_sent(client: TestClient) -> None:
    sent = client.get("/echo", headers={"X-Trace": "abc"}).json()
    assert sent["headers"]["x-trace"] == "abc"


def test_the_host_header_names_the_base_url(client: TestClient) -> None:
    assert client.get("/echo").json()["headers"]["host"] == "testserver"


def test_client_wide_headers_are_sent_on_every_request() -> None:
    with TestClient(echo_app(), headers={"Authorization": "Bearer t"}) as client:
        assert client.get("/echo").json()["headers"]["authorization"] == "Bearer t"
        assert client.get("/echo").json()["headers"]["authorization"] == "Bearer t"


def test_cookies_are_sent_with_one_request(client: TestClient) -> None:
    assert client.get("/echo", cookies={"theme": "dark"}).json()["cookies"] == {"theme": "dark"}
    assert client.get("/echo").json()["cookies"] == {}


def test_params_are_added_to_the_query_string(client: TestClient) -> None:
    sent = client.get("/echo?a=1", params={"tag": ["x", "y"], "q": "a b"}).json()
    assert sent["query"] == "a=1&tag=x&tag=y&q=a+b"


def test_a_percent_encoded_path_is_decoded_in_the_scope(client: TestClient) -> None:
    assert client.get("/echo/a%20b").json()["path"] == "/echo/a b"


def test_the_scope_names_the_scheme_and_client() -> None:
    app = App()

    @app.get("/")
    async def where(request: Request) -> dict[str, Any]:
        client = request.client
        return {"url": str(request.url), "client": [client.host, client.port] if client else None}

    with TestClient(app, base_url="https://api.example.com:8443", client=("10.1.2.3", 4000)) as c:
        assert c.get("/").json() == {
            "url": "https://api.example.com:8443/",
            "client": ["10.1.2.3", 4000],
        }


# -- the response -------------------------------------------------------------------------------
def test_the_response_exposes_status_headers_content_text_and_json() -> None:
    app = App()

    @app.get("/")
    async def endpoint() -> Response:
        return PlainTextResponse("héllo", status_code=201, headers={"X-Kind": "greeting"})

    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == 201
    assert response.reason_phrase == "Created"
    assert response.is_success
    assert response.headers["X-Kind"] == "greeting"
    assert response.content == "héllo".encode()
    assert response.text == "héllo"


def test_response_json_parses_the_body(client: TestClient) -> None:
    assert client.get("/echo").json()["method"] == "GET"


def test_response_text_uses_the_declared_charset() -> None:
    app = App()

    @app.get("/")
    async def endpoint() -> Response:
        return Response("café".encode("latin-1"), media_type="text/plain; charset=latin-1")

    with TestClient(app) as client:
        assert client.get("/").text == "café"


def test_raise_for_status_raises_on_an_error_status(client: TestClient) -> None:
    client.get("/echo").raise_for_status()
    with pytest.raises(AssertionError, match="404"):
        client.get("/missing").raise_for_status()


# -- redirects ----------------------------------------------------------------------------------
def redirect_app() -> App:
    app = echo_app()

    @app.post("/see-other")
    async def see_other() -> Response:
        return RedirectResponse("/echo", status_code=303)

    @app.post("/temporary")
    async def temporary() -> Response:
        return RedirectResponse("/echo", status_code=307)

    @app.get("/loop")
    async def loop() -> Response:
        return RedirectResponse("/loop")

    return app


def test_redirects_are_followed_by_default() -> None:
    with TestClient(redirect_app()) as client:
        response = client.post("/temporary", content=b"payload")
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [307]
    assert response.url == "http://testserver/echo"


def test_a_307_redirect_keeps_the_method_and_body() -> None:
    with TestClient(redirect_app()) as client:
        sent = client.post("/temporary", content=b"payload").json()
    assert (sent["method"], sent["body"]) == ("POST", "payload")


def test_a_303_redirect_turns_a_post_into_a_get_without_a_body() -> None:
    with TestClient(redirect_app()) as client:
        sent = client.post("/see-other", json={"a": 1}).json()
    assert (sent["method"], sent["body"], sent["content_type"]) == ("GET", "", None)


def test_follow_redirects_false_returns_the_redirect() -> None:
    with TestClient(redirect_app()) as client:
        response = client.post("/see-other", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/echo"


def test_follow_redirects_can_be_turned_off_for_the_client() -> None:
    with TestClient(redirect_app(), follow_redirects=False) as client:
        assert client.post("/see-other").status_code == 303


def test_a_redirect_loop_raises() -> None:
    with TestClient(redirect_app()) as client, pytest.raises(RuntimeError, match="redirects"):
        client.get("/loop")


# -- cookies -------------------------------------------------------------------------------------
def cookie_app() -> App:
    app = echo_app()

    @app.post("/login")
    async def login() -> Response:
        response = PlainTextResponse("in")
        response.set_cookie("session", "s1")
        return response

    @app.post("/logout")
    async def logout() -> Response:
        response = PlainTextResponse("out")
        response.delete_cookie("session")
        return response

    return app


def test_response_cookies_are_the_cookies_it_set() -> None:
    with TestClient(cookie_app()) as client:
        assert client.post("/login").cookies == {"session": "s1"}


def test_the_cookie_jar_sends_set_cookies_on_later_requests() -> None:
    with TestClient(cookie_app()) as client:
        client.post("/login")
        assert client.cookies == {"session": "s1"}
        assert client.get("/echo").json()["cookies"] == {"session": "s1"}
        assert client.get("/echo").json()["cookies"] == {"session": "s1"}


def test_a_deleted_cookie_leaves_the_jar() -> None:
    with TestClient(cookie_app()) as client:
        client.post("/login")
        client.post("/logout")
        assert client.cookies == {}
        assert client.get("/echo").json()["cookies"] == {}


def test_a_secure_cookie_is_not_kept_over_plain_http_to_an_untrusted_host() -> None:
    with TestClient(cookie_app(), base_url="http://example.com") as client:
        client.post("/login")
        assert client.cookies == {}


def test_a_secure_cookie_is_kept_over_https() -> None:
    with TestClient(cookie_app(), base_url="https://example.com") as client:
        client.post("/login")
        assert client.cookies == {"session": "s1"}


def test_cookies_given_to_the_client_start_the_jar() -> None:
    with TestClient(echo_app(), cookies={"theme": "dark"}) as client:
        assert client.get("/echo").json()["cookies"] == {"theme": "dark"}


# -- the lifespan ----------------------------------------------------------------------------------
def lifespan_app(log: list[str]) -> App:
    app = App(
        on_startup=[lambda: log.append("startup")],
        on_shutdown=[lambda: log.append("shutdown")],
    )

    @app.get("/")
    async def endpoint() -> str:
        log.append("request")
        return "ok"

    return app


def test_the_lifespan_runs_around_a_with_block() -> None:
    log: list[str] = []
    with TestClient(lifespan_app(log)) as client:
        assert log == ["startup"]
        client.get("/")
    assert log == ["startup", "request", "shutdown"]


def test_without_with_startup_runs_before_the_first_request_and_shutdown_on_close() -> None:
    log: list[str] = []
    client = TestClient(lifespan_app(log))
    assert log == []
    client.get("/")
    client.get("/")
    assert log == ["startup", "request", "request"]
    client.close()
    assert log == ["startup", "request", "request", "shutdown"]


def test_closing_a_client_that_never_started_does_nothing() -> None:
    log: list[str] = []
    TestClient(lifespan_app(log)).close()
    assert log == []


@pytest.mark.anyio
async def test_the_async_client_runs_the_lifespan_around_async_with() -> None:
    log: list[str] = []
    async with AsyncTestClient(lifespan_app(log)) as client:
        assert log == ["startup"]
        assert (await client.get("/")).text == "ok"
    assert log == ["startup", "request", "shutdown"]


@pytest.mark.anyio
async def test_the_async_client_without_with_starts_on_first_request_and_stops_on_aclose() -> None:
    log: list[str] = []
    client = AsyncTestClient(lifespan_app(log))
    assert (await client.get("/")).text == "ok"
    assert log == ["startup", "request"]
    await client.aclose()
    assert log == ["startup", "request", "shutdown"]


@pytest.mark.anyio
async def test_the_async_client_has_the_same_request_helpers() -> None:
    async with AsyncTestClient(echo_app()) as client:
        for method in ["get", "post", "put", "patch", "delete", "options"]:
            response = await getattr(client, method)("/echo")
            assert response.json()["method"] == method.upper()
        assert (await client.head("/echo")).content == b""
        assert (await client.request("PUT", "/echo", json={"a": 1})).json()["body"] == '{"a": 1}'


def test_an_app_that_sends_no_response_is_reported() -> None:
    async def silent(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            assert message["type"] == "lifespan.shutdown"
            await send({"type": "lifespan.shutdown.complete"})

    with TestClient(silent) as client, pytest.raises(RuntimeError, match="without sending"):
        client.get("/")

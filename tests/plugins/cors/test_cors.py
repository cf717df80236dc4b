"""The CORS plugin: the server side of the Fetch standard's CORS protocol.

https://fetch.spec.whatwg.org/#http-cors-protocol - simple requests get
``Access-Control-Allow-Origin`` (and friends) added; preflights (``OPTIONS`` with
``Origin`` and ``Access-Control-Request-Method``) are answered by the plugin.
"""

from __future__ import annotations

from typing import Any

import pytest

from minimal_asgi import App, ConfigurationError, JSONResponse, Response
from minimal_asgi.plugins import load_plugin
from minimal_asgi.testing import TestClient, TestResponse
from minimal_asgi_cors import CORS, CORSMiddleware

A = "https://a.example"
B = "https://b.example"


class Served:
    """An app with the CORS plugin, and a count of the calls that reached an endpoint."""

    def __init__(self, **options: Any) -> None:
        self.calls = 0
        self.app = App(plugins=[CORS(**options)])
        app = self.app

        @app.route("/items", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        async def items() -> dict[str, str]:
            self.calls += 1
            return {"items": "all"}

        @app.get("/negotiated")
        async def negotiated() -> Response:
            self.calls += 1
            return JSONResponse({}, headers={"vary": "Accept-Encoding"})

        @app.get("/per-origin")
        async def per_origin() -> Response:
            self.calls += 1
            return JSONResponse({}, headers={"vary": "origin"})

        @app.get("/numbers/{n:int}")
        async def number(n: int, q: int) -> dict[str, int]:
            return {"n": n, "q": q}

        @app.get("/boom")
        async def boom() -> dict[str, str]:
            raise RuntimeError("bug")

    def request(
        self, method: str, path: str = "/items", headers: dict[str, str] | None = None
    ) -> TestResponse:
        with TestClient(self.app, raise_server_exceptions=False) as client:
            return client.request(method, path, headers=headers or {})

    def get(self, path: str = "/items", origin: str | None = None) -> TestResponse:
        return self.request("GET", path, {"origin": origin} if origin else {})

    def preflight(
        self,
        method: str,
        origin: str = A,
        path: str = "/items",
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        asking = {"origin": origin, "access-control-request-method": method, **(headers or {})}
        return self.request("OPTIONS", path, asking)


def cors_headers(response: TestResponse) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def vary(response: TestResponse) -> list[str]:
    return [v.strip().lower() for v in response.headers.get("vary", "").split(",") if v.strip()]


def listed(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


# -- configuration, checked before the app serves -------------------------------------------
def test_star_with_credentials_is_refused_at_startup() -> None:
    with pytest.raises(ConfigurationError, match="allow_origin_regex"):
        CORS(allow_origins=["*"], allow_credentials=True)


@pytest.mark.parametrize(
    "origin", ["https://a.example/", "https://a.example/api", "a.example", "*.a.example"]
)
def test_a_string_that_is_not_an_origin_is_refused_at_startup(origin: str) -> None:
    with pytest.raises(ConfigurationError, match="is not an origin"):
        CORS(allow_origins=[origin])


@pytest.mark.parametrize(
    "option", ["allow_origins", "allow_methods", "allow_headers", "expose_headers"]
)
def test_a_string_where_a_list_belongs_is_refused(option: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{option} takes a list"):
        CORS(**{option: "X-Token" if "headers" in option else "GET"})


def test_a_negative_max_age_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="max_age"):
        CORS(allow_origins=[A], max_age=-1)


# -- simple requests ---------------------------------------------------------------------------
def test_an_allowed_origin_is_echoed() -> None:
    response = Served(allow_origins=[A, B]).get(origin=B)
    assert response.headers["access-control-allow-origin"] == B


def test_a_simple_request_from_an_allowed_origin_reaches_the_endpoint() -> None:
    served = Served(allow_origins=[A])
    assert served.get(origin=A).json() == {"items": "all"}
    assert served.calls == 1


def test_a_disallowed_simple_request_reaches_the_endpoint_without_cors_headers() -> None:
    served = Served(allow_origins=[A], allow_credentials=True, expose_headers=["X-Total"])
    response = served.get(origin=B)
    assert response.status_code == 200
    assert served.calls == 1  # the browser, not the server, withholds the answer
    assert cors_headers(response) == {}


def test_a_request_without_origin_gets_no_cors_headers() -> None:
    response = Served(allow_origins=[A]).get()
    assert cors_headers(response) == {}


def test_star_answers_any_origin_with_a_star() -> None:
    response = Served(allow_origins=["*"]).get(origin="https://anyone.example")
    assert response.headers["access-control-allow-origin"] == "*"


def test_the_null_origin_is_not_covered_by_star() -> None:
    response = Served(allow_origins=["*"]).get(origin="null")
    assert "access-control-allow-origin" not in response.headers


def test_the_null_origin_is_allowed_when_listed() -> None:
    response = Served(allow_origins=["null"]).get(origin="null")
    assert response.headers["access-control-allow-origin"] == "null"


def test_an_origin_regex_allows_the_origins_it_matches() -> None:
    served = Served(allow_origin_regex=r"https://.*\.example\.com")
    response = served.get(origin="https://app.example.com")
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.com.attacker.net",  # a prefix match is not enough
        "https://app.example.com:8443",
        "http://app.example.com",
        "https://example.com",
    ],
)
def test_an_origin_regex_must_match_the_whole_origin(origin: str) -> None:
    response = Served(allow_origin_regex=r"https://.*\.example\.com").get(origin=origin)
    assert "access-control-allow-origin" not in response.headers


def test_exposed_headers_are_listed_on_allowed_responses() -> None:
    response = Served(allow_origins=[A], expose_headers=["X-Total", "X-Page"]).get(origin=A)
    assert response.headers["access-control-expose-headers"] == "X-Total, X-Page"


def test_credentials_echo_the_origin_and_say_so() -> None:
    response = Served(allow_origin_regex=r"https://.*\.example", allow_credentials=True).get(
        origin=A
    )
    assert response.headers["access-control-allow-origin"] == A
    assert response.headers["access-control-allow-credentials"] == "true"


def test_without_credentials_allow_credentials_is_not_sent() -> None:
    response = Served(allow_origins=[A]).get(origin=A)
    assert "access-control-allow-credentials" not in response.headers


# -- Vary: Origin ------------------------------------------------------------------------------
@pytest.mark.parametrize("origin", [A, B, None])
def test_responses_vary_on_origin_allowed_or_not_or_absent(origin: str | None) -> None:
    assert vary(Served(allow_origins=[A]).get(origin=origin)) == ["origin"]


@pytest.mark.parametrize("origin", [A, "null", None])
def test_star_responses_vary_on_origin_too(origin: str | None) -> None:
    # With "*" the answer still depends on the Origin header: no CORS headers
    # without one, none for "null". A cache must keep those apart.
    assert vary(Served(allow_origins=["*"]).get(origin=origin)) == ["origin"]


def test_origin_is_added_to_the_endpoints_own_vary() -> None:
    response = Served(allow_origins=[A]).get("/negotiated", origin=A)
    assert response.headers["vary"] == "Accept-Encoding, Origin"


def test_origin_is_not_repeated_in_a_vary_that_has_it() -> None:
    response = Served(allow_origins=[A]).get("/per-origin", origin=A)
    assert vary(response) == ["origin"]


# -- preflights --------------------------------------------------------------------------------
def test_an_allowed_preflight_is_answered_204_without_reaching_the_endpoint() -> None:
    served = Served(allow_origins=[A], allow_methods=["GET", "PUT"])
    response = served.preflight("PUT")
    assert response.status_code == 204
    assert response.content == b""
    assert served.calls == 0


def test_an_allowed_preflight_names_the_origin_and_the_allowed_methods() -> None:
    response = Served(allow_origins=[A], allow_methods=["GET", "put"]).preflight("PUT")
    assert response.headers["access-control-allow-origin"] == A
    assert listed(response.headers["access-control-allow-methods"]) == {"get", "put"}


def test_a_preflight_varies_on_origin_and_the_request_headers() -> None:
    response = Served(allow_origins=[A], allow_methods=["PUT"]).preflight("PUT")
    assert vary(response) == [
        "origin", "access-control-request-method", "access-control-request-headers"
    ]


def test_max_age_says_how_long_a_preflight_may_be_cached() -> None:
    default = Served(allow_origins=[A]).preflight("GET")
    configured = Served(allow_origins=[A], max_age=30).preflight("GET")
    assert default.headers["access-control-max-age"] == "600"
    assert configured.headers["access-control-max-age"] == "30"


def test_an_allowed_preflight_with_credentials_says_so() -> None:
    response = Served(allow_origins=[A], allow_credentials=True).preflight("GET")
    assert response.headers["access-control-allow-origin"] == A
    assert response.headers["access-control-allow-credentials"] == "true"


def test_requested_headers_are_matched_case_insensitively_and_echoed() -> None:
    response = Served(allow_origins=[A], allow_headers=["x-token", "X-Trace"]).preflight(
        "GET", headers={"access-control-request-headers": "X-Token, x-trace"}
    )
    assert response.status_code == 204
    assert listed(response.headers["access-control-allow-headers"]) == {"x-token", "x-trace"}


def test_safelisted_headers_are_allowed_without_listing() -> None:
    response = Served(allow_origins=[A]).preflight(
        "GET",
        headers={
            "access-control-request-headers": "Accept, Accept-Language, Content-Language, "
            "Content-Type"
        },
    )
    assert response.status_code == 204


def test_star_headers_allow_any_requested_header() -> None:
    response = Served(allow_origins=[A], allow_headers=["*"], allow_credentials=True).preflight(
        "GET", headers={"access-control-request-headers": "X-Anything"}
    )
    # Echoed rather than "*", which a browser ignores on a credentialed request.
    assert response.headers["access-control-allow-headers"] == "x-anything"


def test_star_methods_allow_the_standard_methods() -> None:
    served = Served(allow_origins=[A], allow_methods=["*"])
    assert [served.preflight(m).status_code for m in ("DELETE", "PATCH", "PUT")] == [204] * 3


def test_a_preflight_for_a_path_without_a_route_is_still_answered() -> None:
    assert Served(allow_origins=[A]).preflight("GET", path="/nowhere").status_code == 204


def test_options_without_a_request_method_is_not_a_preflight() -> None:
    response = Served(allow_origins=[A]).request("OPTIONS", headers={"origin": A})
    assert response.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    assert response.headers["access-control-allow-origin"] == A
    assert "access-control-allow-methods" not in response.headers


# -- refused preflights ------------------------------------------------------------------------
# kind -> (requested method, origin, requested headers, what the answer names)
REFUSALS = {
    "origin": ("GET", B, None, "origin 'https://b.example'"),
    "method": ("DELETE", A, None, "method 'DELETE'"),
    "header": ("GET", A, "X-Token, X-Secret", "header(s) x-secret"),
    # A browser upper-cases only the six standard methods and compares the answer
    # byte for byte, so "patch" is not the allowed "PATCH".
    "method-case": ("patch", A, None, "method 'patch'"),
}


def _refused(kind: str) -> tuple[Served, TestResponse]:
    served = Served(allow_origins=[A], allow_methods=["GET", "PATCH"], allow_headers=["X-Token"])
    method, origin, requested, _ = REFUSALS[kind]
    headers = {"access-control-request-headers": requested} if requested else {}
    return served, served.preflight(method, origin, headers=headers)


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_a_refused_preflight_never_reaches_the_endpoint(kind: str) -> None:
    served, response = _refused(kind)
    assert response.status_code == 400
    assert served.calls == 0


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_a_refused_preflight_gets_no_cors_headers(kind: str) -> None:
    _, response = _refused(kind)
    assert cors_headers(response) == {}


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_a_refused_preflight_says_what_was_refused(kind: str) -> None:
    _, response = _refused(kind)
    assert response.headers["content-type"] == "application/problem+json"
    assert REFUSALS[kind][3] in response.json()["detail"]


def test_a_refused_preflight_still_varies() -> None:
    _, response = _refused("origin")
    assert "origin" in vary(response)


# -- Private Network Access --------------------------------------------------------------------
def test_private_network_access_is_not_granted_by_default() -> None:
    response = Served(allow_origins=[A]).preflight(
        "GET", headers={"access-control-request-private-network": "true"}
    )
    assert "access-control-allow-private-network" not in response.headers


def test_private_network_access_is_granted_when_switched_on() -> None:
    response = Served(allow_origins=[A], allow_private_network=True).preflight(
        "GET", headers={"access-control-request-private-network": "true"}
    )
    assert response.headers["access-control-allow-private-network"] == "true"
    assert "access-control-request-private-network" in vary(response)


def test_private_network_access_is_granted_only_when_asked() -> None:
    response = Served(allow_origins=[A], allow_private_network=True).preflight("GET")
    assert "access-control-allow-private-network" not in response.headers


# -- error responses carry the headers too ---------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("POST", "/negotiated", 405),
        ("GET", "/numbers/3", 422),  # the query parameter q is missing
        ("GET", "/boom", 500),
    ],
)
def test_error_responses_carry_the_cors_headers(method: str, path: str, status: int) -> None:
    response = Served(allow_origins=[A]).request(method, path, {"origin": A})
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == A
    assert vary(response) == ["origin"]


# -- finding it by name, and using the middleware directly --------------------------------------
def test_the_plugin_is_found_by_name_with_its_options() -> None:
    app = App(plugins=[load_plugin("cors", allow_origins=[A])])
    with TestClient(app) as client:
        response = client.get("/nowhere", headers={"origin": A})
    assert response.headers["access-control-allow-origin"] == A


def test_the_plugin_by_name_without_options_allows_no_origin() -> None:
    app = App(plugins=["cors"])
    with TestClient(app) as client:
        response = client.get("/nowhere", headers={"origin": A})
    assert "access-control-allow-origin" not in response.headers


def test_the_middleware_can_be_added_directly_with_the_same_options() -> None:
    app = App()
    app.add_middleware(CORSMiddleware, allow_origins=[A])
    with TestClient(app) as client:
        response = client.get("/nowhere", headers={"origin": A})
    assert response.headers["access-control-allow-origin"] == A

"""Two small core hooks that auth plugins build on: a dependency may ask for the
connection of either kind (``HTTPConnection``), and may describe the
credentials it checks to the OpenAPI document (``OpenAPISecurity``)."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from minimal_asgi import (
    App,
    ConfigurationError,
    Depends,
    HTTPConnection,
    HTTPException,
    OpenAPISecurity,
    Request,
    WebSocket,
    WebSocketDisconnect,
)
from minimal_asgi.testing import TestClient


def caller(connection: HTTPConnection) -> str:
    token = connection.headers.get("x-token")
    if token is None:
        raise HTTPException(401, "no token")
    return f"{token} over {connection.scope['type']}"


def test_one_dependency_reads_the_connection_on_http_and_websocket_routes() -> None:
    app = App()

    @app.get("/who")
    async def who(name: str = Depends(caller)) -> str:
        return name

    @app.websocket("/who")
    async def who_ws(websocket: WebSocket, name: str = Depends(caller)) -> None:
        await websocket.accept()
        await websocket.send_text(name)
        await websocket.close()

    with TestClient(app) as client:
        assert client.get("/who", headers={"x-token": "t"}).text == "t over http"
        assert client.get("/who").status_code == 401
        with client.websocket_connect("/who", headers={"x-token": "t"}) as ws:
            assert ws.receive_text() == "t over websocket"
        with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/who"):
            pass
        assert info.value.code == 1008


def test_the_connection_is_the_request_itself_on_http_routes() -> None:
    app = App()
    seen: list[Any] = []

    def remember(connection: HTTPConnection) -> None:
        seen.append(connection)

    @app.get("/", dependencies=[remember])
    async def home(request: Request) -> str:
        seen.append(request)
        return "ok"

    with TestClient(app) as client:
        client.get("/")
    assert seen[0] is seen[1]


BEARER = {"bearer": {"type": "http", "scheme": "bearer"}}
KEY = {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}


def declared(security: OpenAPISecurity) -> Any:
    def dependency() -> None:
        return None

    dependency.openapi_security = security  # type: ignore[attr-defined]
    return dependency


def test_a_dependency_puts_its_schemes_and_requirements_in_the_document() -> None:
    signed_in = declared(OpenAPISecurity(schemes={**BEARER, **KEY},
                                         requirements=[{"bearer": []}, {"key": []}]))
    app = App()

    @app.get("/private", dependencies=[signed_in])
    async def private() -> str:
        return "x"

    @app.get("/public")
    async def public() -> str:
        return "x"

    document = app.openapi()
    validate(document)
    assert document["components"]["securitySchemes"] == {**BEARER, **KEY}
    assert document["paths"]["/private"]["get"]["security"] == [{"bearer": []}, {"key": []}]
    assert "security" not in document["paths"]["/public"]["get"]


def test_the_same_schemes_twice_refine_each_other_scheme_for_scheme() -> None:
    signed_in = declared(OpenAPISecurity(schemes={**BEARER, **KEY},
                                         requirements=[{"bearer": []}, {"key": []}]))
    scoped = declared(OpenAPISecurity(schemes={**BEARER, **KEY},
                                      requirements=[{"bearer": ["w"]}, {"key": ["w"]}]))
    app = App()

    @app.post("/write", dependencies=[signed_in, scoped])
    async def write(_: None = Depends(signed_in)) -> str:
        return "x"

    operation = app.openapi()["paths"]["/write"]["post"]
    assert operation["security"] == [{"bearer": ["w"]}, {"key": ["w"]}]


def test_different_schemes_are_both_needed() -> None:
    app = App()
    both = [declared(OpenAPISecurity(schemes=BEARER, requirements=[{"bearer": []}])),
            declared(OpenAPISecurity(schemes=KEY, requirements=[{"key": []}]))]

    @app.get("/both", dependencies=both)
    async def endpoint() -> str:
        return "x"

    assert app.openapi()["paths"]["/both"]["get"]["security"] == [{"bearer": [], "key": []}]


def test_one_scheme_name_described_two_ways_is_a_configuration_error() -> None:
    app = App()
    clash = [declared(OpenAPISecurity(schemes=BEARER, requirements=[{"bearer": []}])),
             declared(OpenAPISecurity(schemes={"bearer": {"type": "http", "scheme": "basic"}},
                                      requirements=[{"bearer": []}]))]

    @app.get("/clash", dependencies=clash)
    async def endpoint() -> str:
        return "x"

    with pytest.raises(ConfigurationError, match="'bearer'"):
        app.openapi()

"""WebSockets: routes, the WebSocket object, DI, errors, and the test client.

Most tests talk to the app in-process through ``client.websocket_connect``;
the last ones run an echo app under uvicorn and talk to it with the
``websockets`` library over a real socket on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from minimal_asgi import (
    App,
    ConfigurationError,
    Cookie,
    Depends,
    Header,
    HTTPException,
    Request,
    Router,
    WebSocket,
    WebSocketDisconnect,
)
from minimal_asgi.testing import AsyncTestClient, TestClient
from minimal_asgi.types import Receive, Scope, Send
from minimal_asgi.websockets import WebSocketState
from tests.core.test_uvicorn import serving
from tests.types import ClientFactory


def echo_app() -> App:
    app = App()

    @app.websocket("/text")
    async def text(websocket: WebSocket) -> None:
        await websocket.accept()
        async for data in websocket.iter_text():
            await websocket.send_text(data)

    @app.websocket("/bytes")
    async def binary(websocket: WebSocket) -> None:
        await websocket.accept()
        async for data in websocket.iter_bytes():
            await websocket.send_bytes(data)

    @app.websocket("/json")
    async def json_echo(websocket: WebSocket) -> None:
        await websocket.accept()
        async for data in websocket.iter_json():
            await websocket.send_json({"echo": data})

    return app


@pytest.fixture
def echo_client(client_for: ClientFactory) -> TestClient:
    return client_for(echo_app())


def expect_close(client: TestClient, path: str, **kwargs: Any) -> WebSocketDisconnect:
    """Connect, wait for the app to close, and return how it closed."""
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect(path, **kwargs) as ws:
            ws.receive()
    return info.value


# -- messages ---------------------------------------------------------------------------


def test_text_messages_echo(echo_client: TestClient) -> None:
    with echo_client.websocket_connect("/text") as ws:
        ws.send_text("hello")
        ws.send_text("wörld")
        assert ws.receive_text() == "hello"
        assert ws.receive_text() == "wörld"


def test_binary_messages_echo(echo_client: TestClient) -> None:
    with echo_client.websocket_connect("/bytes") as ws:
        ws.send_bytes(b"\x00\xff")
        assert ws.receive_bytes() == b"\x00\xff"


def test_json_messages_echo(echo_client: TestClient) -> None:
    with echo_client.websocket_connect("/json") as ws:
        ws.send_json({"n": 1, "tags": ["a"]})
        assert ws.receive_json() == {"echo": {"n": 1, "tags": ["a"]}}


def test_a_binary_message_where_text_is_expected_closes_with_1003(
    echo_client: TestClient,
) -> None:
    with echo_client.websocket_connect("/text") as ws:
        ws.send_bytes(b"not text")
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert info.value.code == 1003
    assert "expected a text message" in info.value.reason


def test_a_message_that_is_not_json_closes_with_1007(echo_client: TestClient) -> None:
    with echo_client.websocket_connect("/json") as ws:
        ws.send_text("{not json")
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
    assert info.value.code == 1007
    assert "not valid JSON" in info.value.reason


# -- the connection, as a Request sees it ------------------------------------------------


def test_the_websocket_shows_url_headers_query_cookies_and_client() -> None:
    app = App()

    @app.websocket("/rooms/{room}", name="room")
    async def room(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json(
            {
                "url": str(websocket.url),
                "path_params": websocket.path_params,
                "header": websocket.headers["x-team"],
                "query": websocket.query_params["q"],
                "cookie": websocket.cookies["session"],
                "client": list(websocket.client or ()),
                "url_for": websocket.url_for("room", room="b"),
            }
        )

    with TestClient(app, cookies={"session": "s1"}) as client:
        with client.websocket_connect("/rooms/a?q=1", headers={"x-team": "red"}) as ws:
            assert ws.receive_json() == {
                "url": "ws://testserver/rooms/a?q=1",
                "path_params": {"room": "a"},
                "header": "red",
                "query": "1",
                "cookie": "s1",
                "client": ["testclient", 50000],
                "url_for": "ws://testserver/rooms/b",
            }


def test_the_url_scheme_is_wss_behind_https() -> None:
    app = App()

    @app.websocket("/ws")
    async def ws_url(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(str(websocket.url))

    with TestClient(app, base_url="https://example.org") as client:
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_text() == "wss://example.org/ws"


def test_the_lifespan_state_reaches_the_websocket() -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: App) -> AsyncIterator[dict[str, Any]]:
        yield {"greeting": "hi"}

    app = App(lifespan=lifespan)

    @app.websocket("/ws")
    async def greet(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.state.greeting)

    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == "hi"


# -- dependency injection ----------------------------------------------------------------


def test_path_parameters_are_converted_and_passed_by_name() -> None:
    app = App()

    @app.websocket("/rooms/{room_id:int}")
    async def room(websocket: WebSocket, room_id: int) -> None:
        await websocket.accept()
        await websocket.send_json({"room_id": room_id, "type": type(room_id).__name__})

    with TestClient(app) as client, client.websocket_connect("/rooms/7") as ws:
        assert ws.receive_json() == {"room_id": 7, "type": "int"}


def test_query_header_and_cookie_parameters_are_read_from_the_handshake() -> None:
    app = App()

    @app.websocket("/ws")
    async def params(
        websocket: WebSocket,
        limit: int,
        x_client: Annotated[str, Header()],
        session: str = Cookie(),
    ) -> None:
        await websocket.accept()
        await websocket.send_json({"limit": limit, "client": x_client, "session": session})

    with TestClient(app) as client:
        with client.websocket_connect(
            "/ws?limit=5", headers={"x-client": "cli"}, cookies={"session": "abc"}
        ) as ws:
            assert ws.receive_json() == {"limit": 5, "client": "cli", "session": "abc"}


def test_invalid_input_closes_with_1008_and_the_errors_as_reason() -> None:
    app = App()

    @app.websocket("/ws")
    async def needs_limit(websocket: WebSocket, limit: int) -> None:
        await websocket.accept()

    with TestClient(app) as client:
        closed = expect_close(client, "/ws?limit=many")
    assert closed.code == 1008
    assert closed.reason.startswith("query.limit: ")


def test_a_dependency_can_ask_for_the_websocket_too() -> None:
    app = App()

    def token(websocket: WebSocket) -> str:
        return websocket.query_params.get("token", "none")

    @app.websocket("/ws")
    async def whoami(websocket: WebSocket, token: str = Depends(token)) -> None:
        await websocket.accept()
        await websocket.send_text(token)

    with TestClient(app) as client, client.websocket_connect("/ws?token=t1") as ws:
        assert ws.receive_text() == "t1"


class Clock:
    now = "12:00"


def test_a_provided_type_is_injected_by_annotation() -> None:
    app = App()
    app.provide(Clock, Clock)

    @app.websocket("/ws")
    async def tick(websocket: WebSocket, clock: Clock) -> None:
        await websocket.accept()
        await websocket.send_text(clock.now)

    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == "12:00"


def test_a_generator_dependency_is_torn_down_after_the_handler_returns() -> None:
    events: list[str] = []

    async def session() -> AsyncIterator[str]:
        events.append("open session")
        yield "session"
        events.append("close session")

    app = App()

    @app.websocket("/ws")
    async def handler(websocket: WebSocket, db: str = Depends(session)) -> None:
        await websocket.accept()
        await websocket.send_text(db)
        events.append("handler returns")

    with TestClient(app) as client:
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_text() == "session"
        assert events == ["open session", "handler returns", "close session"]


def test_a_generator_dependency_receives_the_disconnect_that_ended_the_handler() -> None:
    seen: list[BaseException] = []

    def session() -> Iterator[None]:
        try:
            yield
        except BaseException as exc:
            seen.append(exc)
            raise

    app = App()

    @app.websocket("/ws")
    async def handler(websocket: WebSocket, db: None = Depends(session)) -> None:
        await websocket.accept()
        await websocket.receive_text()  # the client leaves instead

    with TestClient(app) as client:
        with client.websocket_connect("/ws") as ws:
            ws.close(4001, "bye")
    [exc] = seen
    assert isinstance(exc, WebSocketDisconnect)
    assert (exc.code, exc.reason) == (4001, "bye")


def test_a_guard_that_raises_refuses_the_handshake_with_1008() -> None:
    def require_token(token: str = "") -> None:
        if token != "secret":
            raise HTTPException(401, "a valid token is required")

    app = App()

    @app.websocket("/ws", dependencies=[Depends(require_token)])
    async def private(websocket: WebSocket) -> None:
        await websocket.accept()

    with TestClient(app) as client:
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect("/ws?token=wrong"):
                pass  # pragma: no cover - never accepted
    assert (info.value.code, info.value.reason) == (1008, "a valid token is required")


def test_a_websocket_endpoint_asking_for_a_request_is_a_startup_error() -> None:
    app = App()

    @app.websocket("/ws")
    async def wrong(request: Request) -> None: ...

    with pytest.raises(ConfigurationError, match="annotate it `WebSocket` instead"):
        app.build()


@dataclass
class ChatMessage:
    text: str


def test_a_websocket_endpoint_with_a_json_body_is_a_startup_error() -> None:
    app = App()

    @app.websocket("/ws")
    async def wrong(websocket: WebSocket, message: ChatMessage) -> None: ...

    with pytest.raises(ConfigurationError, match=r"receive_json\(\)"):
        app.build()


def test_an_http_endpoint_whose_dependency_asks_for_a_websocket_is_a_startup_error() -> None:
    def room(websocket: WebSocket) -> str:
        return websocket.path

    app = App()

    @app.get("/rooms")
    async def rooms(name: str = Depends(room)) -> str:
        return name

    with pytest.raises(ConfigurationError, match=r"room .*asks for a WebSocket.*@app.websocket"):
        app.build()


def test_a_sync_websocket_endpoint_is_a_startup_error() -> None:
    app = App()

    @app.websocket("/ws")
    def blocking(websocket: WebSocket) -> None: ...

    with pytest.raises(ConfigurationError, match="must be `async def`"):
        app.build()


# -- subprotocols and the handshake ------------------------------------------------------


def test_accept_picks_a_subprotocol_the_client_offered() -> None:
    app = App()

    @app.websocket("/ws")
    async def negotiate(websocket: WebSocket) -> None:
        chosen = next(p for p in websocket.subprotocols if p.startswith("v2."))
        await websocket.accept(subprotocol=chosen)
        await websocket.send_text(str(websocket.subprotocols))

    with TestClient(app) as client:
        with client.websocket_connect("/ws", subprotocols=["v2.chat", "v1.chat"]) as ws:
            assert ws.accepted_subprotocol == "v2.chat"
            assert ws.receive_text() == "['v2.chat', 'v1.chat']"


def test_accepting_a_subprotocol_the_client_did_not_offer_is_an_error() -> None:
    app = App()

    @app.websocket("/ws")
    async def wrong(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol="graphql-ws")

    with TestClient(app) as client:
        with pytest.raises(ValueError, match="was not offered"):
            with client.websocket_connect("/ws", subprotocols=["chat"]):
                pass  # pragma: no cover - never accepted


def test_accept_headers_reach_the_client() -> None:
    app = App()

    @app.websocket("/ws")
    async def with_headers(websocket: WebSocket) -> None:
        await websocket.accept(headers={"x-server": "minimal_asgi"})

    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        assert ws.accepted_headers["x-server"] == "minimal_asgi"


def test_a_handler_that_never_accepts_refuses_the_handshake() -> None:
    app = App()

    @app.websocket("/ws")
    async def silent(websocket: WebSocket) -> None:
        return None

    with TestClient(app) as client:
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect("/ws"):
                pass  # pragma: no cover - never accepted
    assert info.value.code == 1000


def test_a_handler_that_returns_without_closing_is_closed_with_1000() -> None:
    app = App()

    @app.websocket("/ws")
    async def hello(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")

    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        assert ws.receive_text() == "hello"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert info.value.code == 1000


# -- routing -----------------------------------------------------------------------------


def test_an_unknown_websocket_path_is_refused(echo_client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as info:
        with echo_client.websocket_connect("/nowhere"):
            pass  # pragma: no cover - never accepted
    assert info.value.code == 1008
    assert info.value.reason == "No WebSocket route matches /nowhere"


def test_a_websocket_to_an_http_only_path_is_refused() -> None:
    app = App()

    @app.get("/items")
    async def items() -> list[int]:
        return []

    with TestClient(app) as client:
        with pytest.raises(WebSocketDisconnect):
            with client.websocket_connect("/items"):
                pass  # pragma: no cover - never accepted


def test_an_http_request_to_a_websocket_only_path_is_404(echo_client: TestClient) -> None:
    assert echo_client.get("/text").status_code == 404
    assert echo_client.post("/text").status_code == 404


def test_http_and_websocket_routes_share_a_path_and_allow_lists_only_http() -> None:
    app = App()

    @app.get("/live")
    async def page() -> str:
        return "the page"

    @app.websocket("/live")
    async def live(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("the feed")

    with TestClient(app) as client:
        assert client.get("/live").text == "the page"
        refused = client.post("/live")
        assert refused.status_code == 405
        assert refused.headers["allow"] == "GET, HEAD, OPTIONS"
        with client.websocket_connect("/live") as ws:
            assert ws.receive_text() == "the feed"


def test_an_http_request_with_the_method_websocket_does_not_reach_a_websocket_route(
    echo_client: TestClient,
) -> None:
    assert echo_client.request("WEBSOCKET", "/text").status_code == 404


def test_included_routers_prefix_websocket_routes_and_url_path_for_finds_them() -> None:
    v1 = Router()

    @v1.websocket("/rooms/{room}")
    async def room(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.url_for("room", room=room))

    app = App()
    app.include_router(v1, prefix="/v1")

    assert app.url_path_for("room", room="a") == "/v1/rooms/a"
    with TestClient(app) as client, client.websocket_connect("/v1/rooms/a") as ws:
        assert ws.receive_text() == "ws://testserver/v1/rooms/a"


def test_a_router_guard_applies_to_its_websocket_routes() -> None:
    def deny() -> None:
        raise HTTPException(403, "closed for maintenance")

    admin = Router(dependencies=[Depends(deny)])

    @admin.websocket("/feed")
    async def feed(websocket: WebSocket) -> None:
        await websocket.accept()

    app = App()
    app.include_router(admin, prefix="/admin")
    with TestClient(app) as client:
        with pytest.raises(WebSocketDisconnect, match="closed for maintenance"):
            with client.websocket_connect("/admin/feed"):
                pass  # pragma: no cover - never accepted


def test_add_websocket_route_registers_an_endpoint() -> None:
    async def ping(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("pong")

    app = App()
    app.add_websocket_route("/ping", ping, name="ping")
    assert app.url_path_for("ping") == "/ping"
    with TestClient(app) as client, client.websocket_connect("/ping") as ws:
        assert ws.receive_text() == "pong"


def test_a_websocket_route_declared_twice_is_a_startup_error() -> None:
    app = App()

    async def one(websocket: WebSocket) -> None: ...

    app.add_websocket_route("/ws/{room}", one)
    app.add_websocket_route("/ws/{name}", one)
    with pytest.raises(ConfigurationError, match=r"WEBSOCKET /ws/\{name\} is declared twice"):
        app.build()


def test_websocket_is_not_an_http_method_for_add_route() -> None:
    async def ws(websocket: WebSocket) -> None: ...

    with pytest.raises(ConfigurationError, match=r"use @app.websocket\('/ws'\)"):
        App().add_route("/ws", ws, methods=["WEBSOCKET"])


def test_websocket_routes_are_not_in_the_openapi_document() -> None:
    assert "/text" not in App().openapi()["paths"]
    assert echo_app().openapi()["paths"] == {}


def test_request_hooks_do_not_run_for_websockets() -> None:
    calls: list[str] = []
    app = echo_app()
    app.before_request(lambda request: calls.append("before"))
    app.after_request(lambda request, response: calls.append("after"))
    with TestClient(app) as client, client.websocket_connect("/text") as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "hi"
    assert calls == []


def test_pure_asgi_middleware_sees_the_websocket_scope() -> None:
    seen: list[str] = []

    class Record:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(scope["type"])
            await self.app(scope, receive, send)

    app = echo_app()
    app.add_middleware(Record)
    with TestClient(app) as client, client.websocket_connect("/text") as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "hi"
    assert seen == ["websocket"]


# -- errors ------------------------------------------------------------------------------


def test_an_http_exception_after_accept_closes_with_1008_and_the_detail() -> None:
    app = App()

    @app.websocket("/ws")
    async def strict(websocket: WebSocket) -> None:
        await websocket.accept()
        if await websocket.receive_text() != "please":
            raise HTTPException(403, "say please")

    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_text("now")
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert (info.value.code, info.value.reason) == (1008, "say please")


def test_a_reason_too_long_for_a_close_frame_is_shortened() -> None:
    app = App()

    @app.websocket("/ws")
    async def wordy(websocket: WebSocket) -> None:
        raise HTTPException(403, "é" * 100)  # 200 bytes of UTF-8

    with TestClient(app) as client:
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect("/ws"):
                pass  # pragma: no cover - never accepted
    reason = info.value.reason
    assert len(reason.encode()) <= 123
    assert reason == "é" * 60 + "..."


def crashing_app() -> App:
    app = App()

    @app.websocket("/ws")
    async def crash(websocket: WebSocket) -> None:
        await websocket.accept()
        raise RuntimeError("the handler crashed")

    return app


def test_a_crash_closes_the_connection_with_1011() -> None:
    with TestClient(crashing_app(), raise_server_exceptions=False) as client:
        closed = expect_close(client, "/ws")
    assert closed.code == 1011


def test_a_crash_is_re_raised_for_the_server_to_log() -> None:
    with TestClient(crashing_app()) as client:
        with pytest.raises(RuntimeError, match="the handler crashed"):
            with client.websocket_connect("/ws") as ws:
                with pytest.raises(WebSocketDisconnect):
                    ws.receive_text()


def test_a_handler_ended_by_the_client_leaving_is_not_an_error() -> None:
    app = App()

    @app.websocket("/ws")
    async def forever(websocket: WebSocket) -> None:
        await websocket.accept()
        while True:  # WebSocketDisconnect ends the loop, and the handler
            await websocket.send_text(await websocket.receive_text())

    with TestClient(app) as client:  # raise_server_exceptions: nothing is raised
        with client.websocket_connect("/ws") as ws:
            ws.send_text("one")
            assert ws.receive_text() == "one"


# -- disconnects -------------------------------------------------------------------------


def test_the_client_close_code_and_reason_reach_the_handler() -> None:
    seen: list[tuple[int, str]] = []
    app = App()

    @app.websocket("/ws")
    async def handler(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            await websocket.receive_text()
        except WebSocketDisconnect as exc:
            seen.append((exc.code, exc.reason))

    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        ws.close(4000, "done")
    assert seen == [(4000, "done")]


def test_iter_text_ends_when_the_client_disconnects() -> None:
    received: list[str] = []
    app = App()

    @app.websocket("/ws")
    async def collect(websocket: WebSocket) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            received.append(text)
        received.append(f"ended: {websocket.connection_state.value}")

    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_text("a")
        ws.send_text("b")
    assert received == ["a", "b", "ended: disconnected"]


@pytest.mark.anyio
async def test_sending_to_a_client_that_left_raises_websocket_disconnect() -> None:
    outcome: list[str] = []
    client_left = anyio.Event()
    app = App()

    @app.websocket("/push")
    async def push(websocket: WebSocket) -> None:
        await websocket.accept()
        await client_left.wait()  # busy elsewhere, not receiving, when the client goes
        try:
            await websocket.send_text("anyone there?")
        except WebSocketDisconnect as exc:
            outcome.append(f"gone: {exc.code}")

    async with AsyncTestClient(app) as client:
        async with client.websocket_connect("/push") as ws:
            await ws.close()
            client_left.set()
    assert outcome == ["gone: 1006"]


# -- misuse ------------------------------------------------------------------------------


def misuse_app() -> App:
    app = App()

    @app.websocket("/send-before-accept")
    async def send_before_accept(websocket: WebSocket) -> None:
        await websocket.send_text("too early")

    @app.websocket("/receive-after-close")
    async def receive_after_close(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()
        await websocket.receive_text()

    @app.websocket("/send-after-close")
    async def send_after_close(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()
        await websocket.send_text("too late")

    @app.websocket("/accept-twice")
    async def accept_twice(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.accept()

    @app.websocket("/reserved-code")
    async def reserved_code(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(1006)

    @app.websocket("/long-reason")
    async def long_reason(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(1000, "x" * 124)

    @app.websocket("/bytes-as-text")
    async def bytes_as_text(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(b"bytes")  # type: ignore[arg-type]

    return app


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("/send-before-accept", RuntimeError, r"before accept\(\): call `await websocket.accept"),
        ("/receive-after-close", RuntimeError, r"after close\(\): this WebSocket is closed"),
        ("/send-after-close", RuntimeError, r"send_text\(\) after close\(\)"),
        ("/accept-twice", RuntimeError, r"accept\(\) on a WebSocket that is open"),
        ("/reserved-code", ValueError, "1006 is not a close code an application may send"),
        ("/long-reason", ValueError, "at most 123 bytes"),
        ("/bytes-as-text", TypeError, r"send_text\(\) takes a str, not bytes"),
    ],
)
def test_misuse_raises_an_error_that_says_what_to_do(
    path: str, error: type[Exception], message: str
) -> None:
    with TestClient(misuse_app()) as client:
        with pytest.raises(error, match=message):
            with client.websocket_connect(path) as ws:
                with contextlib.suppress(WebSocketDisconnect):
                    ws.receive()


def test_the_websocket_tracks_its_state_through_the_conversation() -> None:
    states: list[str] = []
    app = App()

    @app.websocket("/ws")
    async def handler(websocket: WebSocket) -> None:
        states.append(websocket.connection_state.value)
        await websocket.accept()
        states.append(websocket.connection_state.value)
        await websocket.close()
        states.append(websocket.connection_state.value)

    with TestClient(app) as client:
        expect_close(client, "/ws")
    assert states == ["connecting", "open", "closed"]
    assert WebSocketState.DISCONNECTED.value == "disconnected"


# -- many connections ---------------------------------------------------------------------


def chat_app() -> App:
    """Everyone in a room gets every message of that room, and hears who
    joins and leaves. In one process the room is a set; see the docs for why
    several processes need pub/sub (Redis) instead."""
    app = App()
    rooms: dict[str, set[WebSocket]] = {}

    async def broadcast(room: set[WebSocket], message: dict[str, str]) -> None:
        for member in list(room):
            try:
                await member.send_json(message)
            except WebSocketDisconnect:
                room.discard(member)

    @app.websocket("/chat/{room}")
    async def chat(websocket: WebSocket, room: str, name: str) -> None:
        await websocket.accept()
        members = rooms.setdefault(room, set())
        members.add(websocket)
        await broadcast(members, {"joined": name})
        try:
            async for text in websocket.iter_text():
                await broadcast(members, {"from": name, "text": text})
        finally:
            members.discard(websocket)
            await broadcast(members, {"left": name})

    return app


def test_a_chat_message_reaches_every_connection_in_the_room() -> None:
    with TestClient(chat_app()) as client:
        with client.websocket_connect("/chat/lobby?name=ann") as ann:
            assert ann.receive_json() == {"joined": "ann"}
            with client.websocket_connect("/chat/lobby?name=bob") as bob:
                assert bob.receive_json() == {"joined": "bob"}
                assert ann.receive_json() == {"joined": "bob"}
                ann.send_text("hi bob")
                assert ann.receive_json() == {"from": "ann", "text": "hi bob"}
                assert bob.receive_json() == {"from": "ann", "text": "hi bob"}
            assert ann.receive_json() == {"left": "bob"}


def test_rooms_are_separate() -> None:
    with TestClient(chat_app()) as client:
        with client.websocket_connect("/chat/a?name=ann") as ann:
            assert ann.receive_json() == {"joined": "ann"}
            with client.websocket_connect("/chat/b?name=bob") as bob:
                assert bob.receive_json() == {"joined": "bob"}
                bob.send_text("only room b")
                assert bob.receive_json() == {"from": "bob", "text": "only room b"}
            ann.send_text("only room a")
            assert ann.receive_json() == {"from": "ann", "text": "only room a"}


@pytest.mark.anyio
async def test_the_async_client_connects_with_async_with() -> None:
    async with AsyncTestClient(chat_app()) as client:
        async with client.websocket_connect("/chat/lobby?name=ann") as ann:
            assert await ann.receive_json() == {"joined": "ann"}
            await ann.send_text("hello")
            assert await ann.receive_json() == {"from": "ann", "text": "hello"}


# -- the test client checks the app as a server would -------------------------------------


async def returns_silently(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "websocket":
        return  # no lifespan support
    await receive()


async def accepts_then_returns(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "websocket":
        return  # no lifespan support
    await receive()
    await send({"type": "websocket.accept"})


async def sends_after_close(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "websocket":
        return  # no lifespan support
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 1000})
    await send({"type": "websocket.send", "text": "after the close"})


def test_an_app_that_neither_accepts_nor_closes_is_reported() -> None:
    with TestClient(returns_silently) as client:
        with pytest.raises(RuntimeError, match="returned without accepting or closing"):
            with client.websocket_connect("/ws"):
                pass  # pragma: no cover - never accepted


def test_an_app_that_ends_without_a_close_is_an_abnormal_closure() -> None:
    with TestClient(accepts_then_returns) as client, client.websocket_connect("/ws") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive()
    assert info.value.code == 1006


def test_a_message_sent_after_websocket_close_is_an_app_error() -> None:
    with TestClient(sends_after_close) as client:
        with pytest.raises(RuntimeError, match=r"'websocket\.send' after websocket\.close"):
            with client.websocket_connect("/ws") as ws:
                with pytest.raises(WebSocketDisconnect):
                    ws.receive()


# -- under a real server ------------------------------------------------------------------


def test_echo_over_a_real_socket_under_uvicorn() -> None:
    with serving(echo_app()) as (host, port):
        with connect(f"ws://{host}:{port}/text", proxy=None, open_timeout=10) as ws:
            ws.send("hello")
            assert ws.recv(timeout=10) == "hello"
        with connect(f"ws://{host}:{port}/bytes", proxy=None, open_timeout=10) as ws:
            ws.send(b"\x00\xff")
            assert ws.recv(timeout=10) == b"\x00\xff"


def test_uvicorn_answers_a_refused_handshake_with_403() -> None:
    with serving(echo_app()) as (host, port):
        with pytest.raises(InvalidStatus) as info:
            with connect(f"ws://{host}:{port}/nowhere", proxy=None, open_timeout=10):
                pass  # pragma: no cover - refused
    assert info.value.response.status_code == 403

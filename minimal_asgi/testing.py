"""An in-process test client that speaks ASGI itself.

No sockets: the client builds the ``scope`` a server would build, feeds the
request body through ``receive`` and collects what the app ``send``s. Reading
this module is a fair way to learn what a server does for an app.

``TestClient`` is synchronous (it runs the app on an event loop in a helper
thread); ``AsyncTestClient`` runs on the caller's loop, for ``async def`` tests
and concurrent requests. Both run the app's lifespan: inside ``with`` /
``async with``, or - if used without - before the first request, with shutdown
on ``close()`` / ``aclose()``. So no test silently skips startup.

``client.websocket_connect(path)`` opens a WebSocket the same way: a
``websocket`` scope, ``websocket.connect`` through ``receive``, and the app's
``websocket.accept`` / ``send`` / ``close`` collected from ``send``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json as jsonlib
import math
import os
import secrets
import warnings
from base64 import b64encode
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import SplitResult, unquote, urlencode, urljoin, urlsplit

import anyio
import anyio.abc
from anyio.from_thread import BlockingPortal, start_blocking_portal

from minimal_asgi.conformance import ASGIValidationError as ASGIValidationError
from minimal_asgi.conformance import validate as validate
from minimal_asgi.datastructures import Headers, encode_query
from minimal_asgi.types import ASGIApp, Message
from minimal_asgi.websockets import WebSocketDisconnect

__all__ = [
    "AsyncTestClient",
    "AsyncWebSocketTestSession",
    "TestClient",
    "TestResponse",
    "WebSocketTestSession",
]

# Hosts a browser treats as a secure context even over plain http (so it sends
# Secure cookies to them). Our cookies are Secure by default; tests use these.
_TRUSTED_HOSTS = frozenset({"testserver", "localhost", "127.0.0.1", "::1"})
_MAX_REDIRECTS = 20


class TestResponse:
    """What the app answered: ``status_code``, ``headers``, ``content``, ..."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        status_code: int,
        raw_headers: list[tuple[bytes, bytes]],
        content: bytes,
        url: str,
        method: str,
    ) -> None:
        self.status_code = status_code
        self.headers = Headers(raw=raw_headers)
        self.content = content
        self.url = url
        self.method = method
        self.history: list[TestResponse] = []

    @property
    def text(self) -> str:
        content_type = self.headers.get("content-type", "")
        charset = "utf-8"
        if "charset=" in content_type:
            charset = content_type.split("charset=", 1)[1].split(";")[0].strip()
        return self.content.decode(charset, errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies this response set (name -> value)."""
        return {c.name: c.value for c in map(_Cookie.parse, self.headers.getlist("set-cookie"))}

    @property
    def reason_phrase(self) -> str:
        try:
            return HTTPStatus(self.status_code).phrase
        except ValueError:
            return ""

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise AssertionError(f"{self.method} {self.url} -> {self.status_code}: {self.text}")

    def __repr__(self) -> str:
        return f"<TestResponse [{self.status_code}]>"


class _Cookie:
    __slots__ = ("expired", "name", "secure", "value")

    def __init__(self, name: str, value: str, secure: bool, expired: bool) -> None:
        self.name, self.value, self.secure, self.expired = name, value, secure, expired

    @classmethod
    def parse(cls, header: str) -> _Cookie:
        first, *attributes = header.split(";")
        name, _, value = first.strip().partition("=")
        secure = expired = False
        for attribute in attributes:
            key, _, val = attribute.strip().partition("=")
            key = key.lower()
            if key == "secure":
                secure = True
            elif key == "max-age":
                expired = expired or (val.strip().lstrip("-").isdigit() and int(val) <= 0)
            elif key == "expires":
                with contextlib.suppress(TypeError, ValueError):
                    expired = expired or parsedate_to_datetime(val) <= dt.datetime.now(dt.UTC)
        return cls(name, value, secure, expired)


class _Lifespan:
    """Drives the ASGI lifespan protocol, as a server does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.supported = True
        self._to_app, self._app_inbox = anyio.create_memory_object_stream[Message](math.inf)
        self._from_app, self._our_inbox = anyio.create_memory_object_stream[Message](math.inf)

    async def _run(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        said_something = False

        async def send(message: Message) -> None:
            nonlocal said_something
            said_something = True
            await self._from_app.send(message)

        try:
            await self.app(scope, self._app_inbox.receive, send)
            # Returning without a word means "no lifespan support": servers
            # carry on without startup and shutdown, and so do we.
            await self._from_app.send({"type": "_returned"})
        except Exception as exc:
            if said_something:
                await self._from_app.send({"type": "_raised", "exc": exc})
                return
            # Raising at once (e.g. "unknown scope type") also means "no lifespan
            # support" to uvicorn's default mode: carry on, but say so.
            warnings.warn(
                f"the app raised {exc!r} on the lifespan scope; running without "
                "startup and shutdown, as uvicorn does",
                RuntimeWarning,
                stacklevel=1,
            )
            await self._from_app.send({"type": "_returned"})
        except BaseException as exc:
            await self._from_app.send({"type": "_raised", "exc": exc})
            raise

    async def startup(self, group: anyio.abc.TaskGroup) -> None:
        group.start_soon(self._run)
        await self._to_app.send({"type": "lifespan.startup"})
        await self._expect("startup")

    def close(self) -> None:
        """Close the four ends of the two message streams (no ResourceWarning)."""
        for stream in (self._to_app, self._app_inbox, self._from_app, self._our_inbox):
            stream.close()

    async def shutdown(self) -> None:
        if not self.supported:
            return
        await self._to_app.send({"type": "lifespan.shutdown"})
        await self._expect("shutdown")

    async def _expect(self, phase: str) -> None:
        message = await self._our_inbox.receive()
        if message["type"] == "_returned":
            self.supported = False
            return
        if message["type"] == "_raised":
            raise message["exc"]
        if message["type"] == f"lifespan.{phase}.failed":
            raise RuntimeError(f"lifespan {phase} failed: {message.get('message', '')}")
        assert message["type"] == f"lifespan.{phase}.complete", message


class _HTTPExchange:
    """One HTTP request as the app sees it, played the way a server plays it.

    ``receive`` hands over the whole body, then reports the client gone once the
    response is complete. ``send`` collects the response, refusing what a server
    would refuse: a second start, a body before the start or after the end.
    """

    def __init__(self, body: bytes, method: str) -> None:
        self.body: bytes | None = body  # None once received
        self.keep_body = method != "HEAD"  # as a server does: no body answers HEAD
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.complete = anyio.Event()

    async def receive(self) -> Message:
        if self.body is not None:
            body, self.body = self.body, None
            return {"type": "http.request", "body": body, "more_body": False}
        # The body is all sent: the next event is the client going away,
        # which happens once the response is complete.
        await self.complete.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self._start(message)
        elif kind == "http.response.body":
            self._body(message)
        else:
            raise RuntimeError(f"unexpected message from the app: {kind!r}")

    def _start(self, message: Message) -> None:
        if self.status is not None:
            raise RuntimeError("the app sent http.response.start twice")
        self.status = message["status"]
        self.headers.extend((bytes(k).lower(), bytes(v)) for k, v in message.get("headers", []))

    def _body(self, message: Message) -> None:
        if self.status is None:
            raise RuntimeError("the app sent a body before http.response.start")
        if self.complete.is_set():
            raise RuntimeError("the app sent a body after the response was complete")
        if self.keep_body:
            self.chunks.append(bytes(message.get("body", b"")))
        if not message.get("more_body", False):
            self.complete.set()


class AsyncTestClient:
    """``async with AsyncTestClient(app) as client: r = await client.get("/")``."""

    __test__ = False

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        *,
        raise_server_exceptions: bool = True,
        follow_redirects: bool = True,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        client: tuple[str, int] = ("testclient", 50000),
    ) -> None:
        self.app = app
        self.base_url = base_url.rstrip("/")
        self.raise_server_exceptions = raise_server_exceptions
        self.follow_redirects = follow_redirects
        self.headers = dict(headers or {})
        self.cookies: dict[str, str] = dict(cookies or {})
        self.client_address = client
        self._lifespan: _Lifespan | None = None
        self._stack: contextlib.AsyncExitStack | None = None

    # -- lifespan ----------------------------------------------------------
    async def start(self) -> None:
        if self._stack is not None:
            return
        stack = contextlib.AsyncExitStack()
        lifespan = _Lifespan(self.app)
        stack.callback(lifespan.close)  # after the task group below has ended (a stack)
        group = await stack.enter_async_context(anyio.create_task_group())
        try:
            await lifespan.startup(group)
        except BaseException:
            group.cancel_scope.cancel()
            await stack.aclose()
            raise
        self._lifespan, self._stack = lifespan, stack

    async def aclose(self) -> None:
        stack, lifespan = self._stack, self._lifespan
        if stack is None or lifespan is None:
            return
        self._stack = self._lifespan = None
        try:
            await lifespan.shutdown()
        finally:
            await stack.aclose()

    async def __aenter__(self) -> AsyncTestClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- requests ------------------------------------------------------------
    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | str | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        follow_redirects: bool | None = None,
    ) -> TestResponse:
        await self.start()
        headers = {**self.headers, **(headers or {})}
        lowered = {k.lower() for k in headers}
        body = b""
        if json is not None:
            body = jsonlib.dumps(json).encode()
            if "content-type" not in lowered:
                headers["content-type"] = "application/json"
        elif files is not None:
            boundary = secrets.token_hex(16)
            body = encode_multipart(data or {}, files, boundary)
            if "content-type" not in lowered:
                headers["content-type"] = f"multipart/form-data; boundary={boundary}"
        elif data is not None:
            body = urlencode(list(data.items()), doseq=True).encode()
            if "content-type" not in lowered:
                headers["content-type"] = "application/x-www-form-urlencoded"
        elif content is not None:
            body = content.encode() if isinstance(content, str) else content
        if params:
            url += ("&" if "?" in url else "?") + encode_query(params)
        follow = self.follow_redirects if follow_redirects is None else follow_redirects
        history: list[TestResponse] = []
        full_url = urljoin(self.base_url + "/", url)
        while True:
            response = await self._send_one(method, full_url, headers, body, cookies)
            location = response.headers.get("location")
            if not (follow and location and response.status_code in (301, 302, 303, 307, 308)):
                response.history = history
                return response
            history.append(response)
            if len(history) > _MAX_REDIRECTS:
                raise RuntimeError(f"more than {_MAX_REDIRECTS} redirects from {url}")
            full_url = urljoin(full_url, location)
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method == "POST"
            ):
                # What browsers do: the follow-up request is a GET without a body.
                method, body = "GET", b""
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}

    async def _send_one(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        cookies: Mapping[str, str] | None,
    ) -> TestResponse:
        parts = urlsplit(url)
        scheme = parts.scheme or "http"
        lowered = {k.lower() for k in headers}
        extra: list[tuple[bytes, bytes]] = []
        if (body or method in ("POST", "PUT", "PATCH")) and "content-length" not in lowered:
            extra.append((b"content-length", str(len(body)).encode()))
        scope = self._connection_scope("http", parts, scheme, headers, extra, cookies, method)
        exchange = _HTTPExchange(body, scope["method"])
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception:
            if self.raise_server_exceptions:
                raise
            if exchange.status is None:
                exchange.status, exchange.chunks = 500, [b"Internal Server Error"]
        finally:
            exchange.complete.set()
        if exchange.status is None:
            raise RuntimeError("the app returned without sending a response")
        response = TestResponse(
            exchange.status, exchange.headers, b"".join(exchange.chunks), url, method
        )
        secure_context = scheme == "https" or (parts.hostname or "testserver") in _TRUSTED_HOSTS
        self._store_cookies(response, secure_context)
        return response

    def _store_cookies(self, response: TestResponse, secure_context: bool) -> None:
        """Keep the cookies a browser would keep from ``response``."""
        for cookie in map(_Cookie.parse, response.headers.getlist("set-cookie")):
            if cookie.secure and not secure_context:
                continue  # a browser would not store it over plain http
            if cookie.expired:
                self.cookies.pop(cookie.name, None)
            else:
                self.cookies[cookie.name] = cookie.value

    async def get(self, url: str, **kwargs: Any) -> TestResponse:
        return await self.request("GET", url, **kwargs)

    async def head(self, url: str, **kwargs: Any) -> TestResponse:
        return await self.request("HEAD", url, **kwargs)

    async def options(self, url: str, **kwargs: Any) -> TestResponse:
        return await self.request("OPTIONS", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> TestResponse:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> TestResponse:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> TestResponse:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> TestResponse:
        return await self.request("DELETE", url, **kwargs)

    # -- WebSockets ----------------------------------------------------------------
    def websocket_connect(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] = (),
        cookies: Mapping[str, str] | None = None,
    ) -> AsyncWebSocketTestSession:
        """``async with client.websocket_connect("/ws") as ws:`` - a WebSocket to
        the app; ``subprotocols`` are offered in ``Sec-WebSocket-Protocol``."""
        return AsyncWebSocketTestSession(self, url, headers, subprotocols, cookies)

    def _websocket_scope(
        self,
        url: str,
        headers: Mapping[str, str] | None,
        subprotocols: Sequence[str],
        cookies: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        """The scope a server builds from a WebSocket handshake (an HTTP/1.1 GET
        with ``Upgrade: websocket``), its headers included."""
        parts = urlsplit(urljoin(self.base_url + "/", url))
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme or "ws")
        handshake = [
            (b"connection", b"upgrade"),
            (b"upgrade", b"websocket"),
            (b"sec-websocket-version", b"13"),
            (b"sec-websocket-key", b64encode(os.urandom(16))),
        ]
        if subprotocols:
            handshake.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode()))
        merged = {**self.headers, **(headers or {})}
        scope = self._connection_scope("websocket", parts, scheme, merged, handshake, cookies)
        scope["subprotocols"] = list(subprotocols)
        return scope

    def _connection_scope(
        self,
        kind: str,
        parts: SplitResult,
        scheme: str,
        headers: Mapping[str, str],
        extra_headers: list[tuple[bytes, bytes]],
        cookies: Mapping[str, str] | None,
        method: str | None = None,
    ) -> dict[str, Any]:
        """What a server puts in every http or websocket scope: the URL split into
        its keys, the headers as a list of byte pairs (Host first, then what
        this kind of request adds, the caller's, and the cookie jar)."""
        host = parts.hostname or "testserver"
        default_port = 443 if scheme in ("https", "wss") else 80
        port = parts.port or default_port
        lowered = {k.lower() for k in headers}
        raw_headers: list[tuple[bytes, bytes]] = []
        if "host" not in lowered:
            host_header = host if port == default_port else f"{host}:{port}"
            raw_headers.append((b"host", host_header.encode()))
        if "user-agent" not in lowered:
            raw_headers.append((b"user-agent", b"minimal_asgi-testclient"))
        raw_headers += extra_headers
        for name, value in headers.items():
            raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        jar = {**self.cookies, **(cookies or {})}
        if jar and "cookie" not in lowered:
            raw_headers.append(
                (b"cookie", "; ".join(f"{k}={v}" for k, v in jar.items()).encode("latin-1"))
            )
        path = parts.path or "/"
        scope: dict[str, Any] = {
            "type": kind,
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            **({"method": method.upper()} if method is not None else {}),
            "scheme": scheme,
            "path": unquote(path),
            "raw_path": path.encode("latin-1"),
            "query_string": parts.query.encode("latin-1"),
            "root_path": "",
            "headers": raw_headers,
            "client": self.client_address,
            "server": (host, port),
            "extensions": {},
        }
        if self._lifespan is not None:
            # Each connection gets a shallow copy of the lifespan state (the spec).
            scope["state"] = dict(self._lifespan.state)
        return scope


class TestClient:
    """``with TestClient(app) as client: r = client.get("/")`` - synchronous.

    The app runs on an event loop in a helper thread (an anyio blocking
    portal); each call waits for its answer. Same arguments as
    ``AsyncTestClient``, and the names httpx users know.
    """

    __test__ = False

    def __init__(self, app: ASGIApp, base_url: str = "http://testserver", **options: Any) -> None:
        self._client = AsyncTestClient(app, base_url, **options)
        self._portal_cm: contextlib.AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self._running: contextlib.AbstractContextManager[Any] | None = None

    @property
    def cookies(self) -> dict[str, str]:
        return self._client.cookies

    @property
    def headers(self) -> dict[str, str]:
        return self._client.headers

    @property
    def app(self) -> ASGIApp:
        return self._client.app

    def _ensure_started(self) -> BlockingPortal:
        if self._portal is None:
            self._portal_cm = start_blocking_portal(backend="asyncio")
            portal = self._portal_cm.__enter__()
            # The lifespan's task group must be entered and left by one task: the
            # portal runs the async context manager in a task of its own.
            running = portal.wrap_async_context_manager(self._client)
            try:
                running.__enter__()
            except BaseException:
                self._portal_cm.__exit__(None, None, None)
                self._portal_cm = None
                raise
            self._portal, self._running = portal, running
        return self._portal

    def close(self) -> None:
        """Run the app's shutdown and stop the helper thread."""
        running, portal_cm = self._running, self._portal_cm
        self._running = self._portal = self._portal_cm = None
        try:
            if running is not None:
                running.__exit__(None, None, None)
        finally:
            if portal_cm is not None:
                portal_cm.__exit__(None, None, None)

    def __enter__(self) -> TestClient:
        self._ensure_started()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def request(self, method: str, url: str, **kwargs: Any) -> TestResponse:
        portal = self._ensure_started()
        return portal.call(lambda: self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("OPTIONS", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", url, **kwargs)

    def websocket_connect(self, url: str, **kwargs: Any) -> WebSocketTestSession:
        """``with client.websocket_connect("/ws") as ws:`` - see
        ``AsyncTestClient.websocket_connect`` for the arguments."""
        portal = self._ensure_started()
        return WebSocketTestSession(portal, self._client.websocket_connect(url, **kwargs))


# -- WebSockets ------------------------------------------------------------------------
class _ClientGone(OSError):
    """What the app's ``send`` raises once the client has closed: servers raise
    an OSError subclass here too (the ASGI spec asks for one)."""


class AsyncWebSocketTestSession:
    """One WebSocket connection to the app, in-process, playing the browser::

        async with client.websocket_connect("/ws") as ws:
            await ws.send_text("hi")
            assert await ws.receive_text() == "hi"

    The app runs in a task of its own for as long as the block lasts, talking
    through two queues: ``websocket.connect`` and our messages go in, its
    ``websocket.accept`` / ``send`` / ``close`` come out. A refused handshake
    raises ``WebSocketDisconnect`` with the app's close code (a real server
    would answer 403). Leaving the block closes the connection (1000) and waits
    for the app to return, as a server lets it run to the end; if the block
    raised, the app is cancelled instead. An exception the app raised is
    raised here when the block ends (unless ``raise_server_exceptions=False``).
    """

    __test__ = False

    def __init__(
        self,
        client: AsyncTestClient,
        url: str,
        headers: Mapping[str, str] | None,
        subprotocols: Sequence[str],
        cookies: Mapping[str, str] | None,
    ) -> None:
        self._client = client
        self._url = url
        self._headers = headers
        self._subprotocols = list(subprotocols)
        self._cookies = cookies
        self.accepted_subprotocol: str | None = None
        self.accepted_headers = Headers(raw=[])  # extra headers of the 101 response
        self.close_code: int | None = None
        self.close_reason = ""
        self._accepted = False  # the app sent websocket.accept
        self._client_closed = False  # we sent websocket.disconnect
        self._app_closed = False  # the app sent websocket.close
        self._app_error: BaseException | None = None
        self._error_raised = False

    # -- the connection's life -------------------------------------------------------
    async def __aenter__(self) -> AsyncWebSocketTestSession:
        await self._client.start()
        self._scope = self._client._websocket_scope(
            self._url, self._headers, self._subprotocols, self._cookies
        )
        self._to_app, self._app_inbox = anyio.create_memory_object_stream[Message](math.inf)
        self._from_app, self._inbox = anyio.create_memory_object_stream[Message](math.inf)
        self._app_done = anyio.Event()
        self._app_scope = anyio.CancelScope()
        self._stack = contextlib.AsyncExitStack()
        # Registered first, so it runs last: after the app's task has ended.
        self._stack.callback(self._close_streams)
        group = await self._stack.enter_async_context(anyio.create_task_group())
        self._to_app.send_nowait({"type": "websocket.connect"})
        group.start_soon(self._run_app)
        try:
            message = await self._inbox.receive()
            if message["type"] != "websocket.accept":
                await self._handshake_failed(message)
        except BaseException:
            self._app_scope.cancel()
            await self._stack.aclose()
            raise
        self.accepted_subprotocol = message.get("subprotocol")
        self.accepted_headers = Headers(
            raw=[(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])]
        )
        return self

    def _close_streams(self) -> None:
        for stream in (self._to_app, self._app_inbox, self._from_app, self._inbox):
            stream.close()

    async def _handshake_failed(self, message: Message) -> None:
        """The app closed (refused) or ended before accepting: raise why."""
        if message["type"] == "websocket.close":
            # After a refusal the server tells the app the client is gone.
            self._to_app.send_nowait({"type": "websocket.disconnect", "code": 1006})
            await self._app_done.wait()
            self._raise_app_error()
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason") or "")
        self._raise_app_error()
        if self._app_error is not None:
            raise WebSocketDisconnect(1006, "the app failed before accepting")
        raise RuntimeError("the app returned without accepting or closing the WebSocket")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, WebSocketDisconnect):
            if not (self._client_closed or self._app_closed):
                await self.close()
            await self._app_done.wait()
        else:
            self._app_scope.cancel()  # the test failed here: stop the app, do not wait
        await self._stack.aclose()
        self._raise_app_error()

    def _raise_app_error(self) -> None:
        error = self._app_error
        if error is not None and self._client.raise_server_exceptions and not self._error_raised:
            self._error_raised = True
            raise error

    async def _run_app(self) -> None:
        try:
            with self._app_scope:
                await self._client.app(self._scope, self._app_inbox.receive, self._app_send)
        except Exception as exc:
            self._app_error = exc
        finally:
            self._app_done.set()
            self._from_app.send_nowait({"type": "_app_finished"})

    async def _app_send(self, message: Message) -> None:
        """The ``send`` the app is given: check each message as a server would."""
        kind = message["type"]
        if self._app_closed:
            raise RuntimeError(f"the app sent {kind!r} after websocket.close")
        if self._client_closed:
            raise _ClientGone("the client has closed the WebSocket")
        accepted = self._accepted
        if kind == "websocket.close":
            self._app_closed = True
            # A server answers any later receive() with websocket.disconnect.
            self._to_app.send_nowait({"type": "websocket.disconnect", "code": 1005})
        elif kind == "websocket.accept" and not accepted:
            self._accepted = True
        elif kind == "websocket.send" and accepted:
            if (message.get("text") is None) == (message.get("bytes") is None):
                raise RuntimeError("websocket.send needs exactly one of 'text' and 'bytes'")
        else:
            expected = "websocket.send or websocket.close" if accepted else (
                "websocket.accept or websocket.close"
            )
            raise RuntimeError(f"the app sent {kind!r}; expected {expected}")
        await self._from_app.send(message)

    # -- talking ---------------------------------------------------------------------
    async def send(self, message: Message) -> None:
        """Pass a raw ASGI message to the app (``websocket.receive``, ...)."""
        if self._client_closed:
            raise RuntimeError("send after close(): this WebSocket is closed")
        self._to_app.send_nowait(message)

    async def send_text(self, data: str) -> None:
        await self.send({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        await self.send({"type": "websocket.receive", "bytes": data})

    async def send_json(self, data: Any) -> None:
        await self.send({"type": "websocket.receive", "text": jsonlib.dumps(data)})

    async def receive(self) -> Message:
        """The app's next ``websocket.send`` message. Its ``websocket.close``
        raises ``WebSocketDisconnect`` with the code and reason."""
        if self.close_code is not None:
            raise RuntimeError(f"receive after the connection closed (code {self.close_code})")
        message = await self._inbox.receive()
        kind = message["type"]
        if kind == "websocket.send":
            return message
        if kind == "websocket.close":
            self.close_code = message.get("code", 1000)
            self.close_reason = message.get("reason") or ""
            raise WebSocketDisconnect(self.close_code, self.close_reason)
        # The app returned (or crashed) without closing: no close frame, 1006.
        self.close_code = 1006
        self._raise_app_error()
        raise WebSocketDisconnect(1006, "the app ended without closing the WebSocket")

    async def receive_text(self) -> str:
        message = await self.receive()
        if message.get("text") is None:
            raise AssertionError(f"expected a text message, got bytes {message.get('bytes')!r}")
        return message["text"]  # type: ignore[no-any-return]

    async def receive_bytes(self) -> bytes:
        message = await self.receive()
        if message.get("bytes") is None:
            raise AssertionError(f"expected a binary message, got text {message.get('text')!r}")
        return message["bytes"]  # type: ignore[no-any-return]

    async def receive_json(self) -> Any:
        message = await self.receive()
        text = message.get("text")
        return jsonlib.loads(text if text is not None else message["bytes"])

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close from the client's side: the app's next receive gets
        ``websocket.disconnect`` with this code."""
        if self._client_closed:
            return
        self._client_closed = True
        self._to_app.send_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})


class WebSocketTestSession:
    """The synchronous face of ``AsyncWebSocketTestSession``, for ``TestClient``:
    ``with client.websocket_connect("/ws") as ws: ws.send_text("hi")``. Each
    call runs on the client's event loop thread through its portal."""

    __test__ = False

    def __init__(self, portal: BlockingPortal, session: AsyncWebSocketTestSession) -> None:
        self._portal = portal
        self._session = session
        self._running: contextlib.AbstractContextManager[Any] | None = None

    def __enter__(self) -> WebSocketTestSession:
        # Entered and left by one task on the loop, as the app's task group needs.
        self._running = self._portal.wrap_async_context_manager(self._session)
        self._running.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._running is not None
        self._running.__exit__(exc_type, exc, tb)

    @property
    def accepted_subprotocol(self) -> str | None:
        return self._session.accepted_subprotocol

    @property
    def accepted_headers(self) -> Headers:
        return self._session.accepted_headers

    def send(self, message: Message) -> None:
        self._portal.call(self._session.send, message)

    def send_text(self, data: str) -> None:
        self._portal.call(self._session.send_text, data)

    def send_bytes(self, data: bytes) -> None:
        self._portal.call(self._session.send_bytes, data)

    def send_json(self, data: Any) -> None:
        self._portal.call(self._session.send_json, data)

    def receive(self) -> Message:
        return self._portal.call(self._session.receive)

    def receive_text(self) -> str:
        return self._portal.call(self._session.receive_text)

    def receive_bytes(self) -> bytes:
        return self._portal.call(self._session.receive_bytes)

    def receive_json(self) -> Any:
        return self._portal.call(self._session.receive_json)

    def close(self, code: int = 1000, reason: str = "") -> None:
        self._portal.call(self._session.close, code, reason)


def encode_multipart(data: Mapping[str, Any], files: Mapping[str, Any], boundary: str) -> bytes:
    """A ``multipart/form-data`` body, as a browser sends it: ``data`` as text
    fields (a list value repeats the field), ``files`` as file parts. A file is
    ``content``, ``(filename, content)`` or ``(filename, content, content_type)``,
    or a list of these; ``content`` is bytes or str."""
    delimiter = f"--{boundary}\r\n".encode()
    out: list[bytes] = []
    for name, values in data.items():
        for value in values if isinstance(values, list | tuple) else [values]:
            out += [delimiter, _disposition(name), b"\r\n", str(value).encode(), b"\r\n"]
    for name, specs in files.items():
        for spec in specs if isinstance(specs, list) else [specs]:
            filename, content, content_type = "upload", spec, "application/octet-stream"
            if isinstance(spec, tuple):
                filename, content, *rest = spec
                content_type = rest[0] if rest else content_type
            if isinstance(content, str):
                content = content.encode()
            out += [delimiter, _disposition(name, filename),
                    f"content-type: {content_type}\r\n\r\n".encode(), content, b"\r\n"]
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def _disposition(name: str, filename: str | None = None) -> bytes:
    # Quotes and line breaks escaped as browsers do (the HTML standard's
    # multipart/form-data encoding algorithm).
    def quote(text: str) -> str:
        return text.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")

    line = f'content-disposition: form-data; name="{quote(name)}"'
    if filename is not None:
        line += f'; filename="{quote(filename)}"'
    return (line + "\r\n").encode()

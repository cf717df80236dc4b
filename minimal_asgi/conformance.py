"""An ASGI conformance checker: what ``wsgiref.validate`` is for WSGI.

``validate(app)`` returns an ASGI app that calls ``app`` and checks the whole
conversation against the ASGI 3 spec (https://asgi.readthedocs.io/en/latest/specs/):

- the **scope** the server built: its type, its required keys and their types;
- every **message** the server hands to ``receive`` and every message the app
  passes to ``send``: a dict with a ``type``, the keys that type requires, and
  the types of their values;
- the **order**: ``http.response.start`` once, before any body, and no body
  after the one with ``more_body=False``; a WebSocket accepted (or closed)
  only after ``websocket.connect``, nothing sent before the accept or after the
  close; lifespan answers only to the event that was asked, once each.

The first broken rule raises ``ASGIValidationError`` (an ``AssertionError``)
whose message names the rule and shows the message that broke it. It is raised
where the rule was broken, and again when the app returns - an app (or a
framework's error handler) that caught the first one still fails the test::

    from minimal_asgi.testing import TestClient, validate

    with TestClient(validate(app)) as client:
        client.get("/")

The server runs it around the app with ``python -m minimal_asgi.server app:app --validate``.
Both sides are checked, so it catches a server's mistakes as well as an app's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from minimal_asgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ASGIValidationError", "validate"]


class ASGIValidationError(AssertionError):
    """A rule of the ASGI spec was broken; ``rule`` names it."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"ASGI rule broken: {rule} ({detail})")
        self.rule = rule


def validate(app: ASGIApp) -> ASGIApp:
    """``app``, with every scope and message it sees checked against the ASGI spec."""

    async def validated(scope: Scope, receive: Receive, send: Send) -> None:
        if not isinstance(scope, Mapping) or not isinstance(scope.get("type"), str):
            raise ASGIValidationError("the scope is a dict with a str 'type'", repr(scope)[:200])
        conversation_type = _CONVERSATIONS.get(scope["type"])
        if conversation_type is None:  # a scope type this checker does not know: not ours to judge
            await app(scope, receive, send)
            return
        conversation = conversation_type(scope)
        try:
            await app(scope, conversation.checked_receive(receive), conversation.checked_send(send))
        except BaseException as exc:
            if conversation.error is not None and exc is not conversation.error:
                raise conversation.error from exc
            raise
        if conversation.error is not None:  # the app caught it, but the rule was still broken
            raise conversation.error
        conversation.app_returned()

    return validated


def _show(message: Any) -> str:
    text = repr(message)
    return text if len(text) <= 200 else text[:197] + "..."


def _is_header_list(value: Any) -> bool:
    try:
        return all(
            len(pair) == 2 and isinstance(pair[0], bytes) and isinstance(pair[1], bytes)
            for pair in value
        )
    except TypeError:
        return False


def _is_address(value: Any, port_types: tuple[type, ...]) -> bool:
    return value is None or (
        isinstance(value, list | tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], port_types)
    )


class _Conversation:
    """What one call of the app has said so far, and the rules for what may come next."""

    kind = ""
    receive_types: tuple[str, ...] = ()
    send_types: tuple[str, ...] = ()

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.error: ASGIValidationError | None = None
        asgi = scope.get("asgi")
        if not isinstance(asgi, Mapping) or not isinstance(asgi.get("version"), str):
            self.fail("the scope has an 'asgi' dict with a str 'version'", _show(asgi))
        self.check_scope()

    def fail(self, rule: str, detail: str) -> NoReturn:
        error = ASGIValidationError(f"{self.kind}: {rule}", detail)
        if self.error is None:
            self.error = error
        raise error

    def require(
        self, where: Mapping[str, Any], key: str, types: type | tuple[type, ...], who: str,
        *, optional: bool = False,
    ) -> None:
        """``where[key]`` is present (unless optional) and of one of ``types``."""
        if key not in where:
            if not optional:
                self.fail(f"{key!r} is required", f"{who}: {_show(where)}")
            return
        if not isinstance(where[key], types):
            allowed = types if isinstance(types, tuple) else (types,)
            names = " or ".join(t.__name__ for t in allowed)
            self.fail(f"{key!r} is {names}", f"{who}: {_show(where)}")

    def check_scope(self) -> None:
        scope, who = self.scope, "the scope is"
        self.require(scope, "path", str, who)
        self.require(scope, "raw_path", (bytes, type(None)), who, optional=True)
        self.require(scope, "query_string", bytes, who, optional=self.kind == "websocket")
        self.require(scope, "root_path", str, who, optional=True)
        self.require(scope, "scheme", str, who, optional=True)
        self.require(scope, "state", dict, who, optional=True)
        headers = scope.get("headers")
        if not _is_header_list(headers):
            self.fail("'headers' is an iterable of [bytes, bytes] pairs", _show(headers))
        client, server = scope.get("client"), scope.get("server")
        if not _is_address(client, (int,)):
            self.fail("'client' is [host: str, port: int] or None", _show(client))
        if not _is_address(server, (int, type(None))):
            self.fail("'server' is [host: str, port: int | None] or None", _show(server))

    # -- the two callables, wrapped -------------------------------------------------
    def checked_receive(self, receive: Receive) -> Receive:
        async def checked() -> Message:
            message = await receive()
            self.check_type(message, "the server passed to receive()", self.receive_types)
            self.received(message)
            return message

        return checked

    def checked_send(self, send: Send) -> Send:
        async def checked(message: Message) -> None:
            self.check_type(message, "the app passed to send()", self.send_types)
            self.sending(message)
            await send(message)

        return checked

    def check_type(self, message: Any, who: str, allowed: tuple[str, ...]) -> None:
        if not isinstance(message, Mapping) or not isinstance(message.get("type"), str):
            self.fail("a message is a dict with a str 'type'", f"{who} {_show(message)}")
        kind, extensions = message["type"], self.scope.get("extensions") or {}
        if kind not in allowed and kind not in extensions:
            self.fail(
                f"the messages here are {', '.join(allowed)} (or an extension in the scope)",
                f"{who} {_show(message)}",
            )

    def received(self, message: Message) -> None: ...

    def sending(self, message: Message) -> None: ...

    def app_returned(self) -> None: ...


class _HTTP(_Conversation):
    kind = "http"
    receive_types = ("http.request", "http.disconnect")
    send_types = ("http.response.start", "http.response.body")

    def check_scope(self) -> None:
        super().check_scope()
        scope = self.scope
        version = scope.get("http_version")
        if version not in ("1.0", "1.1", "2", "3"):
            self.fail("'http_version' is '1.0', '1.1', '2' or '3'", _show(version))
        method = scope.get("method")
        if not isinstance(method, str) or method != method.upper() or not method:
            self.fail("'method' is an upper-case str", _show(method))
        self.body_done = False  # the server sent the request's last chunk
        self.disconnected = False
        self.started = False
        self.complete = False

    def received(self, message: Message) -> None:
        if message["type"] == "http.disconnect":
            self.disconnected = True
            return
        who = "the server passed to receive()"
        self.require(message, "body", bytes, who, optional=True)
        self.require(message, "more_body", bool, who, optional=True)
        if self.body_done or self.disconnected:
            self.fail("no http.request after the last chunk (more_body=False)", _show(message))
        if not message.get("more_body", False):
            self.body_done = True

    def sending(self, message: Message) -> None:
        who = "the app sent"
        if message["type"] == "http.response.start":
            if self.started:
                self.fail("http.response.start is sent once", f"{who} {_show(message)}")
            self.require(message, "status", int, who)
            if not 100 <= message["status"] <= 599:
                self.fail("'status' is an HTTP status code (100-599)", f"{who} {_show(message)}")
            headers = message.get("headers", [])
            if not _is_header_list(headers):
                self.fail("'headers' is an iterable of [bytes, bytes] pairs", _show(headers))
            for name, _ in headers:
                if name != name.lower() or name.startswith(b":"):
                    self.fail("header names are lower-case, without pseudo-headers", _show(name))
            self.require(message, "trailers", bool, who, optional=True)
            self.started = True
        elif message["type"] == "http.response.body":
            if not self.started:
                self.fail("http.response.start comes before http.response.body", _show(message))
            if self.complete:
                rule = "no http.response.body after the last one (more_body=False)"
                self.fail(rule, _show(message))
            self.require(message, "body", (bytes, bytearray, memoryview), who, optional=True)
            self.require(message, "more_body", bool, who, optional=True)
            if not message.get("more_body", False):
                self.complete = True

    def app_returned(self) -> None:
        if not self.complete and not self.disconnected:
            state = "started but did not finish" if self.started else "did not start"
            rule = "the app completes its response unless the client left"
            self.fail(rule, f"the app {state} it")


class _WebSocket(_Conversation):
    kind = "websocket"
    receive_types = ("websocket.connect", "websocket.receive", "websocket.disconnect")
    send_types = ("websocket.accept", "websocket.send", "websocket.close")

    def check_scope(self) -> None:
        super().check_scope()
        subprotocols = self.scope.get("subprotocols", [])
        if not isinstance(subprotocols, list | tuple) or not all(
            isinstance(p, str) for p in subprotocols
        ):
            self.fail("'subprotocols' is a list of str", _show(subprotocols))
        self.connected = False  # websocket.connect received
        self.accepted = False
        self.closed = False  # the app sent websocket.close
        self.disconnected = False

    def received(self, message: Message) -> None:
        kind, who = message["type"], "the server passed to receive()"
        if not self.connected and kind != "websocket.connect":
            self.fail("websocket.connect is the first message received", _show(message))
        if kind == "websocket.connect":
            if self.connected:
                self.fail("websocket.connect is received once", _show(message))
            self.connected = True
        elif kind == "websocket.receive":
            self._one_of_bytes_or_text(message, who)
        else:
            self.require(message, "code", int, who)
            self.require(message, "reason", (str, type(None)), who, optional=True)
            self.disconnected = True

    def sending(self, message: Message) -> None:
        kind, who = message["type"], "the app sent"
        if kind == "websocket.accept":
            if not self.connected:
                self.fail("websocket.accept comes after websocket.connect", _show(message))
            if self.accepted or self.closed:
                self.fail("websocket.accept is sent once, before any close", _show(message))
            self.require(message, "subprotocol", (str, type(None)), who, optional=True)
            headers = message.get("headers", [])
            if not _is_header_list(headers):
                self.fail("'headers' is an iterable of [bytes, bytes] pairs", _show(headers))
            if any(name == b"sec-websocket-protocol" for name, _ in headers):
                self.fail("the subprotocol goes in 'subprotocol', not a header", _show(message))
            self.accepted = True
        elif kind == "websocket.send":
            if not self.accepted:
                self.fail("websocket.send comes after websocket.accept", _show(message))
            if self.closed:
                self.fail("nothing is sent after websocket.close", _show(message))
            self._one_of_bytes_or_text(message, who)
        else:
            self.require(message, "code", int, who, optional=True)
            self.require(message, "reason", (str, type(None)), who, optional=True)
            self.closed = True

    def _one_of_bytes_or_text(self, message: Message, who: str) -> None:
        self.require(message, "bytes", (bytes, type(None)), who, optional=True)
        self.require(message, "text", (str, type(None)), who, optional=True)
        if (message.get("bytes") is None) == (message.get("text") is None):
            self.fail("exactly one of 'bytes' and 'text' is not None", f"{who} {_show(message)}")

    def app_returned(self) -> None:
        if self.connected and not (self.accepted or self.closed or self.disconnected):
            self.fail("websocket.connect is answered with accept or close", "the app returned")


class _Lifespan(_Conversation):
    kind = "lifespan"
    receive_types = ("lifespan.startup", "lifespan.shutdown")
    send_types = (
        "lifespan.startup.complete",
        "lifespan.startup.failed",
        "lifespan.shutdown.complete",
        "lifespan.shutdown.failed",
    )

    def check_scope(self) -> None:
        # No path or headers here: only 'asgi' (checked for every scope) and 'state'.
        self.require(self.scope, "state", dict, "the scope is", optional=True)
        self.asked: list[str] = []  # "startup", "shutdown": what the server has asked
        self.answered: list[str] = []

    def received(self, message: Message) -> None:
        phase = message["type"].removeprefix("lifespan.")
        expected = "startup" if not self.asked else "shutdown"
        if phase != expected or (phase == "shutdown" and "startup" not in self.answered):
            self.fail("lifespan.startup, answered, then lifespan.shutdown", _show(message))
        self.asked.append(phase)

    def sending(self, message: Message) -> None:
        phase, _, outcome = message["type"].removeprefix("lifespan.").partition(".")
        if phase not in self.asked or phase in self.answered:
            self.fail(f"lifespan.{phase}.{outcome} answers lifespan.{phase}, once", _show(message))
        if outcome == "failed":
            self.require(message, "message", str, "the app sent", optional=True)
        self.answered.append(phase)

    def app_returned(self) -> None:
        unanswered = [phase for phase in self.asked if phase not in self.answered]
        if unanswered:
            self.fail(f"lifespan.{unanswered[0]} is answered", "the app returned without a word")


_CONVERSATIONS: dict[str, type[_Conversation]] = {
    "http": _HTTP,
    "websocket": _WebSocket,
    "lifespan": _Lifespan,
}

"""From exception to response: the error layer.

This layer sits *inside* the user's middleware: it is the try/except around
the router's dispatch (``Router.__call__``), which hands each exception to
``ErrorHandlers.respond``. So a 404, a 422 or a crash's 500 is turned into a
response here and then travels out through every middleware like any other
response - CORS and request-id headers included. Every error body is
``application/problem+json`` (RFC 9457).

Handlers are chosen by the exception's MRO: a handler for ``LookupError``
catches ``KeyError`` too, unless ``KeyError`` has its own.

A WebSocket has no response to send, only a close code, so its errors take
another branch (``close_websocket_after``): an ``HTTPException`` (a failed
guard, invalid input) closes with 1008, policy violation, and its detail as the
reason; anything else closes with 1011, internal error, and is re-raised for the
server to log; ``WebSocketDisconnect`` is how a conversation normally ends.
Exception handlers answer HTTP requests only.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from minimal_asgi.exceptions import HTTPException, problem_details
from minimal_asgi.requests import DEFAULT_MAX_BODY_SIZE, ClientDisconnect, Request
from minimal_asgi.responses import RESPONSE_STARTED, JSONResponse, Response, without_body
from minimal_asgi.types import Receive, Scope, Send
from minimal_asgi.validation import RequestValidationError
from minimal_asgi.websockets import (
    WebSocket,
    WebSocketDisconnect,
    WebSocketState,
    shorten_reason,
)

__all__ = ["RESPONSE_STARTED", "WEBSOCKET_KEY", "ErrorHandlers", "ProblemResponse"]

# A WebSocket route keeps its WebSocket here, so that the error layer knows
# whether the connection was accepted, and is still open, when something raised.
WEBSOCKET_KEY = "minimal_asgi.websocket"

logger = logging.getLogger("minimal_asgi.errors")

ExceptionHandler = Callable[[Request, Any], Awaitable[Response]]

class ProblemResponse(JSONResponse):
    """An RFC 9457 problem-details response."""

    media_type = "application/problem+json"

    def __init__(
        self,
        status_code: int,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        **members: Any,
    ) -> None:
        super().__init__(
            problem_details(status_code, detail, **members), status_code, headers=headers
        )


async def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    return ProblemResponse(
        exc.status_code,
        exc.detail,
        headers=exc.headers or None,
        title=exc.title,
        type=exc.type,
        **exc.extra,
    )


class ErrorHandlers:
    """Chooses the handler for an exception and sends its response.

    The router calls ``respond`` from the ``except`` around its dispatch (see
    ``Router.__call__``): that try/except *is* the error layer.
    """

    def __init__(
        self,
        handlers: dict[type[BaseException], ExceptionHandler] | None = None,
        debug: bool = False,
        max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        self.max_body_size = max_body_size
        self.handlers: dict[type[BaseException], ExceptionHandler] = {
            HTTPException: http_exception_handler,
            **(handlers or {}),
        }
        self.debug = debug
        self._cache: dict[type[BaseException], ExceptionHandler | None] = {}

    def handler_for(self, exc_type: type[BaseException]) -> ExceptionHandler | None:
        """The handler registered for the nearest class in the exception's MRO."""
        try:
            return self._cache[exc_type]
        except KeyError:
            pass
        handler = next((self.handlers[c] for c in exc_type.__mro__ if c in self.handlers), None)
        self._cache[exc_type] = handler
        return handler

    async def respond(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        """Answer ``exc`` with a response, or re-raise it when that is impossible."""
        if scope["type"] != "http":
            await close_websocket_after(exc, scope, receive, send)
            return
        if scope.get(RESPONSE_STARTED):
            raise exc  # too late to answer with an error: the server closes the stream
        if isinstance(exc, ClientDisconnect):
            # Not an error of the app's: the client went away while sending its
            # body. Nobody is left to read an answer, and a traceback in the log
            # would be noise; dependency teardowns have already seen it (a
            # transaction rolled back). One debug line, and the request ends.
            logger.debug("client disconnected during %s %s", scope.get("method"), scope["path"])
            return
        if scope.get("method") == "HEAD":
            send = without_body(send)
        handler = self.handler_for(type(exc))
        if handler is None:
            await self._send_or_raise(self._internal_error(exc), scope, receive, send, exc)
            raise exc  # let the server (or the TestClient) see and log the crash
        request = Request(scope, receive, max_body_size=self.max_body_size)
        response = await handler(request, exc)
        await self._send_or_raise(response, scope, receive, send, exc)

    @staticmethod
    async def _send_or_raise(
        response: Response, scope: Scope, receive: Receive, send: Send, exc: Exception
    ) -> None:
        try:
            await response(scope, receive, send)
        except Exception:
            # The response had already started after all (a raw send before the
            # error): the original exception is the one worth reporting.
            raise exc from None

    def _internal_error(self, exc: Exception) -> Response:
        if self.debug:
            return ProblemResponse(
                500,
                f"{type(exc).__name__}: {exc}",
                traceback="".join(traceback.format_exception(exc)).splitlines(),
            )
        return ProblemResponse(500, "The server could not complete the request.")


async def close_websocket_after(exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
    """The error layer of a WebSocket: close with the code that says what happened."""
    if scope["type"] != "websocket":
        raise exc
    if isinstance(exc, WebSocketDisconnect):
        return  # the connection is over: how a conversation normally ends
    websocket = scope.get(WEBSOCKET_KEY) or WebSocket(scope, receive, send)
    still_open = websocket.connection_state in (WebSocketState.CONNECTING, WebSocketState.OPEN)
    if isinstance(exc, HTTPException):
        # The client's fault (a guard said no, input did not validate): before
        # accept() the server refuses the handshake with 403; after, the client
        # reads 1008 and the reason.
        if still_open:
            await websocket.close(1008, shorten_reason(_close_reason(exc)))
        return
    if still_open:
        try:
            await websocket.close(1011)
        except Exception:  # pragma: no cover - the crash is the one worth reporting
            pass
    raise exc  # let the server log the crash


def _close_reason(exc: HTTPException) -> str:
    """The detail a client can read; for a 422, the errors themselves."""
    if isinstance(exc, RequestValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in exc.errors
        )
    return exc.detail

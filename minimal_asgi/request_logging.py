"""Request logging: one line per request, and a request id to follow it by.

``RequestLoggingMiddleware`` is an ordinary pure-ASGI middleware. Add it last
(``app.add_middleware`` makes the last one added the outermost), so it sees
every request first and every response last - including the 404s and 500s the
error layer makes inside it::

    app.add_middleware(RequestLoggingMiddleware)            # text lines
    app.add_middleware(RequestLoggingMiddleware, json=True) # JSON lines

For each request it:

1. takes the client's ``X-Request-ID`` if it is short and made of safe
   characters, or else makes a new one (``uuid4().hex``) - a header is input
   from anyone, and must not be able to forge lines in our logs;
2. makes the id visible to the app: ``request.state.request_id``, and
   ``get_request_id()`` (a context variable) for code without the request,
   such as a logging filter;
3. adds ``X-Request-ID`` to the response, so a user reporting a problem can
   quote it;
4. logs ``GET /items/3 -> 200 in 0.41 ms client=... request_id=...`` through
   the ``minimal_asgi.access`` logger when the last byte of the response has
   been handed to the server (so background tasks are not counted), or when
   the app fails. An exception that escapes before any response is logged as
   status 500: that is what the server will answer.

``RequestIdFilter`` and ``JSONFormatter`` are for the *other* log lines your
app writes: attach them to a handler to stamp each line with the request id,
or to write every line as one JSON object.
"""

from __future__ import annotations

import datetime as dt
import json as jsonlib
import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from minimal_asgi.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "JSONFormatter",
    "RequestIdFilter",
    "RequestLoggingMiddleware",
    "get_request_id",
]

access_logger = logging.getLogger("minimal_asgi.access")

_request_id: ContextVar[str | None] = ContextVar("minimal_asgi_request_id", default=None)

# An incoming id is accepted only if it looks like an id: at most 128 letters,
# digits and - _ . : characters. No spaces, quotes or line breaks that could
# forge a second log line or break a log parser.
_SAFE_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")

# PERF: JSON lines are built on every request: build the encoder once.
_encode_json = jsonlib.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def get_request_id() -> str | None:
    """The id of the request being handled by this task (None outside one)."""
    return _request_id.get()


class RequestLoggingMiddleware:
    """Log each HTTP request and give it an ``X-Request-ID``.

    ``json``: write the message as one JSON object instead of a text line.
    ``logger``: the logger (or its name) to write to; ``level``: the level.
    ``header``: the request/response header carrying the id.
    ``accept_request_id``: take a valid incoming id (set ``False`` at a public
    edge where clients should not choose their id; a proxy you run in front
    may set it).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        json: bool = False,
        logger: logging.Logger | str = access_logger,
        level: int = logging.INFO,
        header: str = "X-Request-ID",
        accept_request_id: bool = True,
    ) -> None:
        self.app = app
        self.json = json
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.level = level
        self.header = header.lower().encode("latin-1")
        self.accept_request_id = accept_request_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self._request_id(scope)
        encoded_id = request_id.encode("latin-1")
        _store_on_state(scope, request_id)
        token = _request_id.set(request_id)
        status: int | None = None
        logged = False

        async def send_logged(message: Message) -> None:
            nonlocal status, logged
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                if not any(name.lower() == self.header for name, _ in headers):
                    headers.append((self.header, encoded_id))
                message["headers"] = headers
                await send(message)
                return
            await send(message)
            kind = message["type"]
            if (kind == "http.response.body" and not message.get("more_body")) or (
                kind == "http.response.pathsend"  # a file sent by the server itself
            ):
                logged = True
                self._log(scope, status, started, request_id, None)

        try:
            await self.app(scope, receive, send_logged)
        except BaseException as exc:
            if not logged:
                # If no response started, the server answers 500 for us: log that.
                self._log(scope, status or 500, started, request_id, exc)
            raise
        finally:
            _request_id.reset(token)
        if not logged:  # the app returned without finishing its response
            self._log(scope, status, started, request_id, None)

    def _request_id(self, scope: Scope) -> str:
        if self.accept_request_id:
            for name, value in scope.get("headers", ()):
                if name == self.header:
                    if _SAFE_ID.fullmatch(value):
                        return bytes(value).decode("ascii")
                    break
        return uuid.uuid4().hex

    def _log(
        self,
        scope: Scope,
        status: int | None,
        started: float,
        request_id: str,
        exc: BaseException | None,
    ) -> None:
        if not self.logger.isEnabledFor(self.level):
            return
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        client = scope.get("client")
        fields: dict[str, Any] = {
            "method": _printable(scope.get("method", "")),
            "path": _printable(scope.get("path", "")),
            "status": status,
            "duration_ms": duration_ms,
            "client": f"{client[0]}:{client[1]}" if client else None,
            "request_id": request_id,
        }
        if exc is not None:
            fields["error"] = type(exc).__name__
        if self.json:
            message = _encode_json(fields)
        else:
            message = (
                f"{fields['method']} {fields['path']} -> "
                f"{status if status is not None else 'no response'} in {duration_ms} ms "
                f"client={fields['client'] or '-'} request_id={request_id}"
            )
            if exc is not None:
                message += f" error={fields['error']}"
        # The fields ride along on the record too, for formatters (JSONFormatter
        # puts them in the object; "%(status)s" works in a format string).
        self.logger.log(self.level, "%s", message, extra=fields)


def _store_on_state(scope: Scope, request_id: str) -> None:
    """Put the id where ``request.state.request_id`` finds it.

    ``scope["state"]`` is a per-request dict (a copy of the lifespan state)
    until some layer wraps it in a ``State`` object; handle both, and create
    it for servers that send none.
    """
    state = scope.get("state")
    if state is None:
        scope["state"] = {"request_id": request_id}
    elif isinstance(state, dict):
        state["request_id"] = request_id
    else:
        state.request_id = request_id


def _printable(text: str) -> str:
    """A path is percent-*decoded* text: escape control characters, so that
    ``/a%0Afake-line`` cannot start a new line in a text log."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


# -- for the rest of the app's log lines -------------------------------------------


class RequestIdFilter(logging.Filter):
    """Stamp every record with ``request_id`` (``"-"`` outside a request).

    Attach it to a handler, then use ``%(request_id)s`` in the format::

        handler.addFilter(RequestIdFilter())
        handler.setFormatter(logging.Formatter("%(levelname)s [%(request_id)s] %(message)s"))
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get() or "-"
        return True


# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class JSONFormatter(logging.Formatter):
    """Format each record as one JSON object on one line.

    Keys: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the
    current ``request_id`` if any, every field passed with ``extra=``, and
    ``exception`` (the formatted traceback) when there is one. Log collectors
    parse this without regular expressions.
    """

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = _request_id.get()
        if request_id is not None:
            data["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES:
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return _encode_json(data)

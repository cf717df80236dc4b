"""minimal_asgi: a small, fast, pure-ASGI web framework you can read.

Start with ``App`` (app.py); a request then flows through middleware.py,
errors.py, routing.py (which route), handlers.py (how it runs, chosen once
per route), dependencies.py (the plan, built at startup), resolution.py (the
plan filled in for one request) and responses.py, in that order.

This package imports its modules only when one of their names is first asked
for (PEP 562: the module ``__getattr__`` below, and ``_EXPORTS``, the name ->
module table). So ``import minimal_asgi.server`` - the teaching server, which
speaks only ASGI - loads the ASGI types and nothing of the framework, and
``from minimal_asgi import App`` loads what ``App`` needs. Type checkers and
editors read the ``TYPE_CHECKING`` imports instead, which name the same things.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minimal_asgi.app import App
    from minimal_asgi.background import BackgroundTask, BackgroundTasks
    from minimal_asgi.config import Secret, Settings
    from minimal_asgi.counters import Counters
    from minimal_asgi.datastructures import (
        URL,
        FormData,
        Headers,
        MutableHeaders,
        QueryParams,
        State,
    )
    from minimal_asgi.dependencies import Cookie, Depends, File, Form, Header, Query
    from minimal_asgi.errors import ProblemResponse
    from minimal_asgi.exceptions import ConfigurationError, HTTPException, MinimalASGIError
    from minimal_asgi.files import FileResponse
    from minimal_asgi.middleware import Middleware
    from minimal_asgi.openapi import OpenAPISecurity
    from minimal_asgi.plugins import Plugin, RouteInfo
    from minimal_asgi.proxy_headers import ProxyHeadersMiddleware, TrustedProxies
    from minimal_asgi.request_logging import (
        JSONFormatter,
        RequestIdFilter,
        RequestLoggingMiddleware,
        get_request_id,
    )
    from minimal_asgi.requests import ClientDisconnect, HTTPConnection, Request
    from minimal_asgi.responses import (
        HTMLResponse,
        JSONResponse,
        PlainTextResponse,
        RedirectResponse,
        Response,
        StreamingResponse,
    )
    from minimal_asgi.routing import Mount, NoMatchFound, Route, Router
    from minimal_asgi.staticfiles import StaticFiles
    from minimal_asgi.types import ASGIApp, Message, Receive, Scope, Send
    from minimal_asgi.uploads import FormLimits, UploadFile, safe_filename, sniff_media_type
    from minimal_asgi.validation import (
        Ge,
        Gt,
        Le,
        Lt,
        MaxLen,
        MinLen,
        Pattern,
        RequestValidationError,
    )
    from minimal_asgi.websockets import WebSocket, WebSocketDisconnect

__version__ = "0.1.0"

# Each public name, and the module that defines it.
_EXPORTS: dict[str, str] = {
    "App": "minimal_asgi.app",
    "BackgroundTask": "minimal_asgi.background",
    "BackgroundTasks": "minimal_asgi.background",
    "Secret": "minimal_asgi.config",
    "Settings": "minimal_asgi.config",
    "Counters": "minimal_asgi.counters",
    "URL": "minimal_asgi.datastructures",
    "FormData": "minimal_asgi.datastructures",
    "Headers": "minimal_asgi.datastructures",
    "MutableHeaders": "minimal_asgi.datastructures",
    "QueryParams": "minimal_asgi.datastructures",
    "State": "minimal_asgi.datastructures",
    "Cookie": "minimal_asgi.dependencies",
    "Depends": "minimal_asgi.dependencies",
    "Header": "minimal_asgi.dependencies",
    "Query": "minimal_asgi.dependencies",
    "ProblemResponse": "minimal_asgi.errors",
    "ConfigurationError": "minimal_asgi.exceptions",
    "HTTPException": "minimal_asgi.exceptions",
    "MinimalASGIError": "minimal_asgi.exceptions",
    "FileResponse": "minimal_asgi.files",
    "Middleware": "minimal_asgi.middleware",
    "Plugin": "minimal_asgi.plugins",
    "RouteInfo": "minimal_asgi.plugins",
    "ProxyHeadersMiddleware": "minimal_asgi.proxy_headers",
    "TrustedProxies": "minimal_asgi.proxy_headers",
    "JSONFormatter": "minimal_asgi.request_logging",
    "RequestIdFilter": "minimal_asgi.request_logging",
    "RequestLoggingMiddleware": "minimal_asgi.request_logging",
    "get_request_id": "minimal_asgi.request_logging",
    "ClientDisconnect": "minimal_asgi.requests",
    "Request": "minimal_asgi.requests",
    "HTTPConnection": "minimal_asgi.requests",
    "OpenAPISecurity": "minimal_asgi.openapi",
    "HTMLResponse": "minimal_asgi.responses",
    "JSONResponse": "minimal_asgi.responses",
    "PlainTextResponse": "minimal_asgi.responses",
    "RedirectResponse": "minimal_asgi.responses",
    "Response": "minimal_asgi.responses",
    "StreamingResponse": "minimal_asgi.responses",
    "NoMatchFound": "minimal_asgi.routing",
    "Route": "minimal_asgi.routing",
    "Router": "minimal_asgi.routing",
    "Mount": "minimal_asgi.routing",
    "StaticFiles": "minimal_asgi.staticfiles",
    "ASGIApp": "minimal_asgi.types",
    "Message": "minimal_asgi.types",
    "Receive": "minimal_asgi.types",
    "Scope": "minimal_asgi.types",
    "Send": "minimal_asgi.types",
    "File": "minimal_asgi.dependencies",
    "Form": "minimal_asgi.dependencies",
    "FormLimits": "minimal_asgi.uploads",
    "UploadFile": "minimal_asgi.uploads",
    "safe_filename": "minimal_asgi.uploads",
    "sniff_media_type": "minimal_asgi.uploads",
    "Ge": "minimal_asgi.validation",
    "Gt": "minimal_asgi.validation",
    "Le": "minimal_asgi.validation",
    "Lt": "minimal_asgi.validation",
    "MaxLen": "minimal_asgi.validation",
    "MinLen": "minimal_asgi.validation",
    "Pattern": "minimal_asgi.validation",
    "RequestValidationError": "minimal_asgi.validation",
    "WebSocket": "minimal_asgi.websockets",
    "WebSocketDisconnect": "minimal_asgi.websockets",
}

__all__ = [
    "URL",
    "ASGIApp",
    "App",
    "BackgroundTask",
    "BackgroundTasks",
    "ClientDisconnect",
    "ConfigurationError",
    "Cookie",
    "Counters",
    "Depends",
    "File",
    "FileResponse",
    "Form",
    "FormData",
    "FormLimits",
    "Ge",
    "Gt",
    "HTMLResponse",
    "HTTPConnection",
    "HTTPException",
    "Header",
    "Headers",
    "JSONFormatter",
    "JSONResponse",
    "Le",
    "Lt",
    "MaxLen",
    "Message",
    "Middleware",
    "MinLen",
    "MinimalASGIError",
    "Mount",
    "MutableHeaders",
    "NoMatchFound",
    "OpenAPISecurity",
    "Pattern",
    "PlainTextResponse",
    "Plugin",
    "ProblemResponse",
    "ProxyHeadersMiddleware",
    "Query",
    "QueryParams",
    "Receive",
    "RedirectResponse",
    "Request",
    "RequestIdFilter",
    "RequestLoggingMiddleware",
    "RequestValidationError",
    "Response",
    "Route",
    "RouteInfo",
    "Router",
    "Scope",
    "Secret",
    "Send",
    "Settings",
    "State",
    "StaticFiles",
    "StreamingResponse",
    "TrustedProxies",
    "UploadFile",
    "WebSocket",
    "WebSocketDisconnect",
    "get_request_id",
    "safe_filename",
    "sniff_media_type",
]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if not TYPE_CHECKING:
    # Hidden from type checkers, which read the imports at the top instead: with
    # a module __getattr__ in sight, they would take any misspelt name for Any.

    def __getattr__(name: str) -> Any:
        """Import the module that defines ``name`` - the first time only."""
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later look-ups find it without calling this function
        return value

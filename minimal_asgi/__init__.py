"""minimal_asgi: a small, fast, pure-ASGI web framework you can read.

Start with ``App`` (app.py); a request then flows through middleware.py,
errors.py, routing.py, dependencies.py and responses.py, in that order.
"""

from minimal_asgi.app import App
from minimal_asgi.background import BackgroundTask, BackgroundTasks
from minimal_asgi.config import Secret, Settings
from minimal_asgi.datastructures import URL, FormData, Headers, MutableHeaders, QueryParams, State
from minimal_asgi.dependencies import Cookie, Depends, Header, Query
from minimal_asgi.errors import ProblemResponse
from minimal_asgi.exceptions import ConfigurationError, HTTPException, MinimalASGIError
from minimal_asgi.files import FileResponse
from minimal_asgi.middleware import Middleware
from minimal_asgi.plugins import Plugin, RouteInfo
from minimal_asgi.request_logging import (
    JSONFormatter,
    RequestIdFilter,
    RequestLoggingMiddleware,
    get_request_id,
)
from minimal_asgi.requests import ClientDisconnect, Request
from minimal_asgi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from minimal_asgi.routing import NoMatchFound, Route, Router
from minimal_asgi.types import ASGIApp, Message, Receive, Scope, Send
from minimal_asgi.validation import Ge, Gt, Le, Lt, MaxLen, MinLen, Pattern, RequestValidationError
from minimal_asgi.websockets import WebSocket, WebSocketDisconnect

__version__ = "0.1.0"

__all__ = [
    "URL",
    "ASGIApp",
    "App",
    "BackgroundTask",
    "BackgroundTasks",
    "ClientDisconnect",
    "ConfigurationError",
    "Cookie",
    "Depends",
    "FileResponse",
    "FormData",
    "Ge",
    "Gt",
    "HTMLResponse",
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
    "MutableHeaders",
    "NoMatchFound",
    "Pattern",
    "PlainTextResponse",
    "Plugin",
    "ProblemResponse",
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
    "StreamingResponse",
    "WebSocket",
    "WebSocketDisconnect",
    "get_request_id",
]

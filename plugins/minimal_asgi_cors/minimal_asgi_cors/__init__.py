"""CORS: letting a browser page from another origin call this API.

A browser runs a page's script under the page's *origin* (scheme, host,
port). By default it lets that script read responses from the same origin
only. CORS (the Fetch standard, https://fetch.spec.whatwg.org/#http-cors-protocol)
is how a server says "this other origin may read me too":

- A **simple request** (GET, or a POST of a form) is sent as is, with an
  ``Origin`` header; the browser shows the response to the script only if it
  carries ``Access-Control-Allow-Origin`` naming that origin (or ``*``).
- Anything else (PUT, DELETE, a JSON body, a custom header) is first
  **preflighted**: the browser sends ``OPTIONS`` with ``Origin``,
  ``Access-Control-Request-Method`` and ``Access-Control-Request-Headers``, and
  sends the real request only if the answer allows all three.

This plugin is a pure ASGI middleware (added with ``app.add_middleware``). It
answers preflights itself - a disallowed one never reaches an endpoint - and
adds the headers to every other response, error responses included (the core
turns errors into responses *inside* middleware). Decisions that do not depend
on the request (which origins, which methods) are made once, at startup.

Deliberate choices (see docs/14-cors.md and the differential test against
Starlette's CORSMiddleware):

- ``allow_origins=["*"]`` with ``allow_credentials=True`` is rejected at
  startup: the standard forbids ``*`` with credentials, and echoing any origin
  instead would let every site read users' authenticated responses.
- ``Vary: Origin`` is sent on *every* response - including responses to
  requests without ``Origin`` and with ``allow_origins=["*"]`` (whose answer
  still depends on whether there is an Origin, and on whether it is "null") -
  so a shared cache never serves one origin's answer to another.
- A disallowed preflight gets a 400 problem-details response without CORS
  headers, saying what was disallowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from minimal_asgi import (
    App,
    ASGIApp,
    ConfigurationError,
    Message,
    ProblemResponse,
    Receive,
    Scope,
    Send,
)

__all__ = ["CORS", "CORSMiddleware"]

# Request headers a browser may always send without asking (the Fetch
# standard's CORS-safelisted request headers; their values are limited, so
# allowing them by name is safe).
SAFELISTED_HEADERS = frozenset({"accept", "accept-language", "content-language", "content-type"})
ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


class CORS:
    """The CORS plugin: ``App(plugins=[CORS(allow_origins=["https://app.example"])])``.

    Keyword names follow Starlette's ``CORSMiddleware``. ``allow_origins`` may
    hold exact origins or ``"*"``; ``allow_origin_regex`` must match an origin
    in full. ``allow_methods`` / ``allow_headers`` may be ``["*"]``.
    ``allow_private_network`` answers Private Network Access preflights
    (a public page calling a server on a private network); off by default.
    """

    def __init__(
        self,
        allow_origins: Sequence[str] = (),
        allow_methods: Sequence[str] = ("GET",),
        allow_headers: Sequence[str] = (),
        allow_credentials: bool = False,
        expose_headers: Sequence[str] = (),
        max_age: int = 600,
        allow_origin_regex: str | None = None,
        allow_private_network: bool = False,
    ) -> None:
        self.policy = Policy(
            allow_origins=allow_origins,
            allow_methods=allow_methods,
            allow_headers=allow_headers,
            allow_credentials=allow_credentials,
            expose_headers=expose_headers,
            max_age=max_age,
            allow_origin_regex=allow_origin_regex,
            allow_private_network=allow_private_network,
        )

    def setup(self, app: App) -> None:
        app.add_middleware(CORSMiddleware, policy=self.policy)


class Policy:
    """The checked, precomputed configuration (built once, at startup)."""

    def __init__(
        self,
        *,
        allow_origins: Sequence[str],
        allow_methods: Sequence[str],
        allow_headers: Sequence[str],
        allow_credentials: bool,
        expose_headers: Sequence[str],
        max_age: int,
        allow_origin_regex: str | None,
        allow_private_network: bool,
    ) -> None:
        lists = {"allow_origins": allow_origins, "allow_methods": allow_methods,
                 "allow_headers": allow_headers, "expose_headers": expose_headers}
        for option, value in lists.items():
            if isinstance(value, str):
                raise ConfigurationError(f"CORS: {option} takes a list, like [{value!r}]")
        self.any_origin = "*" in allow_origins
        self.origins = frozenset(o for o in allow_origins if o != "*")
        for origin in self.origins:
            _check_origin(origin)
        if self.any_origin and allow_credentials:
            raise ConfigurationError(
                "CORS: allow_origins=['*'] with allow_credentials=True is not allowed: the "
                "Fetch standard forbids '*' with credentials, and echoing every origin would "
                "let any website read your users' authenticated responses. List the trusted "
                "origins, or use allow_origin_regex."
            )
        self.origin_regex = re.compile(allow_origin_regex) if allow_origin_regex else None
        self.credentials = allow_credentials
        self.any_method = "*" in allow_methods
        methods = ALL_METHODS if self.any_method else [m.upper() for m in allow_methods]
        self.methods = frozenset(methods)
        self.any_header = "*" in allow_headers
        self.headers = frozenset(h.lower() for h in allow_headers if h != "*") | SAFELISTED_HEADERS
        if max_age < 0:
            raise ConfigurationError("CORS: max_age must be >= 0 seconds")
        self.private_network = allow_private_network

        # Header pairs that are the same on every response, encoded once.
        credentials = [(b"access-control-allow-credentials", b"true")] if self.credentials else []
        exposed = ", ".join(expose_headers)
        self.simple_extra = credentials + (
            [(b"access-control-expose-headers", exposed.encode("latin-1"))] if exposed else []
        )
        self.preflight_extra = [
            *credentials,
            (b"access-control-max-age", str(max_age).encode()),
        ]
        self.methods_value = ", ".join(sorted(self.methods)).encode("latin-1")
        self.preflight_vary = (
            b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        )
        if self.private_network:
            self.preflight_vary += b", Access-Control-Request-Private-Network"

    def origin_allowed(self, origin: str) -> bool:
        if origin in self.origins:
            return True
        if self.origin_regex is not None and self.origin_regex.fullmatch(origin):
            return True
        # "*" means any *real* origin; "null" (sandboxed iframes, file://) must be
        # listed explicitly.
        return self.any_origin and origin != "null"

    def allow_origin_value(self, origin: str) -> bytes:
        # "*" never comes with credentials (refused above), so it can be answered as is.
        return b"*" if self.any_origin else origin.encode("latin-1")

    def disallowed_headers(self, requested: Iterable[str]) -> list[str]:
        if self.any_header:
            return []
        return [h for h in requested if h not in self.headers]


def _check_origin(origin: str) -> None:
    if origin == "null":
        return
    parts = urlsplit(origin)
    if not parts.scheme or not parts.netloc or parts.path or parts.query or parts.fragment:
        raise ConfigurationError(
            f"CORS: {origin!r} is not an origin; an origin is scheme://host[:port] with no "
            "path and no trailing slash, e.g. 'https://app.example.com'"
        )


class CORSMiddleware:
    """The ASGI middleware doing the work; usually added by ``CORS.setup``."""

    def __init__(self, app: ASGIApp, policy: Policy | None = None, **options: Any) -> None:
        self.app = app
        self.policy = policy if policy is not None else CORS(**options).policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = request_method = request_headers = private_network = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"access-control-request-method":
                request_method = value.decode("latin-1")
            elif name == b"access-control-request-headers":
                request_headers = value.decode("latin-1")
            elif name == b"access-control-request-private-network":
                private_network = value.decode("latin-1")
        policy = self.policy
        if origin is None:
            # Vary even here (and with "*"): this answer has no CORS headers, and a
            # cache must not hand it to a cross-origin request (Fetch, "CORS protocol
            # and HTTP caches").
            await self.app(scope, receive, _adding(send, [], vary=b"Origin"))
            return
        if scope["method"] == "OPTIONS" and request_method is not None:
            await self._preflight(
                scope, receive, send, origin, request_method, request_headers, private_network
            )
            return
        extra: list[tuple[bytes, bytes]] = []
        if policy.origin_allowed(origin):
            extra = [
                (b"access-control-allow-origin", policy.allow_origin_value(origin)),
                *policy.simple_extra,
            ]
        # A disallowed origin still reaches the endpoint (the browser, not the
        # server, enforces CORS); it just gets no CORS headers.
        await self.app(scope, receive, _adding(send, extra, b"Origin"))

    async def _preflight(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        origin: str,
        method: str,
        requested: str | None,
        private_network: str | None,
    ) -> None:
        policy = self.policy
        headers = [h.strip().lower() for h in (requested or "").split(",") if h.strip()]
        problems = []
        if not policy.origin_allowed(origin):
            problems.append(f"origin {origin!r}")
        # Exact: a browser upper-cases only the six standard methods, and compares
        # the answer byte for byte ("patch" is not "PATCH").
        if method not in policy.methods:
            problems.append(f"method {method!r}")
        refused = policy.disallowed_headers(headers)
        if refused:
            problems.append(f"header(s) {', '.join(refused)}")
        vary = {"vary": policy.preflight_vary.decode("latin-1")}
        if problems:
            response = ProblemResponse(
                400, f"CORS preflight refused: {'; '.join(problems)} not allowed", headers=vary
            )
            await response(scope, receive, send)
            return
        raw = [
            (b"access-control-allow-origin", policy.allow_origin_value(origin)),
            (b"access-control-allow-methods", policy.methods_value),
            *policy.preflight_extra,
            (b"vary", policy.preflight_vary),
        ]
        if headers:
            # Echo what was asked (all of it is allowed), so "*" works with
            # credentials too, where a literal "*" would not.
            raw.append((b"access-control-allow-headers", ", ".join(headers).encode("latin-1")))
        if policy.private_network and private_network == "true":
            raw.append((b"access-control-allow-private-network", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": raw})
        await send({"type": "http.response.body", "body": b""})


def _adding(send: Send, extra: list[tuple[bytes, bytes]], vary: bytes) -> Send:
    """Wrap ``send`` so the response start carries ``extra`` headers and ``vary``."""

    async def send_with_cors(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            if extra:
                present = {name for name, _ in headers}
                headers.extend(pair for pair in extra if pair[0] not in present)
            headers = _merge_vary(headers, vary)
            message = {**message, "headers": headers}
        await send(message)

    return send_with_cors


def _merge_vary(headers: list[tuple[bytes, bytes]], field: bytes) -> list[tuple[bytes, bytes]]:
    for index, (name, value) in enumerate(headers):
        if name == b"vary":
            fields = [v.strip().lower() for v in value.split(b",")]
            if field.lower() not in fields and b"*" not in fields:
                headers[index] = (name, value + b", " + field)
            return headers
    headers.append((b"vary", field))
    return headers

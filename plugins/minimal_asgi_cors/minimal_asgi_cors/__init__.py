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

What it costs (docs/14-cors.md, "What it costs"): every request pays for the
plugin, so the per-request path is kept short. The request headers are read
in one loop looking for ``Origin``, the answer for each listed origin is a
tuple of header pairs built at startup, and the response's start message takes the
short way - a copy of its headers with that tuple appended - unless the
endpoint already sent ``Vary`` or an ``Access-Control-*`` header of its own.
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

Header = tuple[bytes, bytes]
VARY_ORIGIN: Header = (b"vary", b"Origin")
# What a response to a request without Origin (or from a disallowed one) gets.
ONLY_VARY: tuple[Header, ...] = (VARY_ORIGIN,)
# Distinct Access-Control-Request-Headers values remembered (Policy.asked_headers).
ASKED_MEMO_SIZE = 256
# Response headers this plugin adds or merges. If an endpoint's response has
# none of them - nearly always - the plugin's headers are simply appended.
CORS_RESPONSE_HEADERS = frozenset({
    b"vary", b"access-control-allow-origin", b"access-control-allow-credentials",
    b"access-control-expose-headers",
})


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

        # PERF: the whole answer to a simple request from each listed origin,
        # built now: per request, one dict look-up finds it. Origins are
        # compared as the bytes the browser sent (a header is latin-1); a
        # listed origin that latin-1 cannot encode could never match one.
        self.simple_by_origin: dict[bytes, tuple[Header, ...]] = {}
        for origin in self.origins:
            try:
                raw = origin.encode("latin-1")
            except UnicodeEncodeError:
                continue
            self.simple_by_origin[raw] = self._simple(raw)
        self.simple_any = self._simple(b"*")
        self.asked_memo: dict[bytes, tuple[bytes, tuple[str, ...]]] = {}

    def _simple(self, origin: bytes) -> tuple[Header, ...]:
        """The headers a simple request from an allowed ``origin`` gets."""
        return (
            (b"access-control-allow-origin", self.allow_origin_value(origin)),
            *self.simple_extra,
            VARY_ORIGIN,
        )

    def simple_headers(self, origin: bytes) -> tuple[Header, ...]:
        """What a response to a (non-preflight) request from ``origin`` gets:
        the CORS headers if it is allowed, ``Vary: Origin`` in any case."""
        found = self.simple_by_origin.get(origin)
        if found is not None:
            return found
        if not self.origin_allowed(origin.decode("latin-1")):
            return ONLY_VARY
        # Not listed: allowed by "*" (one prebuilt answer) or by the regex.
        return self.simple_any if self.any_origin else self._simple(origin)

    def origin_allowed(self, origin: str) -> bool:
        if origin in self.origins:
            return True
        if self.origin_regex is not None and self.origin_regex.fullmatch(origin):
            return True
        # "*" means any *real* origin; "null" (sandboxed iframes, file://) must be
        # listed explicitly.
        return self.any_origin and origin != "null"

    def allow_origin_value(self, origin: bytes) -> bytes:
        # "*" never comes with credentials (refused above), so it can be answered as is.
        return b"*" if self.any_origin else origin

    def disallowed_headers(self, requested: Iterable[str]) -> list[str]:
        if self.any_header:
            return []
        return [h for h in requested if h not in self.headers]

    def asked_headers(self, raw: bytes) -> tuple[bytes, tuple[str, ...]]:
        """A preflight's ``Access-Control-Request-Headers``, read: the names to
        echo (``b""`` if none) and the names refused.

        PERF: remembered by value. A front-end asks for the same few lists
        again and again; the bound keeps a flood of made-up values from growing
        the memo (past it, each is read afresh - correct, just not remembered).
        """
        found = self.asked_memo.get(raw)
        if found is None:
            text = raw.decode("latin-1")
            names = [h.strip().lower() for h in text.split(",") if h.strip()]
            found = (", ".join(names).encode("latin-1"), tuple(self.disallowed_headers(names)))
            if len(self.asked_memo) < ASKED_MEMO_SIZE:
                self.asked_memo[raw] = found
        return found


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
        self.simple_by_origin = self.policy.simple_by_origin  # PERF: one attribute look-up less

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # PERF: a plain loop, looking for one name. (A dict of all the headers
        # costs twice as much: it hashes every name a server made afresh.)
        # The last of repeated Origin headers wins.
        origin = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
        if origin is None:
            # Vary even here (and with "*"): this answer has no CORS headers, and a
            # cache must not hand it to a cross-origin request (Fetch, "CORS protocol
            # and HTTP caches").
            extra = ONLY_VARY
        elif scope["method"] == "OPTIONS":
            request_headers = dict(scope["headers"])
            if b"access-control-request-method" in request_headers:
                await self._preflight(scope, receive, send, origin, request_headers)
                return
            extra = self.policy.simple_headers(origin)  # OPTIONS, but not a preflight
        else:
            # Prebuilt for a listed origin; worked out for any other. A disallowed
            # origin still reaches the endpoint (the browser, not the server,
            # enforces CORS); it just gets no CORS headers.
            extra = self.simple_by_origin.get(origin) or self.policy.simple_headers(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A copy, in a new message: an app may send one prebuilt list (or
                # message) on every response, and must not find our headers in it.
                headers = [*message.get("headers", ())]
                for name, _ in headers:
                    if name in CORS_RESPONSE_HEADERS:  # the endpoint set some itself
                        headers = add_cors_headers(headers, extra)
                        break
                else:
                    headers += extra  # the short way, nearly always: nothing to merge
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        raw_origin: bytes,
        request_headers: dict[bytes, bytes],
    ) -> None:
        policy = self.policy
        origin = raw_origin.decode("latin-1")
        method = request_headers[b"access-control-request-method"].decode("latin-1")
        echoed, refused = policy.asked_headers(
            request_headers.get(b"access-control-request-headers", b""))
        # Exact method match: a browser upper-cases only the six standard methods,
        # and compares the answer byte for byte ("patch" is not "PATCH").
        allowed = policy.origin_allowed(origin)
        if not allowed or method not in policy.methods or refused:
            problems = [] if allowed else [f"origin {origin!r}"]
            if method not in policy.methods:
                problems.append(f"method {method!r}")
            if refused:
                problems.append(f"header(s) {', '.join(refused)}")
            vary = {"vary": policy.preflight_vary.decode("latin-1")}
            response = ProblemResponse(
                400, f"CORS preflight refused: {'; '.join(problems)} not allowed", headers=vary
            )
            await response(scope, receive, send)
            return
        raw = [
            (b"access-control-allow-origin", policy.allow_origin_value(raw_origin)),
            (b"access-control-allow-methods", policy.methods_value),
            *policy.preflight_extra,
            (b"vary", policy.preflight_vary),
        ]
        if echoed:
            # Echo what was asked (all of it is allowed), so "*" works with
            # credentials too, where a literal "*" would not.
            raw.append((b"access-control-allow-headers", echoed))
        if (policy.private_network
                and request_headers.get(b"access-control-request-private-network") == b"true"):
            raw.append((b"access-control-allow-private-network", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": raw})
        await send({"type": "http.response.body", "body": b""})


def add_cors_headers(headers: list[Header], extra: Iterable[Header]) -> list[Header]:
    """The long way, for a response that already has ``Vary`` or CORS headers:
    the endpoint's own CORS headers win, and ``Origin`` joins its ``Vary``."""
    present = {name for name, _ in headers}
    for pair in extra:
        if pair[0] == b"vary":
            headers = _merge_vary(headers, pair[1])
        elif pair[0] not in present:
            headers.append(pair)
    return headers


def _merge_vary(headers: list[Header], field: bytes) -> list[Header]:
    for index, (name, value) in enumerate(headers):
        if name == b"vary":
            fields = [v.strip().lower() for v in value.split(b",")]
            if field.lower() not in fields and b"*" not in fields:
                headers[index] = (name, value + b", " + field)
            return headers
    headers.append((b"vary", field))
    return headers

"""Security headers: what a response tells the browser not to do with it.

Each header closes one attack a browser would otherwise allow
(docs/16-security-headers-and-hosts.md tells the attacks):

- ``Content-Security-Policy`` - which scripts, styles, frames... a page may
  load or run: injected markup cannot run script from elsewhere (XSS), and
  ``frame-ancestors`` says who may put the page in a frame (clickjacking);
- ``X-Frame-Options`` - the older, coarser form of ``frame-ancestors``, for
  browsers that predate it;
- ``X-Content-Type-Options: nosniff`` - take the ``Content-Type`` at its
  word: a JSON answer or an upload is never run as a script or a page;
- ``Referrer-Policy`` - how much of this page's URL goes to the next site;
- ``Strict-Transport-Security`` - "from now on, reach this host over https
  only": on https responses only (RFC 6797 section 7.2 forbids it on http).

Two presets, because a JSON answer and an HTML page need different rules: an
API response is never a page, so it may load nothing and be framed by nobody
(``default-src 'none'``); a page loads its own scripts, styles and images
(``default-src 'self'``). The preset is chosen per response by its
``Content-Type`` (the browser decides how to treat the bytes by that header,
so the same rule decides the policy), unless the route names one
(``@app.get("/x", security_headers="html")``, read once at startup).

Pure ASGI: only the ``http.response.start`` message is touched, so a
streaming body is never buffered. A header the endpoint set itself (a page
with its own CSP, like the ``/docs`` page) is kept, never overwritten. The
header lists are built and checked once, at construction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from minimal_asgi import App, ASGIApp, ConfigurationError, Message, Receive, RouteInfo, Scope, Send

__all__ = [
    "API_HEADERS",
    "HTML_HEADERS",
    "PRESET_KEY",
    "HeaderPolicy",
    "SecurityHeaders",
    "SecurityHeadersMiddleware",
]

Preset = Literal["api", "html"]
PRESETS: tuple[Preset, ...] = ("api", "html")

# A JSON (or any non-HTML) response: nothing to load, nobody may frame it, and
# no URL to leak to a next page (an API has no links a person follows).
API_HEADERS: dict[str, str] = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}

# An HTML page: its own scripts, styles, images and fetches only (so no inline
# script: XSS's usual payload), no plugins, no <base> hijack, forms post back
# home, framed only by the site's own pages. Links out send the origin, never
# the path and query (which may hold tokens).
HTML_HEADERS: dict[str, str] = {
    "content-security-policy": (
        "default-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'self'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "referrer-policy": "strict-origin-when-cross-origin",
}

# Where a route wrapper leaves the route's preset for the middleware to read.
PRESET_KEY = "minimal_asgi_security.preset"

# The HSTS preload list (https://hstspreload.org) asks for at least a year and
# includeSubDomains; preload is hard to undo, so it is an explicit opt-in.
PRELOAD_MIN_AGE = 31_536_000
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 field-name


def check_header(name: str, value: str, where: str) -> tuple[bytes, bytes]:
    """``(name, value)`` as the bytes of a header, or a ConfigurationError saying why not."""
    if not _TOKEN.fullmatch(name):
        raise ConfigurationError(f"{where}: {name!r} is not a valid header name")
    # Printable ASCII, space and tab only: a CR or LF would split the response
    # (header injection), and other control characters are refused by servers.
    if any(not (" " <= ch <= "~" or ch == "\t") for ch in value):
        raise ConfigurationError(
            f"{where}: the value of {name!r} holds a control or non-ASCII character "
            f"({value!r}); header values are printable ASCII, one line"
        )
    return name.lower().encode("ascii"), value.strip().encode("ascii")


class HeaderPolicy:
    """The checked header lists, one per (preset, https or not), built once."""

    def __init__(
        self,
        *,
        preset: Preset | Literal["auto"] = "auto",
        api: Mapping[str, str | None] | None = None,
        html: Mapping[str, str | None] | None = None,
        hsts_max_age: int | None = 31_536_000,
        hsts_include_subdomains: bool = True,
        hsts_preload: bool = False,
    ) -> None:
        if preset not in ("auto", *PRESETS):
            raise ConfigurationError(
                f"SecurityHeaders: preset={preset!r}; use 'auto' (by the response's "
                "Content-Type), 'api' or 'html'"
            )
        self.preset = preset
        self.hsts = _hsts_value(hsts_max_age, hsts_include_subdomains, hsts_preload)
        self.lists: dict[tuple[Preset, bool], tuple[tuple[bytes, bytes], ...]] = {}
        presets: tuple[tuple[Preset, dict[str, str], Mapping[str, str | None] | None], ...] = (
            ("api", API_HEADERS, api),
            ("html", HTML_HEADERS, html),
        )
        for name, defaults, changes in presets:
            merged = _merge(defaults, changes, name)
            plain = tuple(check_header(k, v, f"SecurityHeaders({name}=...)")
                          for k, v in merged.items())
            secure = (*plain, (b"strict-transport-security", self.hsts)) if self.hsts else plain
            self.lists[(name, False)] = plain
            self.lists[(name, True)] = secure
        # Every name this policy may add: a response carrying one of them gets
        # the slower path that keeps the endpoint's value.
        self.names = frozenset(name for pairs in self.lists.values() for name, _ in pairs)


def _merge(
    defaults: Mapping[str, str], changes: Mapping[str, str | None] | None, preset: str
) -> dict[str, str]:
    """The preset's defaults with ``changes`` applied: a value replaces, None removes."""
    if changes is not None and not isinstance(changes, Mapping):
        raise ConfigurationError(
            f"SecurityHeaders: {preset}= takes a mapping of header name to value (None "
            f"removes a default), like {{'referrer-policy': 'same-origin'}}"
        )
    merged = dict(defaults)
    for name, value in (changes or {}).items():
        key = name.lower()
        if key == "strict-transport-security":
            raise ConfigurationError(
                "SecurityHeaders: set HSTS with hsts_max_age=, hsts_include_subdomains= and "
                "hsts_preload=, not as a header: it must be sent on https responses only"
            )
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _hsts_value(max_age: int | None, include_subdomains: bool, preload: bool) -> bytes | None:
    if max_age is None:
        if preload:
            raise ConfigurationError("SecurityHeaders: hsts_preload=True needs hsts_max_age")
        return None
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        raise ConfigurationError(
            f"SecurityHeaders: hsts_max_age={max_age!r}; give whole seconds >= 0 "
            "(0 tells browsers to forget the rule), or None for no HSTS"
        )
    if preload and (max_age < PRELOAD_MIN_AGE or not include_subdomains):
        raise ConfigurationError(
            "SecurityHeaders: hsts_preload=True needs hsts_max_age >= 31536000 (a year) and "
            "hsts_include_subdomains=True - what the preload list (hstspreload.org) requires"
        )
    value = f"max-age={max_age}"
    if include_subdomains:
        value += "; includeSubDomains"
    if preload:
        value += "; preload"
    return value.encode("ascii")


class SecurityHeaders:
    """The plugin: ``App(plugins=[SecurityHeaders()])``.

    ``preset``: ``"auto"`` chooses per response by its ``Content-Type``
    (``text/html`` and ``application/xhtml+xml`` get the HTML headers, anything
    else the API ones); ``"api"`` or ``"html"`` fixes it for every response.
    A route may name its own: ``@app.get("/page", security_headers="html")``.
    ``api`` / ``html``: changes to a preset's headers, ``{name: value}``, where
    a value of None removes that header. ``hsts_max_age`` (seconds; None: no
    HSTS), ``hsts_include_subdomains``, ``hsts_preload`` (opt-in, see the docs).
    """

    def __init__(
        self,
        *,
        preset: Preset | Literal["auto"] = "auto",
        api: Mapping[str, str | None] | None = None,
        html: Mapping[str, str | None] | None = None,
        hsts_max_age: int | None = 31_536_000,
        hsts_include_subdomains: bool = True,
        hsts_preload: bool = False,
    ) -> None:
        self.policy = HeaderPolicy(
            preset=preset,
            api=api,
            html=html,
            hsts_max_age=hsts_max_age,
            hsts_include_subdomains=hsts_include_subdomains,
            hsts_preload=hsts_preload,
        )

    def setup(self, app: App) -> None:
        app.add_middleware(SecurityHeadersMiddleware, policy=self.policy)
        app.add_route_wrapper(_route_preset)


def _route_preset(route: RouteInfo, handler: ASGIApp) -> ASGIApp:
    """Runs once per route at startup: a route with ``security_headers=`` marks
    its requests with that preset; every other route is left as it is."""
    preset = route.options.get("security_headers")
    if preset is None:
        return handler
    if preset not in PRESETS:
        raise ConfigurationError(
            f"route {route.path}: security_headers={preset!r}; use 'api' or 'html'"
        )

    async def with_preset(scope: Scope, receive: Receive, send: Send) -> None:
        scope[PRESET_KEY] = preset
        await handler(scope, receive, send)

    return with_preset


class SecurityHeadersMiddleware:
    """The ASGI middleware doing the work; ``SecurityHeaders.setup`` adds it, or
    ``app.add_middleware(SecurityHeadersMiddleware, preset="api", ...)`` (the
    route option ``security_headers=`` needs the plugin form)."""

    def __init__(self, app: ASGIApp, policy: HeaderPolicy | None = None, **options: Any) -> None:
        self.app = app
        self.policy = policy if policy is not None else HeaderPolicy(**options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # A WebSocket has no response to protect (a refused handshake is
            # the server's bare 403); lifespan has no headers at all.
            await self.app(scope, receive, send)
            return
        policy = self.policy
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _with_headers(message, policy, scope.get(PRESET_KEY), https)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _with_headers(
    message: Message, policy: HeaderPolicy, route_preset: Preset | None, https: bool
) -> Message:
    """A copy of the start message with the missing security headers added."""
    headers = list(message.get("headers", ()))
    ours = policy.names
    clash = False
    content_type = b""
    for name, value in headers:
        name = name.lower()
        if name == b"content-type":
            content_type = value
        elif name in ours:
            clash = True
    if route_preset is not None:
        preset = route_preset
    elif policy.preset != "auto":
        preset = policy.preset
    else:
        preset = "html" if _is_html(content_type) else "api"
    extra = policy.lists[(preset, https)]
    if clash:
        # The endpoint set some of these itself: keep its values, add the rest.
        present = {name.lower() for name, _ in headers}
        extra = tuple(pair for pair in extra if pair[0] not in present)
    # PERF: in the usual case (no clash) the prebuilt tuple is appended whole.
    headers.extend(extra)
    return {**message, "headers": headers}


# PERF: an app sends a handful of distinct Content-Type values; deciding each
# once saves parsing the media type on every response. Bounded, so a stream of
# odd values (a proxying app) cannot grow it without end.
_HTML_TYPES = frozenset({b"text/html", b"application/xhtml+xml"})
_html_by_content_type: dict[bytes, bool] = {}


def _is_html(content_type: bytes) -> bool:
    known = _html_by_content_type.get(content_type)
    if known is not None:
        return known
    html = content_type.split(b";", 1)[0].strip().lower() in _HTML_TYPES
    if len(_html_by_content_type) < 256:
        _html_by_content_type[content_type] = html
    return html

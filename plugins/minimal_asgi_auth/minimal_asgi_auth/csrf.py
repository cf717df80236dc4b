"""Cross-site request forgery: refusing state-changing requests another site made.

A browser attaches cookies to every request to a site, whoever asked for it.
If ``evil.example`` serves a page with ``<form method=post
action=https://bank.example/transfer>`` and a script that submits it, the
victim's browser sends the POST *with the victim's session cookie*: the bank
sees a logged-in user asking for a transfer. That is CSRF. It needs no
stolen secret, only the cookie the browser adds by itself.

Three defences here, from the strongest to the fallback
(docs/24-web-security.md tells the story):

1. ``CrossOriginProtection`` - the check Go 1.25's
   ``http.CrossOriginProtection`` makes, written again here. Browsers say
   where a request comes from: ``Sec-Fetch-Site`` (all browsers since 2023)
   and ``Origin``. A non-safe request whose ``Sec-Fetch-Site`` is anything
   but ``same-origin`` or ``none`` is refused; without that header, an
   ``Origin`` whose host is not the ``Host`` (``null`` included) is refused;
   with neither, it is not a browser request (or a very old browser) and
   passes. GET, HEAD and OPTIONS always pass: they must not change state.
   Trusted origins and a bypass list of paths make exceptions.
2. ``CSRFTokens`` - a double-submit token for the old browsers the first
   check lets through: random, signed with the app's key and bound to the
   session id, sent in a cookie *and* in a header or form field. Another
   site can make the browser send the cookie, but cannot read it to copy it.
3. ``OAuthState`` - the OAuth ``state`` bound to the browser that
   started the login, so an attacker cannot complete *their* login in the
   victim's browser (login CSRF, fixed in fastapi-users and fastapi-sso).

``CSRFMiddleware`` applies 1 and 2 to every request, as pure ASGI:
refusals are 403 problem details (RFC 9457).
"""

from __future__ import annotations

import base64
import hmac
import logging
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from typing import Final, Literal

from minimal_asgi import (
    ASGIApp,
    ConfigurationError,
    HTTPException,
    Message,
    ProblemResponse,
    Receive,
    Request,
    Response,
    Scope,
    Send,
)

from .keys import HMACKey

__all__ = [
    "SAFE_METHODS",
    "CSRFMiddleware",
    "CSRFTokens",
    "CrossOriginProtection",
    "OAuthState",
]

logger = logging.getLogger("minimal_asgi_auth.csrf")

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES: Final = 64 * 1024


# ---------------------------------------------------------------- 1. Fetch Metadata and Origin


class CrossOriginProtection:
    """Go 1.25's cross-origin check: which non-safe requests a browser made cross-origin.

    ``trusted_origins``: origins allowed to make cross-origin requests
    (``"https://admin.example"``: scheme, host and port, nothing else).
    ``bypass``: paths never checked - ``"/webhooks/stripe"`` exactly, or
    ``"/webhooks/"`` and everything under it - for endpoints other sites
    are *meant* to call (and that must authenticate some other way).
    """

    def __init__(self, trusted_origins: Iterable[str] = (), bypass: Iterable[str] = ()) -> None:
        if isinstance(trusted_origins, str) or isinstance(bypass, str):
            raise ConfigurationError("trusted_origins and bypass take lists of strings")
        bypass = tuple(bypass)
        self.trusted_origins = frozenset(_checked_origin(o) for o in trusted_origins)
        self.bypass_exact = frozenset(p for p in bypass if not p.endswith("/"))
        self.bypass_prefixes = tuple(p for p in bypass if p.endswith("/"))
        for path in bypass:
            if not path.startswith("/"):
                raise ConfigurationError(f"bypass path {path!r} must start with '/'")

    def refusal(self, method: str, path: str, headers: Sequence[tuple[bytes, bytes]]) -> str | None:
        """Why this request is refused, or None if it may go on."""
        if method in SAFE_METHODS:
            return None
        fetch_site = origin = host = None
        for name, value in headers:
            if name == b"sec-fetch-site":
                fetch_site = value
            elif name == b"origin":
                origin = value
            elif name == b"host":
                host = value
        if fetch_site is not None:
            if fetch_site in (b"same-origin", b"none"):  # "none": typed in the address bar
                return None
            if self._exempt(path, origin):
                return None
            return (
                f"the browser says this request comes from another site "
                f"(Sec-Fetch-Site: {fetch_site.decode('latin-1')[:20]}); "
                "state-changing requests must come from this site's own pages"
            )
        if origin is None:
            return None  # neither header: not a browser, or one too old to send them
        if host is not None and _origin_host(origin) == host.lower():
            return None
        if self._exempt(path, origin):
            return None
        return (
            "the Origin header does not match the Host (and the browser sent no "
            "Sec-Fetch-Site): a cross-origin request, or a browser too old to say"
        )

    def _exempt(self, path: str, origin: bytes | None) -> bool:
        if path in self.bypass_exact or path.startswith(self.bypass_prefixes):
            return True
        return origin is not None and origin.decode("latin-1") in self.trusted_origins


def _origin_host(origin: bytes) -> bytes | None:
    """``b"https://a.example:8443"`` -> ``b"a.example:8443"``; None for ``null`` or junk."""
    scheme, sep, rest = origin.partition(b"://")
    if not sep or scheme not in (b"http", b"https") or not rest or b"/" in rest:
        return None
    return rest.lower()


def _checked_origin(origin: str) -> str:
    parts = urllib.parse.urlsplit(origin)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.path
        or parts.query
        or parts.fragment
        or origin != f"{parts.scheme}://{parts.netloc}"
    ):
        raise ConfigurationError(
            f"trusted origin {origin!r} must be scheme://host[:port], like "
            "'https://admin.example' (no path, no trailing slash)"
        )
    return origin


# ---------------------------------------------------------------- signing helpers


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _as_hmac_key(secret: bytes | HMACKey) -> HMACKey:
    return secret if isinstance(secret, HMACKey) else HMACKey(secret)


def _mac(key: HMACKey, purpose: bytes, *parts: str) -> str:
    # The purpose keeps a CSRF token from passing as an OAuth state, and so on.
    message = purpose + b"\x00" + b"\x00".join(part.encode() for part in parts)
    return _b64(key.sign("HS256", message))


# ---------------------------------------------------------------- 2. double-submit token


class CSRFTokens:
    """Signed double-submit tokens, bound to the session they were issued for.

    ``issue(session_id)`` returns ``nonce.signature``; put it in a cookie
    the page can read (``set_cookie``) and have the page send it back in the
    ``X-CSRF-Token`` header or a ``csrf_token`` form field.
    ``CSRFMiddleware`` checks that both copies are equal *and* that the
    signature fits the current session id, so a token planted from a sibling
    subdomain, or one from another session, does not pass.
    """

    def __init__(
        self,
        secret: bytes | HMACKey,
        *,
        cookie_name: str = "__Host-csrf",
        header: str = "x-csrf-token",
        form_field: str = "csrf_token",
    ) -> None:
        self._key = _as_hmac_key(secret)
        self.cookie_name = cookie_name
        self.header = header.lower().encode("latin-1")
        self.form_field = form_field

    def issue(self, session_id: str) -> str:
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{_mac(self._key, b'csrf', session_id, nonce)}"

    def valid(self, token: str, session_id: str) -> bool:
        nonce, sep, signature = token.partition(".")
        if not sep or not nonce or len(token) > 200:
            return False
        return hmac.compare_digest(
            signature.encode(), _mac(self._key, b"csrf", session_id, nonce).encode()
        )

    def set_cookie(self, response: Response, session_id: str) -> str:
        """Issue a token, set it as a cookie scripts may read, and return it (for a form)."""
        token = self.issue(session_id)
        # Not HttpOnly: the page's script copies it into a header. Harmless: it
        # is not a credential, and another site cannot read this site's cookies.
        response.set_cookie(self.cookie_name, token, httponly=False, samesite="strict")
        return token

    def __repr__(self) -> str:
        return f"CSRFTokens(cookie_name={self.cookie_name!r}, key=<secret>)"


# ---------------------------------------------------------------- the middleware


class CSRFMiddleware:
    """Pure ASGI: cross-origin protection on every request, double-submit tokens if given.

    ``app.add_middleware(CSRFMiddleware, trusted_origins=[...], bypass=[...],
    tokens=CSRFTokens(key), session_cookie="__Host-session")``.

    With ``tokens``, a non-safe request that carries the session cookie must
    also carry a valid token - only when the browser sent no
    ``Sec-Fetch-Site`` (``require_token="old-browsers"``, the default: modern
    browsers are covered by the first check), or always
    (``require_token="always"``). Requests without the session cookie are not
    cookie-authenticated, so a forged one carries no authority.

    WebSocket handshakes get the cross-origin check too (``websockets=True``):
    a socket opened by another site's page would carry the user's cookies.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted_origins: Iterable[str] = (),
        bypass: Iterable[str] = (),
        tokens: CSRFTokens | None = None,
        session_cookie: str = "__Host-session",
        require_token: Literal["old-browsers", "always"] = "old-browsers",
        protection: CrossOriginProtection | None = None,
        websockets: bool = True,
    ) -> None:
        self.app = app
        self.websockets = websockets
        self.protection = protection or CrossOriginProtection(trusted_origins, bypass)
        if require_token not in ("old-browsers", "always"):
            raise ConfigurationError("require_token is 'old-browsers' or 'always'")
        self.tokens = tokens
        self.session_cookie = session_cookie
        self.require_token = require_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and self.websockets:
            await self._websocket(scope, receive, send)
            return
        # PERF: a safe method is one set look-up and nothing else.
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        reason = self.protection.refusal(scope["method"], scope["path"], scope["headers"])
        if reason is None and self.tokens is not None:
            receive, reason = await self._check_token(scope, receive)
        if reason is None:
            await self.app(scope, receive, send)
            return
        logger.warning("CSRF: refused %s %s: %s", scope["method"], scope["path"], reason)
        await ProblemResponse(403, reason, title="Cross-site request refused")(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Cross-site WebSocket hijacking: a handshake is a GET, but the socket
        # it opens carries the user's cookies both ways, so another site's
        # page must not open one. Same rules as a state-changing request.
        reason = self.protection.refusal("WEBSOCKET", scope["path"], scope["headers"])
        if reason is None:
            await self.app(scope, receive, send)
            return
        logger.warning("CSRF: refused a WebSocket to %s: %s", scope["path"], reason)
        await receive()  # websocket.connect
        # Closed before accept: the server refuses the handshake with a 403.
        await send({"type": "websocket.close", "code": 1008})

    async def _check_token(self, scope: Scope, receive: Receive) -> tuple[Receive, str | None]:
        assert self.tokens is not None
        request = Request(scope)
        session_id = request.cookies.get(self.session_cookie)
        if session_id is None:
            return receive, None  # not cookie-authenticated: nothing to forge
        if self.require_token == "old-browsers" and "sec-fetch-site" in request.headers:
            return receive, None  # a modern browser, already checked by Fetch Metadata
        cookie_token = request.cookies.get(self.tokens.cookie_name)
        sent = request.headers.get(self.tokens.header.decode("latin-1"))
        content_type = request.headers.get("content-type", "")
        if sent is None and content_type.startswith("application/x-www-form-urlencoded"):
            receive, sent = await _form_field(receive, self.tokens.form_field)
        if cookie_token is None or sent is None:
            return receive, (
                "this cookie-authenticated request needs the CSRF token: send the "
                f"{self.tokens.cookie_name} cookie's value in the "
                f"{self.tokens.header.decode()} header or the {self.tokens.form_field} field"
            )
        if not hmac.compare_digest(sent.encode(), cookie_token.encode()) or not self.tokens.valid(
            sent, session_id
        ):
            return receive, "the CSRF token is wrong or belongs to another session"
        return receive, None


async def _form_field(receive: Receive, field: str) -> tuple[Receive, str | None]:
    """Read a urlencoded body (up to 64 KiB) for ``field``; a receive that replays it."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            chunks.append(chunk)
            break  # too large to look into: the token must come in the header
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    value = None
    if size <= MAX_FORM_BYTES:
        values = urllib.parse.parse_qs(body.decode("latin-1"), max_num_fields=1000).get(field)
        value = values[0] if values else None
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay, value


# ---------------------------------------------------------------- 3. OAuth state


class OAuthState:
    """The OAuth 2.0 ``state`` parameter, bound to the browser that began the login.

    ``begin(response)`` makes a random state, sets it in a signed, short-lived,
    HttpOnly cookie, and returns it for the authorization URL. On the
    callback, ``verify(request, state, response)`` requires the cookie, its
    signature, its age, and the ``state`` query parameter equal to it; the
    cookie is deleted, so a state serves once. An attacker who sends the
    victim to the callback with the attacker's own code and state fails: the
    victim's browser has no cookie for that state (RFC 6749 10.12).
    """

    def __init__(
        self,
        secret: bytes | HMACKey,
        *,
        cookie_name: str = "__Host-oauth-state",
        max_age: int = 600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = _as_hmac_key(secret)
        self.cookie_name = cookie_name
        self.max_age = max_age
        self._clock = clock

    def begin(self, response: Response) -> str:
        state = secrets.token_urlsafe(32)
        expires = str(int(self._clock()) + self.max_age)
        value = f"{state}.{expires}.{_mac(self._key, b'oauth-state', state, expires)}"
        # SameSite=Lax: the provider's redirect back is a top-level GET, which carries it.
        response.set_cookie(self.cookie_name, value, max_age=self.max_age, samesite="lax")
        return state

    def verify(self, request: Request, state: str | None, response: Response | None = None) -> None:
        """Return if ``state`` is the one this browser began with; 403 problem otherwise."""
        if response is not None:
            response.delete_cookie(self.cookie_name, samesite="lax")
        cookie = request.cookies.get(self.cookie_name)
        if cookie is None:
            raise _forbidden("no login was started in this browser (the state cookie is missing)")
        saved, expires, signature = ([*cookie.split("."), "", ""])[:3]
        expected = _mac(self._key, b"oauth-state", saved, expires)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise _forbidden("the state cookie's signature is wrong")
        if not expires.isdigit() or int(expires) < self._clock():
            raise _forbidden("the login took too long; start again")
        if state is None or not hmac.compare_digest(state.encode(), saved.encode()):
            raise _forbidden("the state does not match the login this browser started")

    def __repr__(self) -> str:
        return f"OAuthState(cookie_name={self.cookie_name!r}, key=<secret>)"


def _forbidden(detail: str) -> HTTPException:
    return HTTPException(403, f"OAuth state check failed: {detail}", title="Login refused")

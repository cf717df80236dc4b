"""An OAuth 2.0 token endpoint (RFC 6749): enough to show the shape.

``POST /token`` takes an ``application/x-www-form-urlencoded`` body with a
``grant_type`` and answers JSON - the access token, or an error object:

=======================  ====================================================
grant_type               what the client sends
=======================  ====================================================
``password``             ``username``, ``password``, ``scope`` (section 4.3;
                         the resource-owner password grant: first-party apps
                         only, and deprecated by OAuth 2.1 - see chapter 19)
``client_credentials``   its own credentials, HTTP Basic or ``client_id`` and
                         ``client_secret`` in the body (section 4.4)
``refresh_token``        ``refresh_token`` (section 6), rotated on every use
=======================  ====================================================

Errors follow section 5.2 - they are what OAuth clients parse, so they are
RFC 6749 JSON, not problem details: ``{"error": "invalid_grant",
"error_description": "..."}`` with 400, or 401 and a ``WWW-Authenticate``
challenge when client authentication failed (``invalid_client``). Every
answer carries ``Cache-Control: no-store``: tokens must never be cached.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote_plus

from minimal_asgi import App, JSONResponse, Request

from .tokens import InvalidRefreshToken, Tokens

__all__ = ["Grant", "OAuth2Client", "TokenEndpoint"]

_NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_SINGLE: Final = ("grant_type", "username", "password", "scope", "refresh_token",
                  "client_id", "client_secret")


@dataclass(frozen=True)
class Grant:
    """What a successful password check grants: who, their roles, and the
    scopes they may ask for."""

    subject: str
    roles: Collection[str] = ()
    scopes: Collection[str] = ()


@dataclass(frozen=True)
class OAuth2Client:
    """A confidential client (a program, not a person): its secret is kept
    only as a SHA-256 digest (it is 256 random bits; see apikeys.py for why a
    fast hash is right for those)."""

    client_id: str
    secret_digest: str
    scopes: Collection[str] = ()
    roles: Collection[str] = ()

    @classmethod
    def create(
        cls, client_id: str, *, scopes: Collection[str] = (), roles: Collection[str] = ()
    ) -> tuple[str, OAuth2Client]:
        """A new client: its secret (show it once) and the record to keep."""
        secret = secrets.token_urlsafe(32)
        return secret, cls(client_id, _digest(secret), tuple(scopes), tuple(roles))

    def check(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_digest, _digest(secret))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class OAuth2Error(Exception):
    def __init__(self, error: str, description: str, status: int = 400,
                 challenge: str | None = None) -> None:
        super().__init__(description)
        self.error, self.description, self.status, self.challenge = (
            error, description, status, challenge)

    def response(self) -> JSONResponse:
        headers = dict(_NO_STORE)
        if self.challenge is not None:
            headers["WWW-Authenticate"] = self.challenge
        return JSONResponse({"error": self.error, "error_description": self.description},
                            self.status, headers=headers)


PasswordCheck = Callable[[str, str], Awaitable[Grant | None]]


class TokenEndpoint:
    """A plugin that adds ``POST path``: ``App(plugins=[TokenEndpoint(tokens, ...)])``.

    ``check_password(username, password)`` returns a ``Grant`` or
    ``None``; it should cost the same either way (``passwords.verify_unknown_user``).
    ``clients`` are the confidential clients, by id.
    """

    def __init__(
        self,
        tokens: Tokens,
        *,
        check_password: PasswordCheck | None = None,
        clients: Mapping[str, OAuth2Client] | None = None,
        path: str = "/token",
        realm: str = "token",
    ) -> None:
        self.tokens = tokens
        self.check_password = check_password
        self.clients = dict(clients or {})
        self.path = path
        self.realm = realm

    def setup(self, app: App) -> None:
        async def token(request: Request) -> JSONResponse:
            """OAuth 2.0 token endpoint (RFC 6749): password, client_credentials, refresh_token."""
            try:
                return await self.handle(request)
            except OAuth2Error as error:
                return error.response()

        app.add_route(self.path, token, ["POST"], name="oauth2_token")

    async def handle(self, request: Request) -> JSONResponse:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise OAuth2Error("invalid_request",
                              "send the parameters as application/x-www-form-urlencoded")
        form = await request.form()
        for name in _SINGLE:
            if len(form.getlist(name)) > 1:  # RFC 6749 section 3.2
                raise OAuth2Error("invalid_request", f"the parameter {name} is repeated")
        client = self._client(request, form.get("client_id"), form.get("client_secret"))
        grant_type = form.get("grant_type")
        requested = form.get("scope")
        if grant_type == "password":
            if self.check_password is None:
                raise OAuth2Error("unsupported_grant_type", "this server has no password grant")
            username, password = form.get("username"), form.get("password")
            if not username or password is None:
                raise OAuth2Error(
                    "invalid_request", "the password grant needs username and password"
                )
            grant = await self.check_password(username, password)
            if grant is None:
                raise OAuth2Error("invalid_grant", "the username or password is wrong")
            scopes = _scopes(requested, grant.scopes)
            pair = await self.tokens.issue(grant.subject, roles=grant.roles, scopes=scopes)
        elif grant_type == "client_credentials":
            if client is None:
                raise self._invalid_client("client_credentials needs client authentication")
            scopes = _scopes(requested, client.scopes)
            # No refresh token: the client can always ask again (RFC 6749 section 4.4.3).
            access = self.tokens.access_token(client.client_id, roles=client.roles, scopes=scopes,
                                              claims={"client_id": client.client_id})
            body: dict[str, Any] = {"access_token": access, "token_type": "Bearer",
                                    "expires_in": self.tokens.access_ttl}
            if scopes:
                body["scope"] = " ".join(sorted(scopes))
            return JSONResponse(body, headers=dict(_NO_STORE))
        elif grant_type == "refresh_token":
            presented = form.get("refresh_token")
            if not presented:
                raise OAuth2Error("invalid_request", "the refresh_token grant needs refresh_token")
            narrowed = requested.split() if requested is not None else None
            try:
                pair = await self.tokens.refresh(presented, scopes=narrowed)
            except InvalidRefreshToken as exc:
                error = "invalid_scope" if exc.reason == "scope" else "invalid_grant"
                raise OAuth2Error(error, str(exc)) from None
        elif grant_type is None:
            raise OAuth2Error("invalid_request", "the grant_type parameter is missing")
        else:
            raise OAuth2Error("unsupported_grant_type",
                              f"grant_type {grant_type[:40]!r} is not supported here")
        return JSONResponse(pair.as_json(), headers=dict(_NO_STORE))

    def _client(self, request: Request, client_id: str | None,
                client_secret: str | None) -> OAuth2Client | None:
        """The authenticated client, None when none tried; ``invalid_client`` when one failed."""
        header = request.headers.get("authorization")
        basic = header is not None and header[:6].lower() == "basic "
        if basic and client_secret is not None:
            raise OAuth2Error("invalid_request", "use one client authentication method, not two")
        if basic:
            assert header is not None
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
                raw_id, _, raw_secret = decoded.partition(":")
                # RFC 6749 section 2.3.1: both parts are form-urlencoded first.
                client_id, client_secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            except (binascii.Error, UnicodeDecodeError):
                raise self._invalid_client("the Basic credentials are not valid base64") from None
        if client_secret is None:
            return None
        client = self.clients.get(client_id or "")
        if client is None or not client.check(client_secret):
            raise self._invalid_client("unknown client or wrong secret")
        return client

    def _invalid_client(self, description: str) -> OAuth2Error:
        return OAuth2Error("invalid_client", description, 401, f'Basic realm="{self.realm}"')


def _scopes(requested: str | None, allowed: Collection[str]) -> list[str]:
    if requested is None:
        return sorted(allowed)  # RFC 6749 section 3.3: a documented default
    wanted = requested.split()
    extra = set(wanted) - set(allowed)
    if extra:
        raise OAuth2Error("invalid_scope", f"not granted: {' '.join(sorted(extra))}")
    return sorted(set(wanted))

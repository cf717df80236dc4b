"""The ``Auth`` plugin: finding the caller, and guards that let them through or not.

Per request, ``Auth.authenticate`` looks for one credential, in this order:

1. ``Authorization: Bearer <access token>`` (on a WebSocket, also a
   subprotocol ``bearer.<access token>``: browsers cannot set headers on a
   WebSocket, and a query string would land the token in every access log);
2. the API-key header (``X-API-Key`` by default);
3. the session cookie.

A credential that is present but wrong is a 401 at once - it is never skipped
in favour of the next one, so a stale token cannot silently fall back to a
session. No credential at all is ``None``; ``current_user`` turns that into a
401 too. Both carry a ``WWW-Authenticate`` challenge (RFC 9110 section 11.6.1);
for a bad bearer token it names the error, ``invalid_token`` (RFC 6750
section 3.1). A caller who is known but not allowed gets a 403 - with
``error="insufficient_scope"`` when a token lacks a scope.

Guards are ordinary dependencies, so they go wherever dependencies go: on a
route, a router or the whole app (``dependencies=[auth.requires("admin")]``),
and on WebSocket routes, where a refusal closes the handshake with 1008.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final

from minimal_asgi import App, Depends, HTTPConnection, HTTPException, OpenAPISecurity

from . import jwt
from .apikeys import APIKeys
from .principal import RBAC, Principal
from .sessions import Sessions
from .tokens import Tokens

__all__ = ["SCOPE_KEY", "Auth"]

SCOPE_KEY: Final = "minimal_asgi_auth.principal"  # where the middleware form leaves it
WEBSOCKET_TOKEN_PREFIX: Final = "bearer."

Guard = Callable[..., Awaitable[Any]]


class Auth:
    """The plugin: ``App(plugins=[auth])``; then ``Depends(auth.current_user)``
    or a parameter annotated ``Principal``, and guards in ``dependencies=[...]``.

    Give it the credentials the app accepts - ``tokens`` (bearer access
    tokens), ``api_keys``, ``sessions`` - and, for ``requires_permission``,
    an ``rbac`` table. ``token_url`` (where an OAuth2 token endpoint is) and
    ``scopes`` (``{scope: description}``) are shown in the OpenAPI document.
    """

    def __init__(
        self,
        *,
        tokens: Tokens | None = None,
        api_keys: APIKeys | None = None,
        sessions: Sessions | None = None,
        rbac: RBAC | None = None,
        api_key_header: str = "X-API-Key",
        realm: str = "api",
        token_url: str | None = None,
        scopes: Mapping[str, str] | None = None,
    ) -> None:
        if tokens is None and api_keys is None and sessions is None:
            raise ValueError("Auth(): give at least one of tokens=, api_keys=, sessions=")
        if '"' in realm or "\\" in realm:
            raise ValueError(f"realm={realm!r}: no quotes or backslashes")
        self.tokens = tokens
        self.api_keys = api_keys
        self.sessions = sessions
        self.rbac = rbac
        self.api_key_header = api_key_header.lower()
        self.realm = realm
        self.token_url = token_url
        self.scopes = dict(scopes or {})
        self._schemes = self._security_schemes(api_key_header)
        self.current_user = self._make_current_user()
        self.optional_user = self._make_optional_user()

    def setup(self, app: App) -> None:
        # A parameter annotated Principal is the signed-in caller (or a 401).
        app.provide(Principal, self.current_user)

    # -- finding the caller -------------------------------------------------------

    async def authenticate(self, connection: HTTPConnection) -> Principal | None:
        """The caller, from the first credential present; None when there is
        none; a 401 ``HTTPException`` when one is present and invalid."""
        found = connection.scope.get(SCOPE_KEY)
        if isinstance(found, Principal):
            return found  # the middleware form already did the work
        principal = await self._authenticate(connection)
        if principal is not None:
            connection.scope[SCOPE_KEY] = principal
        return principal

    async def _authenticate(self, connection: HTTPConnection) -> Principal | None:
        if self.tokens is not None:
            token = self._bearer_token(connection)
            if token is not None:
                return self._from_token(token)
        if self.api_keys is not None:
            presented = connection.headers.get(self.api_key_header)
            if presented is not None:
                key = await self.api_keys.verify(presented)
                if key is None:
                    raise self.unauthorized("the API key is not valid (unknown or revoked)")
                return Principal(key.subject, "api_key", scopes=key.scopes,
                                 claims={"key": key.prefix, "name": key.name})
        if self.sessions is not None:
            session = await self.sessions.load(connection)
            if session is not None:
                roles = session.data.get("roles", ())
                return Principal(session.subject, "session", roles=frozenset(roles),
                                 claims=session.data)
        return None

    def _bearer_token(self, connection: HTTPConnection) -> str | None:
        header = connection.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer":
                if not token.strip():
                    raise self.unauthorized("the Authorization header has no token",
                                            error="invalid_request", status=400)
                return str(token).strip()
        if connection.scope.get("type") == "websocket":
            for offered in connection.scope.get("subprotocols", ()):
                if offered.startswith(WEBSOCKET_TOKEN_PREFIX):
                    return str(offered)[len(WEBSOCKET_TOKEN_PREFIX):]
        return None

    def _from_token(self, token: str) -> Principal:
        assert self.tokens is not None
        try:
            claims = self.tokens.verify_access(token)
        except jwt.InvalidTokenError as exc:
            # The reason stays in the detail for the client; an attacker learns
            # nothing it did not send.
            raise self.unauthorized(f"the access token is not valid: {exc}",
                                    error="invalid_token") from None
        roles = claims.get("roles", [])
        scope = claims.get("scope", "")
        if not isinstance(roles, list) or not isinstance(scope, str):
            raise self.unauthorized("the access token's roles or scope are malformed",
                                    error="invalid_token")
        return Principal(str(claims["sub"]), "bearer", roles=frozenset(map(str, roles)),
                         scopes=frozenset(scope.split()), claims=claims)

    # -- answers ------------------------------------------------------------------

    def challenge(self, error: str | None = None, description: str | None = None,
                  scope: str | None = None) -> str:
        """The ``WWW-Authenticate`` value: one challenge per accepted credential."""
        params = [f'realm="{self.realm}"']
        if error is not None:
            params.append(f'error="{error}"')
        if error is not None and description is not None:
            # RFC 6750: error_description is printable ASCII without " and \.
            safe = "".join(c for c in description if 0x20 <= ord(c) < 0x7F and c not in '"\\')
            params.append(f'error_description="{safe[:200]}"')
        if scope is not None:
            params.append(f'scope="{scope}"')
        challenges = []
        if self.tokens is not None:
            challenges.append("Bearer " + ", ".join(params))
        if self.api_keys is not None:
            challenges.append(f'ApiKey realm="{self.realm}"')
        if self.sessions is not None and not challenges:
            challenges.append(f'Session realm="{self.realm}"')  # no standard scheme exists
        return ", ".join(challenges)

    def unauthorized(self, detail: str, *, error: str | None = None,
                     status: int = 401) -> HTTPException:
        return HTTPException(status, detail, {"WWW-Authenticate": self.challenge(error, detail)})

    # -- dependencies and guards ---------------------------------------------------

    def _make_current_user(self) -> Guard:
        async def current_user(connection: HTTPConnection) -> Principal:
            """The signed-in caller; 401 when there is none."""
            principal = await self.authenticate(connection)
            if principal is None:
                raise HTTPException(401, "authentication required",
                                    {"WWW-Authenticate": self.challenge()})
            return principal

        current_user.openapi_security = self._requirement(())  # type: ignore[attr-defined]
        return current_user

    def _make_optional_user(self) -> Guard:
        async def optional_user(connection: HTTPConnection) -> Principal | None:
            """The caller if there is one (a wrong credential is still a 401)."""
            return await self.authenticate(connection)

        return optional_user

    def requires(self, *roles: str) -> Guard:
        """A guard: the caller must have every one of ``roles`` (else 403)."""
        needed = frozenset(roles)
        current_user = self.current_user

        async def requires_roles(
            user: Principal = Depends(current_user),
        ) -> None:
            missing = needed - user.roles
            if missing:
                raise HTTPException(403, f"this needs the role {', '.join(sorted(missing))}")

        requires_roles.__qualname__ = f"requires({', '.join(map(repr, roles))})"
        return requires_roles

    def requires_permission(self, *permissions: str) -> Guard:
        """A guard: the caller's roles must grant every one of ``permissions``
        in the ``rbac`` table (else 403)."""
        rbac = self.rbac
        if rbac is None:
            raise ValueError("requires_permission needs Auth(rbac=RBAC({...}))")
        needed = frozenset(permissions)
        current_user = self.current_user

        async def requires_permissions(user: Principal = Depends(current_user)) -> None:
            missing = needed - rbac.permissions(user.roles)
            if missing:
                raise HTTPException(403, f"this needs the permission {', '.join(sorted(missing))}")

        listed = ", ".join(map(repr, permissions))
        requires_permissions.__qualname__ = f"requires_permission({listed})"
        return requires_permissions

    def requires_scopes(self, *scopes: str) -> Guard:
        """A guard: a token or API key must carry every one of ``scopes``
        (403 ``insufficient_scope``). A session is the user in person, not a
        delegation, and is not limited by scopes."""
        needed = frozenset(scopes)
        current_user = self.current_user
        scope_text = " ".join(sorted(needed))

        async def requires_scope(user: Principal = Depends(current_user)) -> None:
            if not user.has_scopes(needed):
                detail = f"this needs the scope {scope_text}"
                headers = {}
                if user.method == "bearer":
                    headers["WWW-Authenticate"] = self.challenge("insufficient_scope", detail,
                                                                 scope_text)
                raise HTTPException(403, detail, headers)

        requires_scope.__qualname__ = f"requires_scopes({', '.join(map(repr, scopes))})"
        requires_scope.openapi_security = self._requirement(sorted(needed))  # type: ignore[attr-defined]
        return requires_scope

    # -- OpenAPI ------------------------------------------------------------------

    def _security_schemes(self, api_key_header: str) -> dict[str, dict[str, Any]]:
        schemes: dict[str, dict[str, Any]] = {}
        if self.tokens is not None:
            schemes["bearer"] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            if self.token_url is not None:
                schemes["oauth2"] = {"type": "oauth2", "flows": {"password": {
                    "tokenUrl": self.token_url, "refreshUrl": self.token_url,
                    "scopes": dict(self.scopes)}}}
        if self.api_keys is not None:
            schemes["apiKey"] = {"type": "apiKey", "in": "header", "name": api_key_header}
        if self.sessions is not None:
            schemes["session"] = {"type": "apiKey", "in": "cookie",
                                  "name": self.sessions.cookie_name}
        return schemes

    def _requirement(self, scopes: Iterable[str]) -> OpenAPISecurity:
        scoped = list(scopes)
        alternatives = [
            {name: [] if name == "session" else scoped} for name in self._schemes
        ]
        return OpenAPISecurity(schemes=self._schemes, requirements=alternatives)

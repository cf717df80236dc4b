"""Accounts: sign-up, login, refresh, logout, an admin-only route and an API-key route.

Run it::

    .venv/bin/uvicorn examples.accounts.app:app

Two ways to be signed in, side by side:

- **Tokens** (programs, mobile apps; a browser front-end on another origin
  must be listed in ``ACCOUNTS_TRUSTED_ORIGINS``, and needs CORS): ``POST /login``
  answers an access token (5 minutes) and a refresh token; ``POST /refresh``
  rotates the refresh token; ``POST /logout`` revokes its family.
  ``POST /token`` is the same through OAuth 2.0's password and refresh-token
  grants, declared in the OpenAPI document for tools such as Swagger UI.
- **A session cookie** (a server-rendered site on this origin):
  ``POST /session`` sets ``__Host-session``; ``DELETE /session`` ends it.
  A browser attaches that cookie to requests *another* site's page makes, so
  ``CSRFMiddleware`` refuses every state-changing request a browser says is
  cross-origin (``Sec-Fetch-Site``, ``Origin``) with a 403 problem. Programs
  sending a bearer token or an API key send neither header and pass.

Settings come from the environment (examples/accounts/settings.py):
``ACCOUNTS_JWT_SECRET``, the signing key (refused in production when unset,
a placeholder or short), ``ACCOUNTS_REDIS_URL`` to keep refresh tokens,
sessions and API keys in Redis (several workers), ``ACCOUNTS_ADMIN_EMAILS``,
who signs up as admin, and ``ACCOUNTS_TRUSTED_ORIGINS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from minimal_asgi import (
    App,
    Depends,
    HTTPException,
    MaxLen,
    MinLen,
    Request,
    Response,
)
from minimal_asgi_auth import (
    RBAC,
    APIKeys,
    Auth,
    Grant,
    InvalidRefreshToken,
    Principal,
    RedisAPIKeyStore,
    RedisRefreshStore,
    RedisSessionStore,
    RequireAuth,
    Sessions,
    TokenEndpoint,
    Tokens,
    passwords,
)
from minimal_asgi_auth.csrf import CSRFMiddleware
from minimal_asgi_redis import RedisConnection

from .settings import AccountsSettings, load

__all__ = ["AccountsSettings", "app", "create_app"]


# -- the data ---------------------------------------------------------------------


@dataclass
class User:
    id: int
    email: str
    password_hash: str
    roles: list[str] = field(default_factory=lambda: ["member"])


@dataclass
class SignUp:
    email: Annotated[str, MinLen(3), MaxLen(254)]
    password: Annotated[str, MinLen(12), MaxLen(256)]  # length, not composition rules (NIST)


@dataclass
class Login:
    email: Annotated[str, MaxLen(254)]
    password: Annotated[str, MaxLen(256)]


@dataclass
class RefreshRequest:
    refresh_token: Annotated[str, MaxLen(200)]


@dataclass
class NewKey:
    name: Annotated[str, MinLen(1), MaxLen(80)]
    scopes: list[Literal["stats:read"]] = field(default_factory=lambda: ["stats:read"])


class Users:
    """The user repository (in memory: the lesson is the auth around it)."""

    def __init__(self, hasher: passwords.Hasher, admins: list[str]) -> None:
        self.hasher = hasher
        self.admins = {a.lower() for a in admins}
        self.by_email: dict[str, User] = {}

    def sign_up(self, email: str, password: str) -> User:
        email = email.strip().lower()
        if email in self.by_email:
            raise HTTPException(409, "an account with this e-mail already exists")
        roles = ["member", "admin"] if email in self.admins else ["member"]
        user = User(len(self.by_email) + 1, email, self.hasher.hash(password), roles)
        self.by_email[email] = user
        return user

    def check(self, email: str, password: str) -> User | None:
        """The user if the password is right. Unknown e-mails cost one argon2
        verification too, so timing does not reveal who has an account."""
        user = self.by_email.get(email.strip().lower())
        if user is None:
            self.hasher.verify_unknown_user(password)
            return None
        ok, upgraded = self.hasher.verify_and_update(user.password_hash, password)
        if ok and upgraded is not None:
            user.password_hash = upgraded  # stronger parameters, stored at the next login
        return user if ok else None


# -- the app ------------------------------------------------------------------------


def create_app(
    settings: AccountsSettings | None = None, *, hasher: passwords.Hasher | None = None
) -> App:
    # Read once, here: a bad key in production stops the app before it listens.
    settings = settings or load()
    key = settings.jwt_secret.get_secret_value().encode()
    users = Users(hasher or passwords.Hasher(), settings.admin_emails)
    plugins: list[Any] = []
    if settings.redis_url:
        redis = RedisConnection(settings.redis_url)
        plugins.append(redis)
        prefix = settings.redis_prefix
        tokens = Tokens(key, store=RedisRefreshStore(redis, prefix=f"{prefix}refresh:"))
        sessions = Sessions(RedisSessionStore(redis, prefix=f"{prefix}session:"),
                            secure=settings.secure_cookies, cookie_name=_cookie_name(settings))
        api_keys = APIKeys(RedisAPIKeyStore(redis, prefix=f"{prefix}apikey:"))
    else:
        tokens = Tokens(key)
        sessions = Sessions(secure=settings.secure_cookies, cookie_name=_cookie_name(settings))
        api_keys = APIKeys()
    auth = Auth(
        tokens=tokens,
        api_keys=api_keys,
        sessions=sessions,
        rbac=RBAC({"member": {"keys:manage"}, "admin": {"users:list"}},
                  inherits={"admin": {"member"}}),
        token_url="/token",
        scopes={"stats:read": "read the statistics"},
    )

    async def check_password(username: str, password: str) -> Grant | None:
        user = users.check(username, password)
        return None if user is None else Grant(str(user.id), user.roles, ["stats:read"])

    app = App(title="accounts", plugins=[*plugins, auth,
                                         TokenEndpoint(tokens, check_password=check_password)])
    # Everything under /admin, present and future, is for admins - even a
    # mistyped path answers 401/403, not 404 (chapter 23: middleware or dependency).
    app.add_middleware(RequireAuth, auth=auth, prefixes=["/admin"], roles=["admin"])
    # The session cookie rides along on requests other sites' pages make, so a
    # state-changing request a browser marks as cross-origin is refused (a 403
    # problem) before any endpoint runs - POST /session too, or another site
    # could sign the browser in to the attacker's account (login CSRF).
    # Added last, so it runs first. No double-submit token: this app serves no
    # pages, and the browsers too old to send Sec-Fetch-Site or Origin
    # (before 2020) are the only ones it would add (chapter 24).
    app.add_middleware(CSRFMiddleware, trusted_origins=settings.trusted_origins)
    users_by_id = lambda: {str(u.id): u for u in users.by_email.values()}  # noqa: E731

    @app.post("/accounts", status_code=201)
    async def sign_up(body: SignUp) -> dict[str, Any]:
        """Create an account."""
        user = users.sign_up(body.email, body.password)
        return {"id": user.id, "email": user.email, "roles": user.roles}

    @app.post("/login")
    async def login(body: Login) -> dict[str, Any]:
        """Exchange an e-mail and password for an access and a refresh token."""
        user = users.check(body.email, body.password)
        if user is None:
            raise HTTPException(401, "wrong e-mail or password",
                                {"WWW-Authenticate": auth.challenge()})
        pair = await tokens.issue(str(user.id), roles=user.roles, scopes=["stats:read"])
        return pair.as_json()

    @app.post("/refresh")
    async def refresh(body: RefreshRequest) -> dict[str, Any]:
        """Rotate a refresh token: the old one is spent; reusing it revokes the login."""
        try:
            return (await tokens.refresh(body.refresh_token)).as_json()
        except InvalidRefreshToken as exc:
            raise HTTPException(401, str(exc), {"WWW-Authenticate": auth.challenge(
                "invalid_token")}) from None

    @app.post("/logout", status_code=204)
    async def logout(body: RefreshRequest) -> None:
        """Revoke the refresh token's login (its access tokens expire within minutes)."""
        await tokens.revoke(body.refresh_token)

    @app.post("/session", status_code=204)
    async def session_login(body: Login, request: Request) -> Response:
        """Sign a browser in: a new session id in the __Host-session cookie."""
        user = users.check(body.email, body.password)
        if user is None:
            raise HTTPException(401, "wrong e-mail or password",
                                {"WWW-Authenticate": auth.challenge()})
        response = Response(status_code=204)
        await sessions.login(response, str(user.id), {"roles": user.roles}, replacing=request)
        return response

    @app.delete("/session", status_code=204)
    async def session_logout(request: Request) -> Response:
        """Sign the browser out: the session ends on the server, the cookie is cleared."""
        response = Response(status_code=204)
        await sessions.logout(request, response)
        return response

    @app.get("/me")
    async def me(user: Principal) -> dict[str, Any]:
        """Who you are, however you signed in."""
        account = users_by_id().get(user.subject)
        return {"id": user.subject, "email": account.email if account else None,
                "roles": sorted(user.roles), "via": user.method}

    @app.get("/admin/users", dependencies=[auth.requires("admin")])
    async def list_users() -> list[dict[str, Any]]:
        """Every account (admins only)."""
        return [{"id": u.id, "email": u.email, "roles": u.roles} for u in users.by_email.values()]

    @app.post("/api-keys", status_code=201, dependencies=[auth.requires_permission("keys:manage")])
    async def create_key(body: NewKey, user: Principal) -> dict[str, Any]:
        """Create an API key. The key is in this answer only: store it now."""
        plain, record = await api_keys.create(user.subject, name=body.name, scopes=body.scopes)
        return {"key": plain, "prefix": record.prefix, "scopes": sorted(record.scopes)}

    @app.get("/api-keys", dependencies=[auth.requires_permission("keys:manage")])
    async def list_keys(user: Principal) -> list[dict[str, Any]]:
        """Your keys, with when each was last used (never the keys themselves)."""
        return [{"prefix": k.prefix, "name": k.name, "scopes": sorted(k.scopes),
                 "last_used": k.last_used} for k in await api_keys.list(user.subject)]

    @app.delete("/api-keys/{prefix}", status_code=204)
    async def revoke_key(prefix: str, user: Principal = Depends(auth.current_user)) -> None:
        """Revoke one of your keys."""
        mine = {k.prefix for k in await api_keys.list(user.subject)}
        if prefix not in mine:
            raise HTTPException(404, "you have no key with this prefix")
        await api_keys.revoke(prefix)

    @app.get("/stats", dependencies=[auth.requires_scopes("stats:read")])
    async def stats() -> dict[str, int]:
        """The API-key route: any credential with the stats:read scope."""
        return {"accounts": len(users.by_email)}

    return app


def _cookie_name(settings: AccountsSettings) -> str:
    # __Host- needs Secure; plain-HTTP development on another host cannot have it.
    return "__Host-session" if settings.secure_cookies else "session"


app = create_app()

"""Accounts: sign up, log in for tokens, refresh them, log out, API keys.

Two kinds of client, two credentials:

- people's programs (a mobile app, a single-page app, curl) log in with
  ``POST /login`` for a short access token (5 minutes) and a refresh token;
  ``POST /refresh`` spends the refresh token for a new pair (rotation: a
  stolen refresh token used after its owner used it revokes the login);
- a machine client (a nightly report) gets an API key from an admin and
  sends it in ``X-API-Key``; the key carries scopes, not roles.

The browser page (routes/pages.py) uses a session cookie instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from minimal_asgi import App, HTTPException, MaxLen, MinLen, Pattern
from minimal_asgi_auth import InvalidRefreshToken, Principal

from ..dependencies import Accounts
from ..services import roles_of
from . import Parts


@dataclass
class SignUp:
    email: Annotated[str, Pattern(r"[^@\s\x00]+@[^@\s\x00]+"), MaxLen(254)]
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
    name: Annotated[str, Pattern(r"[^\x00]*"), MinLen(1), MaxLen(80)]
    scopes: list[Literal["loans:read"]] = field(default_factory=lambda: ["loans:read"])


def register(app: App, parts: Parts) -> None:
    auth, tokens, api_keys, limiter = parts.auth, parts.tokens, parts.api_keys, parts.limiter
    login_limit = parts.settings.login_limit

    @app.post("/accounts", status_code=201, responses={409: "That e-mail is taken."})
    async def sign_up(body: SignUp, accounts: Accounts) -> dict[str, Any]:
        """Create an account (a member; the e-mails in BOOKSHELF_ADMIN_EMAILS are admins)."""
        user = await accounts.sign_up(body.email, body.password)
        return {"id": user["id"], "email": user["email"], "roles": roles_of(user["role"])}

    @app.post("/login", responses={401: "Wrong e-mail or password.",
                                   429: "Too many attempts for this e-mail."})
    async def login(body: Login, accounts: Accounts) -> dict[str, Any]:
        """Exchange an e-mail and password for an access and a refresh token."""
        # Counted per e-mail, before the password is checked: guessing one
        # account's password from many addresses still hits one quota.
        decision = await limiter.hit(f"login:{body.email.strip().lower()}", login_limit)
        if not decision.allowed:
            raise HTTPException(429, "too many login attempts for this e-mail; wait a minute",
                                {"retry-after": str(decision.retry_after)})
        user = await accounts.check(body.email, body.password)
        if user is None:
            raise HTTPException(401, "wrong e-mail or password",
                                {"WWW-Authenticate": auth.challenge()})
        pair = await tokens.issue(str(user["id"]), roles=roles_of(user["role"]))
        return pair.as_json()

    @app.post("/refresh", responses={401: "The refresh token is not valid."})
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

    @app.get("/me")
    async def me(user: Principal) -> dict[str, Any]:
        """Who you are, however you signed in."""
        return {"id": int(user.subject), "roles": sorted(user.roles), "via": user.method}

    @app.post("/api-keys", status_code=201, dependencies=[auth.requires("admin")])
    async def create_key(body: NewKey, user: Principal) -> dict[str, Any]:
        """Create an API key for a machine client. The key is in this answer only."""
        plain, record = await api_keys.create(user.subject, name=body.name, scopes=body.scopes)
        return {"key": plain, "prefix": record.prefix, "scopes": sorted(record.scopes)}

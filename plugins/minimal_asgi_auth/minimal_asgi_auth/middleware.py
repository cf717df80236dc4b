"""The middleware form: whole path prefixes protected before routing.

A guard in ``dependencies=[...]`` sits beside the routes it protects and is
part of their plan (and of the OpenAPI document). This middleware sits in
front of the router instead: every request under ``/admin`` must come from an
authenticated caller with the roles named, whatever routes exist there now or
are added later - even a path that matches no route is refused before anyone
learns it does not exist. docs/23-authorization.md says when each is right.
"""

from __future__ import annotations

from collections.abc import Iterable

from minimal_asgi import (
    ASGIApp,
    HTTPConnection,
    HTTPException,
    ProblemResponse,
    Receive,
    Scope,
    Send,
)

from .guards import Auth

__all__ = ["RequireAuth"]


class RequireAuth:
    """``app.add_middleware(RequireAuth, auth=auth, prefixes=["/admin"], roles=["admin"])``.

    ``prefixes`` match whole segments: ``/admin`` covers ``/admin`` and
    ``/admin/users``, never ``/administrator``. WebSocket handshakes under a
    prefix are checked the same way, and refused with close code 1008 (the
    server answers the handshake with 403).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        auth: Auth,
        prefixes: Iterable[str],
        roles: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.auth = auth
        self.prefixes = tuple(p.rstrip("/") for p in prefixes)
        if not self.prefixes or any(not p.startswith("/") for p in self.prefixes):
            raise ValueError(f"prefixes={list(prefixes)!r}: give paths that start with /")
        self.roles = frozenset(roles)

    def _covers(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self._covers(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.auth.authenticate(HTTPConnection(scope))
            if principal is None:
                raise HTTPException(401, "authentication required",
                                    {"WWW-Authenticate": self.auth.challenge()})
            missing = self.roles - principal.roles
            if missing:
                raise HTTPException(403, f"this needs the role {', '.join(sorted(missing))}")
        except HTTPException as exc:
            await _refuse(exc, scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _refuse(exc: HTTPException, scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008, "reason": exc.detail[:120]})
        return
    response = ProblemResponse(exc.status_code, exc.detail, headers=exc.headers or None,
                               title=exc.title)
    await response(scope, receive, send)

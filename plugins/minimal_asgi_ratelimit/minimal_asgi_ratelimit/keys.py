"""Keys: whose quota a request spends.

By default, the client's IP address as the server saw it (``scope["client"]``).
Behind a reverse proxy that is the proxy's address - every client would share
one quota - so the proxy's ``X-Forwarded-For`` or ``Forwarded`` header must be
read instead. But anyone can send those headers: they are believed only when
the request comes from a proxy listed in ``trusted_proxies``, and then only
up to the first address that is not a trusted proxy (reading from the right,
the side the trusted proxies appended to). Off by default.

Any other key is a function of the request - an API key, the authenticated
user - sync or async: ``RateLimit(key=api_key)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from minimal_asgi import Request, Scope, TrustedProxies

__all__ = ["ClientAddress", "KeyFunction", "header_key"]

KeyFunction = Callable[[Request], "str | Awaitable[str]"]


class ClientAddress:
    """The key "client IP address", with the proxies whose forwarding headers
    are believed (addresses or networks: ``["10.0.0.0/8", "127.0.0.1"]``, or
    the app's own ``TrustedProxies``).

    The reading of the headers is the core's (``minimal_asgi.TrustedProxies``,
    the same rule ``ProxyHeadersMiddleware`` applies), so the limiter and the
    rest of the app agree on who the client is. With the middleware installed,
    ``scope["client"]`` is already the client and nothing needs setting here.
    """

    def __init__(self, trusted_proxies: Iterable[str] | TrustedProxies = ()) -> None:
        self.proxies = (
            trusted_proxies
            if isinstance(trusted_proxies, TrustedProxies)
            else TrustedProxies(trusted_proxies)
        )

    def __call__(self, request: Request) -> str:
        return self.from_scope(request.scope)

    def from_scope(self, scope: Scope) -> str:
        return self.proxies.client_host(scope)


def header_key(name: str, fallback: KeyFunction | None = None) -> KeyFunction:
    """Key by a request header, e.g. ``header_key("X-API-Key")``; requests
    without it are keyed by ``fallback`` (the client address by default)."""
    by_address = fallback or ClientAddress()
    lowered = name.lower()

    def key(request: Request) -> Any:
        value = request.headers.get(lowered)
        return f"{lowered}:{value}" if value else by_address(request)

    return key

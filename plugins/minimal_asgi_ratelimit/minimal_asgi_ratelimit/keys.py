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

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from minimal_asgi import ConfigurationError, Request, Scope

__all__ = ["ClientAddress", "KeyFunction", "header_key"]

KeyFunction = Callable[[Request], "str | Awaitable[str]"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddress:
    """The key "client IP address", with the proxies whose forwarding headers
    are believed (addresses or networks: ``["10.0.0.0/8", "127.0.0.1"]``)."""

    def __init__(self, trusted_proxies: Iterable[str] = ()) -> None:
        if isinstance(trusted_proxies, str):
            raise ConfigurationError(
                f"trusted_proxies takes a list, like [{trusted_proxies!r}]"
            )
        networks: list[Network] = []
        for proxy in trusted_proxies:
            try:
                networks.append(ipaddress.ip_network(proxy.strip(), strict=False))
            except ValueError:
                raise ConfigurationError(
                    f"trusted_proxies: {proxy!r} is not an IP address or network "
                    "(like '10.0.0.1' or '10.0.0.0/8')"
                ) from None
        self.networks = tuple(networks)

    def __call__(self, request: Request) -> str:
        return self.from_scope(request.scope)

    def from_scope(self, scope: Scope) -> str:
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        if not self.networks or not self._trusted(peer):
            return peer
        forwarded = _forwarded_chain(scope["headers"])
        # From the right: each trusted proxy appended the address it saw.
        for address in reversed(forwarded):
            if not self._trusted(address):
                return address
        return forwarded[0] if forwarded else peer

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False  # "unknown", an obfuscated name: not a proxy we know
        return any(ip in network for network in self.networks)


def _forwarded_chain(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """The addresses of ``Forwarded: for=...`` (RFC 7239) if present, else of
    ``X-Forwarded-For``; in order, client first."""
    standard: list[str] = []
    legacy: list[str] = []
    for name, value in headers:
        if name == b"forwarded":
            for element in value.decode("latin-1").split(","):
                for pair in element.split(";"):
                    key, _, item = pair.strip().partition("=")
                    if key.lower() == "for" and item:
                        standard.append(_strip_address(item.strip('"')))
        elif name == b"x-forwarded-for":
            legacy.extend(a.strip() for a in value.decode("latin-1").split(",") if a.strip())
    return standard or legacy


def _strip_address(node: str) -> str:
    """``[2001:db8::1]:4711`` -> ``2001:db8::1``; ``192.0.2.43:80`` -> ``192.0.2.43``."""
    if node.startswith("["):
        return node[1:].partition("]")[0]
    if node.count(":") == 1:
        return node.partition(":")[0]
    return node


def header_key(name: str, fallback: KeyFunction | None = None) -> KeyFunction:
    """Key by a request header, e.g. ``header_key("X-API-Key")``; requests
    without it are keyed by ``fallback`` (the client address by default)."""
    by_address = fallback or ClientAddress()
    lowered = name.lower()

    def key(request: Request) -> Any:
        value = request.headers.get(lowered)
        return f"{lowered}:{value}" if value else by_address(request)

    return key

"""Proxy headers: who the client really is, behind a reverse proxy.

Behind nginx (or a load balancer, a CDN) the server's peer is the proxy: every
request seems to come from ``10.0.0.2`` over plain ``http`` to ``api:8000``.
The proxy says what it saw in headers it adds - ``X-Forwarded-For``,
``-Proto``, ``-Host``, or RFC 7239's standard ``Forwarded: for=...;proto=...;
host=...`` - and this layer puts that back into the scope, so
``request.client``, ``request.url``, ``url_for`` and redirects are right.

Anyone can send those headers, so they are believed only when the peer is a
proxy listed in ``trusted`` (addresses or CIDR networks; nothing by default),
and only the family the proxy writes: ``X-Forwarded-*`` (nginx, most load
balancers; the default) or ``Forwarded`` - never "whichever is present", or a
client would send the one its proxy passes through untouched.
Each proxy *appends* the address it received the request from, so the list is
read from the right: trusted proxies are skipped, and the first address that
is not one is the client. Anything the client wrote further left is forged
as far as we can know, and is ignored.

``TrustedProxies`` is that rule on its own, for other code that needs the
client's address (the rate limiter's key uses it), and
``ProxyHeadersMiddleware`` applies it to every request::

    app.add_middleware(ProxyHeadersMiddleware, trusted=["10.0.0.0/8"])
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from minimal_asgi.exceptions import ConfigurationError
from minimal_asgi.types import ASGIApp, Receive, Scope, Send

__all__ = ["Forwarded", "ProxyHeadersMiddleware", "TrustedProxies", "parse_forwarded"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# A host as it may appear in a Host header: a name or IPv4 with an optional
# port, or a bracketed IPv6 literal. Anything else (spaces, "/", "@") is ignored.
_HOST = re.compile(r"^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


class Hop(NamedTuple):
    """One proxy's account of the request it received: from whom, over what,
    for which host (``None`` where it did not say)."""

    address: str
    port: int
    proto: str | None
    host: str | None


class Forwarded(NamedTuple):
    """The request as the client made it: its address and port, the scheme
    and the Host it used (``None``: unchanged)."""

    client: tuple[str, int]
    scheme: str | None
    host: str | None


HEADERS = ("x-forwarded", "forwarded")


class TrustedProxies:
    """The proxies whose forwarding headers are believed: IP addresses or networks,
    ``TrustedProxies(["10.0.0.0/8", "127.0.0.1"])``. Empty (the default): none.

    ``header``: which headers those proxies write - ``"x-forwarded"``
    (``X-Forwarded-For``, ``-Proto``, ``-Host``) or ``"forwarded"`` (RFC 7239).
    The other family is ignored: a client may have sent it.
    """

    def __init__(self, trusted: Iterable[str] = (), *, header: str = "x-forwarded") -> None:
        if header not in HEADERS:
            raise ConfigurationError(
                f"TrustedProxies(header={header!r}): say 'x-forwarded' (X-Forwarded-For, "
                "-Proto, -Host) or 'forwarded' (RFC 7239), whichever your proxy sets"
            )
        self.header = header
        if isinstance(trusted, str):
            raise ConfigurationError(f"trusted proxies take a list, like [{trusted!r}]")
        networks: list[Network] = []
        for proxy in trusted:
            try:
                networks.append(ipaddress.ip_network(str(proxy).strip(), strict=False))
            except ValueError:
                raise ConfigurationError(
                    f"trusted proxies: {proxy!r} is not an IP address or network "
                    "(like '10.0.0.1' or '10.0.0.0/8')"
                ) from None
        self.networks = tuple(networks)
        # PERF: parsing an address and testing it against each network costs
        # microseconds; the same few proxies and clients come back request
        # after request. Bounded: a memo, not a store.
        self._verdicts: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: str) -> bool:
        """Is ``address`` one of the trusted proxies? Names and ``unknown`` never are."""
        verdict = self._verdicts.get(address)
        if verdict is None:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                verdict = False
            else:
                verdict = any(ip in network for network in self.networks)
            if len(self._verdicts) >= 4096:
                self._verdicts.clear()
            self._verdicts[address] = verdict
        return verdict

    def resolve(self, scope: Scope) -> Forwarded | None:
        """What the trusted proxies say about this request, or ``None`` when the
        peer is not a trusted proxy or the proxies said nothing."""
        client = scope.get("client")
        if not self.networks or not client or not self.trusts(client[0]):
            return None
        hops = forwarding_hops(scope["headers"], standard=self.header == "forwarded")
        if not hops:
            return None
        # From the right: each trusted proxy appended the address it saw. If
        # every address is a trusted proxy, the leftmost is the best we know.
        chosen = hops[0]
        for hop in reversed(hops):
            if not self.trusts(hop.address):
                chosen = hop
                break
        return Forwarded((chosen.address, chosen.port), chosen.proto, chosen.host)

    def client_host(self, scope: Scope) -> str:
        """The client's address: the peer's, or what the trusted proxies say."""
        forwarded = self.resolve(scope)
        if forwarded is not None:
            return forwarded.client[0]
        client = scope.get("client")
        return str(client[0]) if client else "unknown"


def forwarding_hops(headers: Iterable[tuple[bytes, bytes]], *, standard: bool) -> list[Hop]:
    """The hops of ``Forwarded`` (RFC 7239, ``standard``) or else of
    ``X-Forwarded-For`` with ``-Proto`` and ``-Host``; client first."""
    if standard:
        elements = [value.decode("latin-1") for name, value in headers if name == b"forwarded"]
        return [hop for hop in parse_forwarded(", ".join(elements)) if hop.address]
    legacy_for: list[str] = []
    legacy_proto: list[str] = []
    legacy_host: list[str] = []
    for name, value in headers:
        if name == b"x-forwarded-for":
            legacy_for.extend(_split_list(value))
        elif name == b"x-forwarded-proto":
            legacy_proto.extend(_split_list(value))
        elif name == b"x-forwarded-host":
            legacy_host.extend(_split_list(value))
    hops = []
    for address in legacy_for:
        host, port = _split_node(address)
        hops.append(Hop(host, port, None, None))
    if hops:
        # -Proto and -Host are usually set (not appended) by the one proxy in
        # front: one value for the whole chain. If there is one per hop, the
        # hop's own; else the last value, from the proxy nearest to us.
        hops = [
            hop._replace(proto=_nth(legacy_proto, i, len(hops)),
                         host=_nth(legacy_host, i, len(hops)))
            for i, hop in enumerate(hops)
        ]  # fmt: skip
    return hops


def parse_forwarded(value: str) -> list[Hop]:
    """``Forwarded: for=192.0.2.60;proto=https;host=example.com, for="[2001:db8::1]:80"``
    as hops (RFC 7239 section 4). An element without ``for`` has the address ``""``."""
    hops = []
    for element in _split_outside_quotes(value, ","):
        pairs: dict[str, str] = {}
        for pair in _split_outside_quotes(element, ";"):
            key, sep, item = pair.strip().partition("=")
            if sep:
                pairs[key.strip().lower()] = _unquote(item.strip())
        address, port = _split_node(pairs.get("for", ""))
        hops.append(Hop(address, port, pairs.get("proto"), pairs.get("host")))
    return hops


def _split_list(value: bytes) -> list[str]:
    return [item.strip() for item in value.decode("latin-1").split(",") if item.strip()]


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on ``separator``, except inside a quoted string (``for="[::1]:80"``)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _split_node(node: str) -> tuple[str, int]:
    """``[2001:db8::1]:4711`` -> (``2001:db8::1``, 4711); ``192.0.2.43:80`` ->
    (``192.0.2.43``, 80); a bare address has port 0 (not known)."""
    node = node.strip()
    host, port = node, ""
    if node.startswith("["):
        host, _, rest = node[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif node.count(":") == 1:
        host, _, port = node.partition(":")
    return host, int(port) if port.isdigit() and len(port) <= 5 else 0


def _nth(values: Sequence[str], index: int, hops: int) -> str | None:
    if not values:
        return None
    return values[index] if len(values) == hops else values[-1]


class ProxyHeadersMiddleware:
    """Rewrite the scope from trusted proxies' headers: ``client`` from the
    forwarded address, ``scheme`` from the forwarded protocol (``http`` or
    ``https``; ``ws``/``wss`` for WebSockets), and the ``host`` header from the
    forwarded host. Requests from any other peer pass through untouched.
    ``trusted`` and ``header`` are those of ``TrustedProxies`` (or pass one).

    Put it outermost, so every other layer (logging, trusted hosts, rate
    limits, redirects) sees the client's view of the request.
    """

    def __init__(
        self,
        app: ASGIApp,
        trusted: Iterable[str] | TrustedProxies = (),
        *,
        header: str = "x-forwarded",
    ) -> None:
        self.app = app
        if not isinstance(trusted, TrustedProxies):
            trusted = TrustedProxies(trusted, header=header)
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            forwarded = self.trusted.resolve(scope)
            if forwarded is not None:
                scope = _rewrite(scope, forwarded)
        await self.app(scope, receive, send)


def _rewrite(scope: Scope, forwarded: Forwarded) -> Scope:
    scope = dict(scope)  # the server's scope stays as it was received
    scope["client"] = forwarded.client
    proto = (forwarded.scheme or "").lower()
    if proto in ("http", "https"):
        secure = proto == "https"
        if scope["type"] == "websocket":
            scope["scheme"] = "wss" if secure else "ws"
        else:
            scope["scheme"] = proto
    host = forwarded.host
    if host and _HOST.match(host):
        scope["headers"] = [
            *((name, value) for name, value in scope["headers"] if name != b"host"),
            (b"host", host.encode("latin-1")),
        ]
    return scope

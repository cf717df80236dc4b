"""Trusted hosts: answer only for the host names this app is served under.

The ``Host`` header is written by the client, so it is whatever an attacker
wants. An app that builds absolute URLs from it (``request.url_for``, a
password-reset link in an e-mail, a redirect) or a cache that keys on it can be
made to hand out the attacker's host - password-reset poisoning and web-cache
poisoning (docs/16-security-headers-and-hosts.md). The fix is the one Django
(``ALLOWED_HOSTS``) and Starlette (``TrustedHostMiddleware``) ship: list the
host names, and answer anything else with 400 before routing.

What a listed name means:

- ``"example.com"`` - that host, on any port (the port is not part of the
  decision: a proxy or a test client may add one);
- ``"*.example.com"`` - any subdomain, at any depth, but not ``example.com``
  itself (Starlette's rule);
- ``".example.com"`` - ``example.com`` and every subdomain (Django's rule);
- ``"*"`` - any host (development only: the check is off).

Names are compared in lower case, without a trailing dot, and in their ASCII
(IDNA) form: ``"bücher.example"`` is listed as ``xn--bcher-kva.example``,
which is what a browser sends. A missing ``Host``, more than one (RFC 9112
section 3.2 asks for a 400), or one that is not a host name at all
(``evil.example/x``, ``a@b``) is refused too. ``X-Forwarded-Host`` is never
read: it is just as client-written, unless a proxy in front replaces it - and
then the proxy should set ``Host`` itself.

A WebSocket handshake with an unknown host is refused before it is accepted:
the server answers it with 403.

The core guards only the shape of the header: ``request.url`` falls back to
the server's address when ``Host`` is not a host at all (``URL.from_scope``
in minimal_asgi/datastructures.py), but a well-formed foreign name goes
through. Naming the allowed hosts is this module's job.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Sequence

from minimal_asgi import App, ASGIApp, ConfigurationError, ProblemResponse, Receive, Scope, Send

__all__ = ["HostPolicy", "TrustedHostMiddleware", "TrustedHosts"]

logger = logging.getLogger("minimal_asgi_security")

# A DNS name in its ASCII form: dot-separated labels of letters, digits and
# hyphens (an IPv4 address is one too; "_" is let in for container names like
# "web_1"). Anything else - "/", "@", "%", a space, a non-ASCII byte - is not
# a host, whatever suffix it ends with.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_PORT = re.compile(r"[0-9]{1,5}")


class HostPolicy:
    """The normalised host list, built once: exact names, and suffixes."""

    def __init__(self, allowed_hosts: Sequence[str]) -> None:
        if isinstance(allowed_hosts, str):
            raise ConfigurationError(
                f"TrustedHosts: allowed_hosts takes a list, like [{allowed_hosts!r}]"
            )
        if not allowed_hosts:
            raise ConfigurationError(
                "TrustedHosts: allowed_hosts is empty, so every request would be refused; list "
                "the host names the app is served under, like ['example.com', '*.example.com']"
            )
        self.allow_any = "*" in allowed_hosts
        self.exact: set[str] = set()
        self.suffixes: list[str] = []  # ".example.com": a name ending so is allowed
        for entry in allowed_hosts:
            if entry == "*":
                continue
            if entry.startswith("*."):
                self.suffixes.append("." + _normalise_entry(entry[2:], entry))
            elif entry.startswith("."):
                name = _normalise_entry(entry[1:], entry)
                self.exact.add(name)
                self.suffixes.append("." + name)
            else:
                self.exact.add(_normalise_entry(entry, entry))
        # PERF: a Host header already found allowed is one set look-up; the
        # listed names, as browsers send them on default ports, are known from
        # the start. Only allowed values are kept, and at most _CACHE_SIZE, so
        # a stream of made-up hosts cannot grow it.
        self.allowed_raw: set[bytes] = {
            (f"[{name}]" if ":" in name else name).encode("ascii") for name in self.exact
        }

    def allows(self, raw_host: bytes) -> bool:
        if raw_host in self.allowed_raw:
            return True
        name = host_name(raw_host)
        if name is None:
            return False
        allowed = name in self.exact or any(name.endswith(suffix) for suffix in self.suffixes)
        if allowed and len(self.allowed_raw) < _CACHE_SIZE:
            self.allowed_raw.add(raw_host)
        return allowed


_CACHE_SIZE = 1024


def _normalise_entry(name: str, entry: str) -> str:
    """A listed host as requests will be compared with it, or a ConfigurationError."""
    hint = "list host names only, like 'example.com', '*.example.com' or '.example.com'"
    if "://" in entry or "/" in entry:
        raise ConfigurationError(f"TrustedHosts: {entry!r} is a URL, not a host; {hint}")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        # A colon is an IPv6 address - or a port, which is refused below.
        return str(ipaddress.IPv6Address(name)) if ":" in name else _ascii(name)
    except ValueError:
        raise ConfigurationError(
            f"TrustedHosts: {entry!r} is not a host name (ports are not listed: any port "
            f"is accepted); {hint}"
        ) from None


def _ascii(name: str) -> str:
    """``"Bücher.Example."`` -> ``"xn--bcher-kva.example"``; ValueError if not a name."""
    name = name.lower().rstrip(".")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(name) from exc
    if not _NAME.fullmatch(name):
        raise ValueError(name)
    return name


def host_name(raw: bytes) -> str | None:
    """The host name a ``Host`` header names, normalised; None if it is not one.

    ``b"Example.COM:8000"`` -> ``"example.com"``; ``b"[::1]:8000"`` -> ``"::1"``;
    ``b"evil.example/x"`` -> None.
    """
    try:
        host = raw.decode("ascii").lower()
    except UnicodeDecodeError:
        return None  # a browser sends a non-ASCII name in its IDNA form
    if host.startswith("["):
        end = host.find("]")
        name, port = host[1:end], host[end + 1:]
        if end < 0 or (port and not (port.startswith(":") and _valid_port(port[1:]))):
            return None
        try:
            return str(ipaddress.IPv6Address(name))
        except ValueError:
            return None
    name, colon, port = host.partition(":")
    if colon and not _valid_port(port):
        return None
    name = name.removesuffix(".")
    return name if _NAME.fullmatch(name) else None


def _valid_port(text: str) -> bool:
    # An empty port is allowed by RFC 3986 ("example.com:" means the default).
    return not text or (_PORT.fullmatch(text) is not None and int(text) <= 65535)


class TrustedHosts:
    """The plugin: ``App(plugins=[TrustedHosts(allowed_hosts=["example.com"])])``.

    Install it before ``SecurityHeaders`` - ``plugins=[TrustedHosts(...),
    SecurityHeaders()]`` - so the headers layer wraps it and its 400 carries
    them too.
    """

    def __init__(self, allowed_hosts: Sequence[str]) -> None:
        self.policy = HostPolicy(allowed_hosts)

    def setup(self, app: App) -> None:
        app.add_middleware(TrustedHostMiddleware, policy=self.policy)


class TrustedHostMiddleware:
    """The ASGI middleware: ``app.add_middleware(TrustedHostMiddleware,
    allowed_hosts=[...])`` (Starlette's name and keyword), or through the plugin."""

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Sequence[str] | None = None,
        policy: HostPolicy | None = None,
    ) -> None:
        self.app = app
        if policy is None:
            if allowed_hosts is None:
                raise ConfigurationError(
                    "TrustedHostMiddleware needs allowed_hosts=[...], the host names the app "
                    "is served under"
                )
            policy = HostPolicy(allowed_hosts)
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan" or self.policy.allow_any:
            await self.app(scope, receive, send)
            return
        host: bytes | None = None
        count = 0
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
                count += 1
        if count == 1 and host is not None and self.policy.allows(host):
            await self.app(scope, receive, send)
            return
        await _refuse(scope, receive, send, host, count)


async def _refuse(
    scope: Scope, receive: Receive, send: Send, host: bytes | None, count: int
) -> None:
    if count == 0:
        reason = "The request has no Host header."
    elif count > 1:
        reason = "The request has more than one Host header."
    else:
        reason = "The Host header names a host this server does not serve."
    # %r: the header is the attacker's text; repr keeps it on one log line.
    logger.warning("refused %s with Host %r: %s", scope["type"], host, reason)
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        # Closed before accept: the server refuses the handshake with a 403.
        await send({"type": "websocket.close", "code": 1008})
        return
    await ProblemResponse(400, reason)(scope, receive, send)

"""Security headers and trusted hosts for minimal_asgi.

Two pure ASGI pieces, each a plugin and a middleware:

- ``SecurityHeaders`` (headers.py): ``Content-Security-Policy``,
  ``X-Content-Type-Options``, ``X-Frame-Options``, ``Referrer-Policy`` on every
  response - the framework's own errors included - with one preset for API
  responses and one for HTML pages, and ``Strict-Transport-Security`` on https;
- ``TrustedHosts`` (hosts.py): a 400 for a request whose ``Host`` is not one of
  the app's (a refused handshake for a WebSocket), before routing.

Together, host check inside the headers so its 400 carries them too::

    app = App(plugins=[TrustedHosts(allowed_hosts=["example.com"]), SecurityHeaders()])

See docs/16-security-headers-and-hosts.md.
"""

from __future__ import annotations

from minimal_asgi_security.headers import (
    API_HEADERS,
    HTML_HEADERS,
    SecurityHeaders,
    SecurityHeadersMiddleware,
)
from minimal_asgi_security.hosts import TrustedHostMiddleware, TrustedHosts

__all__ = [
    "API_HEADERS",
    "HTML_HEADERS",
    "SecurityHeaders",
    "SecurityHeadersMiddleware",
    "TrustedHostMiddleware",
    "TrustedHosts",
]

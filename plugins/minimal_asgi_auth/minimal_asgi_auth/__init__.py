"""Authentication for minimal_asgi.

- :mod:`minimal_asgi_auth.jwt`: JSON Web Tokens, HMAC-signed, written by hand
  on ``hmac``, ``hashlib``, ``base64`` and ``json``.
- :mod:`minimal_asgi_auth.passwords`: argon2id password hashing, legacy bcrypt
  hashes verified and upgraded, equal-time answers for unknown users.
- :mod:`minimal_asgi_auth.keys`: typed keys (HMAC secret, RSA/P-256/Ed25519
  public and private keys), each bound to its algorithms.
- :mod:`minimal_asgi_auth.jwks`: an identity provider's JWKS, fetched, cached,
  refreshed on rotation.
- :mod:`minimal_asgi_auth.csrf`: cross-origin protection (Fetch Metadata and
  Origin), double-submit tokens, the OAuth state bound to the browser.
- :mod:`minimal_asgi_auth.settings`: the signing keys from the environment,
  refused in production when weak.

Tokens, sessions, API keys and guards are to come in this package; they will
be set up by the :class:`Auth` plugin (``App(plugins=["auth"])``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import csrf, jwks, jwt, keys, passwords, settings

if TYPE_CHECKING:
    from minimal_asgi import App

__all__ = ["Auth", "jwt", "passwords"]
__all__ += ["csrf", "jwks", "keys", "settings"]


class Auth:
    """The plugin object. For now it registers nothing: the two modules are used directly."""

    def setup(self, app: App) -> None:
        """Nothing yet; guards and token endpoints will be registered here."""

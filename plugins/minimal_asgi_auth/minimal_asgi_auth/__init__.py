"""Authentication for minimal_asgi.

- :mod:`minimal_asgi_auth.jwt`: JSON Web Tokens, HMAC-signed, written by hand
  on ``hmac``, ``hashlib``, ``base64`` and ``json``.
- :mod:`minimal_asgi_auth.passwords`: argon2id password hashing, legacy bcrypt
  hashes verified and upgraded, equal-time answers for unknown users.

Tokens, sessions, API keys and guards are to come in this package; they will
be set up by the :class:`Auth` plugin (``App(plugins=["auth"])``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import jwt, passwords

if TYPE_CHECKING:
    from minimal_asgi import App

__all__ = ["Auth", "jwt", "passwords"]


class Auth:
    """The plugin object. For now it registers nothing: the two modules are used directly."""

    def setup(self, app: App) -> None:
        """Nothing yet; guards and token endpoints will be registered here."""

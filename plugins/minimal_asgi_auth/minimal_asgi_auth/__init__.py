"""Authentication for minimal_asgi.

- ``minimal_asgi_auth.jwt``: JSON Web Tokens, HMAC-signed, written by hand
  on ``hmac``, ``hashlib``, ``base64`` and ``json``.
- ``minimal_asgi_auth.passwords``: argon2id password hashing, legacy bcrypt
  hashes verified and upgraded, equal-time answers for unknown users.
- ``minimal_asgi_auth.tokens``: access tokens and refresh tokens, rotated,
  with reuse detection (``Tokens``).
- ``minimal_asgi_auth.sessions``: server-side sessions behind a ``__Host-``
  cookie (``Sessions``).
- ``minimal_asgi_auth.apikeys``: API keys shown once, stored hashed (``APIKeys``).
- ``minimal_asgi_auth.guards``: the ``Auth`` plugin - ``current_user``,
  ``requires``, ``requires_permission``, ``requires_scopes`` - with roles and
  permissions in ``minimal_asgi_auth.principal`` (``RBAC``) and the same
  check for whole path prefixes in ``minimal_asgi_auth.middleware``.
- ``minimal_asgi_auth.oauth2``: an RFC 6749 token endpoint (``TokenEndpoint``).
- ``minimal_asgi_auth.keys``: typed keys (HMAC secret, RSA/P-256/Ed25519
  public and private keys), each bound to its algorithms.
- ``minimal_asgi_auth.jwks``: an identity provider's JWKS, fetched, cached,
  refreshed on rotation.
- ``minimal_asgi_auth.csrf``: cross-origin protection (Fetch Metadata and
  Origin), double-submit tokens, the OAuth state bound to the browser.
- ``minimal_asgi_auth.settings``: the signing keys from the environment,
  refused in production when weak.
"""

from __future__ import annotations

from . import csrf, jwks, jwt, keys, passwords, settings
from .apikeys import APIKey, APIKeys, MemoryAPIKeyStore, RedisAPIKeyStore
from .guards import Auth
from .middleware import RequireAuth
from .oauth2 import Grant, OAuth2Client, TokenEndpoint
from .principal import RBAC, Principal
from .sessions import MemorySessionStore, RedisSessionStore, Session, Sessions
from .stores import StoreUnavailable
from .tokens import InvalidRefreshToken, MemoryRefreshStore, RedisRefreshStore, TokenPair, Tokens

__all__ = ["Auth", "jwt", "passwords"]
__all__ += [
    "RBAC", "APIKey", "APIKeys", "Grant", "InvalidRefreshToken", "MemoryAPIKeyStore",
    "MemoryRefreshStore", "MemorySessionStore", "OAuth2Client", "Principal", "RedisAPIKeyStore",
    "RedisRefreshStore", "RedisSessionStore", "RequireAuth", "Session", "Sessions",
    "StoreUnavailable", "TokenEndpoint", "TokenPair", "Tokens",
]  # fmt: skip
__all__ += ["csrf", "jwks", "keys", "settings"]

"""The auth plugin's secrets, read from the environment through ``minimal_asgi.config``.

A signing key in the code is a key in the git history, in every clone and
every CI log: whoever reads it can mint tokens for any user. So the keys come
from ``AUTH_*`` environment variables, and ``AuthSettings.load`` refuses
to let a production app start with one that is missing, left at its
development default, a placeholder like ``changeme``, or shorter than 32
characters - with a message that names the variable and says how to make a
good one, and never shows the value.

In development (the default) a missing key is replaced by a random one made
at startup, so ``make run`` works without setup, and ``load`` logs a warning
naming the variable; tokens and CSRF cookies then stop verifying when the
process restarts, which is what a development key should do.

The values are ``minimal_asgi.Secret`` objects, whose ``repr`` and
``str`` are ``**********``, and the keys made from them
(``HMACKey``) hide their bytes too: a settings
object, a key or a CSRF helper can be logged or shown in a debug page without
leaking.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Literal

from minimal_asgi import Secret, Settings

from .keys import HMACKey

__all__ = ["AuthSettings"]

PREFIX = "AUTH_"

logger = logging.getLogger("minimal_asgi_auth.settings")


def _development_key() -> Secret:
    return Secret(secrets.token_urlsafe(32))


class AuthSettings(Settings):
    """``AUTH_ENVIRONMENT``, ``AUTH_JWT_SECRET``, ``AUTH_CSRF_SECRET``, ``AUTH_JWKS_URL``.

    Generate a secret with
    ``python -c "import secrets; print(secrets.token_urlsafe(32))"``.
    """

    environment: Literal["development", "production"] = "development"
    # Random per process: a development convenience that production refuses
    # ("not set; in production a secret must come from the environment").
    jwt_secret: Secret = _development_key()  # signs and verifies HS256 tokens
    csrf_secret: Secret = _development_key()  # signs CSRF tokens and OAuth state cookies
    jwks_url: str | None = None  # the identity provider's key set, if tokens come from one

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, env_file: str | None = None
    ) -> AuthSettings:
        """Read ``AUTH_*`` variables; a ``ConfigurationError`` naming every problem otherwise."""
        settings = cls.from_env(PREFIX, environ=environ, env_file=env_file)
        for name in ("jwt_secret", "csrf_secret"):
            # Still the random class default: only possible in development,
            # since production refuses a secret left at its default.
            if getattr(settings, name) == getattr(AuthSettings, name):
                logger.warning(
                    "%s%s is not set: using a random key made for this process "
                    "(development only; what it signed stops verifying on restart)",
                    PREFIX, name.upper(),
                )  # fmt: skip
        return settings

    def jwt_key(self) -> HMACKey:
        return HMACKey(self.jwt_secret.get_secret_value().encode())

    def csrf_key(self) -> HMACKey:
        return HMACKey(self.csrf_secret.get_secret_value().encode())

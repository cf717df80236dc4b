"""What the accounts example reads from its environment, in one typed class.

Every variable is a field here, so ``deploy/settings_table.py`` can write the
table in docs/30-containers-and-ci.md and ``.env.example`` from it.

The one secret is the key that signs the access tokens. Whoever has it can
mint a token for any user, so it comes from ``ACCOUNTS_JWT_SECRET`` and
nowhere else: with ``ENVIRONMENT=production`` a missing, placeholder or short
value stops the app before it listens (``minimal_asgi.config`` makes those
checks, and its message names the variable, never the value). In development
an unset key is replaced by a random one made at startup, and :func:`load`
logs that it was: tokens then stop verifying when the process restarts, and
two workers would not accept each other's tokens.
"""

from __future__ import annotations

import logging
import secrets
from typing import Literal

from minimal_asgi import Secret
from minimal_asgi.config import Settings, env

PREFIX = "ACCOUNTS_"

logger = logging.getLogger("examples.accounts")

# Made once per process; production refuses it (it is a default in the code).
_DEVELOPMENT_KEY = Secret(secrets.token_urlsafe(32))


class AccountsSettings(Settings):
    environment: Literal["development", "production"] = env(
        "ENVIRONMENT",
        default="development",
        description="production turns on the checks that refuse laptop defaults",
    )
    jwt_secret: Secret = env(
        default=_DEVELOPMENT_KEY,
        min_length=32,
        description="signs and verifies the access tokens (HS256); unset in development: "
        "a random key per process",
    )
    redis_url: str | None = env(
        default=None,
        description="keeps refresh tokens, sessions and API keys, shared by every worker; "
        "unset: in this process only",
    )
    redis_prefix: str = env(default="accounts:", description="Redis key prefix of that state")
    admin_emails: list[str] = env(
        default=[], description="e-mail addresses that sign up with the admin role"
    )
    secure_cookies: bool = env(
        default=True,
        description="Secure, __Host- session cookie; off only for plain-HTTP development "
        "on a host other than localhost",
    )
    trusted_origins: list[str] = env(
        default=[],
        description="other origins (https://host[:port]) whose pages may send "
        "state-changing requests; every other cross-origin one is a 403",
    )


def load() -> AccountsSettings:
    settings = AccountsSettings.from_env(prefix=PREFIX)
    if settings.jwt_secret == _DEVELOPMENT_KEY:  # only reachable in development
        logger.warning(
            "%sJWT_SECRET is not set: signing tokens with a random key made for this "
            "process (development only; tokens stop verifying on restart)",
            PREFIX,
        )
    return settings

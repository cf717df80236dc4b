"""Signed links: a download URL that works until it expires, for one file only.

A private file on local disk cannot be given a public address: anyone could
fetch it forever. A signed link carries its own permission instead::

    /files/invoices/7.pdf?expires=1767225600&signature=Qm9...

``signature`` is HMAC-SHA256, under a server-side key, of the method, the key
of the file and the expiry time. Whoever changes any of them - another file,
a later expiry, a PUT instead of a GET - gets a signature that no longer
matches, and cannot make one that does without the key. Checking costs one
HMAC: no database, no session. The price: a link cannot be revoked before it
expires except by changing the key (which revokes all of them), so keep
``expires_in`` short - minutes, not days.

The key comes from the environment (``minimal_asgi.config.Secret``), and is
refused below 32 bytes: a short key can be guessed offline from one link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from collections.abc import Callable, Mapping

from minimal_asgi import ConfigurationError, Secret

__all__ = ["ExpiredSignature", "InvalidSignature", "SignatureError", "URLSigner"]

MIN_KEY_BYTES = 32
_SIGNATURE_BYTES = 32  # SHA-256
# The largest expiry accepted: a year from now. Longer links are a mistake
# (they cannot be revoked) and a huge number should not reach int().
MAX_EXPIRES_IN = 366 * 24 * 3600


class SignatureError(Exception):
    """The link is not valid: tampered with, for another file or method, or old."""


class InvalidSignature(SignatureError):
    """The signature is missing, malformed or does not match."""


class ExpiredSignature(SignatureError):
    """The signature matched, but the link's time is up."""


class URLSigner:
    """Sign and check (method, key, expiry) triples with HMAC-SHA256.

    ``key``: at least 32 bytes (a ``Secret`` from the settings, or bytes).
    ``clock``: seconds since the epoch; tests pass their own.
    """

    def __init__(
        self, key: Secret | str | bytes, *, clock: Callable[[], float] = time.time
    ) -> None:
        if isinstance(key, Secret):
            key = key.get_secret_value()
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if len(raw) < MIN_KEY_BYTES:
            raise ConfigurationError(
                f"a URL signing key needs at least {MIN_KEY_BYTES} bytes, got {len(raw)}; "
                'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        self._key = raw
        self.clock = clock

    def _digest(self, method: str, key: str, expires: int) -> bytes:
        # Newlines separate the fields: none can hold one (a storage key may
        # not contain control characters), so no two triples sign the same text.
        message = f"{method.upper()}\n{key}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def sign(self, key: str, *, expires_in: float, method: str = "GET") -> dict[str, str]:
        """The query parameters that make a link to ``key`` valid for ``expires_in`` s."""
        if not 0 < expires_in <= MAX_EXPIRES_IN:
            raise ValueError(f"expires_in must be between 0 and {MAX_EXPIRES_IN} seconds")
        expires = math.ceil(self.clock() + expires_in)
        signature = base64.urlsafe_b64encode(self._digest(method, key, expires)).rstrip(b"=")
        return {"expires": str(expires), "signature": signature.decode("ascii")}

    def verify(self, key: str, params: Mapping[str, str], *, method: str = "GET") -> None:
        """Raise ``SignatureError`` unless ``params`` sign ``key`` for ``method``, now."""
        expires_text = params.get("expires", "")
        signature_text = params.get("signature", "")
        if not (expires_text.isascii() and expires_text.isdigit() and len(expires_text) <= 12):
            raise InvalidSignature("the link has no valid expiry time")
        try:
            signature = base64.urlsafe_b64decode(signature_text + "=" * (-len(signature_text) % 4))
        except (ValueError, TypeError):
            raise InvalidSignature("the link's signature is malformed") from None
        if len(signature) != _SIGNATURE_BYTES:
            raise InvalidSignature("the link's signature is malformed")
        expires = int(expires_text)
        # Compared in constant time, and *before* the expiry: an attacker learns
        # nothing about a forged link, not even whether its time is past.
        if not hmac.compare_digest(signature, self._digest(method, key, expires)):
            raise InvalidSignature("the link's signature does not match")
        if self.clock() >= expires:
            raise ExpiredSignature("the link has expired; ask for a new one")

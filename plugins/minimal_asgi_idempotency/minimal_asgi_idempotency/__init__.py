"""minimal_asgi_idempotency: ``Idempotency-Key`` for unsafe methods, so that a
client can retry a request without running it twice.

::

    from minimal_asgi import App
    from minimal_asgi_idempotency import Idempotency

    app = App(plugins=[Idempotency()])        # or Idempotency("redis://127.0.0.1:6379/0")

    @app.post("/payments", idempotency="required")
    async def pay(payment: Payment) -> dict: ...

A retry with the same key gets the first answer, byte for byte; the same key
while the first request runs is a 409; with another body, a 422; a missing
(where required), empty, too long or malformed key, a 400. Follows
draft-ietf-httpapi-idempotency-key-header.

The modules, in the order a request meets them: plugin.py (``Idempotency``,
the route wrapper and the OpenAPI description), guard.py (one request, from
its key to its answer), header.py (the Structured Field String), records.py
(what a key holds), backends.py (memory and Redis), problems.py (the errors).
Chapter 26 of the docs walks through them.
"""

from minimal_asgi_idempotency.backends import (
    IdempotencyBackend,
    MemoryBackend,
    RedisBackend,
    Unavailable,
)
from minimal_asgi_idempotency.guard import client_identity
from minimal_asgi_idempotency.header import InvalidKey, parse_key, parse_sf_string
from minimal_asgi_idempotency.plugin import UNSAFE_METHODS, Idempotency

__all__ = [
    "UNSAFE_METHODS",
    "Idempotency",
    "IdempotencyBackend",
    "InvalidKey",
    "MemoryBackend",
    "RedisBackend",
    "Unavailable",
    "client_identity",
    "parse_key",
    "parse_sf_string",
]

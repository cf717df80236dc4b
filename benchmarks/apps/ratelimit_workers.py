"""The app benchmarks/ratelimit_workers.py serves with two workers.

``GET /search`` allows 5 requests a minute per client and answers with the
id of the worker process that served it; ``GET /whoami`` (not limited) tells
which worker holds a connection. The backend comes from the
environment, since each worker imports this module on its own:
``RATELIMIT_BACKEND`` (``memory`` or a Redis URL) and ``RATELIMIT_PREFIX``
(a key prefix, fresh for each run).
"""

from __future__ import annotations

import os

from minimal_asgi import App
from minimal_asgi_ratelimit import RateLimit

limiter = RateLimit(
    backend=os.environ.get("RATELIMIT_BACKEND", "memory"),
    prefix=os.environ.get("RATELIMIT_PREFIX", "ratelimit"),
    timeout=5.0,  # a busy machine must not turn slow answers into fail-open 200s
)
app = App(plugins=[limiter], openapi_url=None, docs_url=None)


@app.get("/search", rate_limit="5/minute")
async def search() -> dict[str, int]:
    return {"worker": os.getpid()}


@app.get("/whoami")
async def whoami() -> dict[str, int]:
    """Not limited: which worker holds this connection."""
    return {"worker": os.getpid()}

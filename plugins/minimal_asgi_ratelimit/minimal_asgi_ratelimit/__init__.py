"""Rate limiting for minimal_asgi: how many requests a client may make, and
what it is told when it has made too many.

    from minimal_asgi import App
    from minimal_asgi_ratelimit import RateLimit

    app = App(plugins=[RateLimit(backend="redis://127.0.0.1:6379/0")])

    @app.post("/login", rate_limit="5/minute; 20/hour")
    async def login(...): ...

The modules, in the order a decision meets them: ``limits.py`` reads
"5/minute"; ``plugin.py`` wraps the limited routes; ``keys.py`` says whose
quota a request spends; ``algorithms.py`` is the arithmetic of the three
algorithms, run in this process by ``memory.py`` or inside Redis, in Lua, by
``redis_backend.py``; ``headers.py`` writes the RateLimit headers and the 429.
See docs/17-rate-limiting.md.
"""

from minimal_asgi_ratelimit.algorithms import Decision, Outcome
from minimal_asgi_ratelimit.headers import QUOTA_EXCEEDED
from minimal_asgi_ratelimit.keys import ClientAddress, header_key
from minimal_asgi_ratelimit.limits import ALGORITHMS, Limit, parse_limits
from minimal_asgi_ratelimit.memory import MemoryBackend
from minimal_asgi_ratelimit.plugin import Backend, RateLimit
from minimal_asgi_ratelimit.redis_backend import BackendUnavailable, RedisBackend

__all__ = [
    "ALGORITHMS",
    "QUOTA_EXCEEDED",
    "Backend",
    "BackendUnavailable",
    "ClientAddress",
    "Decision",
    "Limit",
    "MemoryBackend",
    "Outcome",
    "RateLimit",
    "RedisBackend",
    "header_key",
    "parse_limits",
]

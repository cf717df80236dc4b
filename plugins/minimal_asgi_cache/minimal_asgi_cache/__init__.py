"""minimal_asgi_cache: response and function caching, in memory or on Redis.

::

    from minimal_asgi import App
    from minimal_asgi_cache import Cache, Cached

    cache = Cache()                       # or Cache("redis://127.0.0.1:6379/0")
    app = App(plugins=[cache])

    @app.get("/todos", cache=Cached(ttl=60, tags=["todos"]))
    async def list_todos() -> list[dict]: ...

    @app.post("/todos")
    async def add_todo(todo: dict) -> dict:
        ...
        await cache.invalidate_tags("todos")  # every cached list is stale now

    @cache.cached(ttl=60, tags=["users"])
    async def load_user(user_id: int) -> dict: ...   # a database query, cached

The modules, in the order a request meets them: plugin.py (``Cache``, the
route wrapper), responses.py (what may be cached, keys, ``ETag`` and 304),
functions.py (``@cache.cached``), store.py (look up, compute once, store),
backends.py (memory and Redis). Chapter 18 of the docs walks through them.
"""

from minimal_asgi_cache.backends import CacheBackend, MemoryBackend, RedisBackend
from minimal_asgi_cache.functions import CachedFunction
from minimal_asgi_cache.plugin import Cache
from minimal_asgi_cache.responses import Cached
from minimal_asgi_cache.store import Computed, Entry, Store

__all__ = [
    "Cache",
    "CacheBackend",
    "Cached",
    "CachedFunction",
    "Computed",
    "Entry",
    "MemoryBackend",
    "RedisBackend",
    "Store",
]

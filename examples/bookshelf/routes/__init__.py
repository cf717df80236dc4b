"""The routes: HTTP in, HTTP out. Each module registers one part of the API
on the app, using the plugins it is handed in :class:`Parts`."""

from __future__ import annotations

from dataclasses import dataclass

from minimal_asgi_auth import APIKeys, Auth, Sessions, Tokens
from minimal_asgi_cache import Cache
from minimal_asgi_events import Events
from minimal_asgi_jobs import Jobs
from minimal_asgi_ratelimit import RateLimit
from minimal_asgi_storage import Storage

from ..settings import BookshelfSettings

# The channel new books are announced on (every worker subscribes to it).
BOOKS_CHANNEL = "books"
# The cache tag of every cached catalogue page: a write invalidates them all.
CATALOGUE_TAG = "catalogue"


@dataclass(frozen=True)
class Parts:
    settings: BookshelfSettings
    auth: Auth
    tokens: Tokens
    sessions: Sessions
    api_keys: APIKeys
    cache: Cache
    limiter: RateLimit
    events: Events
    jobs: Jobs
    storage: Storage

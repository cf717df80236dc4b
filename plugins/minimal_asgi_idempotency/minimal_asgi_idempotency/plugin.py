"""``Idempotency``: the plugin that ties the guard to the app.

``setup(app)`` registers, through the public App API:

- a route wrapper: a route with the ``idempotency=`` option (or every route
  with an unsafe method, given ``Idempotency(default=...)``) is wrapped in an
  ``IdempotentRoute`` at startup; every other route keeps its handler and pays
  nothing;
- an OpenAPI hook: the ``Idempotency-Key`` header parameter, whose description
  states the expiry policy, and the 400/409/422 answers, on every operation
  the plugin guards - the draft asks a server to *publish* its policy;
- a lifespan step: opens the Redis client when the backend is a URL, and runs
  the task that renews the leases of requests in flight.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import redis.asyncio as aioredis

from minimal_asgi import App, ASGIApp, ConfigurationError, RouteInfo, Scope
from minimal_asgi_idempotency.backends import IdempotencyBackend, MemoryBackend, RedisBackend
from minimal_asgi_idempotency.guard import IdempotentRoute, Leases, client_identity
from minimal_asgi_idempotency.problems import Problems
from minimal_asgi_redis import RedisConnection

__all__ = ["UNSAFE_METHODS", "Idempotency"]

# The methods whose repetition can change the server's state twice. PUT and
# DELETE are idempotent by definition (RFC 9110), but their *responses* differ
# on a retry (a 404 after a DELETE), so a route may opt them in as well.
UNSAFE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_MODES = {True: False, "optional": False, "required": True}  # mode -> key required


class Idempotency:
    """``App(plugins=[Idempotency()])``; ``@app.post("/orders", idempotency="required")``.

    Route option ``idempotency=``: ``True`` (or ``"optional"``) - a request
    with an ``Idempotency-Key`` is guarded, one without runs as usual;
    ``"required"`` - a request without a key is a 400; ``False`` - this route
    is not guarded, whatever the default. ``default``: the mode of routes that
    do not say (a ``Router(options={"idempotency": ...})`` sets it for a router).

    ``backend``: ``"memory"`` (one process), a Redis URL (a client of the
    plugin's own; if Redis is down, guarded requests get 503 and do not run),
    a ``RedisConnection`` (the app's pool), or any ``IdempotencyBackend``.
    ``ttl``: how long a finished request's answer is kept for retries (the
    expiry policy, published in the OpenAPI document). ``lease``: how long the
    lock of a request in flight outlives its process. ``max_response_bytes``:
    the largest answer kept; a larger one is sent but not kept, and a retry
    gets a 422 saying so. ``identity``: ``identity(scope) -> str``, who is
    asking - keys of different identities never meet (default: the
    ``Authorization`` header, else the client address). ``docs_url``: where
    the API documents its idempotency policy (the problems link to it).
    """

    def __init__(
        self,
        backend: str | RedisConnection | IdempotencyBackend = "memory",
        *,
        default: bool | str | None = None,
        ttl: float = 86_400,
        lease: float = 30,
        max_key_length: int = 255,
        max_response_bytes: int = 1024 * 1024,
        identity: Callable[[Scope], str] = client_identity,
        docs_url: str | None = None,
        prefix: str = "idempotency:",
        timeout: float = 0.5,
    ) -> None:
        self.default = _mode(default, "Idempotency(default=...)")
        self.ttl = _seconds(ttl, "Idempotency(ttl=...)")
        self.lease = _seconds(lease, "Idempotency(lease=...)")
        if not (isinstance(max_key_length, int) and max_key_length >= 1):
            raise ConfigurationError(f"Idempotency(max_key_length={max_key_length!r}): >= 1")
        self.max_key_length = max_key_length
        self.max_response_bytes = max_response_bytes
        self.identity = identity
        self.docs_url = docs_url
        self.prefix = prefix
        self.timeout = timeout
        self._url: str | None = None
        self._client: aioredis.Redis | None = None
        if backend == "memory":
            chosen: IdempotencyBackend = MemoryBackend()
        elif isinstance(backend, str):
            if not backend.startswith(_REDIS_SCHEMES):
                raise ConfigurationError(
                    f"Idempotency(backend={backend!r}): use 'memory', a Redis URL "
                    "(redis://host:6379/0), or a RedisConnection"
                )
            self._url = backend
            chosen = RedisBackend(self._own_client)
        elif isinstance(backend, RedisConnection):
            connection = backend
            chosen = RedisBackend(lambda: connection.client)
        else:
            chosen = backend
        self.backend = chosen
        self.leases = Leases(chosen, self.lease)
        self.problems = Problems(docs_url, self.policy)
        self._app: App | None = None

    @property
    def policy(self) -> str:
        """The expiry policy, in one sentence (the draft, section 2.3: publish it)."""
        return (
            f"A key is kept for {_duration(self.ttl)} after its request completes, then "
            f"forgotten. Keys are 1 to {self.max_key_length} characters long."
        )

    def setup(self, app: App) -> None:
        self._app = app
        app.add_route_wrapper(self._wrap)
        app.add_openapi_hook(self._describe)
        app.add_lifespan(self._lifespan)

    # -- the app side ------------------------------------------------------------

    def _guarded(self, route: RouteInfo) -> tuple[frozenset[str], bool] | None:
        """(the methods guarded, whether the key is required), or None."""
        where = f"route {route.path}"
        if "idempotency" in route.options:
            mode = _mode(route.options["idempotency"], f"{where}: idempotency=")
            if mode is not None and not route.methods & UNSAFE_METHODS:
                raise ConfigurationError(
                    f"{where} ({', '.join(sorted(route.methods))}): idempotency= guards POST, "
                    "PATCH, PUT and DELETE; a safe method repeats without harm"
                )
        else:
            mode = self.default
        methods = route.methods & UNSAFE_METHODS
        if mode is None or not methods:
            return None
        return frozenset(methods), _MODES[mode]

    def _wrap(self, route: RouteInfo, handler: ASGIApp) -> ASGIApp:
        guarded = self._guarded(route)
        if guarded is None:
            return handler  # not asked: the route keeps its handler, and pays nothing
        assert self._app is not None
        methods, required = guarded
        return IdempotentRoute(
            handler,
            self._app,
            methods=methods,
            required=required,
            backend=self.backend,
            leases=self.leases,
            identity=self.identity,
            problems=self.problems,
            ttl=self.ttl,
            max_key_length=self.max_key_length,
            max_response_bytes=self.max_response_bytes,
            prefix=self.prefix,
        )

    def _describe(self, route: RouteInfo, method: str, operation: dict[str, Any]) -> None:
        guarded = self._guarded(route)
        if guarded is None or method.upper() not in guarded[0]:
            return
        required = guarded[1]
        operation.setdefault("parameters", []).append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": required,
                "description": (
                    "Makes a retry of this request safe (draft-ietf-httpapi-idempotency-"
                    'key-header): a Structured Field String, Idempotency-Key: "<a UUID>". '
                    "A retry with the same key and the same request (method, path, query, "
                    f"body) gets the first answer again instead of running twice. {self.policy}"
                ),
                "schema": {
                    "type": "string",
                    # One quoted string of printable ASCII, \" and \\ escaped.
                    "pattern": f'^"(?:[ !#-\\[\\]-~]|\\\\["\\\\]){{1,{self.max_key_length}}}"$',
                },
            }
        )
        responses = operation.setdefault("responses", {})
        for status, description in (
            ("400", "The Idempotency-Key is missing or not valid."),
            ("409", "A request with this Idempotency-Key is still being processed."),
            ("422", "This Idempotency-Key was already used with a different request."),
        ):
            existing = responses.get(status)
            if existing is None:
                responses[status] = _problem(description, "Problem")
            elif "$ref" not in existing:  # the route's own words, and then these
                existing["description"] = f"{existing.get('description', '')} Or: {description}"
            elif existing["$ref"].endswith("/ValidationFailed"):
                # The core's 422 for invalid input: both share the status code.
                responses[status] = _problem(
                    f"The input failed validation (see errors). Or: {description}",
                    "ValidationProblem",
                )
        operation["responses"] = dict(sorted(responses.items(), key=lambda i: (i[0][0], i[0])))

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: App) -> AsyncIterator[None]:
        if self._url is not None:
            # No PING: with Redis down the app still starts, and guarded requests
            # get 503 until it answers - the policy the docs publish.
            self._client = aioredis.Redis.from_url(
                self._url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
            )
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self.leases.keep)
                yield
                tasks.cancel_scope.cancel()
        finally:
            if self._client is not None:
                client, self._client = self._client, None
                await client.aclose()

    def _own_client(self) -> aioredis.Redis:
        if self._client is None:
            raise RuntimeError(
                "the idempotency store's Redis client is opened at app startup; run the "
                "app with its lifespan (a server, or `with TestClient(app)`)"
            )
        return self._client


def _problem(description: str, schema: str) -> dict[str, Any]:
    content = {"application/problem+json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    return {"description": description, "content": content}


def _mode(value: object, where: str) -> bool | str | None:
    if value is None or value is False:
        return None
    if value is True or value in ("optional", "required"):
        return value
    raise ConfigurationError(
        f"{where} takes True (or 'optional'), 'required' or False, not {value!r}"
    )


def _seconds(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigurationError(f"{where}: a positive number of seconds, not {value!r}")
    return float(value)


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"

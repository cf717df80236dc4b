"""The plugin: limits on the routes that ask, and ``limiter.hit`` for the rest.

``setup(app)`` registers a route wrapper and makes the limiter injectable.
At startup the wrapper sees every route once: a route with no limit (no
``rate_limit=`` option, no router option, no app-wide ``default``, or
``rate_limit=False``) is returned untouched and pays nothing; a limited one
gets its limits parsed and its ``RateLimit-Policy`` header encoded there and
then. Per request: the key, one backend decision, then the endpoint (with the
``RateLimit`` headers on its response) or a 429.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any, Literal, Protocol

from minimal_asgi import (
    App,
    ASGIApp,
    ConfigurationError,
    Counters,
    Message,
    ProblemResponse,
    Receive,
    Request,
    RouteInfo,
    Scope,
    Send,
    TrustedProxies,
)
from minimal_asgi_ratelimit.algorithms import Decision
from minimal_asgi_ratelimit.depends import LimitDependency, add_decision_headers, make_dependency
from minimal_asgi_ratelimit.headers import policy_header, quota_exceeded, ratelimit_header
from minimal_asgi_ratelimit.keys import ClientAddress, KeyFunction
from minimal_asgi_ratelimit.limits import ALGORITHMS, Algorithm, Limit, LimitSpec, parse_limits
from minimal_asgi_ratelimit.memory import MemoryBackend
from minimal_asgi_ratelimit.redis_backend import BackendUnavailable, RedisBackend
from minimal_asgi_redis import RedisConnection

__all__ = ["Backend", "RateLimit"]

logger = logging.getLogger("minimal_asgi_ratelimit")

OPTION = "rate_limit"


class Backend(Protocol):
    """Where counters live: ``MemoryBackend``, ``RedisBackend``, or your own."""

    async def hit(self, key: str, limits: tuple[Limit, ...], cost: int = 1) -> Decision: ...


class RateLimit:
    """The rate-limit plugin: ``App(plugins=[RateLimit(default="100/minute")])``.

    - ``default``: the limit of every route that sets none (``None``: only the
      routes that ask are limited). A route sets its own with
      ``@app.get("/x", rate_limit="10/minute")``, a router for all of its
      routes with ``Router(options={"rate_limit": ...})``; ``rate_limit=False``
      opts a route out.
    - ``backend``: ``"memory"`` (one process), a Redis URL, a
      ``RedisConnection`` (the app's shared pool), or a backend object.
    - ``key``: whose quota a request spends: a function of the ``Request``,
      sync or async (default: the client address; see ``trusted_proxies``).
    - ``trusted_proxies``: proxies whose ``X-Forwarded-For``/``Forwarded`` are
      believed for that address - a list, or the ``TrustedProxies`` given to
      ``ProxyHeadersMiddleware`` (one setting, one reading of the headers).
      Not needed when that middleware is installed: it has already put the
      client's address in the scope.
    - ``algorithm``: for limits given as text: ``"sliding-window"`` (default),
      ``"fixed-window"`` or ``"gcra"``; a ``Limit(...)`` names its own.
    - ``on_backend_error``: ``"open"`` lets requests through while the
      backend is down, ``"closed"`` answers 503; either way it is logged once
      per outage, and normal service resumes when the backend answers again.
    - ``timeout``: seconds a Redis decision may take before it counts as down.
    """

    def __init__(
        self,
        default: LimitSpec | None = None,
        *,
        backend: str | RedisConnection | Backend = "memory",
        key: KeyFunction | None = None,
        algorithm: Algorithm = "sliding-window",
        trusted_proxies: Iterable[str] | TrustedProxies = (),
        on_backend_error: Literal["open", "closed"] = "open",
        timeout: float = 0.25,
        prefix: str = "ratelimit",
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ConfigurationError(
                f"RateLimit(algorithm={algorithm!r}): choose one of "
                + ", ".join(repr(a) for a in ALGORITHMS)
            )
        if on_backend_error not in ("open", "closed"):
            raise ConfigurationError(
                f"RateLimit(on_backend_error={on_backend_error!r}): say 'open' (let requests "
                "through while the backend is down) or 'closed' (refuse them with a 503)"
            )
        self.algorithm: Algorithm = algorithm
        self.default = None if default is None else parse_limits(default, algorithm)
        self.address = ClientAddress(trusted_proxies)
        self.key = key
        self._key_is_async = key is not None and _is_async(key)
        self.fail_open = on_backend_error == "open"
        self.timeout = timeout
        self.prefix = prefix
        self._backend_option = backend
        self.backend: Backend = (
            MemoryBackend() if backend == "memory" else _NotStarted()  # set in setup
        )
        self._parsed: dict[Any, tuple[Limit, ...]] = {}
        self._dependencies: list[LimitDependency] = []  # made by limit(), to find their routes
        self._down = False  # in an outage (logged once, until the backend answers)
        self.counters = Counters()  # the app's, once installed

    # -- installing --------------------------------------------------------------
    def setup(self, app: App) -> None:
        self.backend = self._backend_for(app)
        # Refusals, for a metrics exporter if the app has one (app.counters).
        app.counters.describe("ratelimit.limited", "requests refused with 429")
        self.counters = app.counters
        app.add_route_wrapper(self.wrap)
        app.provide(RateLimit, self._provide)
        if isinstance(self.backend, MemoryBackend):
            # Counters in memory live as long as the app serves, as they would
            # in a process of their own: an app started again starts afresh.
            app.on_shutdown(self._forget)

    async def _forget(self) -> None:
        if isinstance(self.backend, MemoryBackend):
            self.backend.clear()

    def _backend_for(self, app: App) -> Backend:
        option = self._backend_option
        if option == "memory":
            return self.backend
        if isinstance(option, str):
            if not option.startswith(("redis://", "rediss://", "unix://")):
                raise ConfigurationError(
                    f"RateLimit(backend={option!r}): give 'memory', a Redis URL "
                    "('redis://127.0.0.1:6379/0') or a RedisConnection"
                )
            # Share the app's pool for this URL if it has one; else open one.
            shared = [p for p in app.plugins if isinstance(p, RedisConnection) and p.url == option]
            option = shared[0] if shared else RedisConnection(option)
        if isinstance(option, RedisConnection):
            if not any(plugin is option for plugin in app.plugins):
                app.install(option)
            connection = option
            return RedisBackend(lambda: connection.client, prefix=self.prefix, timeout=self.timeout)
        if not callable(getattr(option, "hit", None)):
            raise ConfigurationError(
                f"RateLimit(backend={option!r}): a backend needs an async hit(key, limits) method"
            )
        return option

    async def _provide(self) -> RateLimit:
        return self

    # -- anywhere: login attempts, WebSocket messages, jobs ------------------------
    async def hit(self, key: str, limit: LimitSpec, cost: int = 1) -> Decision:
        """Count one hit of ``key`` against ``limit`` (``"5/minute"``) and say
        whether it is allowed: ``if not (await limiter.hit(f"login:{email}",
        "5/minute")).allowed: ...``. While the backend is down the answer follows
        ``on_backend_error`` (allowed when open) and has no outcomes."""
        limits = self._parsed.get(limit) if isinstance(limit, str | Limit) else None
        if limits is None:
            limits = parse_limits(limit, self.algorithm)
            if isinstance(limit, str | Limit):
                self._parsed[limit] = limits
        decision = await self._decide(f"hit:{key}", limits, cost)
        return decision if decision is not None else Decision(self.fail_open, ())

    # -- as a dependency: keys that need the app's dependencies --------------------
    def limit(
        self,
        limit: LimitSpec,
        *,
        key: Callable[..., Any] | None = None,
        name: str | None = None,
    ) -> LimitDependency:
        """The limit as a dependency, for ``dependencies=[...]`` on a route, a
        router or the app: ``limiter.limit("30/minute", key=by_user)``.

        ``key`` is a dependency like any other (sync or async, with parameters
        of its own, ``Depends(current_user)`` included) whose value names the
        quota; by default, the plugin's key (the client address). One
        dependency is one quota wherever it is used - a router-wide
        ``limiter.limit(...)`` is shared by the router's routes - and ``name``
        keeps two limits with the same text and key apart.
        """
        limits = parse_limits(limit, self.algorithm)
        if name is None:
            key_name = getattr(key, "__qualname__", "client") if key is not None else "client"
            name = "dependency:" + ",".join(lim.id for lim in limits) + ":" + key_name
        dependency = make_dependency(self, limits, key, name)
        self._dependencies.append(dependency)
        return dependency

    async def client_key(self, request: Request) -> str:
        """The default key as a dependency: the plugin's ``key`` function, or the
        client address (through ``trusted_proxies``)."""
        if self.key is not None:
            return await self._key_of(request.scope)
        return self.address.from_scope(request.scope)

    async def _decide(self, key: str, limits: tuple[Limit, ...], cost: int = 1) -> Decision | None:
        """The backend's decision, or None while it is down (logged once per outage)."""
        try:
            decision = await self.backend.hit(key, limits, cost)
        except BackendUnavailable as exc:
            if not self._down:
                self._down = True
                policy = "letting requests through" if self.fail_open else "refusing requests"
                logger.warning("rate limiting is unavailable (%s); %s until it is back", exc,
                               policy)
            return None
        if self._down:
            self._down = False
            logger.warning("rate limiting is back")
        return decision

    # -- the routes ----------------------------------------------------------------
    def limits_for(self, route: RouteInfo) -> tuple[Limit, ...] | None:
        """The route's limits (its option, else the default), or None."""
        spec = route.options.get(OPTION, self.default)
        if spec is None or spec is False:
            return None
        try:
            return parse_limits(spec, self.algorithm)
        except ConfigurationError as exc:
            raise ConfigurationError(f"route {route.path}: {exc}") from None

    def wrap(self, route: RouteInfo, handler: ASGIApp) -> ASGIApp:
        if any(route.uses(dependency) for dependency in self._dependencies):
            handler = _with_decision_headers(handler)
        limits = self.limits_for(route)
        if limits is None:
            return handler  # no route limit: the route stays as it was
        policy = policy_header(limits)
        # GET and HEAD of one path spend one quota; OPTIONS (preflights) none.
        methods = ",".join(sorted(route.methods - {"HEAD", "OPTIONS"}))
        scope_key = f"{methods} {route.path}:"
        address = self.address.from_scope if self.key is None else None
        # PERF: the in-memory backend decides synchronously and cannot fail, so
        # it is called directly: no coroutine, no outage bookkeeping.
        decide_now = getattr(self.backend, "hit_now", None)
        limiter = self
        counters = self.counters

        async def rate_limited(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["method"] == "OPTIONS":
                await handler(scope, receive, send)
                return
            # PERF: the default key reads the scope; no Request is built for it.
            client = address(scope) if address is not None else await limiter._key_of(scope)
            if decide_now is not None:
                decision = decide_now(scope_key + client, limits)
            else:
                found = await limiter._decide(scope_key + client, limits)
                if found is None:  # the backend is down
                    if limiter.fail_open:
                        await handler(scope, receive, send)
                    else:
                        await _unavailable(scope, receive, send)
                    return
                decision = found
            if not decision.allowed:
                counters.add("ratelimit.limited")
                await quota_exceeded(decision, policy)(scope, receive, send)
                return
            headers = [(b"ratelimit-policy", policy), (b"ratelimit", ratelimit_header(decision))]

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", ()), *headers]}
                await send(message)

            await handler(scope, receive, send_with_headers)

        return rate_limited

    async def _key_of(self, scope: Scope) -> str:
        assert self.key is not None
        value = self.key(Request(scope))
        if self._key_is_async:
            value = await value  # type: ignore[misc]
        return str(value)


def _with_decision_headers(handler: ASGIApp) -> ASGIApp:
    """``handler``, with the ``RateLimit`` headers of its limit dependencies."""

    async def with_decision_headers(scope: Scope, receive: Receive, send: Send) -> None:
        await handler(scope, receive, add_decision_headers(scope, send))

    return with_decision_headers


async def _unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    response = ProblemResponse(
        503, "rate limiting is unavailable; retry shortly", headers={"retry-after": "1"}
    )
    await response(scope, receive, send)


def _is_async(func: Any) -> bool:
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - an object with async __call__
    )


class _NotStarted:
    async def hit(self, key: str, limits: tuple[Limit, ...], cost: int = 1) -> Decision:
        raise ConfigurationError(
            "this RateLimit is not installed in an app; pass it to App(plugins=[...]) first"
        )

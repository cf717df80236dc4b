"""The plugin: two routes, and the checks behind the second.

Liveness and readiness answer different questions, and confusing them is a
classic outage: if liveness checked the database, a database blip would make
the orchestrator restart every instance at once - which fixes nothing and
adds a cold start to the outage. So liveness checks only that the process
answers; readiness checks the dependencies, and a failing readiness only
takes the instance out of the load balancer until it passes again.

Checks run concurrently, each under ``timeout``: a probe has its own timeout
(Kubernetes: one second by default), and one hung dependency must not make
the whole answer late. The answer is never cached: a probe wants now.

Dependencies are found two ways: checks added by hand (``add_check`` or
``Health(checks=...)``), and every installed plugin with an async
``health_check()`` method and a ``health_name`` (the SQL and Redis plugins
have one) - so an app that uses a database checks it without saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio

from minimal_asgi import App, ConfigurationError, JSONResponse, ProblemResponse, Response

__all__ = ["Check", "Health"]

logger = logging.getLogger("minimal_asgi.health")

# A check: an async callable taking nothing. Raising, returning False, or not
# returning within the timeout means "down"; anything else means "up".
Check = Callable[[], Awaitable[Any]]

_NO_STORE = {"cache-control": "no-store"}


class Health:
    """``App(plugins=[Health()])``: ``/health/live`` and ``/health/ready``.

    - ``checks``: ``{"name": async_callable}``, the dependencies to check (more
      with ``add_check``); installed plugins with ``health_check()`` are added.
    - ``timeout``: seconds each check may take (all run at once).
    - ``live_path``, ``ready_path``: where the two endpoints are.
    - ``route_options``: options for both routes, for other plugins to read
      (e.g. ``{"rate_limit": False}`` so probes are never limited).
    - ``discover``: add the installed plugins' own checks (default True).
    """

    def __init__(
        self,
        checks: Mapping[str, Check] | None = None,
        *,
        timeout: float = 1.0,
        live_path: str = "/health/live",
        ready_path: str = "/health/ready",
        route_options: Mapping[str, Any] | None = None,
        discover: bool = True,
    ) -> None:
        if timeout <= 0:
            raise ConfigurationError(f"Health(timeout={timeout!r}): give seconds, more than 0")
        self.timeout = timeout
        self.live_path = live_path
        self.ready_path = ready_path
        self.route_options = dict(route_options or {})
        self.discover = discover
        self.checks: dict[str, Check] = {}
        for name, check in (checks or {}).items():
            self.add_check(name, check)
        self._app: App | None = None

    def add_check(self, name: str, check: Check) -> None:
        """Check ``check()`` for readiness, reported as ``name``."""
        if not callable(check):
            raise ConfigurationError(f"health check {name!r}: give an async callable")
        if name in self.checks:
            raise ConfigurationError(f"health check {name!r} is added twice")
        self.checks[name] = check

    def setup(self, app: App) -> None:
        self._app = app
        app.add_route(self.live_path, self.live, methods=["GET"], name="health_live",
                      include_in_schema=False, **self.route_options)
        app.add_route(self.ready_path, self.ready, methods=["GET"], name="health_ready",
                      include_in_schema=False, **self.route_options)
        if self.discover:
            app.on_startup(self._discover)

    def _discover(self) -> None:
        """Add the checks of the plugins installed now (all are, at startup)."""
        assert self._app is not None
        for plugin in self._app.plugins:
            check = getattr(plugin, "health_check", None)
            name = getattr(plugin, "health_name", None)
            if callable(check) and isinstance(name, str) and name not in self.checks:
                self.checks[name] = check

    # -- the endpoints -------------------------------------------------------------

    async def live(self) -> Response:
        return JSONResponse({"status": "alive"}, headers=_NO_STORE)

    async def ready(self) -> Response:
        if self._app is not None and self._app.draining:
            return ProblemResponse(
                503, "shutting down: this instance takes no new requests",
                headers=_NO_STORE, checks={}, draining=True,
            )  # fmt: skip
        results = await self.run_checks()
        failed = [name for name, result in results.items() if result != "ok"]
        if failed:
            detail = "not ready: " + ", ".join(f"{name} ({results[name]})" for name in failed)
            return ProblemResponse(503, detail, headers=_NO_STORE, checks=results,
                                   draining=False)
        return JSONResponse({"status": "ready", "checks": results}, headers=_NO_STORE)

    async def run_checks(self) -> dict[str, str]:
        """Every check at once: ``{"database": "ok", "redis": "timed out after 1s"}``."""
        results: dict[str, str] = {}

        async def run(name: str, check: Check) -> None:
            results[name] = await self._outcome(name, check)

        async with anyio.create_task_group() as group:
            for name, check in self.checks.items():
                group.start_soon(run, name, check)
        return {name: results[name] for name in sorted(results)}

    async def _outcome(self, name: str, check: Check) -> str:
        try:
            with anyio.fail_after(self.timeout):
                answer = await check()
        except TimeoutError:
            outcome = f"timed out after {self.timeout:g}s"
        except Exception as exc:  # a check that fails, fails: say how, never 500
            outcome = f"failed: {type(exc).__name__}"
        else:
            if answer is not False:
                return "ok"
            outcome = "failed"
        # The reason goes to the log; the response names the dependency only,
        # since a probe endpoint is often reachable by more than the operator.
        logger.warning("health check %s %s", name, outcome)
        return outcome

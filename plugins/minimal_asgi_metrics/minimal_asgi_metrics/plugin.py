"""The plugin: the metrics, the middleware that feeds them, the ``/metrics`` route.

Each ``Metrics`` has a registry of its own (not prometheus-client's global
one), so two apps in one process - tests, mostly - do not collide.

Several worker processes (``uvicorn --workers 4``, gunicorn) each count their
own requests; a scrape reaches one worker, which would report a fraction of
the truth. prometheus-client's multiprocess mode fixes that: with
``PROMETHEUS_MULTIPROC_DIR`` set (before the workers start), each process
writes its values to files there, and ``/metrics`` reads them all. Gauges then
need to say how the processes' values combine: in flight is a sum over the
processes that are alive (``livesum``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from minimal_asgi import App, ConfigurationError, Response
from minimal_asgi_metrics.middleware import MetricsMiddleware

__all__ = ["DEFAULT_BUCKETS", "Metrics"]

# Seconds. Finer than prometheus-client's defaults at the fast end, where an
# API's answers are: 1 ms to 10 s.
DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """``App(plugins=[Metrics()])``: request metrics and ``GET /metrics``.

    - ``path``: where the metrics are served (``None``: nowhere; serve
      ``metrics.render()`` yourself, e.g. on a port only Prometheus reaches).
    - ``buckets``: the latency histogram's upper bounds, in seconds.
    - ``namespace``: the prefix of the names of the plugins' counters.

    Multiprocess mode is on when ``PROMETHEUS_MULTIPROC_DIR`` is set in the
    environment the server starts in (prometheus-client reads it when it is
    first imported, so it cannot be an argument here).
    """

    def __init__(
        self,
        *,
        path: str | None = "/metrics",
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        namespace: str = "minimal_asgi",
    ) -> None:
        self.path = path
        self.namespace = namespace
        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        if self.multiprocess_dir is not None and not os.path.isdir(self.multiprocess_dir):
            raise ConfigurationError(
                f"PROMETHEUS_MULTIPROC_DIR={self.multiprocess_dir!r} is not a directory: "
                "create an empty one before the server starts (and empty it on each deploy)"
            )
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests", "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"], registry=self.registry,
        )  # fmt: skip
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from the request reaching the app to the end of its response",
            ["method", "route"], buckets=buckets, registry=self.registry,
        )  # fmt: skip
        self.in_flight = Gauge(
            "http_requests_in_flight", "HTTP requests being served now",
            registry=self.registry, multiprocess_mode="livesum",
        )  # fmt: skip
        self._counters: dict[str, Counter] = {}

    def setup(self, app: App) -> None:
        app.add_middleware(
            MetricsMiddleware,
            requests=self.requests, duration=self.duration, in_flight=self.in_flight,
        )  # fmt: skip
        app.counters.listen(self.count)
        # Plugins describe their counters in their own setup, before or after
        # this one: create them at startup, when every plugin is installed, so
        # they are exported (at zero) before their first event.
        app.on_startup(lambda: self._declare(app))
        if self.path is not None:
            app.add_route(self.path, self.endpoint, methods=["GET"], name="metrics",
                          include_in_schema=False)

    def _declare(self, app: App) -> None:
        for name, text in app.counters.descriptions.items():
            self._counter(name, text)

    def count(self, name: str, amount: float) -> None:
        """A listener of ``app.counters``: ``cache.hit`` -> ``minimal_asgi_cache_hit_total``."""
        counter = self._counters.get(name) or self._counter(name, f"{name} events")
        counter.inc(amount)

    def _counter(self, name: str, text: str) -> Counter:
        counter = self._counters.get(name)
        if counter is None:
            metric = f"{self.namespace}_{re.sub(r'[^a-zA-Z0-9_]', '_', name)}"
            counter = self._counters[name] = Counter(metric, text, registry=self.registry)
        return counter

    def render(self) -> bytes:
        """The metrics in Prometheus' text format: this process's, or every
        worker's in multiprocess mode."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(merged)

    def endpoint(self) -> Response:
        # Sync: reading every worker's files is blocking I/O, so the app runs
        # this in a worker thread, off the event loop.
        return Response(self.render(), media_type=CONTENT_TYPE_LATEST)

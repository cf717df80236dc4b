"""What runs for each request: time it, note its status, and after the app has
answered, label it with the route the router matched (``scope["route"]``,
written by the router for the layers around it).

The label children (the time series for one method, route and status) are
looked up once and kept in a dict: ``Counter.labels(...)`` takes a lock and
builds a tuple on every call, which is most of what a metric costs.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from minimal_asgi import ASGIApp, Message, Receive, Scope, Send

__all__ = ["UNMATCHED", "MetricsMiddleware"]

UNMATCHED = "unmatched"  # the route label of every request no route matched
# Any other method a client invents is labelled "other": a label value chosen
# by the client would let it create time series without end.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        requests: Counter,
        duration: Histogram,
        in_flight: Gauge,
    ) -> None:
        self.app = app
        self.requests = requests
        self.duration = duration
        self.in_flight = in_flight
        # (method, route, status) -> (the counter's child, the histogram's child)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # if the app fails before it answers

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.in_flight.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - start
            self.in_flight.dec()
            route = scope.get("route")
            template = route.path if route is not None else UNMATCHED
            method = scope["method"] if scope["method"] in METHODS else "other"
            key = (method, template, status)
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (
                    self.requests.labels(method, template, str(status)),
                    self.duration.labels(method, template),
                )
            children[0].inc()
            children[1].observe(elapsed)

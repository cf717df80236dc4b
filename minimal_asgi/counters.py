"""Counters: named counts the app's parts report, for whoever listens.

A plugin knows things worth counting - a request refused by the rate limiter,
a response served from the cache - and a metrics exporter wants them; neither
should import the other. So the app carries one ``Counters`` object
(``app.counters``): a part reports with ``app.counters.add("cache.hit")``,
and a listener (``app.counters.listen(fn)``) receives ``fn(name, amount)``.

Names are dotted, the reporting part first (``"ratelimit.limited"``), and are
fixed in code, never built from request data, so whatever a listener keeps per
name stays bounded. ``describe(name, text)`` says what a name counts, so a
listener can show it (and start it at zero) before the first report.
With no listener, ``add`` is one empty loop.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["CounterListener", "Counters"]

CounterListener = Callable[[str, float], None]


class Counters:
    """The app's named counts: ``add`` reports, ``listen`` subscribes."""

    __slots__ = ("descriptions", "listeners")

    def __init__(self) -> None:
        self.listeners: list[CounterListener] = []
        self.descriptions: dict[str, str] = {}

    def describe(self, name: str, text: str) -> None:
        """Declare a counter and what it counts (``"responses served from the cache"``)."""
        self.descriptions[name] = text

    def listen(self, listener: CounterListener) -> None:
        """Call ``listener(name, amount)`` on every report, synchronously: keep it quick."""
        self.listeners.append(listener)

    def add(self, name: str, amount: float = 1.0) -> None:
        for listener in self.listeners:
            listener(name, amount)

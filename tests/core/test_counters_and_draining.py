"""Two small public hooks: ``app.counters`` (named counts for a metrics
exporter) and ``app.draining`` (shutdown has begun)."""

from __future__ import annotations

from minimal_asgi import App, Counters, Request
from minimal_asgi.testing import TestClient


def test_counts_reach_every_listener() -> None:
    counters = Counters()
    heard: list[tuple[str, float]] = []
    counters.listen(lambda name, amount: heard.append((name, amount)))
    counters.listen(lambda name, amount: heard.append((name.upper(), amount)))
    counters.add("cache.hit")
    counters.add("jobs.retried", 3)
    assert heard == [
        ("cache.hit", 1.0), ("CACHE.HIT", 1.0), ("jobs.retried", 3), ("JOBS.RETRIED", 3)
    ]


def test_counting_with_no_listener_does_nothing() -> None:
    counters = Counters()
    counters.add("cache.hit")  # no error, nothing kept
    assert counters.listeners == []


def test_descriptions_are_kept_for_listeners() -> None:
    counters = Counters()
    counters.describe("ratelimit.limited", "requests refused with 429")
    assert counters.descriptions == {"ratelimit.limited": "requests refused with 429"}


def test_an_endpoint_counts_through_its_app() -> None:
    app = App()
    heard: list[str] = []
    app.counters.listen(lambda name, amount: heard.append(name))

    @app.post("/orders")
    async def order(request: Request) -> None:
        request.app.counters.add("orders.placed")

    with TestClient(app) as client:
        client.post("/orders")
    assert heard == ["orders.placed"]


def test_draining_is_true_from_the_first_shutdown_step_and_false_after_a_restart() -> None:
    app = App()
    seen: list[bool] = []
    app.on_startup(lambda: seen.append(app.draining))
    app.on_shutdown(lambda: seen.append(app.draining))
    with TestClient(app):
        seen.append(app.draining)
    with TestClient(app):
        seen.append(app.draining)
    assert seen == [False, False, True, False, False, True]


def test_begin_draining_marks_a_serving_app() -> None:
    app = App()
    with TestClient(app):
        assert not app.draining
        app.begin_draining()
        assert app.draining

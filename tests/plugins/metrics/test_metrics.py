"""The metrics plugin: requests by route template, latency, in flight, the
plugins' counters, and one sum across worker processes."""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from minimal_asgi import App, Request
from minimal_asgi.plugins import load_plugin
from minimal_asgi.testing import TestClient
from minimal_asgi_cache import Cache
from minimal_asgi_metrics import Metrics
from minimal_asgi_ratelimit import RateLimit
from tests.server.servers import ServerProcess, free_port
from tests.types import ClientFactory


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``{(sample name, sorted labels): value}`` from the text format."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def make_app(*plugins: Any) -> tuple[App, Metrics]:
    metrics = Metrics()
    app = App(plugins=[metrics, *plugins])

    @app.get("/items/{item_id:int}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    return app, metrics


def test_the_plugin_is_found_by_name() -> None:
    assert isinstance(load_plugin("metrics"), Metrics)


def test_requests_are_labelled_by_route_template_never_the_path(
    client_for: ClientFactory,
) -> None:
    app, _ = make_app()
    client = client_for(app)
    for n in range(3):
        assert client.get(f"/items/{n}").status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    labels = {"method": "GET", "route": "/items/{item_id:int}"}
    assert value(text, "http_requests_total", status="200", **labels) == 3
    assert value(text, "http_request_duration_seconds_count", **labels) == 3
    assert value(text, "http_request_duration_seconds_bucket", le="+Inf", **labels) == 3
    assert "/items/1" not in text


def test_unmatched_paths_and_invented_methods_share_one_label(client_for: ClientFactory) -> None:
    app, _ = make_app()
    client = client_for(app)
    for n in range(4):
        assert client.get(f"/no/such/path/{n}").status_code == 404
    assert client.request("BREW", "/items/1").status_code == 405
    text = client.get("/metrics").text
    assert value(text, "http_requests_total", method="GET", route="unmatched", status="404") == 4
    assert value(text, "http_requests_total", method="other", route="unmatched",
                 status="405") == 1
    assert "BREW" not in text and "/no/such" not in text


def test_requests_in_flight_counts_the_requests_being_served(client_for: ClientFactory) -> None:
    metrics = Metrics()
    app = App(plugins=[metrics])

    @app.get("/slow")
    async def slow() -> dict[str, float]:
        return {"in_flight": value(metrics.render().decode(), "http_requests_in_flight")}

    client = client_for(app)
    assert client.get("/slow").json() == {"in_flight": 1}
    assert value(client.get("/metrics").text, "http_requests_in_flight") == 1  # the scrape


def test_an_error_is_counted_as_a_500(client_for: ClientFactory) -> None:
    metrics = Metrics()
    app = App(plugins=[metrics])

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    client = client_for(app, raise_server_exceptions=False)
    assert client.get("/boom").status_code == 500
    assert value(metrics.render().decode(), "http_requests_total",
                 method="GET", route="/boom", status="500") == 1


def test_the_rate_limiters_refusals_are_exported(client_for: ClientFactory) -> None:
    app, metrics = make_app(RateLimit("2/minute"))
    client = client_for(app)
    assert value(metrics.render().decode(), "minimal_asgi_ratelimit_limited_total") == 0
    statuses = [client.get("/items/1").status_code for _ in range(5)]
    assert statuses.count(429) == 3
    assert value(metrics.render().decode(), "minimal_asgi_ratelimit_limited_total") == 3


def test_cache_hits_and_misses_are_exported(client_for: ClientFactory) -> None:
    metrics = Metrics()
    app = App(plugins=[Cache(), metrics])  # installed in either order

    @app.get("/cached", cache=60)
    async def cached() -> str:
        return "computed"

    client = client_for(app)
    text = metrics.render().decode()
    assert "# HELP minimal_asgi_cache_hit_total lookups answered from the cache" in text
    for _ in range(4):
        client.get("/cached")
    text = metrics.render().decode()
    assert value(text, "minimal_asgi_cache_miss_total") == 1
    assert value(text, "minimal_asgi_cache_hit_total") == 3


def test_any_part_of_the_app_can_count(client_for: ClientFactory) -> None:
    app, metrics = make_app()

    @app.post("/signups")
    async def signup(request: Request) -> None:
        request.app.counters.add("signups.created")

    client = client_for(app)
    client.post("/signups")
    client.post("/signups")
    assert value(metrics.render().decode(), "minimal_asgi_signups_created_total") == 2


def test_no_metrics_route_when_path_is_none(client_for: ClientFactory) -> None:
    app = App(plugins=[Metrics(path=None)])
    assert client_for(app).get("/metrics").status_code == 404


def test_two_apps_in_one_process_do_not_collide() -> None:
    for _ in range(2):
        app, _metrics = make_app()
        with TestClient(app) as client:
            client.get("/items/1")
            assert value(client.get("/metrics").text, "http_requests_total",
                         method="GET", route="/items/{item_id:int}", status="200") == 1


@pytest.mark.anyio
async def test_two_uvicorn_workers_report_one_sum(tmp_path: Any, monkeypatch: Any) -> None:
    """Under ``uvicorn --workers 2`` with PROMETHEUS_MULTIPROC_DIR, /metrics -
    whichever worker answers it - counts the requests of both."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "tests.plugins.metrics.workers_app:app",
        "--workers", "2", "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
    ]  # fmt: skip
    with ServerProcess.command_line(command, port):
        pids: list[int] = []
        with anyio.fail_after(120):
            # A new connection per request, so the kernel spreads them out;
            # go on until both processes have served some (ample tries).
            while len(set(pids)) < 2 or len(pids) < 20:
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                    response = await http.get(f"/items/{len(pids)}")
                pids.append(response.json()["pid"])
                assert len(pids) < 500, "every request went to one worker"
            totals = set()
            for _ in range(6):
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                    text = (await http.get("/metrics")).text
                totals.add(value(text, "http_requests_total", method="GET",
                                 route="/items/{item_id:int}", status="200"))
    assert totals == {len(pids)}
    assert len({name for name in os.listdir(tmp_path)}) >= 2  # each worker's files

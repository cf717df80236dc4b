"""The client the server's instruction counts use still works.

``benchmarks/server_vs_uvicorn.py --instructions`` and the performance guard's
``server: ...`` scenarios both count with ``harness.blocking_requests``.

It sends requests one after the other to a real server, on one connection or
one connection each; nothing here is timed.
"""

from __future__ import annotations

import pytest

from benchmarks import harness, server_vs_uvicorn
from tests.server import apps
from tests.server.servers import minimal_asgi_server


@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "connection-close"])
def test_the_server_benchmark_client_gets_its_answers(close: bool) -> None:
    with minimal_asgi_server(apps.hello) as (_, port):
        harness.blocking_requests(port, 3, close)  # raises unless every answer is 200


def test_the_connection_close_scenario_sends_the_header_to_wrk() -> None:
    scenarios = server_vs_uvicorn.SCENARIOS
    assert scenarios["Connection: close"].wrk_env()["BENCH_HEADERS"] == "Connection: close"
    assert "BENCH_HEADERS" not in scenarios["keep-alive"].wrk_env()

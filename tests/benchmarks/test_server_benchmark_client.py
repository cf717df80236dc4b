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


def test_a_request_with_a_body_is_written_as_a_client_writes_it() -> None:
    # overhead.py --instructions sends each scenario's own request this way
    request = harness.HTTPRequest("POST", "/items", query="q=1", body=b'{"a":1}',
                                  content_type="application/json")
    assert harness.raw_request(request, close=True) == (
        b"POST /items?q=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 7\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n\r\n" + b'{"a":1}'
    )


def test_the_client_reads_a_body_answer_whole_on_one_connection() -> None:
    # three POSTs on one connection: each answer read to its Content-Length
    request = harness.HTTPRequest("POST", "/echo", body=b"x" * 70_000,
                                  content_type="application/octet-stream")
    recorder = apps.Recorder()  # answers each request with its body, as JSON
    with minimal_asgi_server(recorder) as (_, port):
        harness.blocking_requests(port, 3, False, request)
    assert recorder.calls == 3


def test_a_server_process_cpu_time_is_read_from_proc() -> None:
    import os

    spent = harness.cpu_seconds(os.getpid())
    assert spent is not None and spent > 0
    assert harness.cpu_seconds(2**22 + 12345) is None  # no such process

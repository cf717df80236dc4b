"""The app under a real server: uvicorn, real sockets, real HTTP.

Everything else in tests/core talks to the app in-process, through the
TestClient. These tests check that what the TestClient shows is also what a
client gets through uvicorn: a JSON route, a problem-details 404, HEAD, the
lifespan run at startup and at shutdown, and a failing startup hook stopping
the server with its message.
"""

import http.client
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from minimal_asgi import App
from tests.server.servers import uvicorn_server

REPO = Path(__file__).resolve().parents[2]


def make_app(events: list[str]) -> App:
    app = App(on_startup=[lambda: events.append("startup")])
    app.on_shutdown(lambda: events.append("shutdown"))

    @app.get("/items/{item_id:int}")
    async def read_item(item_id: int) -> dict[str, object]:
        return {"id": item_id, "started": "startup" in events}

    return app


def app_whose_startup_fails() -> App:
    """A factory for ``uvicorn --factory`` in a subprocess."""
    app = App()

    @app.on_startup
    def connect_to_database() -> None:
        raise RuntimeError("database at db.internal:5432 is down")

    return app


# One uvicorn-in-a-thread helper for the whole suite (tests/server/servers.py).
serving = uvicorn_server


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    with serving(make_app([])) as address:
        yield address


def test_json_route_answers_over_real_http(server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*server, timeout=10)
    connection.request("GET", "/items/42")
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 200
    assert response.getheader("content-type") == "application/json"
    assert response.getheader("content-length") == str(len(body))
    assert json.loads(body) == {"id": 42, "started": True}


def test_unknown_path_is_a_problem_details_404_over_real_http(server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*server, timeout=10)
    connection.request("GET", "/no/such/thing")
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 404
    assert response.getheader("content-type") == "application/problem+json"
    problem = json.loads(body)
    assert (problem["type"], problem["title"], problem["status"]) == (
        "about:blank",
        "Not Found",
        404,
    )
    assert "/no/such/thing" in problem["detail"]


def test_head_over_real_http_has_the_get_headers_and_no_body(server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*server, timeout=10)
    connection.request("GET", "/items/7")
    got = connection.getresponse()
    got_body = got.read()
    connection.request("HEAD", "/items/7")  # same connection: a stray body would corrupt it
    head = connection.getresponse()
    head_body = head.read()
    connection.request("GET", "/items/8")
    after = connection.getresponse()
    after_body = after.read()
    connection.close()
    assert head.status == 200
    assert head_body == b""
    assert head.getheader("content-length") == got.getheader("content-length") == str(len(got_body))
    assert head.getheader("content-type") == got.getheader("content-type")
    assert json.loads(after_body) == {"id": 8, "started": True}


def test_lifespan_startup_runs_before_serving_and_shutdown_when_the_server_stops() -> None:
    events: list[str] = []
    with serving(make_app(events)) as address:
        assert events == ["startup"]
        connection = http.client.HTTPConnection(*address, timeout=10)
        connection.request("GET", "/items/1")
        assert json.loads(connection.getresponse().read())["started"] is True
        connection.close()
    assert events == ["startup", "shutdown"]


def test_failing_startup_hook_makes_uvicorn_exit_nonzero_with_its_message() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tests.core.test_uvicorn:app_whose_startup_fails",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--lifespan",
            "on",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,  # a server that kept running would be killed here, and the test fail
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "RuntimeError: database at db.internal:5432 is down" in output
    assert "Application startup failed" in output

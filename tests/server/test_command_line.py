"""``python -m minimal_asgi.server``: the options, the exit status, workers, the access log."""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import threading

import pytest

from minimal_asgi.server import Config, parse_args
from minimal_asgi.server.main import load_app
from tests.server import apps
from tests.server.client import RawConnection, RawResponse, request
from tests.server.servers import ServerProcess, minimal_asgi_server

LIMITS = [
    "max_request_line",
    "max_header_bytes",
    "max_body_bytes",
    "max_connections",
    "keep_alive_timeout",
    "read_timeout",
    "shutdown_timeout",
    "websocket_max_message",
]


@pytest.mark.parametrize("name", LIMITS)
def test_every_limit_is_a_command_line_option(name: str) -> None:
    default = getattr(Config(), name)
    changed = default * 2
    flag = "--" + name.replace("_", "-")
    _, config = parse_args(["examples.hello.app:app", flag, str(changed)])
    assert getattr(config, name) == changed


def test_limits_have_safe_defaults() -> None:
    config = Config()
    assert config.max_request_line == 8190  # Apache's LimitRequestLine
    assert config.max_header_bytes == 16 * 1024  # Node.js's default
    assert config.max_body_bytes == 1024 * 1024  # nginx's client_max_body_size, and the App's
    assert config.keep_alive_timeout == 5.0
    assert 0 < config.read_timeout <= 60
    assert config.max_connections == 1000


def test_options_are_checked_at_startup(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["examples.hello.app:app", "--read-timeout", "-1"])
    assert "read_timeout must not be negative" in capsys.readouterr().err


def test_command_line_reads_host_port_and_switches() -> None:
    app, config = parse_args(
        ["examples.hello.app:app", "--host", "0.0.0.0", "--port", "9000", "--workers", "4",
         "--no-access-log", "--validate", "--lifespan", "off"]
    )
    assert app == "examples.hello.app:app"
    assert dataclasses.replace(config) == Config(
        host="0.0.0.0", port=9000, workers=4, access_log=False, validate=True, lifespan="off"
    )


def test_root_path_option_is_the_mount_prefix_in_the_scope() -> None:
    with minimal_asgi_server(apps.Recorder(), root_path="/api") as address:
        with RawConnection(address) as connection:
            connection.send(request("GET", "/items"))
            seen = json.loads(connection.read_response().body)
    assert (seen["root_path"], seen["path"]) == ("/api", "/api/items")


def test_app_must_be_named_as_module_colon_attribute() -> None:
    with pytest.raises(ValueError, match="module:attribute"):
        load_app("examples.hello.app")


def test_failing_startup_exits_nonzero_with_the_apps_message() -> None:
    with ServerProcess("tests.server.apps:startup_fails", wait=False) as server:
        status = server.wait()
    assert status == 3, server.output
    assert "Application startup failed: database at db.internal:5432 is down" in server.output
    assert "Serving on" not in server.output  # nobody was ever served


def test_failing_startup_hook_of_a_framework_app_exits_nonzero_with_its_error() -> None:
    with ServerProcess("tests.server.apps:framework_startup_fails", wait=False) as server:
        status = server.wait()
    assert status != 0, server.output
    assert "RuntimeError: database at db.internal:5432 is down" in server.output


def test_workers_serve_from_several_processes_on_one_port() -> None:
    with ServerProcess("tests.server.apps:pid", "--workers", "2") as server:
        pids: set[bytes] = set()
        for _ in range(50):  # new connections until both workers have answered
            blocker = threading.Thread(target=get, args=(server.address, "/block"))
            blocker.start()  # holds one worker's loop, so the other must accept
            pids.add(get(server.address, "/pid"))
            blocker.join()
            if len(pids) == 2:
                break
        server.signal(signal.SIGTERM)
        assert server.wait() == 0, server.output
    assert len(pids) == 2


def test_worker_startup_failure_stops_the_server_with_its_status() -> None:
    with ServerProcess("tests.server.apps:startup_fails", "--workers", "2", wait=False) as server:
        status = server.wait()
    assert status == 3, server.output
    assert "database at db.internal:5432 is down" in server.output


def test_validate_flag_reports_an_app_breaking_the_asgi_rules() -> None:
    with ServerProcess("tests.server.apps:body_before_start", "--validate") as server:
        response = get_response(server.address, "/")
        server.signal(signal.SIGTERM)
        server.wait()
    assert response.status == 500
    assert "http.response.start comes before http.response.body" in server.output


def test_access_log_has_a_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="minimal_asgi.server.access")
    with minimal_asgi_server(apps.hello, access_log=True) as address:
        with RawConnection(address) as connection:
            connection.send(request("GET", "/first?x=1") + request("POST", "/second", body=b"hi"))
            connection.read_response()
            connection.read_response()
        with RawConnection(address) as connection:
            connection.send(b"NOT HTTP\r\n\r\n")
            connection.read_response()
    lines = [r.getMessage() for r in caplog.records if r.name == "minimal_asgi.server.access"]
    assert len(lines) == 3
    assert '"GET /first?x=1 HTTP/1.1" 200 5 ' in lines[0]
    assert '"POST /second HTTP/1.1" 200 5 ' in lines[1]
    assert '"-" 400 ' in lines[2]
    assert all(line.startswith("127.0.0.1:") and line.endswith("ms") for line in lines)


def test_no_access_log_switches_it_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="minimal_asgi.server.access")
    with minimal_asgi_server(apps.hello, access_log=False) as address:
        get(address, "/")
    assert not [r for r in caplog.records if r.name == "minimal_asgi.server.access"]


def get_response(address: tuple[str, int], path: str) -> RawResponse:
    with RawConnection(address) as connection:
        connection.send(request("GET", path, {"Connection": "close"}))
        return connection.read_response()


def get(address: tuple[str, int], path: str) -> bytes:
    return get_response(address, path).body

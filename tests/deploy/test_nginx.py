"""deploy/nginx.conf, run for real: nginx on 127.0.0.1 in front of uvicorn.

Only the upstream address, the listening port and the paths of the config are
replaced (each replacement must find its line, so the file cannot drift from
this test). The client connects from 127.0.0.2 and nginx reaches the app from
127.0.0.1 - the one trusted proxy - so "who is the client" has one right answer.

nginx comes from Debian (``make test`` installs it where it can, see the
Makefile's ``deps-nginx``); where it cannot be had, these tests skip and say why.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from minimal_asgi import App
from tests.server.servers import ServerProcess, free_port

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "nginx.conf"
CLIENT_ADDRESS = "127.0.0.2"  # the client's; nginx reaches the app from 127.0.0.1


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                      else None)
    if found is None:
        pytest.skip("nginx is not installed: `make deps` installs it with apt-get as root "
                    "(apt-get install nginx-light)")
    return found


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"deploy/nginx.conf no longer has exactly one {old!r}"
    return text.replace(old, new)


def local_config(tmp: Path, nginx_port: int, app_port: int, static: Path) -> str:
    text = CONFIG.read_text()
    text = replace_once(text, "pid /run/nginx.pid;", f"pid {tmp}/nginx.pid;")
    text = replace_once(text, "access_log /dev/stdout;", f"access_log {tmp}/access.log;")
    text = replace_once(text, "server api:8000;", f"server 127.0.0.1:{app_port};")
    text = replace_once(text, "listen 80;", f"listen 127.0.0.1:{nginx_port};")
    text = replace_once(text, "alias /srv/static/;", f"alias {static}/;")
    # Scratch directories of its own (Debian's are under /var/lib/nginx).
    temp = "".join(f"    {kind}_temp_path {tmp}/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    text = replace_once(text, "http {\n", "http {\n" + temp)
    if os.geteuid() == 0:
        # As root, nginx's workers switch to "nobody", who may not read pytest's
        # private temporary directory.
        text = "user root;\n" + text
    return text


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """uvicorn with tests/deploy/nginx_app.py, and nginx with deploy/nginx.conf
    in front of it; yields the base URLs."""
    binary = nginx_binary()
    tmp = tmp_path_factory.mktemp("nginx")
    static = tmp / "static"
    static.mkdir()
    (static / "site.css").write_text("body { color: #333; }\n" * 400)
    (static / "hello.txt").write_text("served by nginx\n")
    app_port, nginx_port = free_port(), free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(local_config(tmp, nginx_port, app_port, static))
    check = subprocess.run([binary, "-t", "-p", str(tmp), "-e", "stderr", "-c", str(conf)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    uvicorn = [
        sys.executable, "-m", "uvicorn", "tests.deploy.nginx_app:app",
        "--host", "127.0.0.1", "--port", str(app_port), "--no-access-log",
        # uvicorn would rewrite the client from X-Forwarded-For itself (it trusts
        # 127.0.0.1 by default): off, so that what is tested is the app's middleware.
        "--no-proxy-headers",
    ]  # fmt: skip
    nginx = [binary, "-p", str(tmp), "-e", "stderr", "-c", str(conf), "-g", "daemon off;"]
    env = {**os.environ, "TRUSTED_PROXIES": "127.0.0.1"}
    saved = os.environ.copy()
    os.environ.update(env)
    try:
        with ServerProcess.command_line(uvicorn, app_port), \
                ServerProcess.command_line(nginx, nginx_port) as proxy:
            yield {"proxy": f"http://127.0.0.1:{nginx_port}", "app": f"http://127.0.0.1:{app_port}",
                   "ws": f"ws://127.0.0.1:{nginx_port}"}
            assert "emerg" not in proxy.output, proxy.output
    finally:
        os.environ.clear()
        os.environ.update(saved)


def client(base_url: str, source: str = CLIENT_ADDRESS) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=base_url, transport=transport, timeout=30)


def test_the_app_sees_the_clients_address_and_url(stack: dict[str, str]) -> None:
    with client(stack["proxy"]) as http:
        seen = http.get("/whoami", headers={"host": "api.example.com"}).json()
    assert seen["client"] == CLIENT_ADDRESS  # not 127.0.0.1, nginx's
    assert seen["url"] == "http://api.example.com/whoami"
    assert seen["link"] == "http://api.example.com/whoami"
    assert re.fullmatch(r"[0-9a-f]{32}", seen["request_id"])  # nginx's $request_id


def test_a_client_cannot_spoof_its_address_through_nginx(stack: dict[str, str]) -> None:
    forged = {"x-forwarded-for": "1.2.3.4", "forwarded": "for=1.2.3.4",
              "x-forwarded-proto": "https"}
    with client(stack["proxy"]) as http:
        seen = http.get("/whoami", headers=forged).json()
    assert seen["client"] == CLIENT_ADDRESS
    assert seen["url"].startswith("http://")  # nginx set the scheme it really saw


def test_without_nginx_the_headers_are_not_believed(stack: dict[str, str]) -> None:
    # Straight to the app from 127.0.0.2: not the trusted proxy.
    with client(stack["app"]) as http:
        seen = http.get("/whoami", headers={"x-forwarded-for": "1.2.3.4"}).json()
    assert seen["client"] == CLIENT_ADDRESS


def test_each_client_behind_nginx_has_its_own_rate_limit(stack: dict[str, str]) -> None:
    with client(stack["proxy"], "127.0.0.3") as first, \
            client(stack["proxy"], "127.0.0.4") as second:
        assert [first.get("/limited").status_code for _ in range(3)] == [200, 200, 429]
        assert second.get("/limited").status_code == 200  # not nginx's shared quota


def test_nginx_refuses_a_body_over_the_apps_limit_itself(stack: dict[str, str]) -> None:
    limit = re.search(r"client_max_body_size (\d+)m;", CONFIG.read_text())
    assert limit is not None
    assert int(limit.group(1)) * 1024 * 1024 == App().max_body_size  # the two limits agree
    with client(stack["proxy"]) as http:
        before = http.get("/uploads").json()["uploads"]
        assert http.post("/upload", content=b"x" * 1000).json() == {"size": 1000}
        refused = http.post("/upload", content=b"x" * (App().max_body_size + 1))
        assert refused.status_code == 413
        assert "nginx" in refused.text  # nginx's own page: the app never saw it
        assert http.get("/uploads").json()["uploads"] == before + 1


def test_static_files_are_served_by_nginx_compressed(stack: dict[str, str]) -> None:
    with client(stack["proxy"]) as http:
        plain = http.get("/static/hello.txt")
        assert plain.status_code == 200
        assert plain.text == "served by nginx\n"
        assert plain.headers["cache-control"] == "max-age=604800, public"  # expires 7d
        raw = http.get("/static/site.css", headers={"accept-encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.text.startswith("body { color: #333; }")  # httpx decompressed it
    with client(stack["app"]) as http:
        assert http.get("/static/hello.txt").status_code == 404  # the app has no such route


def test_api_responses_are_gzipped(stack: dict[str, str]) -> None:
    with client(stack["proxy"]) as http:
        response = http.get("/report", headers={"accept-encoding": "gzip"})
        request = http.build_request("GET", "/report", headers={"accept-encoding": "gzip"})
        raw = http.send(request, stream=True)
        body = b"".join(raw.iter_raw())
        raw.close()
    assert response.headers["content-encoding"] == "gzip"
    assert len(body) < len(response.content) / 5
    assert gzip.decompress(body) == response.content


def test_metrics_are_not_served_to_the_internet(stack: dict[str, str]) -> None:
    with client(stack["proxy"]) as http:
        assert http.get("/metrics").status_code == 404


def test_a_websocket_round_trip_through_nginx(stack: dict[str, str]) -> None:
    url = f"{stack['ws']}/ws/echo"
    with connect(url, open_timeout=30, source_address=(CLIENT_ADDRESS, 0)) as ws:
        hello = json.loads(ws.recv(timeout=30))
        ws.send("ping")
        assert ws.recv(timeout=30) == "echo: ping"
    assert hello == {"client": CLIENT_ADDRESS, "url": url}

"""StaticFiles and App.mount: files from a directory, and never from outside it.

The traversal payloads are the published ones of the static-file advisories of
aiohttp (CVE-2024-23334), Starlette (CVE-2023-29159) and Litestar
(CVE-2024-32982), plus the usual encodings around them. Each is sent in
process and, byte for byte as written, over a raw socket to uvicorn and to
this project's server - a client library would normalise ``..`` away.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_asgi import App, ConfigurationError, NoMatchFound, Router, StaticFiles
from minimal_asgi.staticfiles import safe_parts
from minimal_asgi.testing import TestClient
from tests.server.servers import SERVERS, running

SECRET = b"TOP-SECRET-DO-NOT-SERVE"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """``tmp/static`` to serve, with secrets beside it and links out of it."""
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "docs").mkdir()
    (static / "empty").mkdir()
    (static / "index.html").write_text("<h1>home</h1>")
    (static / "app.js").write_text("console.log('app')")
    (static / "css" / "site.css").write_text("body{}")
    (static / "docs" / "index.html").write_text("<h1>docs</h1>")
    (static / "données.txt").write_text("unicode name")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "static1.txt").write_bytes(SECRET)  # Starlette CVE-2023-29159
    (tmp_path / "static_disallow").mkdir()
    (tmp_path / "static_disallow" / "index.html").write_bytes(SECRET)
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "key.pem").write_bytes(SECRET)
    os.symlink(tmp_path / "secret.txt", static / "link_out")
    os.symlink(tmp_path / "private", static / "dir_out")
    os.symlink(static / "app.js", static / "link_in")
    # aiohttp's compressed-file variant: a .gz/.br beside a file, linked outside.
    os.symlink(tmp_path / "secret.txt", static / "app.js.gz")
    os.symlink(tmp_path / "secret.txt", static / "app.js.br")
    return static


def make_app(directory: Path, **options: bool) -> App:
    app = App()
    app.mount("/static", StaticFiles(directory=directory, **options), name="static")

    @app.get("/")
    async def home() -> str:
        return "routes still work"

    return app


@pytest.fixture
def client(site: Path) -> Iterator[TestClient]:
    with TestClient(make_app(site, html=True)) as client:
        yield client


# -- serving --------------------------------------------------------------------


def test_serves_a_file_with_its_content_type_and_validators(client: TestClient) -> None:
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert response.text == "body{}"
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["etag"]
    assert response.headers["last-modified"]
    assert response.headers["cache-control"] == "public, max-age=3600"


def test_a_second_request_with_the_etag_gets_304(client: TestClient) -> None:
    etag = client.get("/static/app.js").headers["etag"]
    again = client.get("/static/app.js", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_range_and_head_go_through_file_response(client: TestClient) -> None:
    part = client.get("/static/app.js", headers={"range": "bytes=0-6"})
    assert part.status_code == 206
    assert part.content == b"console"
    head = client.head("/static/app.js")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len("console.log('app')"))


def test_a_unicode_name_is_served(client: TestClient) -> None:
    assert client.get("/static/donn%C3%A9es.txt").text == "unicode name"


def test_other_methods_get_405_with_allow(client: TestClient) -> None:
    response = client.post("/static/app.js")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.headers["content-type"] == "application/problem+json"


def test_head_of_a_missing_file_is_a_404_without_a_body(client: TestClient) -> None:
    get = client.get("/static/nope.css")
    head = client.head("/static/nope.css")
    assert head.status_code == 404
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]


def test_a_websocket_to_static_files_is_refused(site: Path) -> None:
    from minimal_asgi import WebSocketDisconnect

    with TestClient(make_app(site)) as client, pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/static/app.js") as ws:
            ws.receive()
    assert refused.value.code == 1008


def test_a_missing_file_is_a_404_problem(site: Path) -> None:
    with TestClient(make_app(site)) as client:
        response = client.get("/static/nope.css")
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_routes_of_the_app_are_unaffected(client: TestClient) -> None:
    assert client.get("/").text == "routes still work"
    assert client.get("/staticfiles/app.js").status_code == 404  # whole segments only


def test_a_symlink_inside_the_directory_is_served(client: TestClient) -> None:
    assert client.get("/static/link_in").text == "console.log('app')"


# -- directories and html=True -------------------------------------------------


def test_directories_are_404_without_html(site: Path) -> None:
    with TestClient(make_app(site)) as client:
        assert client.get("/static/").status_code == 404
        assert client.get("/static/docs/").status_code == 404
        assert client.get("/static/docs", follow_redirects=False).status_code == 404


def test_html_serves_index_html_for_a_directory(client: TestClient) -> None:
    assert client.get("/static/").text == "<h1>home</h1>"
    assert client.get("/static/docs/").text == "<h1>docs</h1>"


def test_html_redirects_a_directory_without_its_slash(client: TestClient) -> None:
    response = client.get("/static/docs?x=1", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/static/docs/?x=1"


def test_html_directory_without_index_is_404(client: TestClient) -> None:
    assert client.get("/static/empty/").status_code == 404


def test_html_serves_404_html_when_present(site: Path) -> None:
    (site / "404.html").write_text("<h1>lost</h1>")
    with TestClient(make_app(site, html=True)) as client:
        response = client.get("/static/nope")
    assert response.status_code == 404
    assert response.text == "<h1>lost</h1>"


# -- configuration --------------------------------------------------------------


def test_a_missing_directory_fails_at_startup(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such directory"):
        StaticFiles(directory=tmp_path / "missing")


def test_url_path_for_reaches_into_a_mount(site: Path) -> None:
    app = make_app(site)
    assert app.url_path_for("static", path="css/site.css") == "/static/css/site.css"
    assert app.url_path_for("static", path="a b.txt") == "/static/a%20b.txt"
    with pytest.raises(NoMatchFound):
        app.url_path_for("static", file="x")


def test_two_mounts_at_one_prefix_are_refused(site: Path) -> None:
    app = App()
    app.mount("/static", StaticFiles(directory=site))
    app.mount("/static", StaticFiles(directory=site))
    with pytest.raises(ConfigurationError, match="two apps are mounted at /static"):
        app.build()


@pytest.mark.parametrize("prefix", ["static", "/static/", "/files/{name}"])
def test_a_bad_mount_prefix_is_refused(site: Path, prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="mount prefix"):
        App().mount(prefix, StaticFiles(directory=site))


def test_a_mount_inside_an_included_router_gets_both_prefixes(site: Path) -> None:
    assets = Router()
    assets.mount("/static", StaticFiles(directory=site), name="assets")
    app = App()
    app.include_router(assets, prefix="/v1")
    with TestClient(app) as client:
        assert client.get("/v1/static/app.js").text == "console.log('app')"
    assert app.url_path_for("assets", path="app.js") == "/v1/static/app.js"


def test_the_longest_mount_prefix_wins(site: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "app.js").write_text("other")
    app = App()
    app.mount("/static", StaticFiles(directory=site))
    app.mount("/static/v2", StaticFiles(directory=other))
    with TestClient(app) as client:
        assert client.get("/static/v2/app.js").text == "other"
        assert client.get("/static/app.js").text == "console.log('app')"


def test_a_mounted_app_sees_root_path_and_the_whole_path(site: Path) -> None:
    seen: dict[str, str] = {}

    async def inner(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.update(path=scope["path"], root_path=scope["root_path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = App()
    app.mount("/api", inner)
    with TestClient(app) as client:
        assert client.get("/api/users").status_code == 204
    assert seen == {"path": "/api/users", "root_path": "/api"}


def test_a_mounted_sub_app_routes_below_its_prefix() -> None:
    sub = App()

    @sub.get("/hello")
    async def hello() -> str:
        return "from the sub-app"

    app = App()
    app.mount("/sub", sub)
    with TestClient(app) as client:
        assert client.get("/sub/hello").text == "from the sub-app"
        assert client.get("/sub/other").status_code == 404


# -- traversal: the published payloads ------------------------------------------

# (raw request target, what it tries)
PAYLOADS = [
    ("/static/../secret.txt", "plain dot-dot (aiohttp CVE-2024-23334 PoC)"),
    ("/static/../../../../../../../../etc/passwd", "deep dot-dot to /etc/passwd"),
    ("/static/../../../../../../etc/shadow", "Litestar CVE-2024-32982 PoC (GHSA-83pv-qr33-2vcf)"),
    ("/static/../static1.txt", "sibling file with the same prefix (Starlette CVE-2023-29159)"),
    ("/static/../static_disallow/", "sibling directory (Starlette CVE-2023-29159 PoC)"),
    ("/static/../static_disallow/index.html", "sibling directory file"),
    ("/static/..%2fsecret.txt", "encoded slash"),
    ("/static/%2e%2e/secret.txt", "encoded dots"),
    ("/static/%2e%2e%2fsecret.txt", "encoded dots and slash"),
    ("/static/%2E%2E%2Fsecret.txt", "upper-case encoding"),
    ("/static/css/%2e%2e/%2e%2e/secret.txt", "encoded dots below a subdirectory"),
    ("/static/%252e%252e/secret.txt", "double encoding (must not be decoded twice)"),
    ("/static/%252e%252e%252fsecret.txt", "double-encoded slash"),
    ("/static/..%c0%afsecret.txt", "overlong UTF-8 slash"),
    ("/static/%c0%ae%c0%ae/secret.txt", "overlong UTF-8 dots"),
    ("/static/..%5csecret.txt", "backslash (a separator on Windows)"),
    ("/static/..%5c..%5csecret.txt", "backslashes"),
    ("/static/%5c%5c127.0.0.1%5cc$%5csecret.txt", "UNC path"),
    ("/static//etc/passwd", "absolute path after the mount"),
    ("/static/%2fetc%2fpasswd", "encoded absolute path"),
    ("/static/C:%5cWindows%5cwin.ini", "drive letter"),
    ("/static/app.js%00.png", "NUL byte"),
    ("/static/%00", "NUL byte alone"),
    ("/static/./../secret.txt", "dot then dot-dot"),
    ("/static/link_out", "symbolic link to a file outside"),
    ("/static/dir_out/key.pem", "symbolic link to a directory outside"),
    ("/static/app.js.gz", "compressed sibling linked outside (aiohttp .gz variant)"),
    ("/static/app.js.br", "compressed sibling linked outside (aiohttp .br variant)"),
    ("/static/" + "a" * 300, "a name longer than NAME_MAX"),
    ("/static/" + "a/" * 1500 + "x", "a path longer than PATH_MAX"),
    ("/static/%ed%a0%80", "a lone surrogate"),
]
# What stays refused even with follow_symlink=True: the name itself is bad.
NAME_PAYLOADS = [p for p in PAYLOADS if "symbolic link" not in p[1] and "linked" not in p[1]]


@pytest.mark.parametrize(("target", "what"), PAYLOADS, ids=[w for _, w in PAYLOADS])
def test_traversal_is_404_in_process(client: TestClient, target: str, what: str) -> None:
    response = client.get(target)
    assert response.status_code == 404, what
    assert SECRET not in response.content


@pytest.mark.parametrize(("target", "what"), NAME_PAYLOADS, ids=[w for _, w in NAME_PAYLOADS])
def test_traversal_is_404_even_when_following_symlinks(site: Path, target: str, what: str) -> None:
    # aiohttp CVE-2024-23334: follow_symlinks=True switched the containment
    # check off altogether. Here it only lets *links* lead out.
    with TestClient(make_app(site, follow_symlink=True, html=True)) as client:
        response = client.get(target)
    assert response.status_code == 404, what
    assert SECRET not in response.content


def test_follow_symlink_serves_a_link_out_when_asked(site: Path) -> None:
    with TestClient(make_app(site, follow_symlink=True)) as client:
        assert client.get("/static/link_out").content == SECRET
        assert client.get("/static/dir_out/key.pem").content == SECRET


def test_a_precompressed_link_out_is_never_served_for_the_plain_file(client: TestClient) -> None:
    response = client.get("/static/app.js", headers={"accept-encoding": "gzip, br"})
    assert response.text == "console.log('app')"
    assert "content-encoding" not in response.headers


def _raw_get(address: tuple[str, int], target: str) -> tuple[int, bytes]:
    """Send ``target`` exactly as written: no client normalises it on the way."""
    request = f"GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    with socket.create_connection(address, timeout=15) as sock:
        sock.sendall(request.encode("latin-1"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    status = int(raw.split(b" ", 2)[1])
    return status, raw


@pytest.mark.parametrize("server", SERVERS)
def test_traversal_is_404_over_a_real_socket(site: Path, server: str) -> None:
    for options in ({"html": True}, {"html": True, "follow_symlink": True}):
        payloads = NAME_PAYLOADS if options.get("follow_symlink") else PAYLOADS
        with running(server, make_app(site, **options)) as address:
            assert _raw_get(address, "/static/app.js")[0] == 200
            for target, what in payloads:
                status, raw = _raw_get(address, target)
                # A server may refuse a target before the app sees it (400, 414);
                # what may never happen is a 2xx, a 500 or the secret.
                assert status in (400, 404, 414), (server, what, status)
                assert SECRET not in raw, (server, what)
                if server == "uvicorn" and len(target) < 1000:
                    assert status == 404, (server, what, status)


# -- the name checks, as a property -------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("./\\:%\x00a")), max_size=20))
def test_safe_parts_never_yields_a_segment_that_climbs(name: str) -> None:
    parts = safe_parts(name)
    if parts is not None:
        assert all(p not in ("", ".", "..") for p in parts)
        assert not any(c in p for p in parts for c in "/\\:\x00")
        joined = os.path.normpath(os.path.join("/root", *parts))
        assert joined == "/root" or joined.startswith("/root/")


def test_safe_parts_refuses_lone_surrogates_and_over_long_paths() -> None:
    assert safe_parts("/a/\ud800/b") is None
    assert safe_parts("/" + "a/" * 2100) is None
    assert safe_parts("/") == []
    assert safe_parts("/css/site.css") == ["css", "site.css"]


def test_a_fifo_is_never_opened(site: Path) -> None:
    os.mkfifo(site / "pipe")  # opening it to read would block the worker thread forever
    with TestClient(make_app(site)) as client:
        assert client.get("/static/pipe").status_code == 404


def test_static_files_is_an_asgi_app_on_its_own(site: Path) -> None:
    with TestClient(StaticFiles(directory=site)) as client:  # lifespan too: ignored
        assert client.get("/app.js").text == "console.log('app')"
        assert client.get("/../secret.txt").status_code == 404


def test_a_server_that_leaves_root_path_out_of_path_still_works() -> None:
    from minimal_asgi.staticfiles import _below_root_path

    assert _below_root_path({"path": "/static/a.css", "root_path": "/static"}) == "/a.css"
    assert _below_root_path({"path": "/a.css", "root_path": "/static"}) == "/a.css"
    assert _below_root_path({"path": "/staticx/a.css", "root_path": "/static"}) == "/staticx/a.css"


def test_a_route_under_a_mount_prefix_wins_over_the_mount(site: Path) -> None:
    app = make_app(site)

    @app.get("/static/special")
    async def special() -> str:
        return "a route"

    with TestClient(app) as client:
        assert client.get("/static/special").text == "a route"
        assert client.get("/static/app.js").text == "console.log('app')"

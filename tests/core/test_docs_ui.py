"""The /docs page, both variants: the built-in page (docs_assets/docs.js) and
Swagger UI (App(docs_ui="swagger-ui"), from the swagger-ui extra). Their HTML,
their Content-Security-Policy, the files served beside them, and the built-in
page when the extra is missing. tests/test_browser_docs.py opens both in a
real browser."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from minimal_asgi import App, ConfigurationError
from minimal_asgi.docs_page import swagger_ui_directory
from minimal_asgi.testing import TestClient
from tests.core.test_openapi import _FAKE_DOM, docs_script
from tests.docs_apps import API_KEY, notes

needs_swagger_ui = pytest.mark.skipif(
    swagger_ui_directory() is None,
    reason="swagger-ui-py is not installed (pip install 'minimal-asgi[swagger-ui]')",
)


def loaded_files(page: str) -> list[str]:
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)


def sri(body: bytes) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_the_builtin_page_loads_its_own_script_and_style_from_the_app() -> None:
    with TestClient(notes()) as client:
        page = client.get("/docs")
        assert loaded_files(page.text) == ["/docs/assets/docs.css", "/docs/assets/docs.js"]
        script = client.get("/docs/assets/docs.js")
        style = client.get("/docs/assets/docs.css")
    assert script.status_code == 200 and style.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    for asset in (script, style):
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert asset.headers["cache-control"] == "no-cache"
        assert "etag" in asset.headers  # revalidated, not downloaded again
        # The tag carries the file's hash: a file changed on the way is refused.
        assert f'integrity="{sri(asset.content)}"' in page.text


def test_the_builtin_pages_policy_allows_its_own_origin_and_nothing_inline() -> None:
    with TestClient(notes()) as client:
        page = client.get("/docs")
    header = page.headers["content-security-policy"]
    policy = dict(part.split(" ", 1) for part in header.split("; "))
    assert policy == {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "connect-src": "'self'",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'self'",
    }
    assert "<script>" not in page.text and "<style>" not in page.text and " on" not in page.text


def test_only_the_pages_own_files_are_served() -> None:
    with TestClient(notes()) as client:
        assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 404  # not this page
        assert client.get("/docs/assets/docs_page.py").status_code == 404
        assert client.get("/docs/assets/..%2Fdocs_page.py").status_code == 404
        assert client.get("/docs/assets/../openapi.json").status_code in (200, 404)
        head = client.request("HEAD", "/docs/assets/docs.js")
    assert head.status_code == 200 and head.content == b""


def test_the_asset_routes_are_not_in_the_document() -> None:
    assert list(notes().openapi()["paths"]) == ["/notes/{note_id}", "/notes", "/ping"]


@needs_swagger_ui
def test_the_swagger_ui_page_is_served_from_the_package_with_a_strict_policy() -> None:
    with TestClient(notes("swagger-ui")) as client:
        page = client.get("/docs")
        files = loaded_files(page.text)
        assets = {url.rsplit("/", 1)[1]: client.get(url) for url in files}
    assert files == [
        "/docs/assets/swagger-ui.css",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-init.js",
    ]
    assert '<div id="swagger-ui"></div>' in page.text
    assert 'data-openapi-url="/openapi.json"' in page.text
    assert not re.search(r"https?://", page.text)
    assert "<script>" not in page.text and "<style>" not in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "img-src 'self' data:" in policy and "unsafe" not in policy
    directory = swagger_ui_directory()
    assert directory is not None
    for name, asset in assets.items():
        assert asset.status_code == 200
        expected = "text/css" if name.endswith(".css") else "text/javascript"
        assert asset.headers["content-type"] == expected + "; charset=utf-8"
        assert f'integrity="{sri(asset.content)}"' in page.text
    # The files are the package's own, byte for byte, and Swagger UI 5 (OpenAPI 3.1).
    bundle = assets["swagger-ui-bundle.js"].content
    assert bundle == (directory / "swagger-ui-bundle.js").read_bytes()
    assert b"SwaggerUIBundle" in bundle
    init = assets["swagger-init.js"].text
    assert "validatorUrl: null" in init and "document.body.dataset.openapiUrl" in init


@needs_swagger_ui
def test_the_swagger_ui_page_follows_the_root_path_and_moved_urls() -> None:
    app = App(docs_ui="swagger-ui", openapi_url="/api/schema.json", docs_url="/api/reference")
    with TestClient(app) as client:
        page = client.get("/api/reference").text
        assert 'data-openapi-url="/api/schema.json"' in page
        for url in loaded_files(page):
            assert url.startswith("/api/reference/assets/")
            assert client.get(url).status_code == 200


def test_without_the_extra_swagger_ui_falls_back_to_the_builtin_page(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # None in sys.modules is how Python says "this package cannot be imported".
    monkeypatch.setitem(sys.modules, "swagger_ui", None)
    assert swagger_ui_directory() is None
    with caplog.at_level(logging.WARNING, logger="minimal_asgi"):
        with TestClient(notes("swagger-ui")) as client:
            page = client.get("/docs")
            assert loaded_files(page.text) == ["/docs/assets/docs.css", "/docs/assets/docs.js"]
            assert client.get("/docs/assets/docs.js").status_code == 200
            assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 404
    assert "img-src" not in page.headers["content-security-policy"]
    assert "pip install 'minimal-asgi[swagger-ui]'" in caplog.text


def test_an_unknown_docs_ui_fails_at_startup_naming_the_choices() -> None:
    with pytest.raises(ConfigurationError, match=r"'builtin', 'swagger-ui'"):
        App(docs_ui="redoc").build()  # type: ignore[arg-type]


# -- the built-in page's script, run by Node: Authorize and "try it" ---------------------
# After the page has rendered, type a key into Authorize, fill the try-it form
# of GET /notes/{note_id} and submit it: the request the script sends is
# recorded and printed, with what the page then shows.
_TRY_IT = """
const sent = [];
globalThis.fetch = async (url, init) => {
  if (url === "/openapi.json") return { ok: true, status: 200, json: async () => DOC };
  sent.push({ url, method: init.method, headers: init.headers, body: init.body || null });
  return { status: 200, statusText: "OK", text: async () => '{"id":7}',
           headers: { forEach: (f) => f("application/json", "content-type") } };
};
function find(node, test) {
  if (test(node)) return node;
  for (const child of node.children || []) {
    const hit = find(child, test);
    if (hit) return hit;
  }
  return null;
}
process.removeAllListeners("beforeExit");
setTimeout(async () => {
  const key = find(byId.authorize, (n) => n.tag === "input" && n.name === "apiKey");
  key.value = process.argv[2];
  key.listeners.input();
  for (const id of ["read_note", "create_note"]) {
    const box = byId.endpoints.children.find((b) => b.id === id);
    const form = find(box, (n) => n.tag === "form" && n.className === "try");
    const field = find(form, (n) => n.name === "path:note_id");
    if (field) field.value = "7";
    const shout = find(form, (n) => n.name === "query:shout");
    if (shout) shout.value = "true";
    await form.listeners.submit({ preventDefault: () => {} });
    const result = find(form, (n) => n.className === "result");
    sent[sent.length - 1].shown = result.textContent;
  }
  console.log(JSON.stringify(sent));
}, 50);
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_try_it_sends_the_form_with_the_authorized_key() -> None:
    document = notes().openapi()
    run = subprocess.run(
        ["node", "-e", _FAKE_DOM + docs_script() + _TRY_IT, json.dumps(document), API_KEY],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    read, create = json.loads(run.stdout)
    assert read["method"] == "GET" and read["url"] == "/notes/7?shout=true"
    assert read["headers"] == {"X-API-Key": API_KEY} and read["body"] is None
    assert "200 OK" in read["shown"] and '"id": 7' in read["shown"]
    assert create["method"] == "POST" and create["url"] == "/notes"
    assert create["headers"] == {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    # The body is the example made from the request schema (minLength 1 met).
    assert json.loads(create["body"]) == {"text": "string"}


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_builtin_page_shows_schemas_examples_and_the_authorize_form() -> None:
    document = notes().openapi()
    run = subprocess.run(
        ["node", "-e", _FAKE_DOM + docs_script(), json.dumps(document)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    shown = json.loads(run.stdout)
    assert "Authorize" in shown["authorize"] and "header X-API-Key" in shown["authorize"]
    read, create, ping = shown["details"]
    assert "Parameters" in read and "note_id" in read and "shout" in read
    assert "Try it" in read and "Send GET" in read
    for word in ("Request body", "application/json: NewNote", "text", "minLength 1",
                 "required", "Example", "Responses", "201", "Note"):
        assert word in create, word
    assert "Security" not in ping and "Send GET" in ping


def test_the_screenshots_are_committed_and_shown() -> None:
    """tests/test_browser_docs.py takes them (make screenshots writes them here)."""
    repo = Path(__file__).resolve().parents[2]
    readme = (repo / "README.md").read_text()
    chapter = (repo / "docs" / "08-openapi.md").read_text()
    for name in ("docs-builtin.png", "docs-swagger-ui.png"):
        assert (repo / "docs" / "images" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"docs/images/{name}" in readme and f"(images/{name})" in chapter

"""The /docs pages, opened in a real browser: Debian's chromium, headless,
driven by Playwright (``make deps-chromium``; Playwright's own browser
downloads are never used).

Each app runs under uvicorn on a free port. Every request the page makes
goes through a handler that lets 127.0.0.1 through and aborts anything else,
and the test asserts that nothing else was even attempted, that no script or
policy error reached the console, that the page lists every operation of the
app's OpenAPI document, and that expanding one and trying it works.

Screenshots are taken every run; ``make screenshots`` (MINIMAL_ASGI_SCREENSHOTS=1)
writes them over docs/images/, which the README and chapter 08 show.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from minimal_asgi.docs_page import swagger_ui_directory
from tests.docs_apps import API_KEY
from tests.server.servers import ServerProcess, free_port

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (it is in the dev extra)"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed and could not be (make deps-chromium: apt-get as root)",
)
needs_swagger_ui = pytest.mark.skipif(
    swagger_ui_directory() is None,
    reason="swagger-ui-py is not installed (pip install 'minimal-asgi[swagger-ui]')",
)

REPO = Path(__file__).resolve().parent.parent
IMAGES = REPO / "docs" / "images"
TIMEOUT_MS = 60_000  # generous: the machine is shared; nothing here measures time


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as driver:
        try:
            chromium = driver.chromium.launch(
                executable_path=CHROMIUM,
                # Belt and braces beside the request handler below: no name but
                # 127.0.0.1 resolves, so nothing could leave even if it tried.
                args=["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
            )
        except playwright_api.Error as error:  # a chromium that will not start here
            pytest.skip(f"chromium could not be started: {error}")
        yield chromium
        chromium.close()


@contextmanager
def serving(target: str, *, factory: bool = False) -> Iterator[str]:
    """``uvicorn target`` on a free port of 127.0.0.1; yields its base URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", *(["--factory"] if factory else []),
    ]  # fmt: skip
    with ServerProcess.command_line(command, port):
        yield f"http://127.0.0.1:{port}"


@dataclass
class Visit:
    """A page opened with every request watched."""

    page: Any
    requested: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)  # errors the test provokes


@contextmanager
def visit(browser: Any, url: str) -> Iterator[Visit]:
    context = browser.new_context(service_workers="block", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    seen = Visit(page)

    def only_here(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            seen.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_here)
    page.on("request", lambda request: seen.requested.append(request.url))
    # A script error, or a Content-Security-Policy refusal, is logged as an error.
    page.on("console", lambda message: message.type == "error" and seen.errors.append(message.text))
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(url, wait_until="load")
        yield seen
    finally:
        context.close()
    assert seen.blocked == [], f"the page tried to reach beyond 127.0.0.1: {seen.blocked}"
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in seen.requested if not
               u.startswith("data:")), seen.requested
    unexpected = [e for e in seen.errors if not any(part in e for part in seen.expected)]
    assert unexpected == [], unexpected


def operations(base: str) -> list[tuple[str, str, dict[str, Any]]]:
    document = httpx.get(base + "/openapi.json", timeout=30).json()
    return [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]


def screenshot(page: Any, name: str, tmp_path: Path, *, full_page: bool = True) -> None:
    folder = IMAGES if os.environ.get("MINIMAL_ASGI_SCREENSHOTS") == "1" else tmp_path
    target = folder / name
    page.screenshot(path=str(target), full_page=full_page)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- the built-in page ----------------------------------------------------------------
def test_the_builtin_page_lists_every_endpoint_and_tries_a_get(
    browser: Any, tmp_path: Path
) -> None:
    with serving("examples.todo.app:app") as base, visit(browser, base + "/docs") as seen:
        page = seen.page
        expected = operations(base)
        # A locator's expect polls from Playwright's side: a string predicate
        # (wait_for_function) would be evaluated in the page, where the CSP
        # forbids eval - it failed now and then when the first check was early.
        status = page.locator("#status")
        playwright_api.expect(status).to_contain_text("endpoint", timeout=TIMEOUT_MS)
        assert page.locator("#status").inner_text().startswith(f"{len(expected)} endpoints")
        lines = page.locator("details.operation > summary").all_inner_texts()
        assert len(lines) == len(expected)
        for line, (method, path, _) in zip(lines, expected, strict=True):
            assert re.match(rf"{method}\s+{re.escape(path)}", line), (line, method, path)
        get_list = page.locator("#list_todos")
        get_list.locator("summary").click()
        assert get_list.locator("text=Parameters").is_visible()
        get_list.locator("input[name='query:limit']").fill("5")
        get_list.locator("button.send").click()
        status = get_list.locator(".result .status")
        status.wait_for()
        assert status.inner_text() == "200 OK"
        assert "/v1/todos?limit=5" in get_list.locator(".result").inner_text()
        assert '"items"' in get_list.locator("pre.response").inner_text()
        screenshot(page, "docs-builtin.png", tmp_path)


def test_the_builtin_pages_authorize_form_sends_the_key(browser: Any) -> None:
    with serving("tests.docs_apps:notes", factory=True) as base, \
            visit(browser, base + "/docs") as seen:  # fmt: skip
        page = seen.page
        # Chromium logs the 401 of the first try as an error: that one is meant.
        seen.expected.append("the server responded with a status of 401")
        page.locator("#authorize input[name='apiKey']").wait_for()
        read = page.locator("#read_note")
        read.locator("summary").click()
        read.locator("input[name='path:note_id']").fill("7")
        read.locator("button.send").click()
        read.locator(".result .status").wait_for()
        assert read.locator(".result .status").inner_text().startswith("401")
        page.locator("#authorize input[name='apiKey']").fill(API_KEY)
        read.locator("button.send").click()
        playwright_api.expect(read.locator(".result .status")).to_have_text(
            "200 OK", timeout=TIMEOUT_MS
        )
        assert '"text": "note 7"' in read.locator("pre.response").inner_text()


# -- Swagger UI ---------------------------------------------------------------------------
@needs_swagger_ui
def test_swagger_ui_lists_every_endpoint_and_tries_a_get(browser: Any, tmp_path: Path) -> None:
    with serving("tests.docs_apps:todo_swagger_ui", factory=True) as base, \
            visit(browser, base + "/docs") as seen:  # fmt: skip
        page = seen.page
        expected = operations(base)
        page.locator(".opblock").first.wait_for()
        shown = [
            (block.locator(".opblock-summary-method").inner_text(),
             block.locator(".opblock-summary-path").get_attribute("data-path"))
            for block in page.locator(".opblock").all()
        ]  # fmt: skip
        assert sorted(shown) == sorted((method, path) for method, path, _ in expected)
        block = page.locator(".opblock-get", has=page.locator("[data-path='/v1/todos']")).first
        block.locator(".opblock-summary").first.click()
        block.locator("button.try-out__btn").click()
        block.locator("button.execute").click()
        status = block.locator(".live-responses-table tbody .response-col_status").first
        status.wait_for()
        assert status.inner_text().strip().startswith("200")
        screenshot(page, "docs-swagger-ui.png", tmp_path)


@needs_swagger_ui
def test_swagger_uis_authorize_dialog_sends_the_key(browser: Any) -> None:
    with serving("tests.docs_apps:notes_swagger_ui", factory=True) as base, \
            visit(browser, base + "/docs") as seen:  # fmt: skip
        page = seen.page
        page.locator("button.authorize").first.click()
        page.locator(".auth-container input").first.fill(API_KEY)
        page.locator(".auth-btn-wrapper button.authorize").click()
        page.locator(".auth-btn-wrapper button.btn-done").click()
        block = page.locator(".opblock-get", has=page.locator("[data-path='/notes/{note_id}']"))
        block.locator(".opblock-summary").first.click()
        block.locator("button.try-out__btn").click()
        block.locator("input[placeholder='note_id']").fill("7")
        block.locator("button.execute").click()
        status = block.locator(".live-responses-table tbody .response-col_status").first
        status.wait_for()
        assert status.inner_text().strip().startswith("200")
        assert "note 7" in block.locator(".live-responses-table").inner_text()



def test_a_request_beyond_127_0_0_1_is_caught(browser: Any) -> None:
    """The watch above can fail: a page that reaches out is reported."""
    with pytest.raises(AssertionError, match=r"beyond 127\.0\.0\.1.*example\.com"):
        with serving("examples.hello.app:app") as base, visit(browser, base + "/docs") as seen:
            with pytest.raises(playwright_api.Error):
                seen.page.goto("http://example.com/")


# -- the documentation site -----------------------------------------------------------
MERMAID = REPO / "tools" / "mermaid" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"


def test_the_docs_site_opens_offline_with_its_navigation_search_and_a_diagram(
    browser: Any, site: Path, tmp_path: Path
) -> None:
    if not MERMAID.is_file():
        pytest.skip("mermaid is not installed (make deps-node): the site would load it from a CDN")
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
               "--directory", str(site)]
    with ServerProcess.command_line(command, port), visit(
        browser, f"http://127.0.0.1:{port}/"
    ) as seen:
        page = seen.page
        assert "minimal_asgi" in page.title()
        navigation = page.locator("nav.md-nav--primary").inner_text()
        for entry in ("Start here", "01 · ASGI", "31 · Testing a backend", "API reference"):
            assert entry in navigation
        assert page.locator("input.md-search__input").count() == 1
        page.set_viewport_size({"width": 1440, "height": 900})  # wide enough for the sidebar
        screenshot(page, "docs-site.png", tmp_path, full_page=False)  # the home page is long
        # A chapter with a diagram: mermaid, served by the site itself, draws it.
        page.goto(f"http://127.0.0.1:{port}/01-asgi/", wait_until="load")
        # Material swaps each <pre class="mermaid"> for a <div> holding the drawing
        # in a closed shadow root: what can be checked from outside is that every
        # block was swapped, that the drawing takes room, and that no error was
        # logged (visit() fails the test on any).
        page.locator("div.mermaid").first.wait_for(state="visible")
        assert page.locator("pre.mermaid").count() == 0
        box = page.locator("div.mermaid").first.bounding_box()
        assert box is not None and box["height"] > 100, box
        page.locator("div.mermaid").first.screenshot(path=str(tmp_path / "diagram.png"))

"""The ``/docs`` page: the OpenAPI document, for a person to read and try.

Two variants, chosen by ``App(docs_ui=...)``:

``"builtin"`` (the default)
    A small page of our own: ``docs_assets/docs.js`` fetches the document and
    shows every operation - parameters, request and response schemas with an
    example, an "Authorize" form for the security schemes - and a "try it" form
    that sends a request. No dependency; under 500 lines of plain JavaScript.
``"swagger-ui"``
    Swagger UI, from the ``swagger-ui-py`` package (``pip install
    'minimal-asgi[swagger-ui]'``), which ships its built files. Without the
    package the built-in page is served, and the startup log says so.

Either way every file the page loads is served by the app itself, under
``{docs_url}/assets/`` - nothing from a CDN - and the page's
Content-Security-Policy allows scripts, styles and fetches from its own
origin only (``'self'``), and no inline script at all. ``<script>`` and
``<link>`` tags carry the files' SHA-256 (Subresource Integrity), so a file
changed on the way is refused. openapi.py serves the page and the assets
(``add_openapi_routes``).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import importlib.util
import logging
from pathlib import Path
from typing import Literal

from minimal_asgi.exceptions import ConfigurationError

__all__ = [
    "ASSET_HEADERS",
    "DOCS_HEADERS",
    "SWAGGER_UI_HEADERS",
    "DocsAsset",
    "DocsPage",
    "DocsUI",
    "docs_page",
    "swagger_ui_directory",
]

logger = logging.getLogger("minimal_asgi")

DocsUI = Literal["builtin", "swagger-ui"]
_UIS = ("builtin", "swagger-ui")

_OWN_ASSETS = Path(__file__).parent / "docs_assets"

# The page may run scripts and styles from its own origin only - no inline
# code, so injected markup cannot run even if some text slipped through
# unescaped - and fetch from its own origin only. Nothing else loads.
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
DOCS_HEADERS = {"content-security-policy": _POLICY, "x-content-type-options": "nosniff"}
# Swagger UI's stylesheet draws its icons as data: URLs (an SVG in the CSS).
SWAGGER_UI_HEADERS = {
    "content-security-policy": _POLICY + "; img-src 'self' data:",
    "x-content-type-options": "nosniff",
}
# The assets: never sniffed as another type; revalidated with their ETag, so an
# upgraded package is picked up at once.
ASSET_HEADERS = {"x-content-type-options": "nosniff", "cache-control": "no-cache"}

_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclasses.dataclass(frozen=True)
class DocsAsset:
    """A file the page loads: where it is, its media type, and its SRI hash."""

    path: Path
    media_type: str
    integrity: str

    @classmethod
    def of(cls, path: Path) -> DocsAsset:
        digest = hashlib.sha256(path.read_bytes()).digest()
        return cls(path, _MEDIA_TYPES[path.suffix], "sha256-" + base64.b64encode(digest).decode())


def swagger_ui_directory() -> Path | None:
    """The folder of Swagger UI's built files in the installed ``swagger-ui-py``
    package, or ``None`` when it is not installed. The package is found, not
    imported: its Python code (Jinja templates for other frameworks) is not used."""
    try:
        spec = importlib.util.find_spec("swagger_ui")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        static = Path(location) / "static"
        if (static / "swagger-ui-bundle.js").is_file() and (static / "swagger-ui.css").is_file():
            return static
    return None


class DocsPage:
    """One variant of the page, prepared at startup: its assets (read and
    hashed once) and its headers. ``html()`` fills in the per-request parts."""

    def __init__(self, ui: str = "builtin") -> None:
        if ui not in _UIS:
            raise ConfigurationError(
                f"App(docs_ui={ui!r}) is not a docs page; use one of {', '.join(map(repr, _UIS))}"
            )
        swagger = swagger_ui_directory() if ui == "swagger-ui" else None
        if ui == "swagger-ui" and swagger is None:
            logger.warning(
                "App(docs_ui='swagger-ui'): swagger-ui-py is not installed, so /docs is the "
                "built-in page; pip install 'minimal-asgi[swagger-ui]' for Swagger UI"
            )
        self.ui: DocsUI = "swagger-ui" if swagger is not None else "builtin"
        if swagger is not None:
            files = [swagger / "swagger-ui.css", swagger / "swagger-ui-bundle.js",
                     _OWN_ASSETS / "swagger-init.js"]
            self.headers = SWAGGER_UI_HEADERS
        else:
            files = [_OWN_ASSETS / "docs.css", _OWN_ASSETS / "docs.js"]
            self.headers = DOCS_HEADERS
        self.assets = {path.name: DocsAsset.of(path) for path in files}

    def html(self, title: str, openapi_url: str, assets_url: str, root_path: str = "") -> str:
        """The page for the document at ``openapi_url``, loading its files from
        ``assets_url``. ``root_path`` is the prefix a proxy serves the app under:
        the try-it form puts it before each operation's path."""
        attribute = _attribute
        tags = []
        for name, asset in self.assets.items():
            url, digest = attribute(f"{assets_url}/{name}"), attribute(asset.integrity)
            if name.endswith(".css"):
                tags.append(f'<link rel="stylesheet" href="{url}" integrity="{digest}">')
            else:
                tags.append(f'<script src="{url}" integrity="{digest}" defer></script>')
        main = (
            '<div id="swagger-ui"></div>'
            if self.ui == "swagger-ui"
            else '<p id="status">Loading the OpenAPI document...</p>\n'
            '<section id="authorize" hidden></section>\n<main id="endpoints"></main>'
        )
        return (
            "<!doctype html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)} - endpoints</title>\n"
            + "\n".join(tags)
            + "\n</head>\n"
            f'<body data-openapi-url="{attribute(openapi_url)}" '
            f'data-root-path="{attribute(root_path)}">\n'
            + (f'<h1 id="title">{html.escape(title)}</h1>\n' if self.ui == "builtin" else "")
            + main
            + "\n</body>\n</html>\n"
        )


def _attribute(value: str) -> str:
    return html.escape(value, quote=True)


def docs_page(title: str, openapi_url: str, assets_url: str = "/docs/assets") -> str:
    """The HTML of the built-in docs page for the document at ``openapi_url``."""
    return DocsPage("builtin").html(title, openapi_url, assets_url)

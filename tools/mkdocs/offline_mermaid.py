"""MkDocs hook: serve mermaid's script from the site itself when it is at hand.

The Material theme draws ```mermaid blocks with mermaid.js, which it loads from a
CDN the first time a page with a diagram opens - unless a global ``mermaid`` is
already defined. ``make deps-node`` installs mermaid (pinned in
tools/mermaid/package.json, for the parser check of tests/test_docs_site.py), so
when it is there this hook copies its browser build into the site and loads it
on every page: the diagrams are drawn with no network, by the same version the
test parsed them with. Without it, nothing changes and the CDN is used.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files, InclusionLevel

SCRIPT = "assets/javascripts/mermaid.min.js"


def _bundle(config: MkDocsConfig) -> Path:
    root = Path(config.config_file_path).resolve().parent
    return root / "tools" / "mermaid" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    if _bundle(config).is_file():
        config.extra_javascript.append(SCRIPT)
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    bundle = _bundle(config)
    if bundle.is_file():
        files.append(
            File.generated(
                config, SCRIPT, abs_src_path=str(bundle), inclusion=InclusionLevel.NOT_IN_NAV
            )
        )
    return files

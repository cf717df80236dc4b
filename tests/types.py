"""Types of the shared fixtures in tests/conftest.py, for annotating tests."""

from __future__ import annotations

from collections.abc import Callable

from minimal_asgi.testing import TestClient

ClientFactory = Callable[..., TestClient]
"""``client_for(app, **options)``: see the ``client_for`` fixture."""

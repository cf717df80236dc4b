"""Exercise 13: the plugin's route, header and check."""

from types import ModuleType

import pytest

from minimal_asgi import App, ConfigurationError
from minimal_asgi.testing import TestClient


def build(module: ModuleType, version: str) -> App:
    app = App(plugins=[module.VersionPlugin(version)])

    @app.get("/notes")
    async def notes() -> list:
        return []

    return app


def test_the_version_route(exercise: ModuleType) -> None:
    with TestClient(build(exercise, "1.4.2")) as client:
        assert client.get("/version").json() == {"version": "1.4.2"}


def test_every_response_carries_the_header(exercise: ModuleType) -> None:
    with TestClient(build(exercise, "1.4.2")) as client:
        for path, status in (("/notes", 200), ("/version", 200), ("/nowhere", 404)):
            response = client.get(path)
            assert response.status_code == status
            assert response.headers.get("x-app-version") == "1.4.2", path


@pytest.mark.parametrize("version", ["", "1.4", "v1.4.2", "1.4.2-beta; drop"])
def test_a_bad_version_fails_when_the_app_is_built(exercise: ModuleType, version: str) -> None:
    with pytest.raises(ConfigurationError):
        build(exercise, version)

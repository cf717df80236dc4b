"""Exercise 01: the raw app answers like a framework would."""

from types import ModuleType

from minimal_asgi.testing import TestClient


def test_hello_defaults_to_world(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        response = client.get("/hello")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "hello, world"


def test_hello_greets_by_name(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        assert client.get("/hello?name=Ada").text == "hello, Ada"
        assert client.get("/hello?name=Z%C3%B6e").text == "hello, Zöe"


def test_other_methods_are_405_with_allow(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        response = client.post("/hello")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


def test_other_paths_are_404(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        assert client.get("/goodbye").status_code == 404

"""Exercise 02: 201 with Location, a download, 204."""

from types import ModuleType

from minimal_asgi.testing import TestClient


def test_create_answers_201_with_the_new_location(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        first = client.post("/notes", json={"title": "milk"})
        second = client.post("/notes", json={"title": "eggs"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.headers["location"] == "/notes/1"
    assert second.headers["location"] == "/notes/2"
    assert second.json() == {"id": 2, "title": "eggs"}


def test_download_is_an_attachment(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        client.post("/notes", json={"title": "milk"})
        response = client.get("/notes/1/download")
        missing = client.get("/notes/9/download")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-disposition"] == 'attachment; filename="note-1.txt"'
    assert response.text == "milk"
    assert missing.status_code == 404


def test_delete_answers_204_with_no_body(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        client.post("/notes", json={"title": "milk"})
        response = client.delete("/notes/1")
    assert response.status_code == 204
    assert response.content == b""

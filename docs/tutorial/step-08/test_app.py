"""Tests for the notes app: each one a sentence about what the app promises.

Run from this folder:  pytest test_app.py
"""

from collections.abc import Iterator

import pytest
from app import Page, create_app, pagination

from minimal_asgi.testing import TestClient


@pytest.fixture
def client() -> Iterator[TestClient]:
    # A new app on a new in-memory database for every test: no test sees
    # another's notes, whatever order they run in.
    with TestClient(create_app("sqlite://:memory:")) as client:
        yield client


def test_a_created_note_can_be_read_back(client: TestClient) -> None:
    created = client.post("/notes", json={"title": "buy milk", "body": "2 litres"})
    assert created.status_code == 201
    note_id = created.json()["id"]
    assert client.get(f"/notes/{note_id}").json() == {
        "id": note_id,
        "title": "buy milk",
        "body": "2 litres",
    }


def test_a_missing_note_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/notes/404")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_an_empty_title_is_refused_with_its_location(client: TestClient) -> None:
    response = client.post("/notes", json={"title": ""})
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["errors"]] == [["body", "title"]]
    assert client.get("/notes").json() == []  # and nothing was written


def test_notes_are_listed_a_page_at_a_time(client: TestClient) -> None:
    for title in ("one", "two", "three"):
        client.post("/notes", json={"title": title})
    page = client.get("/notes?limit=2&offset=1").json()
    assert [note["title"] for note in page] == ["two", "three"]


def test_the_request_id_is_echoed(client: TestClient) -> None:
    assert client.get("/notes", headers={"X-Request-ID": "t-1"}).headers["x-request-id"] == "t-1"


def test_a_dependency_can_be_replaced(client: TestClient) -> None:
    async def first_only() -> Page:
        return Page(limit=1, offset=0)

    for title in ("one", "two"):
        client.post("/notes", json={"title": title})
    client.app.dependency_overrides[pagination] = first_only
    assert [note["title"] for note in client.get("/notes").json()] == ["one"]


def test_an_open_socket_hears_of_each_new_note(client: TestClient) -> None:
    with client.websocket_connect("/notes/live") as socket:
        client.post("/notes", json={"title": "live"})
        assert socket.receive_json()["title"] == "live"

"""Exercise 08: the OpenAPI document tags, summarises, deprecates and hides."""

from types import ModuleType

from minimal_asgi.testing import TestClient


def document(module: ModuleType) -> dict:
    with TestClient(module.app) as client:
        assert client.get("/internal/stats").json() == {"notes": 1}  # still answers
        return client.get("/openapi.json").json()


def test_every_public_operation_is_tagged_notes(exercise: ModuleType) -> None:
    paths = document(exercise)["paths"]
    operations = [paths[p]["get"] for p in ("/notes", "/notes/{note_id}", "/notes/search")]
    assert all(op.get("tags") == ["notes"] for op in operations)


def test_operations_have_summaries_and_a_description(exercise: ModuleType) -> None:
    paths = document(exercise)["paths"]
    assert paths["/notes"]["get"]["summary"] == "List the notes"
    read = paths["/notes/{note_id}"]["get"]
    assert read["summary"] == "Read one note"
    assert "404" in read["description"]
    assert paths["/notes/search"]["get"]["summary"].startswith("Search the notes")


def test_the_old_search_is_deprecated_and_the_others_not(exercise: ModuleType) -> None:
    paths = document(exercise)["paths"]
    assert paths["/notes/search"]["get"]["deprecated"] is True
    assert "deprecated" not in paths["/notes"]["get"]


def test_internal_routes_are_left_out(exercise: ModuleType) -> None:
    assert "/internal/stats" not in document(exercise)["paths"]

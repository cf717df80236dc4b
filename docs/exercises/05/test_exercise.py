"""Exercise 05: 503 while in maintenance, /health still answers, switched live."""

from types import ModuleType

from minimal_asgi.testing import TestClient


def test_requests_are_served_when_not_in_maintenance(exercise: ModuleType) -> None:
    with TestClient(exercise.create_app(exercise.Maintenance())) as client:
        response = client.get("/notes")
    assert response.status_code == 200
    assert response.headers["x-served-by"] == "notes-1"


def test_maintenance_answers_503_with_retry_after(exercise: ModuleType) -> None:
    with TestClient(exercise.create_app(exercise.Maintenance(on=True), name="n2")) as client:
        response = client.get("/notes")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "120"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 503
    assert response.headers["x-served-by"] == "n2"


def test_health_answers_during_maintenance(exercise: ModuleType) -> None:
    with TestClient(exercise.create_app(exercise.Maintenance(on=True))) as client:
        assert client.get("/health").json() == {"status": "ok"}


def test_the_flag_is_switched_without_a_restart(exercise: ModuleType) -> None:
    flag = exercise.Maintenance()
    with TestClient(exercise.create_app(flag)) as client:
        assert client.get("/notes").status_code == 200
        flag.on = True
        assert client.get("/notes").status_code == 503
        flag.on = False
        assert client.get("/notes").status_code == 200

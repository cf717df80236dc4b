"""Exercise 07: one 422 with every problem located; good input is 201."""

from types import ModuleType

from minimal_asgi.testing import TestClient

GOOD = {"username": "ada_99", "password": "correct horse battery", "age": 36}


def errors(response) -> dict:
    assert response.status_code == 422, response.text
    return {tuple(e["loc"]): e["type"] for e in response.json()["errors"]}


def test_a_good_signup_is_201_with_defaults(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        response = client.post("/signup", json=GOOD)
    assert response.status_code == 201
    assert response.json() == {"username": "ada_99", "plan": "free", "interests": []}


def test_every_problem_is_listed_at_once(exercise: ModuleType) -> None:
    bad = {"username": "Ada!", "password": "short", "age": 12, "plan": "gold"}
    with TestClient(exercise.app) as client:
        found = errors(client.post("/signup", json=bad))
    assert set(found) == {
        ("body", "username"),
        ("body", "password"),
        ("body", "age"),
        ("body", "plan"),
    }


def test_length_limits_on_the_username(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        for name in ("ab", "a" * 21):
            assert ("body", "username") in errors(
                client.post("/signup", json={**GOOD, "username": name})
            )
        assert client.post("/signup", json={**GOOD, "username": "a" * 20}).status_code == 201


def test_age_must_be_a_whole_number(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        assert errors(client.post("/signup", json={**GOOD, "age": "36"})) == {
            ("body", "age"): "type"
        }
        assert errors(client.post("/signup", json={**GOOD, "age": 13.5})) == {
            ("body", "age"): "type"
        }


def test_interests_are_strings(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        ok = client.post("/signup", json={**GOOD, "plan": "pro", "interests": ["sql"]})
        assert ok.json() == {"username": "ada_99", "plan": "pro", "interests": ["sql"]}
        found = errors(client.post("/signup", json={**GOOD, "interests": ["sql", 3]}))
        assert found == {("body", "interests", 1): "type"}

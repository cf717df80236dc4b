"""Exercise 14: one origin, with credentials; every other origin refused."""

from types import ModuleType

from minimal_asgi.testing import TestClient

FRONT = "https://notes.example"


def preflight(client: TestClient, origin: str, method: str, headers: str) -> dict:
    response = client.options(
        "/notes/1",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def test_the_front_end_reads_answers_with_credentials(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        response = client.get("/notes", headers={"Origin": FRONT})
    assert response.headers["access-control-allow-origin"] == FRONT
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    assert "origin" in response.headers["vary"].lower()


def test_the_front_end_preflight_is_allowed_and_cached(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        allowed = preflight(client, FRONT, "PATCH", "content-type, x-request-id")
    assert allowed["access-control-allow-origin"] == FRONT
    assert allowed["access-control-allow-credentials"] == "true"
    assert "PATCH" in allowed["access-control-allow-methods"]
    assert "x-request-id" in allowed["access-control-allow-headers"].lower()
    assert allowed["access-control-max-age"] == "600"


def test_other_origins_get_nothing(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        response = client.get("/notes", headers={"Origin": "https://evil.example"})
        refused = preflight(client, "https://evil.example", "PATCH", "content-type")
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in refused
    assert "origin" in response.headers["vary"].lower()


def test_unlisted_methods_and_headers_are_not_allowed(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        delete = preflight(client, FRONT, "DELETE", "content-type")
        odd_header = preflight(client, FRONT, "PATCH", "x-debug")
    assert "access-control-allow-origin" not in delete or "DELETE" not in delete.get(
        "access-control-allow-methods", ""
    )
    assert (
        "access-control-allow-origin" not in odd_header
        or "x-debug" not in odd_header.get("access-control-allow-headers", "").lower()
    )

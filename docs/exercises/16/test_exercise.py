"""Exercise 16: the page's policy, the defaults kept, and only our hosts."""

from types import ModuleType

from minimal_asgi.testing import TestClient


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        name, *values = part.split()
        found[name] = values
    return found


def test_the_page_may_show_our_images_and_not_be_framed(exercise: ModuleType) -> None:
    with TestClient(exercise.app, base_url="https://notes.example") as client:
        response = client.get("/")
    policy = directives(response.headers["content-security-policy"])
    assert sorted(policy["img-src"]) == ["'self'", "https://img.notes.example"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'self'"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_api_keeps_the_strict_default(exercise: ModuleType) -> None:
    with TestClient(exercise.app, base_url="https://notes.example") as client:
        response = client.get("/api/notes")
    assert directives(response.headers["content-security-policy"])["default-src"] == ["'none'"]
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_only_our_hosts_are_answered(exercise: ModuleType) -> None:
    with TestClient(exercise.app, base_url="https://www.notes.example") as client:
        assert client.get("/api/notes").status_code == 200
    with TestClient(exercise.app, base_url="https://evil.example") as client:
        assert client.get("/api/notes").status_code == 400

"""Exercise 23: who you are (401) is not what you may do (403)."""

from types import ModuleType

import pytest

from minimal_asgi.testing import TestClient


@pytest.mark.parametrize("headers", [{}, {"X-User": "mallory"}])
def test_nobody_known_is_401_with_www_authenticate(exercise: ModuleType, headers: dict) -> None:
    with TestClient(exercise.app) as client:
        response = client.get("/notes", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("user", "method", "path", "status"),
    [
        ("grace", "GET", "/notes", 200),
        ("grace", "POST", "/notes", 403),
        ("ada", "GET", "/notes", 200),  # an editor may read: the permission, not the role name
        ("ada", "POST", "/notes", 201),
        ("ada", "DELETE", "/notes/1", 403),
        ("linus", "POST", "/notes", 201),  # admin's permissions, from a second role
        ("linus", "DELETE", "/notes/1", 204),
        ("ken", "GET", "/notes", 403),  # known, with no roles
    ],
)
def test_permissions_come_from_roles(
    exercise: ModuleType, user: str, method: str, path: str, status: int
) -> None:
    with TestClient(exercise.app) as client:
        assert client.request(method, path, headers={"X-User": user}).status_code == status


def test_a_new_role_needs_no_route_edited(exercise: ModuleType) -> None:
    exercise.ROLE_PERMISSIONS["auditor"] = {"notes:read"}
    exercise.USERS["barbara"] = ["auditor"]
    with TestClient(exercise.app) as client:
        assert client.get("/notes", headers={"X-User": "barbara"}).status_code == 200

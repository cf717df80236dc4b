"""Exercise 18: ETag, If-None-Match and 304."""

import re
from types import ModuleType

from minimal_asgi.testing import TestClient


def test_a_200_has_a_quoted_etag_and_no_cache(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        first, again = client.get("/notes/1"), client.get("/notes/1")
    assert first.status_code == 200
    assert first.json() == {"id": 1, "title": "milk", "body": "2 litres"}
    assert re.fullmatch(r'"[^"\s]+"', first.headers["etag"])
    assert first.headers["etag"] == again.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"


def test_a_matching_if_none_match_is_304_with_no_body(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        etag = client.get("/notes/1").headers["etag"]
        response = client.get("/notes/1", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


def test_lists_weak_tags_and_star(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        etag = client.get("/notes/1").headers["etag"]
        for header in (f'"other", {etag}', f"W/{etag}", "*"):
            assert client.get("/notes/1", headers={"If-None-Match": header}).status_code == 304
        assert client.get("/notes/1", headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_change_makes_the_old_tag_stale(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        old = client.get("/notes/1").headers["etag"]
        client.put("/notes/1", json={"title": "milk", "body": "3 litres"})
        response = client.get("/notes/1", headers={"If-None-Match": old})
    assert response.status_code == 200
    assert response.json()["body"] == "3 litres"
    assert response.headers["etag"] != old

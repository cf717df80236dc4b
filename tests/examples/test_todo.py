from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from examples.todo import app as todo_module
from examples.todo.app import TodoRepository, app, get_repository
from minimal_asgi.testing import TestClient


@pytest.fixture
def client() -> Iterator[TestClient]:
    repository = TodoRepository()
    app.dependency_overrides[get_repository] = lambda: repository
    todo_module.idempotency.backend.clear()  # type: ignore[attr-defined]  # memory: no old keys
    anyio.run(todo_module.cache.invalidate_tags, "todos")  # no cached page of another test
    with TestClient(app) as test_client:
        yield test_client
    app.dependency_overrides.clear()


def test_create_answers_201_with_the_location_of_the_new_todo(client: TestClient) -> None:
    response = client.post("/v1/todos", json={"title": "buy milk"})
    assert response.status_code == 201
    assert response.headers["location"] == "http://testserver/v1/todos/1"
    assert client.get("/v1/todos/1").json() == {
        "id": 1, "title": "buy milk", "done": False, "tags": []
    }


def test_a_retry_with_the_same_idempotency_key_creates_nothing_new(client: TestClient) -> None:
    # The key is a Structured Field String: quoted (draft-ietf-httpapi-idempotency-key-header).
    first = client.post("/v1/todos", json={"title": "a"}, headers={"idempotency-key": '"k"'})
    again = client.post("/v1/todos", json={"title": "a"}, headers={"idempotency-key": '"k"'})
    # The retry is the first answer again: the same 201, Location and body.
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert client.get("/v1/todos").json()["total"] == 1


def test_the_same_idempotency_key_with_another_body_is_422(client: TestClient) -> None:
    client.post("/v1/todos", json={"title": "a"}, headers={"idempotency-key": '"k"'})
    response = client.post("/v1/todos", json={"title": "b"}, headers={"idempotency-key": '"k"'})
    assert response.status_code == 422
    assert "already used" in response.json()["detail"]
    assert client.get("/v1/todos").json()["total"] == 1


def test_an_unquoted_idempotency_key_is_400_naming_the_fix(client: TestClient) -> None:
    response = client.post("/v1/todos", json={"title": "a"}, headers={"idempotency-key": "k"})
    assert response.status_code == 400
    assert 'send Idempotency-Key: "<your key>"' in response.json()["detail"]
    assert client.get("/v1/todos").json()["total"] == 0


def test_list_pages_with_a_next_link_until_the_last_page(client: TestClient) -> None:
    for title in "abcde":
        client.post("/v1/todos", json={"title": title})
    first = client.get("/v1/todos?limit=2")
    assert [t["title"] for t in first.json()["items"]] == ["a", "b"]
    assert first.headers["x-total-count"] == "5"
    assert first.headers["link"] == '<http://testserver/v1/todos?limit=2&offset=2>; rel="next"'
    last = client.get("/v1/todos?limit=2&offset=4")
    assert [t["title"] for t in last.json()["items"]] == ["e"]
    assert "link" not in last.headers


def test_a_limit_out_of_range_is_a_422_naming_the_query_parameter(client: TestClient) -> None:
    response = client.get("/v1/todos?limit=1000")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "limit"]


def test_patch_changes_only_the_fields_sent(client: TestClient) -> None:
    client.post("/v1/todos", json={"title": "a", "tags": ["home"]})
    response = client.patch("/v1/todos/1", json={"done": True})
    assert response.json() == {"id": 1, "title": "a", "done": True, "tags": ["home"]}


def test_delete_answers_204_and_then_the_todo_is_gone(client: TestClient) -> None:
    client.post("/v1/todos", json={"title": "a"})
    assert client.delete("/v1/todos/1").status_code == 204
    assert client.get("/v1/todos/1").status_code == 404
    assert client.delete("/v1/todos/1").status_code == 404


def test_an_empty_title_is_rejected_with_its_location(client: TestClient) -> None:
    response = client.post("/v1/todos", json={"title": ""})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "title"]


def test_v2_lists_a_bare_array_beside_v1(client: TestClient) -> None:
    client.post("/v1/todos", json={"title": "a"})
    assert client.get("/v2/todos").json() == [
        {"id": 1, "title": "a", "done": False, "tags": []}
    ]
    assert client.get("/v1/todos").json()["items"][0]["title"] == "a"


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    assert client.get("/v1/todos").headers["x-request-id"]
    assert client.get("/v1/nope").headers["x-request-id"]


def test_a_front_end_on_the_allowed_origin_may_create_todos(client: TestClient) -> None:
    preflight = client.options(
        "/v1/todos",
        headers={
            "origin": "http://localhost:5173",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"
    created = client.post(
        "/v1/todos", json={"title": "a"}, headers={"origin": "http://localhost:5173"}
    )
    assert created.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "location" in created.headers["access-control-expose-headers"]


def test_another_origin_gets_no_cors_headers(client: TestClient) -> None:
    response = client.get("/v1/todos", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_the_list_is_cached_until_a_write_invalidates_it(client: TestClient) -> None:
    client.post("/v1/todos", json={"title": "a"})
    first = client.get("/v1/todos")
    again = client.get("/v1/todos")
    assert "age" not in first.headers and "age" in again.headers  # the second from the cache
    assert again.json() == first.json()
    todo_id = first.json()["items"][0]["id"]
    for write in (
        lambda: client.post("/v1/todos", json={"title": "b"}),
        lambda: client.patch(f"/v1/todos/{todo_id}", json={"done": True}),
        lambda: client.delete(f"/v1/todos/{todo_id}"),
    ):
        before = client.get("/v1/todos").json()
        write()
        after = client.get("/v1/todos")
        assert "age" not in after.headers and after.json() != before


def test_writes_beyond_the_limit_are_429_while_reads_go_on(client: TestClient) -> None:
    statuses = [client.post("/v1/todos", json={"title": f"t{n}"}).status_code for n in range(11)]
    assert statuses == [201] * 10 + [429]
    refused = client.post("/v1/todos", json={"title": "one more"})
    assert refused.json()["violated-policies"] == ["10/minute"]
    assert int(refused.headers["retry-after"]) > 0
    listing = client.get("/v1/todos")
    assert listing.status_code == 200 and listing.json()["total"] == 10
    assert "ratelimit" not in listing.headers


def test_every_answer_carries_the_api_security_headers(client: TestClient) -> None:
    preflight = client.options(
        "/v1/todos",
        headers={"origin": "http://localhost:5173", "access-control-request-method": "POST"},
    )
    for response in (client.get("/v1/todos"), client.get("/v1/nope"), preflight):
        assert response.headers["content-security-policy"] == (
            "default-src 'none'; frame-ancestors 'none'"
        )
        assert response.headers["x-content-type-options"] == "nosniff"


def test_a_request_for_a_foreign_host_is_refused_before_any_link_is_built(
    client: TestClient,
) -> None:
    response = client.post("/v1/todos", json={"title": "a"}, headers={"host": "evil.example"})
    assert response.status_code == 400
    assert "location" not in response.headers
    assert client.get("/v1/todos").json()["total"] == 0


def test_the_probes_are_served(client: TestClient) -> None:
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").json() == {"status": "ready", "checks": {}}


def test_forwarded_headers_are_ignored_unless_a_proxy_is_trusted(client: TestClient) -> None:
    # TODO_TRUSTED_PROXIES is empty by default: a client cannot choose its address.
    created = client.post("/v1/todos", json={"title": "x"},
                          headers={"x-forwarded-proto": "https", "x-forwarded-for": "1.2.3.4"})
    assert created.headers["location"].startswith("http://testserver/")

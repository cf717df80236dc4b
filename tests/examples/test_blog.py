"""The blog example, on SQLite and on a real PostgreSQL.

Each test runs twice (the ``sql_url`` fixture): on an in-memory SQLite database,
and on PostgreSQL in a schema made for that test and dropped after it (the app's
connections find their tables there through ``search_path``), so tests never see
each other's rows. The app applies its
migrations at startup, as it does in production.
"""

from __future__ import annotations

from typing import Any

import pytest

from examples.blog.app import create_app, get_posts
from examples.blog.schema import TABLES
from minimal_asgi import App
from minimal_asgi.testing import AsyncTestClient, TestClient
from minimal_asgi_sql import Database
from minimal_asgi_sql.migrations import status
from tests.types import ClientFactory


@pytest.fixture
def client(sql_url: str, client_for: ClientFactory) -> TestClient:
    return client_for(create_app(sql_url))


def add_user(client: TestClient, name: str) -> int:
    response = client.post("/users", json={"email": f"{name}@example.com", "name": name})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def add_post(client: TestClient, author_id: int, title: str, tags: list[str] = []) -> int:  # noqa: B006
    body = {"author_id": author_id, "title": title, "body": "...", "tags": tags}
    response = client.post("/posts", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def database(db: Database) -> Database:
    """A dependency that hands a test the app's own Database."""
    return db


# -- the schema --------------------------------------------------------------------------
@pytest.mark.anyio
async def test_startup_applies_every_migration_of_the_databases_dialect(sql_url: str) -> None:
    app = create_app(sql_url)
    async with AsyncTestClient(app):
        async with app.dependencies_scope() as scope:
            db = await scope.resolve(database)
            migrations = app.plugins[0].migrations
            assert migrations.name == db.dialect
            states = [(m.version, m.name, m.state) for m in await status(db, migrations)]
    assert states == [
        (1, "create_users", "applied"),
        (2, "create_posts", "applied"),
        (3, "create_tags", "applied"),
    ]


@pytest.mark.anyio
async def test_the_declared_tables_match_the_migrated_columns(sql_url: str) -> None:
    app = create_app(sql_url)
    async with AsyncTestClient(app):
        async with app.dependencies_scope() as scope:
            db = await scope.resolve(database)
            for table in TABLES:
                assert await _columns(db, table.name) == [c.name for c in table.columns]


async def _columns(db: Database, table: str) -> list[str]:
    if db.dialect == "sqlite":
        rows = await db.fetch_all("SELECT name FROM pragma_table_info(?) ORDER BY cid", [table])
    else:
        rows = await db.fetch_all(
            "SELECT column_name AS name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            [table],
        )
    return [row["name"] for row in rows]


def test_without_database_url_the_blog_runs_on_in_memory_sqlite(monkeypatch: Any) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.plugins[0].url == "sqlite://:memory:"
    with TestClient(app) as client:
        assert client.get("/users").json() == []


# -- users: a unique constraint, an aggregate ------------------------------------------------
def test_register_answers_201_with_the_location_of_the_new_user(client: TestClient) -> None:
    response = client.post("/users", json={"email": "Ada@Example.com", "name": "Ada"})
    assert response.status_code == 201
    user = response.json()
    assert user == {"id": user["id"], "email": "ada@example.com", "name": "Ada"}
    assert response.headers["location"] == f"http://testserver/users/{user['id']}"
    assert client.get(f"/users/{user['id']}").json() == user


def test_a_taken_email_answers_409_naming_the_unique_constraint(
    client: TestClient, sql_url: str
) -> None:
    add_user(client, "ada")
    response = client.post("/users", json={"email": "ADA@example.com", "name": "Another"})
    assert response.status_code == 409
    body = response.json()
    # PostgreSQL names the constraint; SQLite names the column it guards.
    constraint = "users_email_key" if sql_url.startswith("postgresql") else "users.email"
    assert (body["kind"], body["constraint"]) == ("unique", constraint)
    assert [u["name"] for u in client.get("/users").json()] == ["ada"]


def test_users_are_listed_with_their_post_counts_including_zero(client: TestClient) -> None:
    ada, bob, cy = add_user(client, "ada"), add_user(client, "bob"), add_user(client, "cy")
    for title in ("one", "two"):
        add_post(client, bob, title)
    add_post(client, ada, "three")
    assert client.get("/users").json() == [
        {"id": bob, "name": "bob", "post_count": 2},
        {"id": ada, "name": "ada", "post_count": 1},
        {"id": cy, "name": "cy", "post_count": 0},
    ]


# -- posts: a transaction, JOINs, keyset pages ---------------------------------------------
def test_a_post_is_published_with_its_tags_in_one_request(client: TestClient) -> None:
    ada = add_user(client, "ada")
    response = client.post(
        "/posts",
        json={"author_id": ada, "title": " Hello ", "body": "b", "tags": ["sql", "db", "sql"]},
    )
    assert response.status_code == 201
    post = response.json()
    assert (post["title"], post["tags"]) == ("Hello", ["db", "sql"])
    assert post["created_at"].endswith("+00:00")
    shown = client.get(f"/posts/{post['id']}").json()
    assert (shown["author"], shown["body"], shown["tags"]) == ("ada", "b", ["db", "sql"])


def test_a_post_by_an_unknown_author_is_422_and_its_new_tags_are_rolled_back(
    client: TestClient,
) -> None:
    ada = add_user(client, "ada")
    add_post(client, ada, "first", ["sql"])
    body = {"author_id": 999, "title": "t", "body": "b", "tags": ["sql", "brand-new"]}
    response = client.post("/posts", json=body)
    assert response.status_code == 422
    assert response.json()["detail"] == "there is no user 999"
    # "brand-new" was inserted before the post failed: the transaction undid it.
    assert client.get("/tags").json() == [{"name": "sql", "post_count": 1}]


def test_posts_are_paged_newest_first_by_a_keyset_cursor(client: TestClient) -> None:
    ada = add_user(client, "ada")
    ids = [add_post(client, ada, f"post {n}") for n in range(7)]
    seen, after = [], None
    while True:
        query = "/posts?limit=3" + ("" if after is None else f"&after={after}")
        page = client.get(query).json()
        seen.append([post["id"] for post in page["items"]])
        after = page["next_after"]
        if after is None:
            break
    newest_first = ids[::-1]
    assert seen == [newest_first[0:3], newest_first[3:6], newest_first[6:]]


def test_a_post_added_between_pages_does_not_shift_the_next_page(client: TestClient) -> None:
    # With OFFSET, a new post pushes every row down one place, and page 2
    # would repeat the last post of page 1. A keyset cursor does not move.
    ada = add_user(client, "ada")
    ids = [add_post(client, ada, f"post {n}") for n in range(4)]
    first = client.get("/posts?limit=2").json()
    add_post(client, ada, "newer")
    second = client.get(f"/posts?limit=2&after={first['next_after']}").json()
    assert [p["id"] for p in second["items"]] == [ids[1], ids[0]]


def test_posts_with_a_tag_are_found_through_the_join_table(client: TestClient) -> None:
    ada = add_user(client, "ada")
    a = add_post(client, ada, "a", ["sql"])
    add_post(client, ada, "b", ["python"])
    c = add_post(client, ada, "c", ["python", "sql"])
    items = client.get("/posts?tag=sql").json()["items"]
    assert [(p["id"], p["tags"]) for p in items] == [(c, ["python", "sql"]), (a, ["sql"])]
    assert client.get("/posts?tag=nothing").json() == {"items": [], "next_after": None}


def test_a_users_posts_are_listed_and_an_unknown_user_is_404(client: TestClient) -> None:
    ada, bob = add_user(client, "ada"), add_user(client, "bob")
    mine = add_post(client, ada, "mine")
    add_post(client, bob, "theirs")
    items = client.get(f"/users/{ada}/posts").json()["items"]
    assert [(p["id"], p["author"]) for p in items] == [(mine, "ada")]
    assert client.get("/users/999/posts").status_code == 404


def test_deleting_a_post_cascades_to_its_tag_links(client: TestClient) -> None:
    ada = add_user(client, "ada")
    post = add_post(client, ada, "t", ["sql"])
    assert client.delete(f"/posts/{post}").status_code == 204
    assert client.get(f"/posts/{post}").status_code == 404
    assert client.delete(f"/posts/{post}").status_code == 404
    assert client.get("/tags").json() == [{"name": "sql", "post_count": 0}]


def test_a_page_of_posts_costs_two_queries_whatever_its_size(
    client: TestClient, monkeypatch: Any
) -> None:
    # The N+1 guard: one query for the page, one for the tags of all its posts.
    ada = add_user(client, "ada")
    for n in range(5):
        add_post(client, ada, f"post {n}", ["a", "b"])
    queries: list[str] = []
    fetch_all = Database.fetch_all

    async def counting(self: Database, query: Any, params: Any = None) -> Any:
        queries.append(str(query))
        return await fetch_all(self, query, params)

    monkeypatch.setattr(Database, "fetch_all", counting)
    for limit in (1, 5):
        queries.clear()
        assert len(client.get(f"/posts?limit={limit}").json()["items"]) == limit
        assert len(queries) == 2, queries


def test_the_tag_counts_query_is_cached_until_a_post_is_published_or_deleted(
    client: TestClient, monkeypatch: Any
) -> None:
    ada = add_user(client, "ada")
    add_post(client, ada, "one", ["sql"])
    queries: list[str] = []
    fetch_all = Database.fetch_all

    async def counting(self: Database, query: Any, params: Any = None) -> Any:
        queries.append(str(query))
        return await fetch_all(self, query, params)

    monkeypatch.setattr(Database, "fetch_all", counting)
    assert client.get("/tags").json() == [{"name": "sql", "post_count": 1}]
    assert client.get("/tags").json() == [{"name": "sql", "post_count": 1}]
    assert len(queries) == 1  # the second answer came from the cache
    post = add_post(client, ada, "two", ["sql"])
    assert client.get("/tags").json() == [{"name": "sql", "post_count": 2}]
    client.delete(f"/posts/{post}")
    assert client.get("/tags").json() == [{"name": "sql", "post_count": 1}]


@pytest.mark.anyio
async def test_the_author_page_and_the_tag_filter_are_planned_on_their_indexes() -> None:
    # SQLite plans from the schema alone, so the plan is the same on every
    # machine; PostgreSQL's depends on table sizes (benchmarks/sql.py shows it).
    app = create_app("sqlite://:memory:")
    async with AsyncTestClient(app):
        async with app.dependencies_scope() as scope:
            db = await scope.resolve(database)
            repo = await scope.resolve(get_posts)
            by_author = await db.explain(repo.page_query(after=10, limit=20, author_id=1))
            by_tag = await db.explain(repo.page_query(after=None, limit=20, tag="sql"))
    assert "USING INDEX posts_author_id_idx (author_id=? AND id<?)" in by_author
    assert "TEMP B-TREE" not in by_author  # the index gives the order: no sort
    assert "post_tags_tag_id_idx" in by_tag


def test_the_app_module_builds_an_app() -> None:
    from examples.blog import app as module

    assert isinstance(module.app, App)


# -- values no column can hold: a 4xx, never a 500 -------------------------------------------
# The SQL plugin answers 422 when the database refuses a value (UnstorableValue).
# A path id may be refused earlier still, by a bound on {x:int}: 404 or 422.
@pytest.mark.parametrize(
    ("method", "target", "statuses"),
    [
        ("GET", "/posts/9223372036854775808", (404, 422)),
        ("DELETE", "/posts/9223372036854775808", (404, 422)),
        ("GET", "/users/9223372036854775808", (404, 422)),
        ("GET", "/users/9223372036854775808/posts", (404, 422)),
        ("GET", "/posts?after=99999999999999999999", (422,)),
    ],
)
def test_an_id_beyond_64_bits_in_the_url_is_a_4xx_not_a_500(
    client: TestClient, method: str, target: str, statuses: tuple[int, ...]
) -> None:
    response = client.request(method, target)
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_an_author_id_beyond_64_bits_in_the_body_is_422(client: TestClient) -> None:
    add_user(client, "ada")
    body = {"author_id": 99999999999999999999, "title": "t", "body": "b", "tags": ["new"]}
    response = client.post("/posts", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/tags").json() == []  # the transaction was rolled back


# Found by schemathesis (tests/examples/test_fuzz.py): a cursor or an author_id
# beyond BIGINT was schema-valid in the OpenAPI document and refused only by the
# database. The edge now says the range, so the 422 names the field, and the
# document promises no more than the columns hold.
@pytest.mark.parametrize("after", [2**63, -(2**63) - 1])
def test_a_cursor_beyond_bigint_is_a_422_naming_the_query_parameter(
    client: TestClient, after: int
) -> None:
    response = client.get(f"/posts?after={after}")
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["errors"]] == [["query", "after"]]


@pytest.mark.parametrize("author_id", [2**63, -(2**63) - 1])
def test_an_author_id_beyond_bigint_is_a_422_naming_the_field(
    client: TestClient, author_id: int
) -> None:
    body = {"author_id": author_id, "title": "t", "body": "b"}
    response = client.post("/posts", json=body)
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["errors"]] == [["body", "author_id"]]


def test_the_document_gives_the_ids_the_range_of_their_bigint_columns(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    bigint = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
    parameters = document["paths"]["/posts"]["get"]["parameters"]
    after = next(p for p in parameters if p["name"] == "after")
    assert after["schema"] == bigint
    author_id = document["components"]["schemas"]["NewPost"]["properties"]["author_id"]
    assert author_id == bigint


@pytest.mark.parametrize("field", ["title", "body"])
def test_a_lone_surrogate_in_the_body_is_422(client: TestClient, field: str) -> None:
    ada = add_user(client, "ada")
    body = {"author_id": ada, "title": "t", "body": "b", field: "a\ud800"}
    response = client.post("/posts", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/posts").json()["items"] == []


# Found by schemathesis: the document allowed a NUL in any text, PostgreSQL's TEXT
# cannot hold one (SQLSTATE 22021) and SQLite kept it - the same request was a 201
# or a 422 by dialect. The edge now refuses it on both, naming the field.
@pytest.mark.parametrize(
    ("method", "target", "body", "loc"),
    [
        ("POST", "/users", {"email": "a\u0000@b", "name": "a"}, ["body", "email"]),
        ("POST", "/users", {"email": "a@b", "name": "a\u0000"}, ["body", "name"]),
        ("POST", "/posts", {"author_id": 1, "title": "b\u0000", "body": "b"}, ["body", "title"]),
        ("POST", "/posts", {"author_id": 1, "title": "b", "body": "\u0000"}, ["body", "body"]),
        ("GET", "/posts?tag=%00", None, ["query", "tag"]),
    ],
)
def test_a_nul_in_text_is_a_422_naming_the_field_on_both_databases(
    client: TestClient, method: str, target: str, body: Any, loc: list[str]
) -> None:
    add_user(client, "ada")
    response = client.request(method, target, json=body)
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["errors"]] == [loc]
    assert client.get("/posts").json()["items"] == []

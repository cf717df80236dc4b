"""The SQL plugin in an app: injection, the request transaction, errors as
HTTP answers, and a database that is down or goes away."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

import anyio
import asyncpg
import pytest

from minimal_asgi import App, ASGIApp, Depends, HTTPException, Message, Receive, Scope, Send
from minimal_asgi.testing import AsyncTestClient, TestClient
from minimal_asgi_sql import SQL, Database, transaction
from minimal_asgi_sql.plugin import DEFAULT_URL
from tests.plugins.sql.support import HANG_GUARD, TCPProxy, pg_schema, placeholders
from tests.types import ClientFactory

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL,
                    CONSTRAINT users_email_key UNIQUE (email));
CREATE TABLE posts (id INTEGER PRIMARY KEY,
                    user_id INTEGER NOT NULL CONSTRAINT posts_user_fk REFERENCES users (id));
CREATE TABLE drafts (id INTEGER PRIMARY KEY,
                     user_id INTEGER NOT NULL CONSTRAINT drafts_user_fk REFERENCES users (id)
                     DEFERRABLE INITIALLY DEFERRED);
"""


def make_app(url: str, **options: Any) -> tuple[App, SQL]:
    sql = SQL(url, **options)
    app = App(plugins=[sql])

    @app.on_startup
    async def create_schema() -> None:  # runs after the plugin connected
        await sql.database.execute(SCHEMA)

    @app.get("/users")
    async def list_users(db: Database) -> list[Any]:
        return await db.fetch_all("SELECT id, email FROM users ORDER BY id")

    @app.post("/users", status_code=201)
    async def create_user(
        id: int, email: str, db: Database = Depends(transaction)
    ) -> dict[str, Any]:
        await db.execute(
            placeholders(db, "INSERT INTO users (id, email) VALUES ($1, $2)"), [id, email]
        )
        return {"id": id}

    @app.post("/users/then-fail")
    async def create_then_fail(
        id: int, email: str, db: Database = Depends(sql.transaction)
    ) -> None:
        await db.execute(
            placeholders(db, "INSERT INTO users (id, email) VALUES ($1, $2)"), [id, email]
        )
        raise HTTPException(400, "changed my mind")

    @app.post("/posts", status_code=201)
    async def create_post(
        id: int, user_id: int, db: Database = Depends(transaction)
    ) -> dict[str, Any]:
        await db.execute(
            placeholders(db, "INSERT INTO posts (id, user_id) VALUES ($1, $2)"), [id, user_id]
        )
        return {"id": id}

    @app.post("/drafts", status_code=201)
    async def create_draft(
        id: int, user_id: int, db: Database = Depends(transaction)
    ) -> dict[str, Any]:
        # The foreign key is checked at COMMIT, after the endpoint returned.
        await db.execute(
            placeholders(db, "INSERT INTO drafts (id, user_id) VALUES ($1, $2)"), [id, user_id]
        )
        return {"id": id}

    @app.get("/drafts")
    async def list_drafts(db: Database) -> list[Any]:
        return await db.fetch_all("SELECT id FROM drafts")

    @app.post("/guarded", status_code=201, dependencies=[Depends(transaction)])
    async def guarded(id: int, fail: bool, db: Database) -> dict[str, Any]:
        await db.execute(
            placeholders(db, "INSERT INTO users (id, email) VALUES ($1, $2)"), [id, f"{id}@x"]
        )
        if fail:
            raise HTTPException(400)
        return {"id": id}

    # Values no validation stopped (a route may check nothing), that no column holds.
    unstorable = {"big": (2**63, "a@x"), "surrogate": (1, "\ud800@x"), "nul": (1, "b\x00@x")}

    @app.post("/users/unstorable/{what}", status_code=201)
    async def create_unstorable(what: str, db: Database = Depends(transaction)) -> None:
        await db.execute(
            placeholders(db, "INSERT INTO users (id, email) VALUES ($1, $2)"), unstorable[what]
        )

    return app, sql


@pytest.fixture
def client(sql_url: str, client_for: ClientFactory) -> TestClient:
    app, _ = make_app(sql_url)
    return client_for(app)


# -- injection and the request's transaction ---------------------------------------------
def test_database_is_injected_by_annotation(client: TestClient) -> None:
    assert client.get("/users").json() == []
    assert client.post("/users?id=1&email=a@x").status_code == 201
    assert client.get("/users").json() == [{"id": 1, "email": "a@x"}]


def test_transaction_commits_when_the_endpoint_returns(client: TestClient) -> None:
    response = client.post("/users?id=1&email=a@x")
    assert (response.status_code, response.json()) == (201, {"id": 1})
    assert [u["id"] for u in client.get("/users").json()] == [1]


def test_transaction_rolls_back_when_the_endpoint_raises(client: TestClient) -> None:
    assert client.post("/users/then-fail?id=1&email=a@x").status_code == 400
    assert client.get("/users").json() == []


def test_transaction_as_a_route_guard_commits_and_rolls_back(client: TestClient) -> None:
    assert client.post("/guarded?id=1&fail=false").status_code == 201
    assert client.post("/guarded?id=2&fail=true").status_code == 400
    assert [u["id"] for u in client.get("/users").json()] == [1]


def test_sql_transaction_is_the_module_transaction() -> None:
    assert SQL.transaction is transaction
    assert SQL().transaction is transaction


class ObserveAtResponseStart:
    """A pure ASGI middleware that, as the response starts, asks an independent
    connection how many users exist: what another client could see then."""

    def __init__(self, app: ASGIApp, count: Callable[[], Any], seen: list[int]) -> None:
        self.app, self.count, self.seen = app, count, seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def observing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.seen.append(await self.count())
            await send(message)

        await self.app(scope, receive, observing_send)


def test_commit_happens_before_the_response_starts(sql_url: str, tmp_path: Any) -> None:
    if sql_url.startswith("postgresql"):
        async def count() -> int:
            connection = await asyncpg.connect(sql_url)
            try:
                return int(await connection.fetchval("SELECT count(*) FROM users"))
            finally:
                await connection.close()
    else:
        path = tmp_path / "app.db"  # a file, so that a second connection can look
        sql_url = f"sqlite:///{path}"

        async def count() -> int:
            with sqlite3.connect(path) as connection:
                return int(connection.execute("SELECT count(*) FROM users").fetchone()[0])

    app, _ = make_app(sql_url)
    seen: list[int] = []
    app.add_middleware(ObserveAtResponseStart, count=count, seen=seen)
    with TestClient(app) as client:
        assert client.post("/users?id=1&email=a@x").status_code == 201
    assert seen == [1]


def test_a_refused_commit_answers_409_not_201(client: TestClient) -> None:
    # The deferred foreign key is checked only at COMMIT. Had the commit run
    # after the response, the client would have read 201 for a lost row.
    response = client.post("/drafts?id=1&user_id=42")
    assert response.status_code == 409
    assert response.json()["kind"] == "foreign_key"
    assert client.get("/drafts").json() == []
    client.post("/users?id=42&email=a@x")
    assert client.post("/drafts?id=1&user_id=42").status_code == 201


# -- constraint violations -> 409 ---------------------------------------------------------------
def test_unique_violation_answers_409_naming_the_constraint(
    client: TestClient, sql_url: str
) -> None:
    client.post("/users?id=1&email=a@x")
    response = client.post("/users?id=2&email=a@x")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    constraint = "users_email_key" if sql_url.startswith("postgresql") else "users.email"
    assert body["constraint"] == constraint and body["kind"] == "unique"
    assert constraint in body["detail"]
    assert "a@x" not in response.text  # the database's message is not passed on


def test_foreign_key_violation_answers_409(client: TestClient, sql_url: str) -> None:
    response = client.post("/posts?id=1&user_id=42")
    assert response.status_code == 409
    body = response.json()
    assert body["kind"] == "foreign_key"
    # PostgreSQL names the constraint; SQLite cannot.
    assert body["constraint"] == ("posts_user_fk" if sql_url.startswith("postgresql") else None)


# -- values the database cannot store -> 422 -------------------------------------------------
@pytest.mark.parametrize(
    ("what", "kind"),
    [("big", "out_of_range"), ("surrogate", "invalid_text"), ("nul", "invalid_text")],
)
def test_a_value_the_database_cannot_store_answers_422_naming_its_kind(
    sql_url: str, what: str, kind: str
) -> None:
    app, _ = make_app(sql_url)
    with TestClient(app) as client:
        response = client.post(f"/users/unstorable/{what}")
        stored = client.get("/users").json()
    if what == "nul" and not sql_url.startswith("postgresql"):
        assert response.status_code == 201  # SQLite's TEXT holds a NUL
        return
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["kind"] == kind and body["title"] == "Unprocessable Content"
    assert "9223372036854775808" not in response.text  # the value is not echoed
    assert stored == []


# -- the database down or going away --------------------------------------------------------------
def test_unreachable_database_fails_startup_quickly_naming_the_url() -> None:
    app, _ = make_app("postgresql://app:hunter2@127.0.0.1:1/app")
    started = time.monotonic()
    message = r"cannot connect to the database at .*127\.0\.0\.1:1"
    with pytest.raises(RuntimeError, match=message) as caught:
        with TestClient(app):
            pass
    assert time.monotonic() - started < HANG_GUARD
    assert "hunter2" not in str(caught.value)


def test_an_unopenable_sqlite_file_says_to_check_the_path_not_to_start_a_server(
    tmp_path: Any,
) -> None:
    app, _ = make_app(f"sqlite:///{tmp_path}/no/such/folder/app.db")
    with pytest.raises(RuntimeError, match="SQLite opens a file") as caught:
        with TestClient(app):
            pass
    assert "no/such/folder/app.db" in str(caught.value)
    assert "database server" not in str(caught.value)


@pytest.mark.parametrize("absolute", [False, True])
def test_three_slashes_are_relative_to_the_working_directory_four_are_absolute(
    tmp_path: Any, monkeypatch: Any, absolute: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    url = f"sqlite:///{tmp_path}/data/app.db" if absolute else "sqlite:///data/app.db"
    if absolute:
        assert url.startswith("sqlite:////")  # tmp_path starts with "/": four slashes
    app, _ = make_app(url)
    with TestClient(app):
        pass
    assert (tmp_path / "data" / "app.db").is_file()


def test_killed_connection_answers_503_with_retry_after(pg_url: str, database_url: str) -> None:
    app, _ = make_app(pg_url, retry_after=7)

    @app.get("/killed")
    async def killed(db: Database = Depends(transaction)) -> dict[str, Any]:
        pid = await db.fetch_val("SELECT pg_backend_pid()")
        admin = await asyncpg.connect(database_url)
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        await admin.close()
        await anyio.sleep(0.1)
        return {"one": await db.fetch_val("SELECT 1")}

    @app.get("/one")
    async def one(db: Database) -> dict[str, Any]:
        return {"one": await db.fetch_val("SELECT 1")}

    with TestClient(app) as client:
        response = client.get("/killed")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "7"
        assert response.headers["content-type"] == "application/problem+json"
        assert "terminat" not in response.text  # no internals for the client
        assert client.get("/one").json() == {"one": 1}  # the pool healed


def test_server_gone_answers_503_quickly_then_recovers(database_url: str) -> None:
    proxy = TCPProxy(database_url)
    proxy.start()
    try:
        with pg_schema(database_url) as schema_url:
            app, _ = make_app(proxy.url(schema_url), connect_timeout=1, acquire_timeout=1)
            with TestClient(app) as client:
                assert client.get("/users").status_code == 200
                proxy.stop()  # the server disappears: connections cut, none accepted
                started = time.monotonic()
                assert client.get("/users").status_code == 503
                assert client.post("/users?id=1&email=a@x").status_code == 503
                assert time.monotonic() - started < HANG_GUARD
                proxy.start()  # it comes back
                assert client.get("/users").status_code == 200
    finally:
        proxy.stop()


# -- concurrency, scopes, wiring ---------------------------------------------------------------
@pytest.mark.anyio
async def test_concurrent_requests_have_separate_transactions(pg_url: str) -> None:
    app, _ = make_app(pg_url)
    a_inserted, b_returned = anyio.Event(), anyio.Event()

    @app.post("/a")
    async def a(db: Database = Depends(transaction)) -> None:
        await db.execute("INSERT INTO users (id, email) VALUES (1, 'a')")
        a_inserted.set()
        await b_returned.wait()
        raise HTTPException(400)

    @app.post("/b", status_code=201)
    async def b(db: Database = Depends(transaction)) -> dict[str, Any]:
        await a_inserted.wait()
        await db.execute("INSERT INTO users (id, email) VALUES (2, 'b')")
        b_returned.set()
        return {}

    statuses: dict[str, int] = {}
    async with AsyncTestClient(app) as client:

        async def call(path: str) -> None:
            statuses[path] = (await client.post(path)).status_code

        async with anyio.create_task_group() as group:
            group.start_soon(call, "/a")
            group.start_soon(call, "/b")
        assert statuses == {"/a": 400, "/b": 201}
        assert [u["id"] for u in (await client.get("/users")).json()] == [2]


@pytest.mark.anyio
async def test_transaction_outside_a_request_commits_when_the_scope_ends() -> None:
    app, sql = make_app("sqlite://:memory:")
    async with AsyncTestClient(app):
        async with app.dependencies_scope() as scope:
            db = await scope.resolve(transaction)
            await db.execute("INSERT INTO users (id, email) VALUES (1, 'a')")
        assert await sql.database.fetch_val("SELECT count(*) FROM users") == 1
        with pytest.raises(KeyError):
            async with app.dependencies_scope() as scope:
                db = await scope.resolve(transaction)
                await db.execute("INSERT INTO users (id, email) VALUES (2, 'b')")
                raise KeyError
        assert await sql.database.fetch_val("SELECT count(*) FROM users") == 1


def test_only_routes_that_use_transaction_are_wrapped() -> None:
    app, _ = make_app("sqlite://:memory:")

    async def repository(db: Database = Depends(transaction)) -> Database:
        return db

    @app.get("/nested")
    async def nested(repo: Database = Depends(repository)) -> None: ...

    with TestClient(app):
        wrapped = {
            (method, route.path): route.wrapped for route in app.routes for method in route.methods
        }
    assert wrapped["GET", "/users"] is False  # Database only
    assert wrapped["POST", "/users"] is True
    assert wrapped["GET", "/nested"] is True  # through a dependency of a dependency
    assert wrapped["POST", "/guarded"] is True  # through dependencies=[...]


def test_url_defaults_to_database_url_then_sqlite_in_memory(monkeypatch: Any) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert SQL().url == DEFAULT_URL == "sqlite://:memory:"
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-env.db")
    assert SQL().url == "sqlite:///from-env.db"
    assert SQL("sqlite:///given.db").url == "sqlite:///given.db"


def test_database_is_closed_at_shutdown() -> None:
    app, sql = make_app("sqlite://:memory:")
    with TestClient(app):
        assert sql.database.is_connected
    assert not sql.database.is_connected

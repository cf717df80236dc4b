"""examples/bookshelf in process: each feature through the in-process client.

The tests that touch the database run twice (``sql_url``): on in-memory
SQLite and on a fresh PostgreSQL schema. Everything else (cache, limits,
tokens, jobs, events) is in memory here; tests/examples/test_bookshelf_e2e.py
runs the same app under uvicorn with two workers on PostgreSQL and Redis.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from PIL import Image

from examples.bookshelf.app import build
from examples.bookshelf.dependencies import get_books, get_mailer
from examples.bookshelf.repositories import BookRepository
from examples.bookshelf.settings import BookshelfSettings
from minimal_asgi import Secret
from minimal_asgi.testing import TestClient
from minimal_asgi_auth import passwords
from minimal_asgi_sql import Database

CHEAP = passwords.Hasher(passwords.CHEAP_PARAMETERS)
PASSWORD = "correct horse battery"
ADMIN = "admin@example.com"


def settings_for(url: str, tmp_path: Path, **changes: Any) -> BookshelfSettings:
    chosen: dict[str, Any] = {
        "database_url": url, "jwt_secret": Secret("j" * 43),
        "storage_signing_key": Secret("s" * 43), "storage_root": str(tmp_path / "storage"),
        "admin_emails": [ADMIN], "json_logs": False,
    }
    return BookshelfSettings(**(chosen | changes))


def open_client(url: str, tmp_path: Path, **changes: Any) -> TestClient:
    shelf = build(settings_for(url, tmp_path, **changes), hasher=CHEAP)
    return TestClient(shelf.app, base_url="https://testserver")


@pytest.fixture
def client(sql_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with open_client(sql_url, tmp_path) as test_client:
        yield test_client


def login(client: TestClient, email: str) -> dict[str, str]:
    """Sign up (once) and log in: the Authorization header of that user."""
    client.post("/accounts", json={"email": email, "password": PASSWORD})
    response = client.post("/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def add_book(client: TestClient, admin: dict[str, str], title: str = "Dune", *,
             author: str = "Frank Herbert", year: int = 1965, copies: int = 1) -> dict[str, Any]:
    authors = {a["name"]: a["id"] for a in client.get("/authors").json()}
    if author not in authors:
        made = client.post("/authors", json={"name": author}, headers=admin)
        assert made.status_code == 201, made.text
        authors[author] = made.json()["id"]
    response = client.post("/books", headers=admin, json={
        "title": title, "author_id": authors[author], "year": year, "copies": copies})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_the_app_starts_and_answers_health(client: TestClient) -> None:
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 200


# -- accounts ------------------------------------------------------------------------


def test_sign_up_login_refresh_rotates_and_a_reused_refresh_token_is_refused(
    client: TestClient,
) -> None:
    assert client.post("/accounts", json={"email": "ada@example.com",
                                          "password": PASSWORD}).status_code == 201
    again = client.post("/accounts", json={"email": "ADA@example.com", "password": PASSWORD})
    assert again.status_code == 409  # stored in lower case: the unique constraint sees it
    assert client.post("/login", json={"email": "ada@example.com",
                                       "password": "wrong password!"}).status_code == 401
    tokens = client.post("/login", json={"email": "ada@example.com",
                                         "password": PASSWORD}).json()
    me = client.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json() == {"id": 1, "roles": ["member"], "via": "bearer"}
    rotated = client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != tokens["refresh_token"]
    # The spent token again: a thief's replay - the whole login is revoked.
    assert client.post("/refresh", json={"refresh_token": tokens["refresh_token"]}
                       ).status_code == 401
    assert client.post("/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
                       ).status_code == 401


def test_the_admin_e_mails_sign_up_as_admins_and_members_cannot_write_books(
    client: TestClient,
) -> None:
    admin, member = login(client, ADMIN), login(client, "ada@example.com")
    assert client.get("/me", headers=admin).json()["roles"] == ["admin", "member"]
    assert client.post("/authors", json={"name": "X"}, headers=member).status_code == 403
    assert client.post("/authors", json={"name": "X"}).status_code == 401
    assert client.post("/authors", json={"name": "X"}, headers=admin).status_code == 201


def test_login_attempts_are_limited_per_e_mail(sql_url: str, tmp_path: Path) -> None:
    with open_client(sql_url, tmp_path, login_limit="3/minute") as client:
        login(client, "ada@example.com")  # one attempt, right
        wrong = {"email": "ada@example.com", "password": "not the password"}
        assert [client.post("/login", json=wrong).status_code for _ in range(3)] == [
            401, 401, 429]
        # The right password does not get around the limit either...
        assert client.post("/login", json={"email": "ada@example.com",
                                           "password": PASSWORD}).status_code == 429
        # ...which is per e-mail: another account is untouched.
        login(client, "bob@example.com")


def test_an_api_key_reads_the_loan_report_and_a_token_without_the_scope_cannot(
    client: TestClient,
) -> None:
    admin = login(client, ADMIN)
    made = client.post("/api-keys", json={"name": "nightly report"}, headers=admin)
    assert made.status_code == 201
    key = {"X-API-Key": made.json()["key"]}
    assert client.get("/reports/loans", headers=key).json() == {"loans": 0, "on_loan": 0}
    assert client.get("/reports/loans").status_code == 401
    assert client.get("/reports/loans", headers=admin).status_code == 403  # no loans:read
    assert client.get("/reports/loans", headers={"X-API-Key": "bk_nope"}).status_code == 401
    member = login(client, "ada@example.com")
    assert client.post("/api-keys", json={"name": "mine"}, headers=member).status_code == 403


def test_the_html_page_signs_in_with_a_session_cookie_and_out_again(client: TestClient) -> None:
    login(client, "ada@example.com")
    assert "<form" in client.get("/").text
    signed_in = client.post("/session", data={"email": "ada@example.com",
                                              "password": PASSWORD}, follow_redirects=False)
    assert signed_in.status_code == 303
    assert "HttpOnly" in signed_in.headers["set-cookie"]
    page = client.get("/")
    assert "Signed in as user 1 (member)" in page.text
    assert client.get("/me").json()["via"] == "session"
    # A cross-site form posting to this origin is refused (CSRF).
    refused = client.post("/session/end", headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403
    assert client.post("/session/end", follow_redirects=False).status_code == 303
    assert "<form" in client.get("/").text
    assert client.get("/me").status_code == 401
    wrong = client.post("/session", data={"email": "ada@example.com", "password": "nope"})
    assert wrong.status_code == 401


# -- the catalogue -------------------------------------------------------------------


def test_books_are_paged_by_keyset_filtered_and_sorted(client: TestClient) -> None:
    admin = login(client, ADMIN)
    for title, year in [("Dune", 1965), ("Emma", 1815), ("Beloved", 1987), ("Carrie", 1974),
                        ("Atonement", 2001)]:
        add_book(client, admin, title, year=year, author="Various")
    add_book(client, admin, "Persuasion", year=1817, author="Jane Austen", copies=0)

    def walk(**query: Any) -> list[str]:
        titles, after = [], None
        while True:
            params = {**query, "limit": 2} | ({"after": after} if after else {})
            page = client.get("/books", params=params).json()
            titles += [book["title"] for book in page["items"]]
            if page["next"] is None:
                return titles
            after = page["next"]

    assert walk() == ["Persuasion", "Atonement", "Carrie", "Beloved", "Emma", "Dune"]
    assert walk(sort="title") == ["Atonement", "Beloved", "Carrie", "Dune", "Emma",
                                  "Persuasion"]
    assert walk(sort="year") == ["Emma", "Persuasion", "Dune", "Carrie", "Beloved",
                                 "Atonement"]
    assert walk(sort="title", title="EM") == ["Atonement", "Emma"]
    assert walk(available=False) == ["Persuasion"]
    austen = client.get("/authors").json()
    austen_id = next(a["id"] for a in austen if a["name"] == "Jane Austen")
    assert walk(author_id=austen_id) == ["Persuasion"]
    # A cursor is the API's: made for another order, or made up, it is a 422.
    title_cursor = client.get("/books", params={"sort": "title", "limit": 1}).json()["next"]
    assert client.get("/books", params={"sort": "year", "after": title_cursor}
                      ).status_code == 422
    assert client.get("/books", params={"after": "bm90IGpzb24"}).status_code == 422
    # LIKE's wildcards are searched for as text.
    assert walk(title="%") == []


def test_an_update_needs_the_current_etag_in_if_match(client: TestClient) -> None:
    admin = login(client, ADMIN)
    book = add_book(client, admin, copies=2)
    read = client.get(f"/books/{book['id']}")
    etag = read.headers["etag"]
    assert etag == '"v1"'
    assert client.get(f"/books/{book['id']}", headers={"If-None-Match": etag}
                      ).status_code == 304
    change = {"title": "Dune (1965)"}
    assert client.patch(f"/books/{book['id']}", json=change, headers=admin).status_code == 428
    updated = client.patch(f"/books/{book['id']}", json=change, headers=admin | {
        "If-Match": etag})
    assert updated.status_code == 200
    assert updated.headers["etag"] == '"v2"'
    assert updated.json()["title"] == "Dune (1965)"
    # Another editor who read version 1 is told, not allowed to overwrite.
    stale = client.patch(f"/books/{book['id']}", json={"title": "Dune!"}, headers=admin | {
        "If-Match": etag})
    assert stale.status_code == 412
    assert client.get(f"/books/{book['id']}").json()["title"] == "Dune (1965)"
    blank = client.patch(f"/books/{book['id']}", json={"title": "   "}, headers=admin | {
        "If-Match": '"v2"'})
    assert blank.status_code == 422
    # Copies: the shelf follows; fewer than are on loan is refused.
    member = login(client, "ada@example.com")
    assert client.post(f"/books/{book['id']}/loans", headers=member).status_code == 201
    fewer = client.patch(f"/books/{book['id']}", json={"copies": 0},
                         headers=admin | {"If-Match": '"v2"'})
    assert fewer.status_code == 409
    more = client.patch(f"/books/{book['id']}", json={"copies": 5},
                        headers=admin | {"If-Match": '"v2"'})
    assert (more.json()["copies"], more.json()["available"]) == (5, 4)


def test_a_retried_post_with_the_same_idempotency_key_makes_one_book(client: TestClient) -> None:
    admin = login(client, ADMIN)
    author = client.post("/authors", json={"name": "N. K. Jemisin"}, headers=admin).json()
    body = {"title": "The Fifth Season", "author_id": author["id"], "year": 2015}
    key = admin | {"Idempotency-Key": '"retry-me"'}
    first = client.post("/books", json=body, headers=key)
    second = client.post("/books", json=body, headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert len(client.get("/books").json()["items"]) == 1
    other = client.post("/books", json={**body, "year": 2016}, headers=key)
    assert other.status_code == 422  # the same key with another body


class CountingBooks(BookRepository):
    """The real repository, counting the pages it reads (a spy, given through DI)."""

    pages = 0

    async def page(self, **criteria: Any) -> Any:
        CountingBooks.pages += 1
        return await super().page(**criteria)


@pytest.mark.parametrize("cached", [True, False])
def test_the_catalogue_is_cached_until_a_write_invalidates_it(
    sql_url: str, tmp_path: Path, cached: bool
) -> None:
    shelf = build(settings_for(sql_url, tmp_path, cache_catalogue=cached), hasher=CHEAP)
    CountingBooks.pages = 0

    async def counting_books(db: Database) -> CountingBooks:
        return CountingBooks(db)

    with TestClient(shelf.app, base_url="https://testserver") as client:
        admin = login(client, ADMIN)
        add_book(client, admin, "Dune")
        shelf.app.dependency_overrides[get_books] = counting_books
        reads = lambda: CountingBooks.pages  # noqa: E731
        assert [b["title"] for b in client.get("/books").json()["items"]] == ["Dune"]
        assert [b["title"] for b in client.get("/books").json()["items"]] == ["Dune"]
        assert reads() == (1 if cached else 2)
        shelf.app.dependency_overrides.clear()
        add_book(client, admin, "Emma")  # a write: the cached pages are stale now
        shelf.app.dependency_overrides[get_books] = counting_books
        assert [b["title"] for b in client.get("/books").json()["items"]] == ["Emma", "Dune"]
        # With credentials the answer is personal: never from the shared cache.
        client.get("/books", headers=admin)
        assert reads() == (3 if cached else 4)


def test_writes_are_limited_per_user(sql_url: str, tmp_path: Path) -> None:
    with open_client(sql_url, tmp_path, write_limit="2/minute") as client:
        admin = login(client, ADMIN)
        book = add_book(client, admin)  # two writes: the author, the book
        ada, bob = login(client, "ada@example.com"), login(client, "bob@example.com")
        review = {"rating": 5, "body": "Spice."}
        assert client.post(f"/books/{book['id']}/reviews", json=review, headers=ada
                           ).status_code == 201
        assert client.post(f"/books/{book['id']}/loans", headers=ada).status_code == 201
        limited = client.post(f"/books/{book['id']}/reviews", json=review, headers=ada)
        assert limited.status_code == 429
        assert "retry-after" in limited.headers
        # Bob's quota is his own.
        assert client.post(f"/books/{book['id']}/reviews", json=review, headers=bob
                           ).status_code == 201


# -- loans, receipts, reviews -------------------------------------------------------


def wait_for_receipt(client: TestClient, loan_id: int, member: dict[str, str]) -> dict[str, Any]:
    for _ in range(600):  # the job runs in this process's embedded worker
        loan = client.get(f"/loans/{loan_id}", headers=member).json()
        if loan["receipt_sent_at"] is not None:
            return dict(loan)
        time.sleep(0.02)
    raise AssertionError(f"no receipt for loan {loan_id}")


def test_a_loan_takes_a_copy_mails_a_receipt_and_a_return_puts_it_back(
    capsys: pytest.CaptureFixture[str], client: TestClient
) -> None:
    admin, ada = login(client, ADMIN), login(client, "ada@example.com")
    book = add_book(client, admin, copies=1)
    loan = client.post(f"/books/{book['id']}/loans", headers=ada)
    assert loan.status_code == 201
    assert client.get(f"/books/{book['id']}").json()["available"] == 0
    bob = login(client, "bob@example.com")
    assert client.post(f"/books/{book['id']}/loans", headers=bob).status_code == 409
    assert client.post("/books/999/loans", headers=bob).status_code == 404
    wait_for_receipt(client, loan.json()["id"], ada)
    err = capsys.readouterr().err
    assert "mail to ada@example.com: You borrowed Dune" in err, err[:3000]
    assert client.get(f"/loans/{loan.json()['id']}", headers=bob).status_code == 404
    returned = client.post(f"/loans/{loan.json()['id']}/return", headers=ada)
    assert returned.status_code == 200 and returned.json()["returned_at"] is not None
    assert client.post(f"/loans/{loan.json()['id']}/return", headers=ada).status_code == 409
    assert client.get(f"/books/{book['id']}").json()["available"] == 1
    assert [x["id"] for x in client.get("/loans", headers=ada).json()] == [loan.json()["id"]]


def test_a_failing_mailer_is_retried_by_the_job_queue(sql_url: str, tmp_path: Path) -> None:
    shelf = build(settings_for(sql_url, tmp_path), hasher=CHEAP)
    tries: list[str] = []

    class FlakyMailer:
        async def send(self, to: str, subject: str, body: str) -> None:
            tries.append(to)
            if len(tries) == 1:
                raise ConnectionError("the mail server is down")

    async def flaky() -> FlakyMailer:
        return mailer

    mailer = FlakyMailer()
    shelf.app.dependency_overrides[get_mailer] = flaky
    with TestClient(shelf.app, base_url="https://testserver") as client:
        admin, ada = login(client, ADMIN), login(client, "ada@example.com")
        book = add_book(client, admin)
        loan = client.post(f"/books/{book['id']}/loans", headers=ada).json()
        wait_for_receipt(client, loan["id"], ada)
    assert tries == ["ada@example.com", "ada@example.com"]


def test_reviews_are_one_per_member_and_paged(client: TestClient) -> None:
    admin = login(client, ADMIN)
    book = add_book(client, admin)
    for n in range(3):
        member = login(client, f"reader{n}@example.com")
        made = client.post(f"/books/{book['id']}/reviews", json={"rating": n + 1,
                                                                 "body": f"review {n}"},
                           headers=member)
        assert made.status_code == 201
    again = client.post(f"/books/{book['id']}/reviews", json={"rating": 1, "body": "x"},
                        headers=member)
    assert again.status_code == 409
    assert client.post(f"/books/{book['id']}/reviews", json={"rating": 6, "body": "x"},
                       headers=member).status_code == 422
    first = client.get(f"/books/{book['id']}/reviews", params={"limit": 2}).json()
    rest = client.get(f"/books/{book['id']}/reviews", params={"after": first["next"]}).json()
    assert [r["body"] for r in first["items"] + rest["items"]] == [
        "review 0", "review 1", "review 2"]
    assert client.get("/books/999/reviews").status_code == 404


# -- covers, the feed ----------------------------------------------------------------


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_a_cover_is_stored_with_a_thumbnail_behind_signed_links(client: TestClient) -> None:
    admin = login(client, ADMIN)
    book = add_book(client, admin)
    assert client.get(f"/books/{book['id']}/cover").status_code == 404
    image = png(600, 900)
    sent = client.put(f"/books/{book['id']}/cover", content=image,
                      headers=admin | {"content-type": "image/png"})
    assert sent.status_code == 200, sent.text
    links = client.get(f"/books/{book['id']}/cover").json()
    assert client.get(links["original"]).content == image
    small = Image.open(io.BytesIO(client.get(links["thumbnail"]).content))
    assert small.size == (171, 256)
    tampered = links["original"].replace("expires=", "expires=9")
    assert client.get(tampered).status_code == 403
    assert client.get(f"/books/{book['id']}").json()["has_cover"] is True
    assert client.put(f"/books/{book['id']}/cover", content=b"GIF89a not really",
                      headers=admin | {"content-type": "image/gif"}).status_code == 422
    assert client.put(f"/books/{book['id']}/cover", content=b"%PDF",
                      headers=admin | {"content-type": "application/pdf"}).status_code == 415
    member = login(client, "ada@example.com")
    assert client.put(f"/books/{book['id']}/cover", content=image,
                      headers=member | {"content-type": "image/png"}).status_code == 403


def test_the_feed_announces_each_new_book(client: TestClient) -> None:
    admin = login(client, ADMIN)
    with client.websocket_connect("/feed") as feed:
        assert feed.receive_json()["event"] == "subscribed"
        book = add_book(client, admin, "Kindred", author="Octavia E. Butler", year=1979)
        event = feed.receive_json()
    assert event == {"event": "book.created", "book": book}


# -- the repositories, on both databases ----------------------------------------------


@pytest.mark.anyio
async def test_only_one_of_many_concurrent_borrowers_takes_the_last_copy(sql_url: str) -> None:
    import anyio

    from examples.bookshelf.app import MIGRATIONS
    from examples.bookshelf.repositories import AuthorRepository, BookRepository
    from minimal_asgi_sql import Database, migrate

    async with Database(sql_url) as db:
        await migrate(db, MIGRATIONS / db.dialect)
        author = await AuthorRepository(db).add("A")
        book = await BookRepository(db).add("B", author["id"], 2000, copies=1)
        results: list[bool] = []

        async def borrow() -> None:
            results.append(await BookRepository(db).take_copy(book["id"]))

        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(borrow)
        assert sorted(results) == [False] * 9 + [True]
        assert (await BookRepository(db).get(book["id"]))["available"] == 0  # type: ignore[index]


@pytest.mark.anyio
async def test_a_versioned_update_changes_nothing_for_a_stale_version(sql_url: str) -> None:
    from examples.bookshelf.app import MIGRATIONS
    from examples.bookshelf.repositories import AuthorRepository, BookRepository
    from minimal_asgi_sql import Database, migrate

    async with Database(sql_url) as db:
        await migrate(db, MIGRATIONS / db.dialect)
        books = BookRepository(db)
        book = await books.add("B", (await AuthorRepository(db).add("A"))["id"], 2000, 1)
        assert await books.update(book["id"], 1, {"title": "C"}) is not None
        assert await books.update(book["id"], 1, {"title": "D"}) is None
        assert (await books.get(book["id"]))["title"] == "C"  # type: ignore[index]


# -- logs, trace, OpenAPI, settings ---------------------------------------------------


def test_logs_are_json_lines_carrying_the_request_id(
    sql_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_client(sql_url, tmp_path, json_logs=True) as client:
        capsys.readouterr()
        client.get("/books", headers={"X-Request-ID": "req-42"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()
             if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "minimal_asgi.access"]
    assert access[-1]["request_id"] == "req-42"
    assert access[-1]["path"] == "/books" and access[-1]["status"] == 200


def test_the_lifecycle_trace_is_switched_on_by_an_environment_variable(
    sql_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MINIMAL_ASGI_TRACE", "1")
    with open_client(sql_url, tmp_path) as client:
        capsys.readouterr()
        client.get("/books")
    assert "minimal_asgi.trace" in capsys.readouterr().err


def test_the_openapi_document_declares_the_security_schemes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert {scheme["type"] for scheme in schemes.values()} >= {"http", "apiKey"}
    assert "security" in document["paths"]["/books"]["post"]
    assert client.get("/docs").status_code == 200


def test_production_refuses_the_laptop_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from examples.bookshelf.settings import load
    from minimal_asgi import ConfigurationError

    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ConfigurationError) as refused:
        load()
    message = str(refused.value)
    for variable in ("DATABASE_URL", "REDIS_URL", "BOOKSHELF_JWT_SECRET",
                     "BOOKSHELF_STORAGE_SIGNING_KEY"):
        assert variable in message


@pytest.mark.parametrize("cached", [True, False])
def test_a_cached_catalogue_page_is_served_without_a_thread_hop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cached: bool
) -> None:
    """On SQLite every query runs in a worker thread; a cached page runs none,
    through every plugin and middleware of the app (benchmarks/bookshelf_read.py
    serves it on one pinned CPU, where a thread hop costs most)."""
    hops: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__name__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    with open_client("sqlite://:memory:", tmp_path, cache_catalogue=cached) as client:
        admin = login(client, ADMIN)
        add_book(client, admin, "Dune")
        first = client.get("/books?sort=title&limit=20")
        monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
        again = [client.get("/books?sort=title&limit=20") for _ in range(3)]
        monkeypatch.undo()  # closing the database at shutdown is not a read
    assert [r.json() for r in again] == [first.json()] * 3
    assert all(("age" in r.headers) == cached for r in again)
    if cached:
        assert hops == [], f"a cached page went through a worker thread: {hops}"
    else:
        assert len(hops) >= 3  # each uncached read queries SQLite in a thread

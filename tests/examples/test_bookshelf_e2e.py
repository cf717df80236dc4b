"""examples/bookshelf end to end: uvicorn with two worker processes, on a real
PostgreSQL (a schema of its own) and a real Redis (a key prefix of its own),
driven over HTTP and WebSocket the way clients would.

The scenario: sign up, log in, refresh; an admin adds books; members borrow
the last copy at the same moment (exactly one wins, every time); a cover is
uploaded and its signed links work whichever worker serves them; the receipt
job runs; and a WebSocket client on each worker hears of each new book.
"""

from __future__ import annotations

import io
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from PIL import Image
from websockets.asyncio.client import ClientConnection, connect

from tests.server.servers import ServerProcess, free_port

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"
ADMIN = "admin@example.com"


async def subscribe(port: int) -> tuple[ClientConnection, int]:
    client = await connect(f"ws://127.0.0.1:{port}/feed")
    hello = json.loads(await client.recv())
    assert hello["event"] == "subscribed"
    return client, int(hello["worker"])


async def login(http: httpx.AsyncClient, email: str) -> dict[str, Any]:
    made = await http.post("/accounts", json={"email": email, "password": PASSWORD})
    assert made.status_code == 201, made.text
    response = await http.post("/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def test_bookshelf_under_two_uvicorn_workers_on_postgres_and_redis(
    pg_url: str, redis_url: str, redis_prefix: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()
    environment = {
        "DATABASE_URL": pg_url, "REDIS_URL": redis_url, "BOOKSHELF_REDIS_PREFIX": redis_prefix,
        # Shared by both workers: a token or a link one signs, the other accepts.
        "BOOKSHELF_JWT_SECRET": uuid.uuid4().hex * 2,
        "BOOKSHELF_STORAGE_SIGNING_KEY": uuid.uuid4().hex * 2,
        "BOOKSHELF_STORAGE_ROOT": str(tmp_path / "covers"),
        "BOOKSHELF_ADMIN_EMAILS": ADMIN, "BOOKSHELF_WRITE_LIMIT": "1000/minute",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)  # read by the workers, which inherit them
    command = [
        sys.executable, "-m", "uvicorn", "examples.bookshelf.app:app",
        "--workers", "2", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with ServerProcess.command_line(command, port) as server:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            with anyio.fail_after(120):
                await _scenario(http, port, server)


async def _scenario(http: httpx.AsyncClient, port: int, server: ServerProcess) -> None:
    # Ready: the database migrated (once: the workers take turns on a lock).
    while (await http.get("/health/ready")).status_code != 200:
        await anyio.sleep(0.2)

    # A feed subscriber on each worker (the kernel picks the worker for each
    # connection: open some until two processes answer).
    feeds: dict[int, ClientConnection] = {}
    extra: list[ClientConnection] = []
    for _ in range(50):
        client, worker = await subscribe(port)
        if worker in feeds:
            extra.append(client)
        else:
            feeds[worker] = client
        if len(feeds) == 2:
            break
    assert len(feeds) == 2, "every connection went to one worker"

    # Sign up, log in, refresh: rotation spends the old refresh token.
    admin = await login(http, ADMIN)
    ada, bob = await login(http, "ada@example.com"), await login(http, "bob@example.com")
    assert (await http.get("/me", headers=bearer(admin))).json()["roles"] == ["admin", "member"]
    rotated = await http.post("/refresh", json={"refresh_token": ada["refresh_token"]})
    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != ada["refresh_token"]
    ada = rotated.json()
    assert (await http.post("/refresh", json={"refresh_token": "x" * 40})).status_code == 401
    assert (await http.get("/me", headers=bearer(ada))).json()["roles"] == ["member"]

    # An admin adds an author and books; a member may not.
    author = await http.post("/authors", json={"name": "Ursula K. Le Guin"},
                             headers=bearer(admin))
    assert author.status_code == 201, author.text
    author_id = author.json()["id"]
    forbidden = await http.post("/books", headers=bearer(ada), json={
        "title": "Nope", "author_id": author_id, "year": 2000})
    assert forbidden.status_code == 403

    # A retried POST with the same Idempotency-Key gets the first answer.
    book_body = {"title": "The Dispossessed", "author_id": author_id, "year": 1974,
                 "copies": 1}
    key = {"Idempotency-Key": f'"{uuid.uuid4().hex}"'}
    first = await http.post("/books", json=book_body, headers=bearer(admin) | key)
    again = await http.post("/books", json=book_body, headers=bearer(admin) | key)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"]
    book = first.json()

    # Each feed subscriber, one per worker, hears of the new book.
    for client in feeds.values():
        event = json.loads(await client.recv())
        assert event["event"] == "book.created"
        assert event["book"]["title"] == "The Dispossessed"

    # Two members borrow the last copy at once, over separate connections:
    # exactly one wins, every round.
    winners: list[tuple[str, int]] = []
    for round_ in range(5):
        if round_:
            made = await http.post("/books", headers=bearer(admin), json={
                "title": f"Copy race {round_}", "author_id": author_id, "year": 2000})
            race_book = made.json()
            for client in feeds.values():
                assert json.loads(await client.recv())["book"]["id"] == race_book["id"]
        else:
            race_book = book
        statuses: dict[str, tuple[int, dict[str, Any]]] = {}

        async def borrow(name: str, tokens: dict[str, Any], book_id: int,
                         statuses: dict[str, tuple[int, dict[str, Any]]]) -> None:
            async with httpx.AsyncClient(base_url=str(http.base_url), timeout=30) as own:
                response = await own.post(f"/books/{book_id}/loans", headers=bearer(tokens))
                statuses[name] = (response.status_code, response.json())

        async with anyio.create_task_group() as group:
            group.start_soon(borrow, "ada", ada, race_book["id"], statuses)
            group.start_soon(borrow, "bob", bob, race_book["id"], statuses)
        assert sorted(status for status, _ in statuses.values()) == [201, 409], statuses
        winner = next(name for name, (status, _) in statuses.items() if status == 201)
        winners.append((winner, statuses[winner][1]["id"]))
        shelf = (await http.get(f"/books/{race_book['id']}")).json()
        assert shelf["available"] == 0

    # The receipt job ran for every loan (a worker of either process took it).
    for name, loan_id in winners:
        tokens = ada if name == "ada" else bob
        while True:
            loan = (await http.get(f"/loans/{loan_id}", headers=bearer(tokens))).json()
            if loan["receipt_sent_at"] is not None:
                break
            await anyio.sleep(0.1)
    mail_lines = [json.loads(line) for line in server.lines
                  if line.startswith("{") and '"examples.bookshelf.mail"' in line]
    assert {line["subject"] for line in mail_lines} >= {"You borrowed The Dispossessed"}

    # A cover: stored with a thumbnail; its signed links open on any worker.
    cover = await http.put(f"/books/{book['id']}/cover", content=png(800, 1200),
                           headers=bearer(admin) | {"content-type": "image/png"})
    assert cover.status_code == 200, cover.text
    links = cover.json()
    for _ in range(4):  # several requests: both workers serve them
        original = await http.get(links["original"])
        assert original.status_code == 200
        assert original.content == png(800, 1200)
    thumbnail = Image.open(io.BytesIO((await http.get(links["thumbnail"])).content))
    assert max(thumbnail.size) == 256
    forged = links["original"].replace("original.png", "thumbnail.png")
    assert (await http.get(forged)).status_code == 403

    # Every access line is JSON, with a request id.
    access = [json.loads(line) for line in server.lines
              if line.startswith("{") and '"minimal_asgi.access"' in line]
    assert access and all(line["request_id"] for line in access)

    for client in [*feeds.values(), *extra]:
        await client.close()

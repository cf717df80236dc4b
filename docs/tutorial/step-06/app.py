"""Step 06: the notes go into a database, through the SQL plugin.

``SQL(url)`` is a plugin: it connects when the app starts (a wrong URL fails
the start, not the first request), disconnects when it stops, and hands a
``Database`` to any parameter annotated with it. ``Depends(transaction)``
makes everything an endpoint writes one transaction, committed just before
the response is sent: if the COMMIT fails the client gets the error, never a
``201`` for a note that does not exist. The ``NoteStore`` of step 04 is gone;
the queries are written with the plugin's query builder.

The database is SQLite in memory unless ``DATABASE_URL`` says otherwise:
``sqlite:///notes.db`` (a file next to you: three slashes, a relative path),
``sqlite:////var/data/notes.db`` (four: an absolute path), or
``postgresql://user@127.0.0.1:5432/notes`` for PostgreSQL.

Run:  uvicorn app:app --port 8000     (from this folder)
"""

import os
import uuid
from dataclasses import dataclass
from typing import Annotated

from minimal_asgi import App, Depends, Ge, HTTPException, Le, MaxLen, MinLen
from minimal_asgi_sql import (
    SQL,
    Column,
    Database,
    Integer,
    Table,
    Text,
    insert,
    select,
    transaction,
)

notes = Table(
    "notes",
    Column("id", Integer, primary_key=True),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
)


class RequestIdMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        for name, value in scope["headers"]:
            if name == b"x-request-id" and 0 < len(value) <= 64:
                request_id = value.decode("latin-1")

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


@dataclass
class NewNote:
    title: Annotated[str, MinLen(1), MaxLen(200)]
    body: str = ""


@dataclass
class Page:
    limit: int
    offset: int


async def pagination(
    limit: Annotated[int, Ge(1), Le(100)] = 10, offset: Annotated[int, Ge(0)] = 0
) -> Page:
    return Page(limit, offset)


def create_app(database_url: str | None = None) -> App:
    """A function, so that a test can build an app on a database of its own."""
    sql = SQL(database_url or os.environ.get("DATABASE_URL", "sqlite://:memory:"))
    app = App(plugins=[sql])  # the plugin's startup runs before the hooks below
    app.add_middleware(RequestIdMiddleware)

    @app.on_startup
    async def create_tables() -> None:
        # Fine for a tutorial; a real app keeps its schema in migrations (chapter 12).
        await sql.database.execute(notes.create(if_not_exists=True))

    @app.get("/notes")
    async def list_notes(db: Database, page: Page = Depends(pagination)) -> list:
        query = select(notes).order_by(notes.c.id).limit(page.limit).offset(page.offset)
        return await db.fetch_all(query)

    @app.get("/notes/{note_id:int}")
    async def read_note(note_id: int, db: Database) -> dict:
        note = await db.fetch_one(select(notes).where(notes.c.id == note_id))
        if note is None:
            raise HTTPException(404, f"there is no note {note_id}")
        return note

    @app.post("/notes", status_code=201)
    async def create_note(new: NewNote, db: Database = Depends(transaction)) -> dict:
        query = insert(notes).values(title=new.title, body=new.body).returning(*notes.c)
        return await db.fetch_one(query)

    return app


app = create_app()

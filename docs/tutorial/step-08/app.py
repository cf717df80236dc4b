"""Step 08: the finished app, and its tests (test_app.py, beside this file).

The code is step 07's; what is new is ``test_app.py``. Each test builds a
fresh app on its own in-memory database with ``create_app(...)`` - that is
why step 06 made the app a function - and drives it in-process with
``TestClient``: no server, no sockets, the lifespan run for real, so the
table exists and the plugin is connected. Run them with
``pytest test_app.py`` from this folder.

Run:  uvicorn app:app --port 8000     (from this folder)
"""

import contextlib
import os
import uuid
from dataclasses import dataclass
from typing import Annotated

import anyio

from minimal_asgi import (
    App,
    BackgroundTasks,
    Depends,
    Ge,
    HTTPException,
    Le,
    MaxLen,
    MinLen,
    WebSocket,
    WebSocketDisconnect,
)
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


class Broadcaster:
    """One bounded queue per open socket; ``publish`` puts a note in each."""

    def __init__(self):
        self.queues: set[anyio.abc.ObjectSendStream] = set()

    @contextlib.asynccontextmanager
    async def subscribe(self):
        send, receive = anyio.create_memory_object_stream[dict](16)
        self.queues.add(send)
        try:
            yield receive
        finally:
            self.queues.discard(send)
            send.close()
            receive.close()

    async def publish(self, note: dict) -> None:
        for queue in list(self.queues):
            try:
                queue.send_nowait(note)
            except anyio.WouldBlock:
                pass  # a socket 16 notes behind misses one, rather than slowing everyone


def create_app(database_url: str | None = None) -> App:
    """A function, so that a test can build an app on a database of its own."""
    sql = SQL(database_url or os.environ.get("DATABASE_URL", "sqlite://:memory:"))
    app = App(plugins=[sql])  # the plugin's startup runs before the hooks below
    app.add_middleware(RequestIdMiddleware)
    hub = Broadcaster()

    async def get_hub() -> Broadcaster:
        return hub

    app.provide(Broadcaster, get_hub)

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
    async def create_note(
        new: NewNote, tasks: BackgroundTasks, hub: Broadcaster, db: Database = Depends(transaction)
    ) -> dict:
        query = insert(notes).values(title=new.title, body=new.body).returning(*notes.c)
        note = await db.fetch_one(query)
        tasks.add_task(hub.publish, note)  # after the response: after the COMMIT
        return note

    @app.websocket("/notes/live")
    async def live_notes(websocket: WebSocket, hub: Broadcaster) -> None:
        async with hub.subscribe() as queue:  # subscribed before accepting: no note is missed
            await websocket.accept()
            async with anyio.create_task_group() as tasks:

                async def forward() -> None:
                    async for note in queue:
                        await websocket.send_json(note)

                tasks.start_soon(forward)
                try:
                    while True:  # the client sends nothing; this waits for it to leave
                        await websocket.receive_text()
                except WebSocketDisconnect:
                    tasks.cancel_scope.cancel()

    return app


app = create_app()

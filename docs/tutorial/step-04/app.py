"""Step 04: dependency injection - endpoints ask, the app provides.

The endpoints no longer reach for a global dict: they declare what they need
as parameters. ``store: NoteStore`` is filled by ``app.provide`` (one store
for the app); ``page: Page = Depends(pagination)`` by a function that reads
the query string. The framework works out, once at startup, how to build each
endpoint's arguments; a test can swap any of them (step 08).

Run:  uvicorn app:app --port 8000     (from this folder)
"""

import uuid
from dataclasses import dataclass

from minimal_asgi import App, Depends, HTTPException, Request


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


class NoteStore:
    """Where notes live. Still a dict; step 06 puts them in a database."""

    def __init__(self):
        self.notes: dict[int, dict] = {}

    def add(self, title: str) -> dict:
        note = {"id": len(self.notes) + 1, "title": title}
        self.notes[note["id"]] = note
        return note

    def get(self, note_id: int) -> dict | None:
        return self.notes.get(note_id)

    def list(self, limit: int, offset: int) -> list[dict]:
        return list(self.notes.values())[offset : offset + limit]


@dataclass
class Page:
    limit: int
    offset: int


async def pagination(limit: int = 10, offset: int = 0) -> Page:
    # limit and offset come from the query string: ?limit=2&offset=1
    return Page(limit, offset)


app = App()
app.add_middleware(RequestIdMiddleware)
store = NoteStore()


async def get_store() -> NoteStore:  # async: called on the event loop, no thread needed
    return store


app.provide(NoteStore, get_store)


@app.get("/notes")
async def list_notes(store: NoteStore, page: Page = Depends(pagination)) -> list:
    return store.list(page.limit, page.offset)


@app.get("/notes/{note_id:int}")
async def read_note(note_id: int, store: NoteStore) -> dict:
    note = store.get(note_id)
    if note is None:
        raise HTTPException(404, f"there is no note {note_id}")
    return note


@app.post("/notes", status_code=201)
async def create_note(request: Request, store: NoteStore) -> dict:
    data = await request.json()
    return store.add(data["title"])

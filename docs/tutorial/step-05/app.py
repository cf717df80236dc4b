"""Step 05: validation - untrusted input becomes typed values, or a 422.

``create_note`` no longer reads ``request.json()`` and hopes: it declares a
``NewNote`` dataclass, and the framework checks the JSON body against it
before the endpoint runs. A missing title, an empty one, a number where text
belongs, an unknown field: each is listed, with where it was, in one 422
answer. The query string gets the same treatment: ``limit`` must be 1-100.

Run:  uvicorn app:app --port 8000     (from this folder)
"""

import uuid
from dataclasses import dataclass
from typing import Annotated

from minimal_asgi import App, Depends, Ge, HTTPException, Le, MaxLen, MinLen


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

    def add(self, title: str, body: str) -> dict:
        note = {"id": len(self.notes) + 1, "title": title, "body": body}
        self.notes[note["id"]] = note
        return note

    def get(self, note_id: int) -> dict | None:
        return self.notes.get(note_id)

    def list(self, limit: int, offset: int) -> list[dict]:
        return list(self.notes.values())[offset : offset + limit]


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
async def create_note(new: NewNote, store: NoteStore) -> dict:
    return store.add(new.title, new.body)

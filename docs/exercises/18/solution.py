"""Exercise 18, solved: ETag and 304 Not Modified, by hand."""

import hashlib
import json
from dataclasses import dataclass

from minimal_asgi import App, HTTPException, Request, Response

app = App()
NOTES = {1: {"id": 1, "title": "milk", "body": "2 litres"}}


@dataclass
class NoteUpdate:
    title: str
    body: str


def matches(if_none_match: str, etag: str) -> bool:
    """The weak comparison RFC 9110 asks of If-None-Match: W/"x" matches "x"."""
    if if_none_match.strip() == "*":
        return True
    tags = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return etag in tags


@app.get("/notes/{note_id:int}")
async def read_note(note_id: int, request: Request) -> Response:
    if note_id not in NOTES:
        raise HTTPException(404, f"there is no note {note_id}")
    body = json.dumps(NOTES[note_id], separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if matches(request.headers.get("if-none-match", ""), etag):
        return Response(b"", status_code=304, headers=headers)
    return Response(body, headers={**headers, "Content-Type": "application/json"})


@app.put("/notes/{note_id:int}")
async def update_note(note_id: int, update: NoteUpdate) -> dict:
    NOTES[note_id] = {"id": note_id, "title": update.title, "body": update.body}
    return NOTES[note_id]

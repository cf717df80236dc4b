"""Exercise 18: ETag and 304 Not Modified, by hand. See README.md."""

from dataclasses import dataclass

from minimal_asgi import App, HTTPException, Request

app = App()
NOTES = {1: {"id": 1, "title": "milk", "body": "2 litres"}}


@dataclass
class NoteUpdate:
    title: str
    body: str


@app.get("/notes/{note_id:int}")
async def read_note(note_id: int, request: Request) -> dict:
    if note_id not in NOTES:
        raise HTTPException(404, f"there is no note {note_id}")
    return NOTES[note_id]  # TODO: an ETag, and 304 when If-None-Match matches


@app.put("/notes/{note_id:int}")
async def update_note(note_id: int, update: NoteUpdate) -> dict:
    NOTES[note_id] = {"id": note_id, "title": update.title, "body": update.body}
    return NOTES[note_id]

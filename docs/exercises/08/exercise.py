"""Exercise 08: describe the routes in OpenAPI. See README.md."""

from minimal_asgi import App, HTTPException

app = App(title="Notes")
NOTES = {1: {"id": 1, "title": "milk"}}


@app.get("/notes")
async def list_notes(q: str | None = None) -> list:
    return [n for n in NOTES.values() if q is None or q in n["title"]]


@app.get("/notes/{note_id:int}")
async def read_note(note_id: int) -> dict:
    if note_id not in NOTES:
        raise HTTPException(404, f"there is no note {note_id}")
    return NOTES[note_id]


@app.get("/notes/search")
async def search_notes(q: str) -> list:
    return [n for n in NOTES.values() if q in n["title"]]


@app.get("/internal/stats")
async def stats() -> dict:
    return {"notes": len(NOTES)}

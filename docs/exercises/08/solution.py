"""Exercise 08, solved: the routes described in OpenAPI."""

from minimal_asgi import App, HTTPException

app = App(title="Notes")
NOTES = {1: {"id": 1, "title": "milk"}}


@app.get("/notes", tags=["notes"])
async def list_notes(q: str | None = None) -> list:
    """List the notes"""
    return [n for n in NOTES.values() if q is None or q in n["title"]]


@app.get("/notes/{note_id:int}", tags=["notes"])
async def read_note(note_id: int) -> dict:
    """Read one note

    Answers 404 when there is no note with that id.
    """
    if note_id not in NOTES:
        raise HTTPException(404, f"there is no note {note_id}")
    return NOTES[note_id]


@app.get("/notes/search", tags=["notes"], deprecated=True)
async def search_notes(q: str) -> list:
    """Search the notes (use GET /notes?q= instead)"""
    return [n for n in NOTES.values() if q in n["title"]]


@app.get("/internal/stats", include_in_schema=False)
async def stats() -> dict:
    return {"notes": len(NOTES)}

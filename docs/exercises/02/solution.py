"""Exercise 02, solved: statuses and headers that say what happened."""

from dataclasses import dataclass

from minimal_asgi import App, HTTPException, JSONResponse, PlainTextResponse

app = App()


@dataclass
class NewNote:
    title: str


NOTES: dict[int, dict] = {}


@app.post("/notes")
async def create_note(note: NewNote) -> JSONResponse:
    new = {"id": len(NOTES) + 1, "title": note.title}
    NOTES[new["id"]] = new
    return JSONResponse(new, status_code=201, headers={"Location": f"/notes/{new['id']}"})


@app.get("/notes/{note_id:int}/download")
async def download(note_id: int) -> PlainTextResponse:
    if note_id not in NOTES:
        raise HTTPException(404, f"there is no note {note_id}")
    disposition = f'attachment; filename="note-{note_id}.txt"'
    return PlainTextResponse(NOTES[note_id]["title"], headers={"Content-Disposition": disposition})


@app.delete("/notes/{note_id:int}")
async def delete_note(note_id: int) -> None:
    NOTES.pop(note_id, None)  # deleting twice is no error: DELETE is idempotent

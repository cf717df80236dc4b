"""Exercise 02: statuses and headers that say what happened. See README.md."""

from dataclasses import dataclass

from minimal_asgi import App, HTTPException

app = App()


@dataclass
class NewNote:
    title: str


NOTES: dict[int, dict] = {}


@app.post("/notes")
async def create_note(note: NewNote) -> dict:
    new = {"id": len(NOTES) + 1, "title": note.title}
    NOTES[new["id"]] = new
    return new  # TODO: 201, and a Location header


@app.get("/notes/{note_id:int}/download")
async def download(note_id: int) -> dict:
    if note_id not in NOTES:
        raise HTTPException(404, f"there is no note {note_id}")
    return NOTES[note_id]  # TODO: the title as a text file to save


@app.delete("/notes/{note_id:int}")
async def delete_note(note_id: int) -> dict:
    NOTES.pop(note_id, None)
    return {"deleted": note_id}  # TODO: 204, no body

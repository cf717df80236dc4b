"""Step 02: the same app on minimal_asgi, with routes.

``App`` is still one ASGI callable (``await app(scope, receive, send)``), but
it matches the method and path to a function for us, turns what the function
returns into a response, and answers 404, 405 and lifespan messages itself.
The notes live in a dict for now: they vanish when the server stops.

Run:  uvicorn app:app --port 8000     (from this folder)
"""

from minimal_asgi import App, HTTPException, Request

app = App()
NOTES: dict[int, dict] = {}


@app.get("/notes")
async def list_notes() -> list:
    return list(NOTES.values())


@app.get("/notes/{note_id:int}")
async def read_note(note_id: int) -> dict:
    if note_id not in NOTES:
        raise HTTPException(404, f"there is no note {note_id}")
    return NOTES[note_id]


@app.post("/notes", status_code=201)
async def create_note(request: Request) -> dict:
    data = await request.json()  # not checked yet: step 05 fixes that
    note = {"id": len(NOTES) + 1, "title": data["title"]}
    NOTES[note["id"]] = note
    return note

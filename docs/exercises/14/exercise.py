"""Exercise 14: CORS for one front-end, with credentials. See README.md."""

from minimal_asgi import App
from minimal_asgi_cors import CORS

app = App(plugins=[CORS(allow_origins=["*"])])  # TODO: one origin, credentials, ...


@app.get("/notes")
async def list_notes() -> list:
    return [{"id": 1, "title": "milk"}]


@app.patch("/notes/{note_id:int}")
async def update_note(note_id: int) -> dict:
    return {"id": note_id}

"""Exercise 14, solved: CORS for one front-end, with credentials."""

from minimal_asgi import App
from minimal_asgi_cors import CORS

app = App(
    plugins=[
        CORS(
            allow_origins=["https://notes.example"],
            allow_methods=["GET", "POST", "PATCH"],
            allow_headers=["Content-Type", "X-Request-ID"],
            allow_credentials=True,
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    ]
)


@app.get("/notes")
async def list_notes() -> list:
    return [{"id": 1, "title": "milk"}]


@app.patch("/notes/{note_id:int}")
async def update_note(note_id: int) -> dict:
    return {"id": note_id}

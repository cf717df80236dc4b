"""Apps whose ``/docs`` pages the tests open: tests/core/test_docs_ui.py in
process, tests/test_browser_docs.py under uvicorn in headless Chromium
(``uvicorn --factory tests.docs_apps:notes_swagger_ui``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from minimal_asgi import App, HTTPException, MinLen, OpenAPISecurity, Request

API_KEY = "let-me-in"


def api_key_guard(request: Request) -> None:
    # Read from the request, not as a Header() parameter: the security scheme
    # below is what documents the header (a parameter would list it twice).
    if request.headers.get("x-api-key") != API_KEY:
        raise HTTPException(401, "unknown API key", {"WWW-Authenticate": 'ApiKey realm="notes"'})


api_key_guard.openapi_security = OpenAPISecurity(  # type: ignore[attr-defined]
    schemes={"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
    requirements=[{"apiKey": []}],
)


@dataclass
class NewNote:
    text: Annotated[str, MinLen(1)]


@dataclass
class Note:
    id: int
    text: str


def notes(docs_ui: str = "builtin") -> App:
    """A guarded GET with a path and a query parameter, a guarded POST with a
    JSON body, and an open GET: what the page's forms must handle."""
    app = App(title="Notes", version="2.0.0", docs_ui=docs_ui)  # type: ignore[arg-type]

    @app.get("/notes/{note_id:int}", dependencies=[api_key_guard], tags=["notes"])
    async def read_note(note_id: int, shout: bool = False) -> Note:
        """Read one note."""
        text = f"note {note_id}"
        return Note(note_id, text.upper() if shout else text)

    @app.post("/notes", status_code=201, dependencies=[api_key_guard], tags=["notes"])
    async def create_note(note: NewNote) -> Note:
        """Write a note."""
        return Note(1, note.text)

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        """Answer without a key."""
        return {"pong": "yes"}

    return app


def notes_swagger_ui() -> App:
    return notes("swagger-ui")


def todo_swagger_ui() -> App:
    """The todo example with Swagger UI as its /docs page (a process of its own)."""
    from examples.todo.app import app

    app.docs_ui = "swagger-ui"
    return app

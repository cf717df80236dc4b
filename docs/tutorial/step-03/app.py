"""Step 03: a middleware - one layer around every request.

A middleware is an ASGI app that holds the next one (``self.app``). This one
gives each request an id: the client's ``X-Request-ID`` if it sent one, else
a fresh one; it is added to the response, so a log line on the server and a
bug report from the client can be matched up. It wraps ``send`` rather than
buffering the response, so streaming still streams.

Run:  uvicorn app:app --port 8000     (from this folder)
"""

import uuid

from minimal_asgi import App, HTTPException, Request


class RequestIdMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan, websocket: pass through
            return
        request_id = uuid.uuid4().hex
        for name, value in scope["headers"]:  # lower-case bytes, as ASGI promises
            if name == b"x-request-id" and 0 < len(value) <= 64:
                request_id = value.decode("latin-1")

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


app = App()
app.add_middleware(RequestIdMiddleware)
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
    data = await request.json()
    note = {"id": len(NOTES) + 1, "title": data["title"]}
    NOTES[note["id"]] = note
    return note

"""Exercise 16: security headers and trusted hosts. See README.md."""

from minimal_asgi import App, HTMLResponse

app = App()  # TODO: TrustedHosts and SecurityHeaders, configured


@app.get("/")
async def home() -> HTMLResponse:
    return HTMLResponse('<h1>Notes</h1><img src="https://img.notes.example/logo.png">')


@app.get("/api/notes")
async def notes() -> list:
    return [{"id": 1, "title": "milk"}]

"""Exercise 16, solved: security headers and trusted hosts."""

from minimal_asgi import App, HTMLResponse
from minimal_asgi_security import SecurityHeaders, TrustedHosts

PAGE_POLICY = (
    "default-src 'self'; img-src 'self' https://img.notes.example; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

app = App(
    plugins=[
        TrustedHosts(allowed_hosts=["notes.example", "www.notes.example"]),
        SecurityHeaders(html={"Content-Security-Policy": PAGE_POLICY}),
    ]
)


@app.get("/")
async def home() -> HTMLResponse:
    return HTMLResponse('<h1>Notes</h1><img src="https://img.notes.example/logo.png">')


@app.get("/api/notes")
async def notes() -> list:
    return [{"id": 1, "title": "milk"}]

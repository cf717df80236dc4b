"""An app reading its auth secrets at import, as a deployed app does (see test_secrets.py)."""

from __future__ import annotations

from minimal_asgi import App
from minimal_asgi_auth.csrf import CSRFMiddleware, CSRFTokens
from minimal_asgi_auth.settings import AuthSettings

settings = AuthSettings.load()  # a ConfigurationError here stops the server before it listens
app = App()
app.add_middleware(CSRFMiddleware, tokens=CSRFTokens(settings.csrf_key()))


@app.get("/")
async def home() -> dict[str, str]:
    return {"environment": settings.environment}

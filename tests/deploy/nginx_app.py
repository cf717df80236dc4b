"""The app behind nginx in test_nginx.py: it reports what it sees of each
request. ``TRUSTED_PROXIES`` (comma-separated) is the proxy it believes."""

from __future__ import annotations

import os
from typing import Any

from minimal_asgi import App, ProxyHeadersMiddleware, Request, TrustedProxies, WebSocket
from minimal_asgi_ratelimit import RateLimit

proxies = TrustedProxies(os.environ.get("TRUSTED_PROXIES", "127.0.0.1").split(","))
app = App(plugins=[RateLimit()])
app.add_middleware(ProxyHeadersMiddleware, trusted=proxies)
received = {"uploads": 0}


@app.get("/whoami", name="whoami")
async def whoami(request: Request) -> dict[str, Any]:
    client = request.client
    return {
        "client": client.host if client else None,
        "url": str(request.url),
        "link": str(request.url_for("whoami")),
        "request_id": request.headers.get("x-request-id"),
    }


@app.post("/upload")
async def upload(request: Request) -> dict[str, int]:
    received["uploads"] += 1
    return {"size": len(await request.body())}


@app.get("/uploads")
async def uploads() -> dict[str, int]:
    return received


@app.get("/report")
async def report() -> dict[str, list[str]]:
    return {"lines": [f"line {n}: the same words again and again" for n in range(200)]}


@app.get("/limited", rate_limit="2/minute")
async def limited() -> str:
    return "ok"


@app.websocket("/ws/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    client = websocket.client
    await websocket.send_json({"client": client.host if client else None,
                               "url": str(websocket.url)})
    async for text in websocket.iter_text():
        await websocket.send_text(f"echo: {text}")

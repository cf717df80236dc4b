"""Exercise 04: an API-key gate for HTTP and WebSockets. See README.md."""

import hmac

from minimal_asgi import App, WebSocket

BODY = b'{"type":"about:blank","title":"Unauthorized","status":401,"detail":"send X-API-Key"}'


class ApiKeyMiddleware:
    def __init__(self, app, key: str):
        self.app = app
        self.key = key.encode()

    def allowed(self, scope) -> bool:
        sent = dict(scope["headers"]).get(b"x-api-key", b"")
        return hmac.compare_digest(sent, self.key)

    async def __call__(self, scope, receive, send):
        # TODO: a websocket scope without the key must be refused too.
        if scope["type"] == "http" and not self.allowed(scope):
            headers = [(b"content-type", b"application/problem+json")]
            await send({"type": "http.response.start", "status": 401, "headers": headers})
            await send({"type": "http.response.body", "body": BODY})
            return
        await self.app(scope, receive, send)


def create_app(key: str) -> App:
    app = App()
    app.add_middleware(ApiKeyMiddleware, key=key)

    @app.get("/secret")
    async def secret() -> dict:
        return {"secret": 42}

    @app.websocket("/feed")
    async def feed(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("the secret feed")
        await websocket.close()

    return app

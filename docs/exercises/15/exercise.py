"""Exercise 15: a conversation over a WebSocket, with close codes. See README.md."""

from minimal_asgi import App, WebSocket

app = App()


@app.websocket("/shout")
async def shout(websocket: WebSocket) -> None:
    await websocket.accept()
    text = await websocket.receive_text()  # TODO: a loop, "bye", binary frames
    await websocket.send_text(text.upper())

"""Exercise 15, solved: a conversation over a WebSocket, with close codes."""

from minimal_asgi import App, WebSocket

app = App()


@app.websocket("/shout")
async def shout(websocket: WebSocket) -> None:
    await websocket.accept()
    # iter_text ends when the client leaves; a binary frame makes receive_text
    # close the connection with 1003 (unsupported data) and end the loop too.
    async for text in websocket.iter_text():
        await websocket.send_text(text.upper())
        if text == "bye":
            await websocket.close(1000, "see you")
            return

"""Step 01: an ASGI app with no framework at all.

An ASGI app is one async callable: the server calls it once per request
with ``scope`` (what the request is), ``receive`` (the next message from
the client) and ``send`` (a message to the client). Everything later in this
tutorial is a more convenient way to write this function.

Run:  uvicorn app:app --port 8000     (from this folder)
"""

import json


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        # The server's "starting" and "stopping" messages: answer each one.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    if scope["type"] != "http":
        return  # (websockets come in step 07)

    if scope["method"] == "GET" and scope["path"] == "/notes":
        status, body = 200, json.dumps([]).encode()
    else:
        status, body = 404, json.dumps({"detail": "not found"}).encode()
    # An HTTP answer is two messages: the status and headers, then the body.
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

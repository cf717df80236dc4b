"""Exercise 01, solved: a raw ASGI app with one route."""

from urllib.parse import parse_qs


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    if scope["path"] != "/hello":
        status, body = 404, b"not found"
    elif scope["method"] != "GET":
        status, body = 405, b"method not allowed"
        headers.append((b"allow", b"GET"))
    else:
        query = parse_qs(scope["query_string"].decode("latin-1"))
        name = query.get("name", ["world"])[0]
        status, body = 200, f"hello, {name}".encode()
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

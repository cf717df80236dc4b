"""The smallest minimal_asgi app. Run it with `make run`, then open
http://127.0.0.1:8000/ and http://127.0.0.1:8000/hello/you."""

from minimal_asgi import App

app = App()


@app.get("/")
async def index() -> dict[str, str]:
    return {"message": "Hello, world"}


@app.get("/hello/{name}")
async def hello(name: str) -> dict[str, str]:
    return {"message": f"Hello, {name}"}

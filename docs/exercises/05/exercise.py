"""Exercise 05: maintenance mode with before/after hooks. See README.md."""

from dataclasses import dataclass

from minimal_asgi import App


@dataclass
class Maintenance:
    on: bool = False


def create_app(flag: Maintenance, name: str = "notes-1") -> App:
    app = App()
    served_by = {"name": ""}

    @app.on_startup
    async def remember_name() -> None:
        served_by["name"] = name

    # TODO: a before_request hook (503 + Retry-After unless /health) and an
    # after_request hook (X-Served-By on every response).

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/notes")
    async def notes() -> list:
        return [{"id": 1, "title": "milk"}]

    return app

"""Exercise 05, solved: maintenance mode with before/after hooks."""

from dataclasses import dataclass

from minimal_asgi import App, ProblemResponse, Request, Response


@dataclass
class Maintenance:
    on: bool = False


def create_app(flag: Maintenance, name: str = "notes-1") -> App:
    app = App()
    served_by = {"name": ""}

    @app.on_startup
    async def remember_name() -> None:
        served_by["name"] = name

    @app.before_request
    async def maintenance_mode(request: Request) -> Response | None:
        # The flag is read per request, so an operator can switch it live. The
        # answer is *returned*, not raised: a short-circuit still goes through
        # the after-hooks, an exception would skip them.
        if flag.on and request.url.path != "/health":
            return ProblemResponse(
                503, "down for maintenance; try again later", headers={"Retry-After": "120"}
            )
        return None

    @app.after_request
    async def served_by_header(request: Request, response: Response) -> Response:
        response.headers["X-Served-By"] = served_by["name"]
        return response

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/notes")
    async def notes() -> list:
        return [{"id": 1, "title": "milk"}]

    return app

"""Scenario 2, routing at scale: the target route registered after N others.

Every app has ``N`` parameterised routes ``/api/r{i}/{item_id:int}`` and then
the one the benchmark asks for, ``/api/target/{item_id:int}``, last. A router
that scans its routes in order (Starlette: one regex per route) tries all N
before it finds the target; a segment tree (minimal_asgi) looks up ``api``,
then ``target``, then converts ``42``, however many siblings there are.
"""

from collections.abc import Callable
from typing import Any

from benchmarks.apps.common import Unavailable
from benchmarks.harness import Expected, HTTPRequest

__all__ = ["COUNTS", "EXPECTED", "FRAMEWORKS", "REQUEST", "build"]

COUNTS = (10, 100, 1000)
FRAMEWORKS = ("minimal_asgi", "starlette")
REQUEST = HTTPRequest(path="/api/target/42")
EXPECTED = Expected(json={"id": 42})


def _minimal_asgi(count: int) -> Any:
    from minimal_asgi import App

    app = App()

    def numbered(i: int) -> Callable[[int], Any]:
        async def endpoint(item_id: int) -> dict[str, int]:
            return {"route": i, "id": item_id}

        endpoint.__name__ = endpoint.__qualname__ = f"route_{i}"
        return endpoint

    for i in range(count):
        app.add_route(f"/api/r{i}/{{item_id:int}}", numbered(i))

    @app.get("/api/target/{item_id:int}")
    async def target(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    return app


def _starlette(count: int) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    def numbered(i: int) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return JSONResponse({"route": i, "id": request.path_params["item_id"]})

        return endpoint

    async def target(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["item_id"]})

    routes = [Route(f"/api/r{i}/{{item_id:int}}", numbered(i)) for i in range(count)]
    routes.append(Route("/api/target/{item_id:int}", target))
    return Starlette(routes=routes)


def build(framework: str, case: str) -> Any:
    """``case`` is the number of routes registered before the target."""
    builders = {"minimal_asgi": _minimal_asgi, "starlette": _starlette}
    try:
        return builders[framework](int(case))
    except ModuleNotFoundError as exc:
        if exc.name != framework:
            raise
        raise Unavailable(f"{framework} is not installed: pip install -e '.[bench]'") from None

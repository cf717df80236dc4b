"""Exercise 06: a dependency that cleans up after itself. See README.md."""

from dataclasses import dataclass

from minimal_asgi import App, Depends


@dataclass
class Connection:
    number: int


class Pool:
    def __init__(self, size: int = 2) -> None:
        self.size = size
        self.free = [Connection(n) for n in range(size)]

    def take(self) -> Connection:
        if not self.free:
            raise RuntimeError("the pool is empty: a connection was never given back")
        return self.free.pop()

    def give_back(self, connection: Connection) -> None:
        self.free.append(connection)


def create_app(pool: Pool) -> App:
    app = App()

    async def get_connection() -> Connection:
        return pool.take()  # TODO: and give it back when the request is over

    @app.get("/notes")
    async def notes(connection: Connection = Depends(get_connection)) -> dict:
        return {"connection": connection.number}

    @app.get("/twice")
    async def twice(
        first: Connection = Depends(get_connection), second: Connection = Depends(get_connection)
    ) -> dict:
        return {"same": first is second}

    @app.get("/boom")
    async def boom(connection: Connection = Depends(get_connection)) -> dict:
        raise RuntimeError("the endpoint failed")

    return app

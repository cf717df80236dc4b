"""Exercise 13: a plugin with a route, a header and a startup check. See README.md."""

from minimal_asgi import App


class VersionPlugin:
    def __init__(self, version: str) -> None:
        self.version = version

    def setup(self, app: App) -> None:
        pass  # TODO: a /version route, an X-App-Version header, a check

"""Exercise 13, solved: a plugin with a route, a header and a startup check."""

import re

from minimal_asgi import App, ConfigurationError


class VersionHeader:
    """Pure ASGI: adds the header to every HTTP response, errors included."""

    def __init__(self, app, version: str) -> None:
        self.app = app
        self.header = (b"x-app-version", version.encode())

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_version(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, send_with_version)


class VersionPlugin:
    def __init__(self, version: str) -> None:
        self.version = version

    def setup(self, app: App) -> None:
        if not re.fullmatch(r"\d+\.\d+\.\d+", self.version):
            raise ConfigurationError(
                f"VersionPlugin({self.version!r}): write the version as MAJOR.MINOR.PATCH, "
                "e.g. VersionPlugin('1.4.2')"
            )
        version = {"version": self.version}

        async def read_version() -> dict:
            return version

        app.add_route("/version", read_version, methods=["GET"], name="version")
        app.add_middleware(VersionHeader, version=self.version)

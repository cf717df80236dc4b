"""Exercise 09: typed settings from the environment. See README.md."""

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass
class NotesSettings:  # TODO: a minimal_asgi Settings class, typed
    port: str
    debug: str
    environment: str
    allowed_hosts: str
    secret_key: str


def load(environ: Mapping[str, str]) -> NotesSettings:
    return NotesSettings(
        port=environ.get("NOTES_PORT", "8000"),
        debug=environ.get("NOTES_DEBUG", "false"),
        environment=environ.get("NOTES_ENVIRONMENT", "development"),
        allowed_hosts=environ.get("NOTES_ALLOWED_HOSTS", ""),
        secret_key=environ.get("NOTES_SECRET_KEY", ""),
    )

"""Exercise 09, solved: typed settings from the environment."""

from collections.abc import Mapping
from typing import Literal

from minimal_asgi import Secret, Settings


class NotesSettings(Settings):
    port: int = 8000
    debug: bool = False
    environment: Literal["development", "production"] = "development"
    allowed_hosts: list[str] = []
    secret_key: Secret  # no default: required


def load(environ: Mapping[str, str]) -> NotesSettings:
    return NotesSettings.from_env(prefix="NOTES_", environ=environ)

"""What the chat reads from its environment, in one typed class.

Every variable the chat uses is a field here, so ``deploy/settings_table.py``
can write the table in docs/30-containers-and-ci.md and ``.env.example``
from it, and a test fails when they drift apart.
"""

from __future__ import annotations

from typing import Literal

from minimal_asgi.config import Settings, env

PREFIX = "CHAT_"


class ChatSettings(Settings):
    environment: Literal["development", "production"] = env(
        "ENVIRONMENT",
        default="development",
        description="production turns on the checks that refuse laptop defaults",
    )
    redis_url: str = env(
        "REDIS_URL",
        default="redis://127.0.0.1:6379/0",
        required_in_production=True,
        description="the Redis that carries every message to every worker",
    )
    prefix: str = env(
        default="chat:", description="channel prefix, to keep several chats apart on one Redis"
    )


def load() -> ChatSettings:
    return ChatSettings.from_env(prefix=PREFIX)

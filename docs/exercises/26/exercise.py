"""Exercise 26: run a request once per idempotency key. See README.md."""

from collections.abc import Awaitable, Callable
from typing import Any


class Mismatch(Exception):
    """The key was used for another request (answer 422)."""


class InProgress(Exception):
    """The first request with this key is still running (answer 409)."""


class IdempotencyStore:
    def __init__(self) -> None:
        self.results: dict[str, tuple[str, Any]] = {}  # key -> (fingerprint, result)
        self.running: dict[str, str] = {}  # key -> fingerprint, while func runs

    async def run(self, key: str, fingerprint: str, func: Callable[[], Awaitable[Any]]) -> Any:
        return await func()  # TODO: once per key

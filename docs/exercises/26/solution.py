"""Exercise 26, solved: run a request once per idempotency key, in one process."""

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
        # No await until the key is marked: in one event loop, this check and the
        # mark below cannot be interleaved with another request's.
        seen = self.results.get(key, (None, None))[0] or self.running.get(key)
        if seen is not None and seen != fingerprint:
            raise Mismatch(f"the key {key!r} was used for another request")
        if key in self.results:
            return self.results[key][1]  # answered before: the same answer, func not run
        if key in self.running:
            raise InProgress(f"a request with the key {key!r} is still running")
        self.running[key] = fingerprint
        try:
            result = await func()
        finally:
            del self.running[key]  # on failure too: nothing kept, a retry may run it
        self.results[key] = (fingerprint, result)
        return result

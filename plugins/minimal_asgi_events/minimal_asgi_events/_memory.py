"""The in-memory backend: one process, no server. Tests and single-worker apps."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from ._queue import Messages


class MemoryBackend:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Messages]] = {}

    async def publish(self, channel: str, message: str) -> int:
        subscribers = self._subscribers.get(channel, ())
        for messages in subscribers:
            messages.put(message)
        return len(subscribers)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str, max_queue: int) -> AsyncIterator[Messages]:
        messages = Messages(channel, max_queue)
        self._subscribers.setdefault(channel, set()).add(messages)
        try:
            yield messages
        finally:
            subscribers = self._subscribers[channel]
            subscribers.discard(messages)
            if not subscribers:
                del self._subscribers[channel]

    async def aclose(self) -> None:
        self._subscribers.clear()

"""A subscriber's bounded mailbox, and the slow-subscriber policy.

A publisher never waits for subscribers: one slow WebSocket client must not
stall a chat room. So each subscriber gets a queue of at most ``max_queue``
messages. When it is full, the oldest message is dropped (the subscriber
misses it, ``dropped`` counts it) - memory stays bounded whatever the
subscriber does.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator


class Messages:
    """What ``async with events.subscribe(channel) as messages`` gives:
    iterate it (``async for message in messages``) to receive, in order."""

    def __init__(self, channel: str, max_queue: int) -> None:
        self.channel = channel
        self.dropped = 0  # messages lost because this subscriber fell behind
        self._queue: collections.deque[str] = collections.deque(maxlen=max_queue)
        self._ready = asyncio.Event()
        self._error: BaseException | None = None

    def put(self, message: str) -> None:
        """Called by the backend; never blocks."""
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1  # deque(maxlen) drops the oldest on append
        self._queue.append(message)
        self._ready.set()

    def fail(self, error: BaseException) -> None:
        """The backend lost its connection: the reader gets ``error`` once the
        messages already queued are read."""
        self._error = error
        self._ready.set()

    async def get(self) -> str:
        while not self._queue:
            if self._error is not None:
                raise self._error
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        while True:
            yield await self.get()

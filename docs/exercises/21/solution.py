"""Exercise 21, solved: bounded queues; a subscriber that falls behind is cut off, and told."""

from collections import deque

import anyio


class Lagged(Exception):
    """This subscriber fell behind and was cut off: resubscribe, and reload."""


class Empty(Exception):
    """Nothing to read yet."""


class Subscription:
    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.messages: deque[object] = deque()
        self.lagged = False
        self._arrived: anyio.Event | None = None

    def _put(self, message: object) -> bool:
        """Queue the message; False if this subscriber must be cut off."""
        if len(self.messages) >= self.maxsize:
            self.lagged = True  # what it holds stays readable; then receive() raises Lagged
            return False
        self.messages.append(message)
        self._wake()
        return True

    def _wake(self) -> None:
        if self._arrived is not None:
            self._arrived.set()

    def receive_nowait(self) -> object:
        if self.messages:
            return self.messages.popleft()
        if self.lagged:
            raise Lagged("you missed messages: reload, then subscribe again")
        raise Empty

    async def receive(self) -> object:
        while True:
            try:
                return self.receive_nowait()
            except Empty:
                self._arrived = anyio.Event()
                await self._arrived.wait()


class Hub:
    def __init__(self, maxsize: int = 100) -> None:
        self.maxsize = maxsize
        self.subscriptions: list[Subscription] = []

    def subscribe(self) -> Subscription:
        subscription = Subscription(self.maxsize)
        self.subscriptions.append(subscription)
        return subscription

    def publish(self, message: object) -> int:
        # Never waits: a full queue costs its owner the subscription, not
        # everyone else their messages.
        self.subscriptions = [s for s in self.subscriptions if s._put(message)]
        return len(self.subscriptions)

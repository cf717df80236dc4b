"""Work that runs after the response has been sent.

A background task lets an endpoint answer the client now and do slow,
non-essential work (an email, a cache warm-up) afterwards, in the same process.
It is *not* a job queue: if the process dies, the task is lost. The tasks of a
request run in order; a failing one is logged and the next one still runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from minimal_asgi.concurrency import call_maybe_async

__all__ = ["BackgroundTask", "BackgroundTasks"]

logger = logging.getLogger("minimal_asgi.background")


class BackgroundTask:
    """One call to make after the response: ``func(*args, **kwargs)``."""

    __slots__ = ("args", "func", "kwargs")

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs

    async def __call__(self) -> None:
        try:
            await call_maybe_async(self.func, *self.args, **self.kwargs)
        except Exception:
            # The client already has its answer; a failure here must not turn into
            # a second response or stop later tasks. Log it with the traceback.
            logger.exception("background task %r failed", getattr(self.func, "__name__", self.func))


class BackgroundTasks:
    """An ordered list of background tasks for one request."""

    __slots__ = ("tasks",)

    def __init__(self, tasks: list[BackgroundTask] | None = None) -> None:
        self.tasks = list(tasks or [])

    def add_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    def __bool__(self) -> bool:
        return bool(self.tasks)

    async def __call__(self) -> None:
        for task in self.tasks:
            await task()

"""Calling user code that may be sync or async.

The event loop runs one thing at a time; a blocking ``def`` function called on it
(``time.sleep``, a sync database driver) would stall every other request. So a
plain ``def`` endpoint, hook or dependency is run in one of anyio's worker
threads, and the loop stays free. Whether a callable is a coroutine function is
decided once, when it is registered, not on every call.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio.to_thread

__all__ = ["call_maybe_async", "is_async_callable", "run_in_threadpool"]

T = TypeVar("T")


def is_async_callable(obj: Any) -> bool:
    """True for ``async def`` functions, partials of them, and objects whose
    ``__call__`` is ``async def``."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    return inspect.iscoroutinefunction(obj) or (
        callable(obj) and inspect.iscoroutinefunction(getattr(obj, "__call__", None))  # noqa: B004
    )


async def run_in_threadpool(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking function in a worker thread and wait for it without blocking."""
    if kwargs:
        func = functools.partial(func, **kwargs)
    return await anyio.to_thread.run_sync(func, *args)


async def call_maybe_async(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Await ``func`` if it is async, else run it in a worker thread.

    For the hot path, callers decide once with ``is_async_callable`` and skip
    this helper; it is for code that runs rarely (startup, background tasks).
    """
    if is_async_callable(func):
        return await func(*args, **kwargs)
    result = await run_in_threadpool(func, *args, **kwargs)
    if inspect.isawaitable(result):  # a sync function that returned a coroutine
        return await result
    return result


def as_async(func: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Wrap ``func`` so it can always be awaited; decided once, here."""
    if is_async_callable(func):
        return func

    async def run_sync(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(func, *args, **kwargs)

    functools.update_wrapper(run_sync, func)
    return run_sync

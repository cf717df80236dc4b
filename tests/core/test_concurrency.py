"""Sync code runs in worker threads, so a blocking endpoint never stalls the event loop."""

from __future__ import annotations

import functools
import threading
from typing import Any

import anyio
import anyio.to_thread
import pytest

from minimal_asgi import App
from minimal_asgi.concurrency import (
    as_async,
    call_maybe_async,
    is_async_callable,
    run_in_threadpool,
)
from minimal_asgi.testing import AsyncTestClient, TestClient


@pytest.mark.anyio
async def test_a_blocking_sync_endpoint_does_not_block_an_async_one() -> None:
    # The sync endpoint blocks until the async endpoint releases it, and the async
    # endpoint runs only once the sync one is blocked. Were the sync endpoint on
    # the event loop, the async one could not run: the wait would time out and
    # the sync endpoint would answer "starved".
    entered, released = threading.Event(), threading.Event()
    app = App()

    @app.get("/blocking")
    def blocking() -> str:
        entered.set()
        return "released" if released.wait(timeout=10) else "starved"

    @app.get("/release")
    async def release() -> str:
        await anyio.to_thread.run_sync(entered.wait, 10)
        released.set()
        return "done"

    results: dict[str, str] = {}
    async with AsyncTestClient(app) as client:

        async def call(path: str) -> None:
            results[path] = (await client.get(path)).text

        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                group.start_soon(call, "/blocking")
                group.start_soon(call, "/release")
    assert results == {"/blocking": "released", "/release": "done"}


@pytest.mark.anyio
async def test_async_requests_interleave_on_the_event_loop() -> None:
    first_arrived, second_done = anyio.Event(), anyio.Event()
    app = App()

    @app.get("/first")
    async def first() -> str:
        first_arrived.set()
        await second_done.wait()
        return "first"

    @app.get("/second")
    async def second() -> str:
        await first_arrived.wait()
        second_done.set()
        return "second"

    async with AsyncTestClient(app) as client:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(client.get, "/first")
                group.start_soon(client.get, "/second")
    assert second_done.is_set()


def test_a_sync_endpoint_runs_in_a_worker_thread() -> None:
    app = App()

    @app.get("/")
    def where() -> dict[str, Any]:
        return {"thread": threading.get_ident()}

    @app.get("/loop")
    async def loop_thread() -> dict[str, Any]:
        return {"thread": threading.get_ident()}

    with TestClient(app) as client:
        sync_thread = client.get("/").json()["thread"]
        loop = client.get("/loop").json()["thread"]
    assert sync_thread != loop


def test_a_sync_hook_runs_in_a_worker_thread() -> None:
    threads: dict[str, int] = {}
    app = App()

    @app.before_request
    def hook(request: Any) -> None:
        threads["hook"] = threading.get_ident()

    @app.get("/")
    async def endpoint() -> None:
        threads["loop"] = threading.get_ident()

    with TestClient(app) as client:
        client.get("/")
    assert threads["hook"] != threads["loop"]


# -- the helpers -------------------------------------------------------------------------
async def async_function() -> str:
    return "async"


def sync_function(value: str = "sync") -> str:
    return value


class AsyncCallable:
    async def __call__(self) -> str:
        return "callable"


def test_is_async_callable_recognises_coroutine_functions() -> None:
    assert is_async_callable(async_function)
    assert not is_async_callable(sync_function)


def test_is_async_callable_sees_through_partials() -> None:
    assert is_async_callable(functools.partial(functools.partial(async_function)))
    assert not is_async_callable(functools.partial(sync_function, "x"))


def test_is_async_callable_recognises_objects_with_an_async_call() -> None:
    assert is_async_callable(AsyncCallable())


@pytest.mark.anyio
async def test_run_in_threadpool_runs_in_another_thread_and_passes_arguments() -> None:
    def where(label: str, *, suffix: str) -> tuple[str, int]:
        return label + suffix, threading.get_ident()

    result, thread = await run_in_threadpool(where, "a", suffix="b")
    assert result == "ab"
    assert thread != threading.get_ident()


@pytest.mark.anyio
async def test_call_maybe_async_awaits_async_and_threads_sync() -> None:
    assert await call_maybe_async(async_function) == "async"
    assert await call_maybe_async(sync_function, value="threaded") == "threaded"


@pytest.mark.anyio
async def test_call_maybe_async_awaits_a_coroutine_a_sync_function_returns() -> None:
    assert await call_maybe_async(lambda: async_function()) == "async"


@pytest.mark.anyio
async def test_as_async_keeps_async_functions_and_wraps_sync_ones() -> None:
    assert as_async(async_function) is async_function
    wrapped = as_async(sync_function)
    assert wrapped.__name__ == "sync_function"
    assert await wrapped("wrapped") == "wrapped"

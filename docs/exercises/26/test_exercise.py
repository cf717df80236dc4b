"""Exercise 26: once per key; mismatches and overlaps refused; failures not kept."""

from types import ModuleType

import anyio
import pytest


class Payment:
    """func for the store: counts its runs; can be made to wait or to fail."""

    def __init__(self) -> None:
        self.runs = 0
        self.release = None
        self.fail = False

    async def __call__(self) -> dict:
        self.runs += 1
        if self.release is not None:
            await self.release.wait()
        if self.fail:
            raise ConnectionError("the bank did not answer")
        return {"payment": self.runs}


def test_a_retry_gets_the_first_answer_without_running_again(exercise: ModuleType) -> None:
    async def main() -> None:
        store, pay = exercise.IdempotencyStore(), Payment()
        first = await store.run("k1", "POST /payments {amount: 5}", pay)
        again = await store.run("k1", "POST /payments {amount: 5}", pay)
        assert first == again == {"payment": 1}
        assert pay.runs == 1
        assert await store.run("k2", "POST /payments {amount: 5}", pay) == {"payment": 2}

    anyio.run(main)


def test_the_same_key_for_another_request_is_a_mismatch(exercise: ModuleType) -> None:
    async def main() -> None:
        store, pay = exercise.IdempotencyStore(), Payment()
        await store.run("k1", "amount=5", pay)
        with pytest.raises(exercise.Mismatch):
            await store.run("k1", "amount=500", pay)
        assert pay.runs == 1

    anyio.run(main)


def test_a_retry_while_the_first_runs_is_in_progress(exercise: ModuleType) -> None:
    async def main() -> None:
        store, pay = exercise.IdempotencyStore(), Payment()
        pay.release = anyio.Event()
        outcomes: list[object] = []

        async def request() -> None:
            try:
                outcomes.append(await store.run("k1", "amount=5", pay))
            except exercise.InProgress:
                outcomes.append("409")

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(request)
            await anyio.wait_all_tasks_blocked()  # the first request is now waiting on the bank
            tasks.start_soon(request)
            await anyio.wait_all_tasks_blocked()
            pay.release.set()
        assert sorted(map(str, outcomes)) == ["409", "{'payment': 1}"]
        assert pay.runs == 1

    anyio.run(main)


def test_a_failure_is_not_kept(exercise: ModuleType) -> None:
    async def main() -> None:
        store, pay = exercise.IdempotencyStore(), Payment()
        pay.fail = True
        with pytest.raises(ConnectionError):
            await store.run("k1", "amount=5", pay)
        pay.fail = False
        assert await store.run("k1", "amount=5", pay) == {"payment": 2}
        assert await store.run("k1", "amount=5", pay) == {"payment": 2}

    anyio.run(main)

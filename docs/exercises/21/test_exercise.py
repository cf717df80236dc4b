"""Exercise 21: bounded queues; a slow subscriber is cut off and told."""

from types import ModuleType

import anyio
import pytest


def test_a_subscriber_that_keeps_up_gets_everything(exercise: ModuleType) -> None:
    hub = exercise.Hub(maxsize=10)
    fast = hub.subscribe()
    got = []
    for number in range(100):
        assert hub.publish(number) == 1
        got.append(fast.receive_nowait())
    assert got == list(range(100))


def test_a_slow_subscriber_is_cut_off_not_grown(exercise: ModuleType) -> None:
    hub = exercise.Hub(maxsize=10)
    fast, slow = hub.subscribe(), hub.subscribe()
    reached = []
    for number in range(100):
        reached.append(hub.publish(number))
        fast.receive_nowait()
    assert len(slow.messages) <= 10
    assert slow.lagged
    assert reached[:10] == [2] * 10 and reached[-1] == 1  # the slow one was dropped


def test_the_slow_subscriber_reads_what_it_has_then_learns_it_lagged(exercise: ModuleType) -> None:
    hub = exercise.Hub(maxsize=3)
    slow = hub.subscribe()
    for number in range(5):
        hub.publish(number)
    assert [slow.receive_nowait() for _ in range(3)] == [0, 1, 2]
    with pytest.raises(exercise.Lagged):
        slow.receive_nowait()


def test_receive_waits_for_the_next_message(exercise: ModuleType) -> None:
    async def main() -> list[object]:
        hub = exercise.Hub(maxsize=2)
        subscription = hub.subscribe()
        received = []

        async def reader() -> None:
            for _ in range(3):
                received.append(await subscription.receive())

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(reader)
            for message in ("a", "b", "c"):
                await anyio.sleep(0)  # let the reader wait first
                hub.publish(message)
        return received

    assert anyio.run(main) == ["a", "b", "c"]

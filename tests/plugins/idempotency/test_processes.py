"""Four uvicorn processes, one Redis: the guarantees hold across processes.

- 50 concurrent duplicates, spread over the four processes, run the route once;
  every other copy gets the first answer or a 409 while it runs, and a retry
  afterwards, on any process, gets the first answer byte for byte.
- A process SIGKILLed while it holds a key leaves a lock that blocks retries
  only until its lease runs out; then a retry on another process runs.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator

import anyio
import httpx
import pytest
import redis

from tests.server.servers import ServerProcess, free_port

pytestmark = pytest.mark.anyio

KEY = {"idempotency-key": '"charge-7f3c9a"', "content-type": "application/json"}


@contextlib.contextmanager
def processes(count: int) -> Iterator[list[tuple[int, ServerProcess]]]:
    with contextlib.ExitStack() as stack:
        started = []
        for _ in range(count):
            port = free_port()
            command = [
                sys.executable, "-m", "uvicorn", "tests.plugins.idempotency.process_app:app",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            ]  # fmt: skip
            started.append((port, stack.enter_context(ServerProcess.command_line(command, port))))
        yield started


@pytest.fixture
def environment(redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("IDEMPOTENCY_TEST_PREFIX", redis_prefix)
    monkeypatch.setenv("IDEMPOTENCY_TEST_LEASE", "2")
    monkeypatch.setenv("IDEMPOTENCY_TEST_DELAY", "1")
    return redis_prefix


def _count(redis_url: str, key: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.get(key) or 0)
    finally:
        client.close()


async def test_50_concurrent_duplicates_over_4_processes_run_once(
    environment: str, redis_url: str
) -> None:
    body = b'{"amount": 4200}'
    with processes(4) as servers:
        ports = [port for port, _ in servers]
        responses: list[httpx.Response] = []
        async with httpx.AsyncClient(timeout=60) as http:

            async def send(n: int) -> None:
                url = f"http://127.0.0.1:{ports[n % 4]}/charges"
                responses.append(await http.post(url, content=body, headers=KEY))

            with anyio.fail_after(120):
                async with anyio.create_task_group() as tasks:
                    for n in range(50):
                        tasks.start_soon(send, n)
                retries = [
                    await http.post(f"http://127.0.0.1:{port}/charges", content=body, headers=KEY)
                    for port in ports
                ]
    assert _count(redis_url, environment + "runs") == 1
    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {201, 409}, statuses
    first = next(r for r in responses if r.status_code == 201)
    assert first.json()["run"] == 1
    for retry in retries:  # every process answers with the one stored response
        assert retry.status_code == 201
        assert retry.content == first.content
        # Header for header, minus those uvicorn adds to each answer itself.
        server_set = {"date", "server"}
        assert [h for h in retry.headers.raw if h[0].decode().lower() not in server_set] == [
            h for h in first.headers.raw if h[0].decode().lower() not in server_set
        ]


async def test_a_key_held_by_a_killed_process_is_free_again_after_the_lease(
    environment: str, redis_url: str
) -> None:
    with processes(2) as [(doomed_port, doomed), (other_port, _)]:
        async with httpx.AsyncClient(timeout=60) as http:
            async with anyio.create_task_group() as tasks:

                async def hang() -> None:
                    with contextlib.suppress(httpx.HTTPError):
                        await http.post(f"http://127.0.0.1:{doomed_port}/stuck", headers=KEY)

                tasks.start_soon(hang)
                with anyio.fail_after(30):
                    while _count(redis_url, environment + "stuck") < 1:
                        await anyio.sleep(0.05)
                doomed.signal(signal.SIGKILL)  # dies holding the key's lock
                during = await http.post(f"http://127.0.0.1:{other_port}/stuck", headers=KEY)
                assert during.status_code == 409  # the lock is still there...
                await anyio.sleep(3)  # ...until its 2 s lease runs out, never renewed
                after = await http.post(f"http://127.0.0.1:{other_port}/stuck", headers=KEY)
    assert after.status_code == 201 and after.json()["run"] == 2

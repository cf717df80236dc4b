"""examples/chat under uvicorn with two worker processes: a message sent to a
client of one worker reaches a client of the other, through Redis."""

from __future__ import annotations

import json
import sys
import uuid

import anyio
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.server.servers import ServerProcess, free_port

pytestmark = pytest.mark.anyio


async def join(port: int, room: str, name: str) -> tuple[ClientConnection, int]:
    client = await connect(f"ws://127.0.0.1:{port}/rooms/{room}?name={name}")
    hello = json.loads(await client.recv())
    return client, int(hello["worker"])


async def test_a_message_crosses_from_one_uvicorn_worker_to_the_other(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "examples.chat.app:app",
        "--workers", "2", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    monkeypatch.setenv("CHAT_PREFIX", f"test:{uuid.uuid4().hex}:")  # read by the workers
    monkeypatch.setenv("REDIS_URL", redis_url)
    room = "lobby"
    with ServerProcess.command_line(command, port):
        # The kernel picks the worker for each connection: open connections
        # until two are served by different processes (ample tries).
        by_worker: dict[int, ClientConnection] = {}
        extra: list[ClientConnection] = []
        with anyio.fail_after(60):
            for n in range(50):
                client, worker = await join(port, room, f"user{n}")
                if worker in by_worker:
                    extra.append(client)
                else:
                    by_worker[worker] = client
                if len(by_worker) == 2:
                    break
            assert len(by_worker) == 2, "every connection went to one worker"
            (ann_worker, ann), (bob_worker, bob) = by_worker.items()
            assert ann_worker != bob_worker
            await ann.send("hello from the other worker")
            # bob, on the other process, receives it (and so does ann).
            received = json.loads(await bob.recv())
            assert received["text"] == "hello from the other worker"
            assert json.loads(await ann.recv())["text"] == "hello from the other worker"
            # An announcement POSTed over HTTP, to whichever worker takes it,
            # reaches both.
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                response = await http.post(f"/rooms/{room}/announcements?text=maintenance")
            assert response.status_code == 200
            for member in (ann, bob):
                assert json.loads(await member.recv()) == {"from": "server", "text": "maintenance"}
            for client in [ann, bob, *extra]:
                await client.close()

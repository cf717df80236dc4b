"""The command line, in process: the dead-letter commands and a worker
stopped by SIGTERM (test_app.py and test_processes.py run it as a process)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from minimal_asgi_jobs import _cli
from tests.plugins.jobs.conftest import _cleanup


@pytest.fixture
def target(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module of jobs of its own, importable as ``<name>:jobs`` from the cwd."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    name = f"jobs_cli_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(f"""
        from minimal_asgi import App
        from minimal_asgi_jobs import Jobs

        jobs = Jobs({redis_url!r}, queue={queue!r}, max_attempts=1, tick=0.05)
        app = App(plugins=[jobs])
        ran = []


        @jobs.handler()
        async def note(n: int) -> None:
            ran.append(n)
            if n < 0:
                raise ValueError("negative")
    """))
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield f"{name}:jobs"
    root.handlers[:], root.level = handlers, level  # main() calls logging.basicConfig
    sys.modules.pop(name, None)
    while str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))
    anyio.run(_cleanup, redis_url, queue)


def test_dead_jobs_are_listed_and_requeued(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    jobs = _cli.load(target)

    async def bury() -> None:
        async with jobs.started():
            await jobs.enqueue("note", -1)
            worker = jobs.worker(1)
            async with anyio.create_task_group() as group:
                group.start_soon(worker.run)
                with anyio.fail_after(30):
                    while not await jobs.dead():
                        await anyio.sleep(0.05)
                worker.stop()

    anyio.run(bury)
    assert _cli.main(["dead", "list", target]) == 0
    listing = capsys.readouterr().out
    assert "note" in listing and "ValueError: negative" in listing
    dead_id = listing.split()[0]
    assert _cli.main(["dead", "requeue", target, "--all"]) == 0
    assert capsys.readouterr().out == f"{dead_id}: requeued\n"
    assert _cli.main(["dead", "requeue", target, dead_id]) == 0
    assert capsys.readouterr().out == f"{dead_id}: not found\n"


def test_requeue_needs_ids_or_all(target: str) -> None:
    with pytest.raises(SystemExit):
        _cli.main(["dead", "requeue", target])


def test_a_target_must_name_a_jobs_object(target: str) -> None:
    with pytest.raises(SystemExit, match=r"module\.path:attribute"):
        _cli.load(target.split(":")[0])
    with pytest.raises(SystemExit, match=r"is not a minimal_asgi_jobs\.Jobs"):
        _cli.load(target.replace(":jobs", ":app"))


@pytest.mark.anyio
async def test_the_worker_command_runs_jobs_until_sigterm(target: str) -> None:
    jobs = _cli.load(target)
    module = sys.modules[target.split(":")[0]]
    async with jobs.started():
        for n in range(3):
            await jobs.enqueue("note", n)
    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            group.start_soon(_cli.run_worker, jobs, 2)
            while len(module.ran) < 3:
                await anyio.sleep(0.02)
            # The worker's signal receiver is open (it is running jobs): this
            # SIGTERM is delivered to it, not to pytest's default handler.
            os.kill(os.getpid(), signal.SIGTERM)
    assert sorted(module.ran) == [0, 1, 2]

"""Processes for the proofs: workers started with the real command line, and
a private redis-server that a test may restart (never the shared one)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float = 30, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout} s")
        time.sleep(0.05)


@dataclass
class Workers:
    """Worker processes of tests/plugins/jobs/worker_app.py, all killed at the end."""

    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, concurrency: int = 4) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "minimal_asgi_jobs", "worker",
             "tests.plugins.jobs.worker_app:jobs", "--concurrency", str(concurrency)],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)


@dataclass
class Record:
    """What the handlers noted in the shared Redis: ``n pid time`` lines."""

    client: redis.Redis
    prefix: str

    def lines(self, what: str) -> list[tuple[int, int, float]]:
        raw = self.client.lrange(f"{self.prefix}:{what}", 0, -1)
        return [(int(n), int(pid), float(at))
                for n, pid, at in (line.decode().split() for line in raw)]  # type: ignore[union-attr]

    def numbers(self, what: str) -> list[int]:
        return [n for n, _, _ in self.lines(what)]


class PrivateRedis:
    """A redis-server of this test's own, on a free port, that may be restarted;
    with ``persist`` it writes every change to an append-only file first."""

    def __init__(self, folder: Path, persist: bool) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.skip("redis-server is needed to start a private Redis")
        self.server, self.folder, self.port = server, folder, free_port()
        self.options = ["--appendonly", "yes", "--appendfsync", "always"] if persist else [
            "--appendonly", "no"]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--dir", str(self.folder), *self.options],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(answers, what="the private Redis")
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only file and exits
            self.process.wait(timeout=30)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def worker_env(url: str, queue: str, record: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "JOBS_URL": url, "JOBS_QUEUE": queue, "JOBS_RECORD": record, **extra}


class PrivateRabbitMQ:
    """A RabbitMQ node of this test's own (its own name, ports, data folder and
    no plugins), so it can be restarted without touching the shared one. Slow
    to start (tens of seconds on a busy machine)."""

    def __init__(self) -> None:
        server = shutil.which("rabbitmq-server")
        if server is None:
            pytest.skip("rabbitmq-server is needed to start a private RabbitMQ node")
        # Not pytest's tmp_path: its parents are private to root, and the server
        # script may run the node as the rabbitmq user.
        folder = Path(tempfile.mkdtemp(prefix="jobs-rabbitmq-"))
        self.server, self.folder = server, folder
        self.port, self.dist_port = free_port(), free_port()
        for name in ("mnesia", "log"):
            (folder / name).mkdir(exist_ok=True)
        (folder / "enabled_plugins").write_text("")
        (folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n")
        folder.chmod(0o777)  # the server script may switch to the rabbitmq user
        for path in folder.rglob("*"):
            path.chmod(0o777)
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": f"jobstest{self.port}@localhost",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(folder / "rabbitmq.conf"),
            "RABBITMQ_PID_FILE": str(folder / "pid"),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.process = subprocess.Popen([self.server], env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)

        def listening() -> bool:
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0

        try:
            wait_for(listening, 180, "the private RabbitMQ node")
        except AssertionError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is None:
            return
        pid_file = self.folder / "pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)  # the node itself
        else:
            self.process.terminate()
        self.process.wait(timeout=120)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

"""Start an ASGI app under a real server on an ephemeral 127.0.0.1 port, in a thread.

``running("minimal_asgi", app)`` and ``running("uvicorn", app)`` are context
managers yielding ``(host, port)`` once the server listens, and shutting the
server down - lifespan shutdown included - on the way out, whatever happened.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import uvicorn
from anyio.from_thread import BlockingPortal, start_blocking_portal

from minimal_asgi.server import Config, Server
from minimal_asgi.types import ASGIApp

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 15.0  # seconds to wait for a server to listen or stop: not a performance limit
SERVERS = ["minimal_asgi", "uvicorn"]


@contextlib.contextmanager
def minimal_asgi_server(app: ASGIApp, **options: Any) -> Iterator[tuple[str, int]]:
    """This project's server; ``options`` are ``Config`` fields (limits, timeouts)."""
    config = Config(**{"host": "127.0.0.1", "port": 0, "access_log": False, **options})
    server = Server(app, config)
    with start_blocking_portal(backend="asyncio") as portal:
        future, address = portal.start_task(server.serve)
        try:
            yield address
        finally:
            portal.call(server.shutdown)
            future.result(timeout=STARTUP_TIMEOUT)


class Running:
    """A server started by ``controlled_server``: its address, and the means to stop it."""

    def __init__(self, server: Server, portal: BlockingPortal, stopped: Future[None],
                 address: tuple[str, int]) -> None:
        self.server, self.portal, self.stopped, self.address = server, portal, stopped, address

    def shutdown(self) -> None:
        """What SIGTERM does: begin a graceful shutdown (returns at once)."""
        self.portal.call(self.server.shutdown)

    def wait_stopped(self) -> None:
        self.stopped.result(timeout=STARTUP_TIMEOUT)


@contextlib.contextmanager
def controlled_server(app: ASGIApp, **options: Any) -> Iterator[Running]:
    """Like ``minimal_asgi_server``, for tests that stop the server themselves."""
    config = Config(**{"host": "127.0.0.1", "port": 0, "access_log": False, **options})
    server = Server(app, config)
    with start_blocking_portal(backend="asyncio") as portal:
        stopped, address = portal.start_task(server.serve)
        try:
            yield Running(server, portal, stopped, address)
        finally:
            if not server.stopping:
                portal.call(server.shutdown)
            stopped.result(timeout=STARTUP_TIMEOUT)


@contextlib.contextmanager
def uvicorn_server(app: ASGIApp) -> Iterator[tuple[str, int]]:
    """uvicorn as deployed: its default HTTP parser (httptools) and WebSocket library."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="on", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn stopped before it was listening")
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn was not listening after {STARTUP_TIMEOUT}s")
            time.sleep(0.01)
        yield "127.0.0.1", server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
        assert not thread.is_alive(), "uvicorn did not stop"


def free_port() -> int:
    """A port nothing listens on now, for a server that cannot be told ``--port 0``
    and report its port (another process could take it first, which is unlikely)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def running(kind: str, app: ASGIApp) -> contextlib.AbstractContextManager[tuple[str, int]]:
    return minimal_asgi_server(app) if kind == "minimal_asgi" else uvicorn_server(app)


class ServerProcess:
    """``python -m minimal_asgi.server APP --port 0 ...`` in a subprocess, its output collected.

    ``with ServerProcess("tests.server.apps:hello") as server:`` waits until it
    listens (``server.address``), and on the way out stops it - SIGTERM, then
    SIGKILL if it will not go - whatever the test did.
    """

    def __init__(self, app: str, *options: str, wait: bool = True) -> None:
        self.command = [
            sys.executable, "-m", "minimal_asgi.server", app,
            "--host", "127.0.0.1", "--port", "0", *options,
        ]
        self.wait_for_listening = wait
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self._port_known = False  # False: read it from the "Serving on" line

    @classmethod
    def command_line(cls, command: list[str], port: int) -> ServerProcess:
        """Any server, started by ``command`` to listen on 127.0.0.1:``port``
        (``free_port()``): ready once the port accepts a connection, since every
        server words its "listening" line its own way."""
        server = cls("")
        server.command = command
        server.address = ("127.0.0.1", port)
        server._port_known = True
        return server

    def __enter__(self) -> ServerProcess:
        self.process = subprocess.Popen(
            self.command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if self.wait_for_listening and self._port_known:
            self._wait_until_accepting()
        elif self.wait_for_listening:
            line = self.wait_for("Serving on http://", "Listening on http://")
            host_port = line.split("http://", 1)[1].split()[0]
            host, _, port = host_port.rpartition(":")
            self.address = (host, int(port))
        return self

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                socket.create_connection(self.address, timeout=STARTUP_TIMEOUT).close()
                return
            except OSError:  # refused: not listening yet
                if self.process.poll() is not None:
                    self._reader.join(STARTUP_TIMEOUT)
                    raise AssertionError(f"exited before listening:\n{self.output}") from None
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"not listening after {STARTUP_TIMEOUT}s:\n{self.output}"
                    ) from None
                time.sleep(0.05)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, *texts: str) -> str:
        """The first output line containing one of ``texts`` (fails if it never comes)."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if any(text in line for text in texts):
                        return line
                seen = len(self.lines)
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"exited before printing {texts}:\n{self.output}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {texts} after {STARTUP_TIMEOUT}s:\n{self.output}")
                self._changed.wait(0.1)

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self) -> int:
        """The exit status (fails if the process does not exit in time)."""
        status = self.process.wait(STARTUP_TIMEOUT)
        self._reader.join(STARTUP_TIMEOUT)
        return status

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STARTUP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(STARTUP_TIMEOUT)
        if self.process.stdout is not None:
            self.process.stdout.close()

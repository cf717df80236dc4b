"""The server loop: listen, accept, serve each connection, and stop gracefully.

``Server.serve`` is the life of one process:

1. ``bind_socket``: ``socket()``, ``bind()``, ``listen()`` - from here the
   kernel completes TCP handshakes and queues them (up to ``backlog``);
2. lifespan startup (``lifespan.py``); a failure ends everything here;
3. ``Transport.listen``: the event loop ``accept()``s each connection and
   calls ``_accepted``, which starts a task running ``HTTP11Protocol.run``
   (``http11.py``); beyond ``max_connections`` a new connection is still
   read, but only to answer 503;
4. on ``shutdown()`` (SIGINT or SIGTERM from ``run``): stop accepting, tell
   every connection to finish (idle ones close at once, busy ones after the
   response in flight), wait up to ``shutdown_timeout``, cancel what is left;
5. lifespan shutdown.

``run`` is the one-process command line; ``workers.py`` runs several of these
processes on one socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import logging
import signal
import socket
from typing import Any

import anyio
import anyio.abc

from minimal_asgi.server.config import Config
from minimal_asgi.server.connection import Transport
from minimal_asgi.server.http11 import HTTP11Protocol
from minimal_asgi.server.lifespan import Lifespan, LifespanFailure
from minimal_asgi.types import ASGIApp

__all__ = ["STARTUP_FAILED", "Server", "bind_socket", "configure_logging", "load_app", "run"]

logger = logging.getLogger("minimal_asgi.server")

STARTUP_FAILED = 3  # the exit status when the app's startup fails (uvicorn's too)


def load_app(path: str, validate: bool = False) -> ASGIApp:
    """``"examples.hello.app:app"`` -> the app object (wrapped in the ASGI checker if asked)."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"give the app as module:attribute (examples.hello.app:app), not {path!r}")
    app: Any = importlib.import_module(module_name)
    for name in attribute.split("."):
        app = getattr(app, name)
    if validate:
        # Loaded by name, as the app is: the server itself imports nothing of the framework.
        app = importlib.import_module("minimal_asgi.conformance").validate(app)
    return app  # type: ignore[no-any-return]


def bind_socket(config: Config) -> socket.socket:
    """A listening TCP socket on ``config.host``:``config.port``."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Allow a restarted server to bind while old connections sit in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
        sock.listen(config.backlog)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class Server:
    """One process serving ``app``: ``await serve()``, and ``shutdown()`` to stop."""

    def __init__(
        self,
        app: ASGIApp,
        config: Config,
        sock: socket.socket | None = None,
        signals: tuple[signal.Signals, ...] = (),
    ) -> None:
        self.app = app
        self.config = config
        self.sock = sock
        self.signals = signals
        self.lifespan = Lifespan(app, config.lifespan)
        self.connections: set[HTTP11Protocol] = set()
        self._open = 0  # accepted connections, counted from accept() on (max_connections)
        self._tasks: set[asyncio.Task[None]] = set()  # one per connection
        self.stopping = False
        self._stop: anyio.Event | None = None
        self._all_closed: anyio.Event | None = None
        self._grace: anyio.CancelScope | None = None

    def shutdown(self) -> None:
        """Stop gracefully; called again, stop waiting for requests in flight."""
        if self.stopping:
            if self._grace is not None:
                self._grace.cancel()
            return
        self.stopping = True
        if self._stop is not None:
            self._stop.set()

    async def serve(
        self, *, task_status: anyio.abc.TaskStatus[tuple[str, int]] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve until ``shutdown()``; ``task_status`` gets the (host, port) listened on."""
        sock = self.sock if self.sock is not None else bind_socket(self.config)
        host, port = sock.getsockname()[:2]
        self._stop, self._all_closed = anyio.Event(), anyio.Event()
        if self.stopping:
            self._stop.set()
        failure: LifespanFailure | None = None
        with contextlib.closing(self.lifespan):
            async with anyio.create_task_group() as tasks:
                if self.signals:
                    tasks.start_soon(self._stop_on_signals)
                try:
                    await self.lifespan.startup(tasks)
                except LifespanFailure as exc:
                    failure = exc
                    sock.close()
                    tasks.cancel_scope.cancel()
                else:
                    logger.info("Serving on http://%s:%d (CTRL+C to stop)", host, port)
                    task_status.started((host, port))
                    await self._serve_connections(sock)
                    try:
                        await self.lifespan.shutdown()
                    except LifespanFailure as exc:
                        logger.error("Application shutdown failed: %s", exc)
                    tasks.cancel_scope.cancel()
        if failure is not None:
            raise failure  # outside the task group, so callers see it, not an ExceptionGroup

    async def _serve_connections(self, sock: socket.socket) -> None:
        assert self._stop is not None and self._all_closed is not None
        listener = await Transport.listen(sock, self._accepted)
        try:
            await self._stop.wait()
            # 1. Stop accepting: from now on the kernel refuses new connections.
            listener.close()
            # 2. Idle connections close now; busy ones after the response in flight.
            logger.info("Shutting down: waiting for %d connection(s)", len(self.connections))
            for connection in list(self.connections):
                connection.shutdown()
            # 3. The grace period; then whatever still runs is cancelled.
            with anyio.move_on_after(self.config.shutdown_timeout) as self._grace:
                if self.connections:
                    await self._all_closed.wait()
            if self._grace.cancelled_caught and self.connections:
                logger.warning("Cancelling %d connection(s) still busy", len(self.connections))
        finally:
            listener.close()
            for task in self._tasks:
                task.cancel()
            with anyio.CancelScope(shield=True):
                while self._tasks:
                    await asyncio.wait(self._tasks)

    def _accepted(self, transport: Transport) -> None:
        """A new connection (called by the event loop): serve it in a task of its own.

        PERF: a plain asyncio task, as for app tasks (see
        ``HTTP11Protocol._start_app``): anyio's ``start_soon`` costs more than
        the rest of a ``Connection: close`` request's set-up. A forced shutdown
        cancels the task itself.
        """
        overloaded = self._open >= self.config.max_connections
        self._open += 1
        task = asyncio.get_running_loop().create_task(self._handle(transport, overloaded))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, transport: Transport, overloaded: bool) -> None:
        connection = HTTP11Protocol(
            transport, self.app, self.config, self.lifespan.state, overloaded=overloaded
        )
        self.connections.add(connection)
        if self.stopping:
            connection.shutdown()
        try:
            await connection.run()
        except Exception:  # a bug here must cost one connection, not the server
            logger.exception("Error while serving a connection")
        finally:
            self._open -= 1
            self.connections.discard(connection)
            if self.stopping and not self.connections and self._all_closed is not None:
                self._all_closed.set()

    async def _stop_on_signals(self) -> None:
        with anyio.open_signal_receiver(*self.signals) as received:
            async for signum in received:
                name = signal.Signals(signum).name
                if not self.stopping:
                    logger.info("%s received: shutting down (again to stop at once)", name)
                else:
                    logger.warning("%s received again: stopping at once", name)
                self.shutdown()


def configure_logging(level: str) -> None:
    """Print log lines to stderr, unless the app has configured logging itself."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level.upper(), format="%(levelname)s: %(message)s")


def run(
    app_path: str,
    config: Config,
    sock: socket.socket | None = None,
    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM),
) -> int:
    """Serve in this process until a signal; the exit status."""
    app = load_app(app_path, config.validate)
    server = Server(app, config, sock, signals)
    use_uvloop = importlib.util.find_spec("uvloop") is not None
    try:
        anyio.run(server.serve, backend="asyncio", backend_options={"use_uvloop": use_uvloop})
    except LifespanFailure as exc:
        logger.error("Application startup failed: %s", exc)
        return STARTUP_FAILED
    logger.info("Stopped")
    return 0

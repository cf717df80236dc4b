"""``--workers N``: N processes serving one listening socket.

One Python process runs one event loop on one core. To use more cores, the
parent binds the socket once and starts N worker processes that each
``accept()`` on it; the kernel hands every new connection to one of them. The
parent serves nothing: it starts the workers, waits, and stops them.

- **Signals**: the parent handles SIGINT and SIGTERM and passes SIGTERM on;
  each worker then shuts down gracefully (``main.py``). Workers ignore SIGINT,
  so a CTRL+C in a terminal (which reaches every process of the group) is
  counted once, by the parent.
- **A worker that dies** on its own (its startup failed, or it crashed) stops
  the whole server with its exit status. Production supervisors (gunicorn's
  arbiter, systemd, Kubernetes) restart workers instead; failing loudly is the
  teaching choice here.
- **Each worker runs its own lifespan**: state opened at startup (a database
  pool) exists once per process.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys

from minimal_asgi.server.config import Config
from minimal_asgi.server.main import bind_socket, configure_logging, run

__all__ = ["supervise"]

logger = logging.getLogger("minimal_asgi.server")


def _worker(app_path: str, config: Config, sock: socket.socket) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(config.log_level)
    sys.exit(run(app_path, config, sock, signals=(signal.SIGTERM,)))


def supervise(app_path: str, config: Config) -> int:
    """Start ``config.workers`` processes on one socket; return when they are all gone."""
    sock = bind_socket(config)
    host, port = sock.getsockname()[:2]
    logger.info("Listening on http://%s:%d with %d workers", host, port, config.workers)
    # "spawn" starts each worker as a fresh interpreter: nothing of the parent's
    # state (threads, locks, an event loop) is copied into it by accident.
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_worker, args=(app_path, config, sock), name=f"worker-{number}")
        for number in range(1, config.workers + 1)
    ]
    # A signal handler may only do little; it writes a byte that wakes the loop below.
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    received: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        received.append(signum)
        os.write(wake_write, b"!")

    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, on_signal)
    for worker in workers:
        worker.start()
        logger.info("Started %s [%d]", worker.name, worker.pid)
    sock.close()  # the workers have their own copies

    status = 0
    while any(worker.is_alive() for worker in workers):
        ready = multiprocessing.connection.wait([wake_read, *(w.sentinel for w in workers)])
        if wake_read in ready:
            os.read(wake_read, 64)
            signum = received[-1]
            logger.info("%s received: stopping the workers", signal.Signals(signum).name)
            for worker in workers:  # a second signal is passed on too: stop at once
                if worker.is_alive() and worker.pid is not None:
                    os.kill(worker.pid, signal.SIGTERM)
            continue
        for worker in workers:
            if worker.exitcode not in (None, 0) and not received and status == 0:
                status = worker.exitcode
                logger.error("%s exited with status %d: stopping", worker.name, status)
                for other in workers:
                    if other.is_alive() and other.pid is not None:
                        os.kill(other.pid, signal.SIGTERM)
                received.append(signal.SIGTERM)
    for worker in workers:
        worker.join()
    os.close(wake_read)
    os.close(wake_write)
    return status

"""Helpers for the SQL tests that run a database: an isolated PostgreSQL
schema per test, and servers that misbehave on purpose."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import anyio
import asyncpg

from minimal_asgi_sql import Database


def placeholders(db: Database, sql: str) -> str:
    """Tests write $1, $2; SQLite wants ?."""
    return sql if db.dialect == "postgres" else re.sub(r"\$\d+", "?", sql)


def with_search_path(url: str, schema: str) -> str:
    # asyncpg passes unknown query parameters on as server settings.
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


async def _admin(url: str, sql: str) -> Any:
    connection = await asyncpg.connect(url)
    try:
        return await connection.execute(sql)
    finally:
        await connection.close()


@contextlib.contextmanager
def pg_schema(database_url: str) -> Iterator[str]:
    """A fresh schema for one test, dropped after it; yields a URL whose
    connections create and find tables there. (Sync, so that it can serve
    TestClient tests and async tests alike.)"""
    name = f"test_{uuid.uuid4().hex[:12]}"
    anyio.run(_admin, database_url, f'CREATE SCHEMA "{name}"')
    try:
        yield with_search_path(database_url, name)
    finally:
        anyio.run(_admin, database_url, f'DROP SCHEMA "{name}" CASCADE')


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog does) and never
    says a word: a server that hangs. Yields the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


class TCPProxy:
    """Forwards a local port to PostgreSQL. ``stop()`` drops every connection
    and stops listening - what a crashed server or a cut network looks like
    from the app; ``start()`` again brings it back on the same port."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def url(self, target_url: str) -> str:
        parts = urlsplit(target_url)
        netloc = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{self.port}"
        return parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host).geturl()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
            listener, self._listener = self._listener, None
        for sock in [*sockets, *([listener] if listener else [])]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


# The timeouts under test are 0.3-1 s; a call that takes longer than this has
# hung. Not a performance figure (those live in benchmarks/): generous on
# purpose, so a loaded CI machine cannot make the test flaky.
HANG_GUARD = 30.0

"""The ASGI app an opted-in route is wrapped in: one request, from its key to
its answer.

A request reaches ``IdempotentRoute.__call__`` after routing:

1. A safe method of the route (``GET``), or no key on a route where the key is
   optional: the route runs as if the plugin were not there.
2. The key is read (header.py): missing where required, empty, too long, not a
   Structured Field String, sent twice - ``400``, and the route does not run.
3. The body is read whole, and the request's fingerprint made of it.
4. The key is *claimed* (backends.py) under a name made of the client's
   identity, the method, the path and the key - so one client's key can never
   reach another client's answer. The claim stores a lock with a lease.
5. Claimed: the route runs; its answer goes to the client as it is produced,
   and a copy is kept (up to ``max_response_bytes``). An exception becomes the
   response the app would send for it (``App.respond_to_error``), so an error
   is stored like any answer. Then the lock is replaced by the stored response.
6. Not claimed, the key holds something already: another fingerprint - ``422``;
   a lock - ``409``, the first request is still running; a stored response - it
   is sent again, status, headers and body as they were.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable

import anyio

from minimal_asgi import (
    App,
    ASGIApp,
    ClientDisconnect,
    Message,
    ProblemResponse,
    Receive,
    Scope,
    Send,
)
from minimal_asgi_idempotency import records
from minimal_asgi_idempotency.backends import IdempotencyBackend, Unavailable
from minimal_asgi_idempotency.header import InvalidKey, parse_key
from minimal_asgi_idempotency.problems import Problems

__all__ = ["IdempotentRoute", "Leases", "client_identity", "storage_name"]

logger = logging.getLogger("minimal_asgi_idempotency")

_KEY_JSON = json.JSONEncoder(separators=(",", ":"))  # PERF: one encoder, built once


def client_identity(scope: Scope) -> str:
    """The default identity: who sent the ``Authorization`` header (its hash),
    or else the client's address. Behind a proxy every client has the proxy's
    address; pass ``identity=`` a function that names the user instead."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return "authorization:" + hashlib.sha256(value).hexdigest()
    client = scope.get("client")
    return "address:" + (str(client[0]) if client else "")


def storage_name(prefix: str, identity: str, method: str, path: str, key: str) -> str:
    """Where a key is stored: a hash of who asked, the method, the path and the
    key (as a JSON array, so no crafted key can pass for another split of the
    parts). The client's key alone would let one tenant read another's answer
    by guessing or reusing a key - the draft's "data leak" (section 5)."""
    parts = _KEY_JSON.encode([identity, method, path, key]).encode("utf-8", "surrogateescape")
    return prefix + hashlib.sha256(parts).hexdigest()


class Leases:
    """The locks this process holds, renewed by one task while the app runs, so
    a request slower than the lease keeps its lock; a process that dies stops
    renewing, and its locks expire one lease later."""

    def __init__(self, backend: IdempotencyBackend, lease: float) -> None:
        self.backend = backend
        self.lease = lease
        self.held: dict[str, bytes] = {}

    async def keep(self) -> None:
        while True:
            await anyio.sleep(self.lease / 3)
            for key, value in list(self.held.items()):
                try:
                    await self.backend.renew(key, value, self.lease)
                except Unavailable as exc:
                    logger.warning("could not renew the lease of %s: %s", key, exc)


class IdempotentRoute:
    """The idempotency layer around one route's handler (built once, at startup)."""

    def __init__(
        self,
        handler: ASGIApp,
        app: App,
        *,
        methods: frozenset[str],
        required: bool,
        backend: IdempotencyBackend,
        leases: Leases,
        identity: Callable[[Scope], str],
        problems: Problems,
        ttl: float,
        max_key_length: int,
        max_response_bytes: int,
        prefix: str,
    ) -> None:
        self.handler = handler
        self.app = app
        self.methods = methods
        self.required = required
        self.backend = backend
        self.leases = leases
        self.identity = identity
        self.problems = problems
        self.ttl = ttl
        self.max_key_length = max_key_length
        self.max_response_bytes = max_response_bytes
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in self.methods:
            await self.handler(scope, receive, send)
            return
        lines = [value for name, value in scope["headers"] if name == b"idempotency-key"]
        if not lines:
            if self.required:
                await self.problems.missing()(scope, receive, send)
            else:
                await self.handler(scope, receive, send)
            return
        try:
            key = parse_key(lines, self.max_key_length)
        except InvalidKey as exc:
            await self.problems.invalid(str(exc))(scope, receive, send)
            return
        try:
            body = await _read_body(receive, self.app.max_body_size)
        except ClientDisconnect:
            return  # nobody to answer, nothing claimed
        except _TooLarge:
            detail = f"the body is larger than {self.app.max_body_size} bytes"
            await ProblemResponse(413, detail)(scope, receive, send)
            return
        path = scope.get("root_path", "") + scope["path"]
        name = storage_name(self.prefix, self.identity(scope), method, path, key)
        printed = records.fingerprint(method, path, scope["query_string"], body)
        lock = records.RUNNING + printed + secrets.token_hex(8).encode()
        try:
            found = await self.backend.claim(name, lock, self.leases.lease)
        except Unavailable as exc:
            logger.warning("idempotency store unavailable: %s", exc)
            await self.problems.unavailable()(scope, receive, send)
            return
        if found is not None:
            await self._answer_from(records.parse(found), printed, scope, receive, send)
            return
        await self._run(name, lock, printed, scope, _replaying(body, receive), send)

    async def _answer_from(
        self, record: records.Record, printed: bytes, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if record.fingerprint != printed:
            await self.problems.reused()(scope, receive, send)
        elif record.kind == records.RUNNING:
            await self.problems.in_flight()(scope, receive, send)
        elif record.kind == records.DONE:
            status, headers, body = records.decode_response(record.rest)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        else:
            await self.problems.not_kept(record.rest.decode("ascii"))(scope, receive, send)

    async def _run(
        self, name: str, lock: bytes, printed: bytes, scope: Scope, receive: Receive, send: Send
    ) -> None:
        recorder = _Recorder(send, self.max_response_bytes)
        self.leases.held[name] = lock
        try:
            try:
                await self.handler(scope, receive, recorder.send)
            except Exception as exc:
                if recorder.started:
                    raise  # too late for another answer: what was sent is what happened
                # The app's answer to the exception, recorded like any other.
                # A crash is answered 500 and re-raised from here, for the log.
                await self.app.respond_to_error(scope, receive, recorder.send, exc)
        finally:
            if self.leases.held.get(name) == lock:  # not a later holder's, after a lost lease
                del self.leases.held[name]
            with anyio.CancelScope(shield=True):
                await self._settle(name, lock, printed, recorder)

    async def _settle(self, name: str, lock: bytes, printed: bytes, recorder: _Recorder) -> None:
        """Replace the lock: by the response; by "not kept" if one was sent that
        cannot be replayed; or by nothing, if no answer started (a retry runs)."""
        try:
            if recorder.complete and recorder.kept:
                payload = records.encode_response(
                    recorder.status, recorder.headers, b"".join(recorder.body)
                )
                await self.backend.replace(name, lock, records.DONE + printed + payload, self.ttl)
            elif recorder.started:
                value = records.NOT_KEPT + printed + str(recorder.status).encode()
                await self.backend.replace(name, lock, value, self.ttl)
            else:
                await self.backend.release(name, lock)
        except Unavailable as exc:
            # The client has its answer; a retry after the lease runs the route
            # again. Said in the log, since nothing else can be done now.
            logger.warning("could not store the answer for %s: %s", name, exc)


class _Recorder:
    """The ``send`` the route talks to: every message goes on at once (a stream
    is not held back), and a copy is kept up to the size limit."""

    def __init__(self, send: Send, max_bytes: int) -> None:
        self.downstream = send
        self.max_bytes = max_bytes
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.started = False
        self.complete = False
        self.kept = True

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.started = True
            self.status = message["status"]
            self.headers = [(bytes(n), bytes(v)) for n, v in message.get("headers", [])]
        elif kind == "http.response.body":
            chunk = message.get("body", b"")
            if self.kept:
                self.size += len(chunk)
                if self.size > self.max_bytes:
                    self.kept, self.body = False, []
                else:
                    self.body.append(chunk)
            self.complete = not message.get("more_body", False)
        await self.downstream(message)


class _TooLarge(Exception):
    pass


async def _read_body(receive: Receive, limit: int | None) -> bytes:
    """The whole body (the fingerprint needs it before the route runs)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise _TooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the route the body already read, then the real
    one (a disconnect, later)."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again

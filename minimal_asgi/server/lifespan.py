"""The lifespan protocol, from the server's side.

Before the first connection is accepted, the server calls the app once with a
``lifespan`` scope and keeps that call running for the life of the process:

    server -> app   lifespan.startup
    app -> server   lifespan.startup.complete      (or .failed, with a message)
    ... the server serves requests ...
    server -> app   lifespan.shutdown               (after the last connection closed)
    app -> server   lifespan.shutdown.complete     (or .failed)

A failed startup stops the server before it serves anyone: ``startup()``
raises ``LifespanFailure`` carrying the app's own message, and the command
line exits non-zero with it. An app that does not speak the protocol (it
raises, or returns, before saying anything) is served without startup and
shutdown in ``auto`` mode, as the spec allows; in ``on`` mode that is a failure.

The scope's ``state`` dict is what the app fills at startup; each request's
scope gets a shallow copy of it (``http11.py``).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import anyio
import anyio.abc

from minimal_asgi.types import ASGIApp, Message

__all__ = ["Lifespan", "LifespanFailure"]

logger = logging.getLogger("minimal_asgi.server")


class LifespanFailure(Exception):
    """The app's startup (or shutdown) failed; the message is the app's own."""


class Lifespan:
    """Run the app's lifespan: ``await startup(task_group)``, later ``await shutdown()``."""

    def __init__(self, app: ASGIApp, mode: str = "auto") -> None:
        self.app = app
        self.mode = mode
        self.state: dict[str, Any] = {}
        self.supported = mode != "off"
        self._app_spoke = False
        self._error: BaseException | None = None
        self._to_app, self._app_inbox = anyio.create_memory_object_stream[Message](math.inf)
        self._from_app, self._inbox = anyio.create_memory_object_stream[Message](math.inf)

    async def startup(self, task_group: anyio.abc.TaskGroup) -> None:
        if not self.supported:
            return
        task_group.start_soon(self._main)
        await self._to_app.send({"type": "lifespan.startup"})
        await self._expect("startup")

    async def shutdown(self) -> None:
        if not self.supported:
            return
        await self._to_app.send({"type": "lifespan.shutdown"})
        await self._expect("shutdown")

    def close(self) -> None:
        """Release the message streams (the app's lifespan call is over, or never began)."""
        for stream in (self._to_app, self._app_inbox, self._from_app, self._inbox):
            stream.close()

    async def _main(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self._app_inbox.receive, self._send)
        except Exception as exc:
            self._error = exc
        finally:
            # The app's call is over, whatever happened: wake whoever waits for an answer.
            self._from_app.send_nowait({"type": "returned"})

    async def _send(self, message: Message) -> None:
        self._app_spoke = True
        await self._from_app.send(message)

    async def _expect(self, phase: str) -> None:
        message = await self._inbox.receive()
        if message["type"] == f"lifespan.{phase}.complete":
            return
        if message["type"] == f"lifespan.{phase}.failed":
            raise LifespanFailure(message.get("message") or f"the app's {phase} failed")
        assert message["type"] == "returned", message
        # The app's call ended without answering.
        error = self._error
        if phase == "startup" and self.mode == "auto" and not self._app_spoke:
            reason = f" ({type(error).__name__}: {error})" if error else ""
            logger.info("The app does not use the lifespan protocol%s; serving without it", reason)
            self.supported = False
            return
        if error is not None:
            raise LifespanFailure(f"{type(error).__name__}: {error}") from error
        raise LifespanFailure(f"the app returned without answering lifespan.{phase}")

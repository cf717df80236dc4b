"""Request hooks: code that runs just before and just after the endpoint.

Middleware sees raw ASGI messages and wraps everything; a hook sees the
``Request`` (and the ``Response``) of a *matched* route, which is what most
cross-cutting code wants: "reject unauthenticated calls", "add a header".

- ``before_request(request)`` runs after routing, before the endpoint, in
  registration order. Returning a ``Response`` short-circuits: the endpoint is
  not called, and that response is what the client gets.
- ``after_request(request, response)`` runs after the endpoint (or after a
  short-circuit), in registration order, and returns the response to send
  (returning ``None`` keeps the one it was given).
- When the endpoint raises, after-request hooks do not run: the exception goes
  to the exception handlers instead.
- Hooks run for HTTP routes only. A WebSocket route has no response to pass
  along; guard it with ``dependencies=[...]`` or middleware instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from minimal_asgi.requests import Request
from minimal_asgi.responses import Response

__all__ = ["AfterHook", "BeforeHook", "Hooks"]

BeforeHook = Callable[[Request], Awaitable[Response | None]]
AfterHook = Callable[[Request, Response], Awaitable[Response | None]]


@dataclass(slots=True)
class Hooks:
    before: list[tuple[str, BeforeHook]] = field(default_factory=list)
    after: list[tuple[str, AfterHook]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.before or self.after)


def hook_name(func: Any) -> str:
    """``check_auth``, not ``make_app.<locals>.check_auth``: the trace is for people."""
    name = getattr(func, "__qualname__", getattr(func, "__name__", repr(func)))
    return str(name).rsplit("<locals>.", 1)[-1]

"""The ASGI interface, named once.

Every layer of minimal_asgi - the app, the middleware, the router, each route and
each response - is an *ASGI application*: an async callable that takes a
``scope`` (what this connection is), a ``receive`` callable (messages from the
client) and a ``send`` callable (messages to the client). These aliases are the
whole contract; see docs/01-asgi.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send"]

"""The access log: one line per request, once its response is complete.

::

    INFO: 127.0.0.1:52814 - "GET /hello/you HTTP/1.1" 200 27 0.3ms

Who asked (client address and port), what they asked (the request line), what
they got (status, body bytes) and how long the server took from the complete
request head to the last byte handed to the kernel. Requests the server refused
itself (400, 408, 413, 431, 503) are logged too, with ``-`` for what it could
not read. The line goes to the ``minimal_asgi.server.access`` logger, so
``--no-access-log`` or a logging configuration can silence it.

Everything in the line comes from the client, so it must not be able to forge
lines: h11 has already refused a request line with control characters or
spaces in the target, which is what makes printing it as is safe.
"""

from __future__ import annotations

import logging

__all__ = ["log_request", "logger"]

logger = logging.getLogger("minimal_asgi.server.access")


def log_request(
    client: tuple[str, int] | None,
    request_line: str,
    status: int,
    body_bytes: int,
    seconds: float,
) -> None:
    who = f"{client[0]}:{client[1]}" if client else "-"
    logger.info('%s - "%s" %d %d %.1fms', who, request_line, status, body_bytes, seconds * 1000)

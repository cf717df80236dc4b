"""The server's options: every limit with its safe default, and the command line.

A server faces the whole internet, so each resource a client can make it spend
has a ceiling: bytes of request line and headers, bytes of body, seconds of
waiting, number of connections. Each ceiling is one field of ``Config`` with
its default and its help text side by side; ``parse_args`` builds the command
line from those fields, so the options and the defaults cannot disagree::

    python -m minimal_asgi.server examples.hello.app:app --port 8000 --read-timeout 5

Nothing here talks to the network: ``main.py`` binds the socket, ``http11.py``
and ``websocket.py`` enforce the limits.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from typing import Any

__all__ = ["Config", "parse_args"]

KIB = 1024
MIB = 1024 * KIB


def _option(
    default: Any, help: str, metavar: str | None = None, choices: tuple[str, ...] | None = None
) -> Any:
    metadata = {"help": help, "metavar": metavar, "choices": choices}
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class Config:
    """How to listen, and how much any one client may ask of the server."""

    host: str = _option("127.0.0.1", "address to listen on (0.0.0.0 for every interface)")
    port: int = _option(8000, "port to listen on (0: any free port)")
    workers: int = _option(1, "processes sharing the listening socket", "N")
    backlog: int = _option(2048, "connections the kernel queues before accept()", "N")
    root_path: str = _option("", "the prefix a proxy mounts the app under (scope root_path)")
    lifespan: str = _option(
        "auto", "run the lifespan protocol (auto: unless the app refuses it)", None,
        ("auto", "on", "off"),
    )
    access_log: bool = _option(True, "one log line per request")
    log_level: str = _option("info", "what to log", None, ("debug", "info", "warning", "error"))
    validate: bool = _option(False, "check every ASGI message with minimal_asgi.conformance")

    # -- how strict the parser is --------------------------------------------------
    allow_bare_lf: bool = _option(
        False,
        "accept a bare LF (no CR) ending a line of a request head, as RFC 9112 section 2.2 "
        "permits; off, such a head gets 400, since a proxy that splits lines differently "
        "would see another request (smuggling). Chunk lines always need CRLF",
    )
    allow_any_method: bool = _option(
        False,
        "pass any method token to the app; off, a method outside the IANA registry "
        "(methods are case-sensitive: 'get' is not GET) gets 501",
    )

    # -- limits: what one client may cost us --------------------------------------
    max_request_line: int = _option(
        8190, "longest request line (method, target, version); longer gets 414", "BYTES"
    )
    max_header_bytes: int = _option(
        16 * KIB, "largest request head (request line and headers); larger gets 431", "BYTES"
    )
    max_body_bytes: int = _option(
        1 * MIB, "largest request body handed to the app; larger gets 413", "BYTES"
    )
    max_connections: int = _option(
        1000, "open connections per process; a client beyond them gets 503", "N"
    )
    keep_alive_timeout: float = _option(
        5.0, "seconds an idle connection may wait for its next request", "SECONDS"
    )
    read_timeout: float = _option(
        10.0,
        "seconds a client has to send a whole request head, and at most between two "
        "reads of a body; a slower client gets 408 and is cut off",
        "SECONDS",
    )
    shutdown_timeout: float = _option(
        10.0, "grace period for requests in flight when the server stops", "SECONDS"
    )
    websocket_max_message: int = _option(
        1 * MIB,
        "largest WebSocket message (text counted in UTF-8 bytes); larger closes the socket "
        "with 1009",
        "BYTES",
    )
    websocket_max_queue: int = _option(
        1 * MIB,
        "bytes of WebSocket messages received and not yet read by the app; beyond it the "
        "server stops reading the socket until the app catches up",
        "BYTES",
    )
    websocket_close_timeout: float = _option(
        5.0,
        "seconds a WebSocket client has to answer the server's close frame; meanwhile its "
        "messages are discarded, after it the connection is dropped",
        "SECONDS",
    )

    def __post_init__(self) -> None:
        if self.lifespan not in ("auto", "on", "off"):
            raise ValueError(f"lifespan must be auto, on or off, not {self.lifespan!r}")
        if self.log_level not in ("debug", "info", "warning", "error"):
            levels = "debug, info, warning or error"
            raise ValueError(f"log_level must be {levels}, not {self.log_level!r}")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type in ("int", "float") and value < 0:
                raise ValueError(f"{field.name} must not be negative, got {value}")
        if self.workers < 1 or self.max_connections < 1:
            raise ValueError("workers and max_connections must be at least 1")


def parse_args(argv: Sequence[str] | None = None) -> tuple[str, Config]:
    """``APP [options]`` -> ("module:attribute", Config)."""
    parser = argparse.ArgumentParser(
        prog="python -m minimal_asgi.server",
        description="A small HTTP/1.1 and WebSocket ASGI server, written to be read.",
    )
    parser.add_argument("app", help="the ASGI app to serve, as module:attribute")
    for field in dataclasses.fields(Config):
        flag = "--" + field.name.replace("_", "-")
        help_text = field.metadata["help"]
        if field.type == "bool":
            if field.default:  # on by default: the option turns it off
                no_flag = "--no-" + flag[2:]
                parser.add_argument(
                    no_flag, dest=field.name, action="store_false", help=f"turn off: {help_text}"
                )
            else:
                parser.add_argument(flag, dest=field.name, action="store_true", help=help_text)
            continue
        parser.add_argument(
            flag,
            dest=field.name,
            type={"int": int, "float": float}.get(str(field.type), str),
            default=field.default,
            metavar=field.metadata["metavar"],
            choices=field.metadata["choices"],
            help=f"{help_text} (default: {field.default!r})",
        )
    args = vars(parser.parse_args(argv))
    app = args.pop("app")
    try:
        return app, Config(**args)
    except ValueError as exc:
        parser.error(str(exc))

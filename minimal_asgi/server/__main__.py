"""``python -m minimal_asgi.server examples.hello.app:app --host 127.0.0.1 --port 8000``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from minimal_asgi.server.config import parse_args
from minimal_asgi.server.main import configure_logging, run
from minimal_asgi.server.workers import supervise


def main(argv: Sequence[str] | None = None) -> int:
    app_path, config = parse_args(argv)
    configure_logging(config.log_level)
    try:
        if config.workers > 1:
            return supervise(app_path, config)
        return run(app_path, config)
    except (ImportError, AttributeError, ValueError, OSError) as exc:
        logging.getLogger("minimal_asgi.server").error("%s: %s", type(exc).__name__, exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""The app the production-server recipes serve in test_servers.py.

``GET /pid``: the worker process that answered. ``GET /slow?seconds=s&tag=t``:
writes ``$STARTED_DIR/t`` when it starts (so a test knows it is in flight),
sleeps, then answers - a request for a graceful shutdown to wait for.
"""

from __future__ import annotations

import os
from pathlib import Path

import anyio

from minimal_asgi import App

app = App(openapi_url=None, docs_url=None)


@app.get("/pid")
async def pid() -> dict[str, int]:
    return {"pid": os.getpid()}


@app.get("/slow")
async def slow(seconds: float, tag: str) -> dict[str, int | str]:
    started = Path(os.environ["STARTED_DIR"]) / tag
    started.write_text(str(os.getpid()))
    await anyio.sleep(seconds)
    return {"pid": os.getpid(), "tag": tag}

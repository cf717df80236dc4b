"""An app for the multiprocess test: run under ``uvicorn --workers 2`` with
``PROMETHEUS_MULTIPROC_DIR`` set; each answer says which process served it."""

from __future__ import annotations

import os

from minimal_asgi import App
from minimal_asgi_metrics import Metrics

app = App(plugins=[Metrics()])


@app.get("/items/{item_id:int}")
async def item(item_id: int) -> dict[str, int]:
    return {"id": item_id, "pid": os.getpid()}

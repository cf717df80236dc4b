"""An upload app to run in a server process of its own, so that the memory a
test measures (``/memory``) is the server's alone: ``uvicorn
tests.core.upload_app:app``. Large limits, set for the streaming tests; the
upload directory comes from ``UPLOAD_DIR``."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from typing import Any

from minimal_asgi import App, Form, FormLimits, UploadFile
from minimal_asgi.types import Message, Receive, Scope, Send

MiB = 1024 * 1024


class CountStatuses:
    """Counts the status of every response (what a client that was cut off
    may never get to read)."""

    def __init__(self, app: Any, counts: Counter[int]) -> None:
        self.app = app
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.counts[message["status"]] += 1
            await send(message)

        await self.app(scope, receive, counting_send)


def rss_kib(field: str) -> int:
    """A line of /proc/self/status, in KiB: VmRSS (now) or VmHWM (the peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)  # pragma: no cover - Linux has both


counts: Counter[int] = Counter()
app = App(
    form_limits=FormLimits(
        max_body_size=300 * MiB,
        max_file_size=250 * MiB,
        upload_dir=os.environ.get("UPLOAD_DIR"),
    )
)
app.add_middleware(CountStatuses, counts=counts)


@app.post("/files")
async def receive_file(file: UploadFile) -> dict[str, Any]:
    """Reads the upload back in 1 MiB pieces: its size and SHA-256."""
    digest = hashlib.sha256()
    while chunk := await file.read(MiB):
        digest.update(chunk)
    return {"size": file.size, "sha256": digest.hexdigest(), "in_memory": file.in_memory}


@app.post("/fields")
async def receive_field(note: str = Form()) -> dict[str, int]:
    return {"length": len(note)}


@app.post("/memory/reset")
async def reset_peak() -> dict[str, int]:
    """Resets VmHWM to the current RSS (Linux: 5 > /proc/self/clear_refs)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return {"rss_kib": rss_kib("VmRSS")}


@app.get("/memory")
async def memory() -> dict[str, int]:
    return {"rss_kib": rss_kib("VmRSS"), "peak_kib": rss_kib("VmHWM")}


@app.get("/statuses")
async def statuses() -> dict[str, int]:
    return {str(status): count for status, count in counts.items()}

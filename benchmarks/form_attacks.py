"""What each form attack of chapter 27 costs in CPU, beside an honest upload of the same size.

Each attack is a body published against a Python framework's form parsing
(1,001 parts, 10 MiB of CR/LF around the boundaries, a 1 MiB part header,
10,000 part headers, 5 MB of ``&``). Issue 15 set thresholds of 50 ms of CPU
(for the part counts) and 100 ms (for the rest). Each is posted to one app,
in process, as a server delivers it (64 KiB messages; the part count also
in 8 KiB ones, where the parser sees the first parts before the count refuses), and timed as this
process's CPU time (``time.process_time``); beside it, in the same round, a
harmless body of the same length (one file part) - the ratio says whether the
attack costs more than its bytes. Attack and baseline take turns, ``--rounds``
times; the report gives the medians.

The tests (tests/core/test_upload_limits.py) never time anything: they count
the Python lines each attack runs, which is the same on every machine.

Run: ``python -m benchmarks.form_attacks`` (15 rounds), ``--quick`` (7).
The report is written to benchmarks/results/form_attacks.md.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks import harness
from minimal_asgi import App, Request

BOUNDARY = "b0undary"
CONTENT_TYPES = {
    "multipart": f"multipart/form-data; boundary={BOUNDARY}",
    "urlencoded": "application/x-www-form-urlencoded",
}
MESSAGE = 65536  # bytes per http.request message, as uvicorn delivers a body


def part(content: bytes = b"x", header: bytes = b"") -> bytes:
    return (f"--{BOUNDARY}\r\n".encode() + header
            + b'content-disposition: form-data; name="f"\r\n\r\n' + content + b"\r\n")


END = f"--{BOUNDARY}--\r\n".encode()
CR_LF = b"\r\n" * (5 * 1024 * 1024)

PARTS = b"".join(part() for _ in range(1001)) + END

# name: (content type, body, threshold in seconds of CPU, the status it must get)
ATTACKS: dict[str, tuple[str, bytes, float, int]] = {
    "1,001 parts": ("multipart", PARTS, 0.050, 413),
    "1,001 parts in 8 KiB messages": ("multipart", PARTS, 0.050, 413),
    "10 MiB of CR/LF before the first boundary": ("multipart", CR_LF + part() + END, 0.100, 200),
    "10 MiB of CR/LF after the last boundary": ("multipart", part() + END + CR_LF, 0.100, 200),
    "a 1 MiB part header": (
        "multipart", part(header=b"x-filler: " + b"a" * 2**20 + b"\r\n") + END, 0.100, 413),
    "10,000 part headers": (
        "multipart", part(header=b"".join(b"x-h%d: v\r\n" % i for i in range(10_000))) + END,
        0.100, 413),
    "1,001 urlencoded fields": ("urlencoded", b"&".join(b"f=%d" % i for i in range(1001)),
                                0.050, 413),
    "5 MB of '&'": ("urlencoded", b"&" * 5_000_000, 0.100, 413),
}


def same_size_upload(length: int) -> bytes:
    """A harmless multipart body of exactly ``length`` bytes: one file part."""
    head = (f"--{BOUNDARY}\r\n".encode()
            + b'content-disposition: form-data; name="f"; filename="a.bin"\r\n\r\n')
    tail = b"\r\n" + END
    return head + b"x" * max(0, length - len(head) - len(tail)) + tail


def make_app() -> App:
    app = App()

    @app.post("/")
    async def read(request: Request) -> dict[str, int]:
        return {"fields": len(await request.form())}

    return app


async def post(app: App, content_type: str, body: bytes,
               size: int = MESSAGE) -> tuple[int, float]:
    """The status, and the CPU seconds this process spent answering, the body
    in messages of ``size`` bytes."""
    messages = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    status = 0

    async def receive() -> dict[str, Any]:
        chunk = messages.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(messages)}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = harness.HTTPRequest("POST", "/", body=body, content_type=content_type).scope()
    started = time.process_time()
    await app(scope, receive, send)
    return status, time.process_time() - started


async def measure(rounds: int) -> list[list[str]]:
    app = make_app()
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], float]] = []
    for name, (kind, body, threshold, status) in ATTACKS.items():
        honest = same_size_upload(len(body))
        size = 8192 if "8 KiB" in name else MESSAGE
        got, _ = await post(app, CONTENT_TYPES[kind], body, size)  # warm up, and check
        if got != status:
            raise SystemExit(f"{name}: answered {got}, expected {status}; nothing measured")
        cases.append((name,
                      lambda b=body, k=kind, n=size: post(app, CONTENT_TYPES[k], b, n),
                      lambda b=honest, n=size: post(app, CONTENT_TYPES["multipart"], b, n),
                      threshold))
    times: dict[str, tuple[list[float], list[float]]] = {c[0]: ([], []) for c in cases}
    for round_ in range(rounds):
        harness.progress(f"round {round_ + 1} of {rounds}")
        for name, attack, baseline, _ in cases:
            times[name][0].append((await attack())[1])
            times[name][1].append((await baseline())[1])
    rows = []
    for name, _, _, threshold in cases:
        attack_cpu = statistics.median(times[name][0])
        baseline_cpu = statistics.median(times[name][1])
        rows.append([name, f"{len(ATTACKS[name][1]):,}", f"{attack_cpu * 1000:.2f}",
                     f"{baseline_cpu * 1000:.2f}", f"{attack_cpu / baseline_cpu:.2f}x",
                     f"{threshold * 1000:.0f}",
                     "within" if attack_cpu < threshold else "**over**"])
    return rows


def main(argv: list[str] | None = None) -> None:
    settings = harness.in_process_settings(
        "benchmarks.form_attacks", "What each form attack costs in CPU.", argv)
    rounds = settings.inproc_rounds
    rows = asyncio.run(measure(rounds))
    text = "\n".join([
        *harness.in_process_header("Form attacks: CPU per request beside an upload of the "
                                   "same size", settings)[:-2],
        f"- settings: {rounds} rounds, attack and same-size upload in turn; medians",
        "",
        harness.markdown_table(
            ["attack", "bytes", "CPU ms", "same-size upload, CPU ms", "ratio",
             "threshold ms", ""], rows),
        "The ratio is the attack's CPU over an honest one-file upload of the same "
        "length, in the same round: at or under 1x, the attack costs no more than "
        "its bytes. A refused attack stops early, so it usually costs less.",
    ])
    print(text)
    print(f"written to {harness.write_report('form_attacks', text + chr(10))}")


if __name__ == "__main__":
    main()

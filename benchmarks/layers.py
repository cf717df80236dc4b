"""What each layer of a request costs: the plaintext answer, one layer at a time.

The overhead benchmark's plaintext case compares minimal_asgi with a raw ASGI
app that sends a body and headers built once, at import. Between the two lie
several things any framework adds, and a few that only some do; this script
counts each one's instructions (valgrind's callgrind: no noise), in process
and over the wire under uvicorn, on the variants of benchmarks/apps/layers.py.
Each row adds one thing to the row above it, so its "step" is what that
thing costs.

Run: ``python -m benchmarks.layers`` (needs valgrind; about 15 minutes, most
of it uvicorn starting under callgrind). ``--no-wire`` counts in process only.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from benchmarks import harness
from benchmarks.apps.layers import EXPECTED, REQUEST, VARIANTS, build
from benchmarks.harness import markdown_table, progress

NAME = "layers"


def _count_cases() -> dict[str, object]:
    return {variant: (lambda v=variant: (build(v), REQUEST)) for variant in VARIANTS}


def check_all() -> None:
    """Every variant gives the same answer, before anything is counted."""
    import asyncio

    for variant in VARIANTS:
        captured = asyncio.run(harness.request_in_lifespan(build(variant), REQUEST))
        problems = harness.check(captured, EXPECTED)
        if problems:
            raise SystemExit(f"{variant}: " + "; ".join(problems))


def in_process() -> dict[str, float]:
    counts = {}
    for variant in VARIANTS:
        progress(f"in process: {variant}")
        counts[variant] = harness.instructions_per_call(
            "benchmarks.layers", variant, few=500, many=2_500)
    return counts


def over_the_wire() -> dict[str, float]:
    counts = {}
    for variant in VARIANTS:
        progress(f"over the wire: {variant} (uvicorn under callgrind)")
        counts[variant] = harness.uvicorn_instructions(
            f"{NAME}:{variant}:plaintext", REQUEST, EXPECTED)
    return counts


def report(command: str, inproc: dict[str, float], wire: dict[str, float],
           load_at_start: tuple[float, float, float]) -> str:
    rows = []
    previous: str | None = None
    for variant in VARIANTS:
        row = [f"`{variant}`", f"{inproc[variant]:,.0f}",
               f"{inproc[variant] - inproc[previous]:+,.0f}" if previous else ""]
        if wire:
            row += [f"{wire[variant]:,.0f}",
                    f"{wire[variant] - wire[previous]:+,.0f}" if previous else "",
                    f"{wire[VARIANTS[0]] / wire[variant]:.3f}x"]
        rows.append(row)
        previous = variant
    headers = ["variant (each adds one thing to the row above)", "in process", "step"]
    if wire:
        headers += ["over the wire", "step", "requests per instruction ÷ `constant`"]
    settings = harness.Settings(quick=False, rounds=0, duration=0, warmup=0, inproc_rounds=0,
                                round_seconds=0, connections=0, wire=bool(wire), charts=False,
                                pin=False, command=command,
                                load_at_start=load_at_start)
    what = (
        "Instructions per request of the plaintext answer, built up one layer at a time "
        "(benchmarks/apps/layers.py says what each variant adds). In process: the app called "
        "directly, as the overhead benchmark's in-process figures (the measuring loop "
        f"included). Over the wire: the whole uvicorn process (httptools, uvloop), "
        f"{harness.WIRE_REQUESTS:,} keep-alive requests one at a time after "
        f"{harness.WIRE_WARMUP}. Counts, "
        "not times: they do not move with the machine's load."
    )
    lines = ["# What each layer of a request costs", "", what, "", f"Command: `{command}`", ""]
    lines += [f"- {key}: {value}" for key, value in harness.environment(settings)]
    return "\n".join(lines) + "\n\n" + markdown_table(headers, rows) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if harness.count_child(arguments, _count_cases()):  # type: ignore[arg-type]
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.layers", description=__doc__)
    parser.add_argument("--no-wire", action="store_true", help="count in process only")
    args = parser.parse_args(arguments)
    if harness.valgrind_path() is None:
        raise SystemExit("this benchmark needs valgrind (apt-get install -y valgrind)")
    load_at_start = os.getloadavg()
    check_all()
    inproc = in_process()
    wire = {} if args.no_wire else over_the_wire()
    command = " ".join(["python", "-m", "benchmarks.layers", *arguments])
    text = report(command, inproc, wire, load_at_start)
    path = harness.write_report(NAME, text)
    print(text)
    print(f"written: {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Count the work a piece of code does, in Python lines executed, instead of timing it.

A time limit in a test fails on a busy machine (CI once measured 51 ms of CPU
for what takes 8 ms here, under coverage and a full test run) and passes on a
fast one whatever the code does. The number of Python lines executed is the
same on every machine and every run, and it is what a denial-of-service bug
multiplies: a loop over every byte, or a rescan of the whole buffer on each
chunk, runs millions of lines where a linear parser runs thousands.

The counter stops counting (and tracing) once it passes its ceiling, so a
regression fails at once instead of crawling through a traced quadratic
loop. What the CPU time is, on this machine, is measured in
``benchmarks/form_attacks.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any


@dataclass
class Lines:
    ceiling: int
    executed: int = 0

    @property
    def over(self) -> bool:
        return self.executed > self.ceiling


@contextmanager
def lines_executed(ceiling: int) -> Iterator[Lines]:
    """Count the Python lines run in this thread inside the block, up to ``ceiling``
    (then one more, and tracing stops) - in the functions it calls and the
    coroutines it resumes, not in the block's own frame."""
    lines = Lines(ceiling)

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            lines.executed += 1
            if lines.executed > ceiling:
                sys.settrace(None)  # no more new frames
                return None  # and no more lines in this one
        return local

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        return local  # every frame entered, or coroutine resumed, is counted

    # Coverage traces through the same hook: put its tracer back afterwards.
    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        yield lines
    finally:
        sys.settrace(previous)

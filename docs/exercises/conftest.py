"""The switch between your code and the worked solution, for every exercise.

Each exercise's test asks for the ``exercise`` fixture, which is the module
``exercise.py`` beside the test - your starting point, and your work - or,
when the environment says ``EXERCISE=solution``, the module ``solution.py``::

    pytest docs/exercises/03                      # your exercise.py
    EXERCISE=solution pytest docs/exercises/03    # the solution (what CI runs)

The module is loaded afresh for each test, from its file, so one test cannot
leave state behind for the next, and no folder needs to be on ``sys.path``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

CHOICES = ("exercise", "solution")


@pytest.fixture
def exercise(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    which = os.environ.get("EXERCISE", "exercise")
    if which not in CHOICES:
        raise pytest.UsageError(f"EXERCISE={which!r}: set it to one of {CHOICES}, or leave it out")
    folder = Path(request.node.path).parent
    name = f"exercise_{folder.name}_{which}"
    spec = importlib.util.spec_from_file_location(name, folder / f"{which}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look modules up by name
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(name, None)

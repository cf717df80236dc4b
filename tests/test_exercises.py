"""The exercises are real: each solution passes its test, each starting point fails it.

docs/exercises/NN/ holds, for chapter NN, a README (the task and a hint), a
test, the learner's starting point ``exercise.py`` and ``solution.py``. The
test loads one or the other through the ``exercise`` fixture of
docs/exercises/conftest.py, chosen by the ``EXERCISE`` environment variable.
Here the whole folder runs twice, in a pytest of its own (its own
docs/exercises/pytest.ini, as a learner runs it): once against the solutions -
every test must pass - and once against the starting points - in every
exercise at least one test must fail, or there is nothing to do.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

import pytest

from tests.test_docs import read_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXERCISES = DOCS / "exercises"
CHAPTERS = sorted(DOCS.glob("[0-9][0-9]-*.md"))
FOLDERS = sorted(path.name for path in EXERCISES.iterdir() if re.fullmatch(r"\d\d", path.name))
FILES = ("README.md", "test_exercise.py", "exercise.py", "solution.py")

# folder -> {test name: passed?}
Outcomes = dict[str, dict[str, bool]]


def run_exercises(which: str, report: Path) -> Outcomes:
    environment = {**os.environ, "EXERCISE": which}
    subprocess.run(
        [sys.executable, "-m", "pytest", str(EXERCISES), f"--junitxml={report}"],
        cwd=DOCS.parent,
        env=environment,
        capture_output=True,
        timeout=900,
        check=False,  # failures are the point of one of the two runs; read the report
    )
    outcomes: Outcomes = defaultdict(dict)
    for case in ElementTree.parse(report).iter("testcase"):
        folder = case.get("classname", "").split(".")[0]
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[folder or "(not collected)"][case.get("name", "")] = not failed
    return outcomes


@pytest.fixture(scope="module")
def solutions(tmp_path_factory: pytest.TempPathFactory) -> Outcomes:
    return run_exercises("solution", tmp_path_factory.mktemp("exercises") / "solutions.xml")


@pytest.fixture(scope="module")
def starting_points(tmp_path_factory: pytest.TempPathFactory) -> Outcomes:
    return run_exercises("exercise", tmp_path_factory.mktemp("exercises") / "exercises.xml")


def test_every_chapter_has_an_exercise() -> None:
    assert [chapter.name[:2] for chapter in CHAPTERS] == FOLDERS
    for folder in FOLDERS:
        for name in FILES:
            assert (EXERCISES / folder / name).is_file(), f"docs/exercises/{folder}/{name}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.name for c in CHAPTERS])
def test_each_chapter_ends_by_linking_its_exercise(chapter: Path) -> None:
    prose = [text for _, text in read_markdown(chapter.read_text(encoding="utf-8")).prose]
    headings = [text for text in prose if text.startswith("## ")]
    assert headings[-1] == "## Exercise", f"{chapter.name} should end with '## Exercise'"
    section = "\n".join(prose[prose.index("## Exercise") :])
    assert f"(exercises/{chapter.name[:2]}/README.md)" in section


def test_each_readme_states_the_task_then_a_hint_then_the_solution() -> None:
    for folder in FOLDERS:
        text = (EXERCISES / folder / "README.md").read_text(encoding="utf-8")
        positions = [text.find(marker) for marker in ("**The task.**", "**Hint.**", "**Solution")]
        assert -1 not in positions and positions == sorted(positions), folder


def test_the_solutions_pass(solutions: Outcomes) -> None:
    assert "(not collected)" not in solutions, solutions["(not collected)"]
    assert sorted(solutions) == FOLDERS
    failing = {f: [t for t, ok in tests.items() if not ok] for f, tests in solutions.items()}
    assert not any(failing.values()), {f: t for f, t in failing.items() if t}


def test_the_starting_points_fail(solutions: Outcomes, starting_points: Outcomes) -> None:
    # The same tests ran (none failed to load) ...
    for folder in FOLDERS:
        assert set(starting_points.get(folder, {})) == set(solutions[folder]), folder
    # ... and in every exercise at least one of them fails: there is work to do.
    nothing_to_do = [f for f in FOLDERS if all(starting_points[f].values())]
    assert not nothing_to_do, f"these exercise.py already pass their tests: {nothing_to_do}"

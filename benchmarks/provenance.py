"""Where chapter 20's figures came from: each results file's date, machine and command.

Every script writes its results file with a header (the command that made
it, when, on what). This module reads those headers and writes them as one
table into docs/20-benchmarks.md, between two markers, so a reader of the
chapter sees where each figure came from without opening every file::

    python -m benchmarks.provenance          # rewrite the table in the chapter

``tests/benchmarks/test_provenance.py`` fails when the table and the files
disagree - after a benchmark is run again, run this too.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CHAPTER = ROOT / "docs" / "20-benchmarks.md"
BEGIN = "<!-- provenance: written by `python -m benchmarks.provenance`; do not edit by hand -->"
END = "<!-- end of provenance -->"
UNRECORDED = "not recorded"

_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?)")
_CPUS = re.compile(r"\b(\d+) CPU")


def source(path: Path) -> tuple[str, str, str, str]:
    """(title, date, machine, command) from a results file's header."""
    lines = path.read_text(encoding="utf-8").splitlines()
    title = next((line[2:].strip() for line in lines if line.startswith("# ")), path.stem)
    command = UNRECORDED
    date = machine = UNRECORDED
    for line in lines:
        if line.startswith("|") or line.startswith("## "):
            break  # the header ends where the first table or section starts
        if line.startswith("Command:") and command == UNRECORDED:
            command = line.partition(":")[2].strip()
        elif line.startswith("- "):
            text = line[2:]
            if date == UNRECORDED and (found := _DATE.search(text)):
                date = found.group(1)
            if text.startswith("machine:"):
                machine = text.partition(":")[2].split(", load")[0].strip()
            elif machine == UNRECORDED and (cpus := _CPUS.search(text)):
                machine = f"{cpus.group(1)} CPU(s)"
    return title, date, machine, command


def table() -> str:
    rows = [
        "| results file | what | date (UTC) | machine | command |",
        "|---|---|---|---|---|",
    ]
    for path in sorted(RESULTS.glob("*.md")):
        title, date, machine, command = source(path)
        link = f"[`{path.name}`](../benchmarks/results/{path.name})"
        rows.append(f"| {link} | {title} | {date} | {machine} | {command} |")
    return "\n".join(rows)


def chapter_table(text: str) -> str:
    """The table between the markers in the chapter's text."""
    if BEGIN not in text or END not in text:
        raise LookupError(f"{CHAPTER.name} has no provenance markers")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def write() -> None:
    text = CHAPTER.read_text(encoding="utf-8")
    old = chapter_table(text)
    CHAPTER.write_text(text.replace(old, table(), 1), encoding="utf-8")


if __name__ == "__main__":
    write()
    print(f"{CHAPTER.relative_to(ROOT)}: provenance table written")

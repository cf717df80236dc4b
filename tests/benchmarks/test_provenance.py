"""Chapter 20's provenance table matches the results files it is read from."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import provenance


def test_the_chapter_table_is_what_the_results_files_say() -> None:
    written = provenance.chapter_table(provenance.CHAPTER.read_text(encoding="utf-8"))
    assert written == provenance.table(), (
        "a results file changed: run `python -m benchmarks.provenance` to rewrite the "
        "table in docs/20-benchmarks.md"
    )


def test_every_results_file_names_the_command_that_wrote_it() -> None:
    unnamed = [
        path.name
        for path in sorted(provenance.RESULTS.glob("*.md"))
        if provenance.source(path)[3] == provenance.UNRECORDED
    ]
    assert unnamed == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "Command: `python -m benchmarks.x`\n\n- date (UTC): 2026-11-25 05:09\n"
            "- machine: 2 CPU(s), AMD EPYC, Linux 6.18, load 1.2\n\n| a |\n",
            ("2026-11-25 05:09", "2 CPU(s), AMD EPYC, Linux 6.18", "`python -m benchmarks.x`"),
        ),
        (
            "Command: `python -m benchmarks.y`\n\n- 2026-12-06, 2 CPUs, Python 3.11.7\n",
            ("2026-12-06", "2 CPU(s)", "`python -m benchmarks.y`"),
        ),
        ("Some prose.\n\n| a |\n- date (UTC): 2026-01-01\n", ("not recorded",) * 3),
    ],
)
def test_headers_are_read_whatever_their_layout(
    tmp_path: Path, header: str, expected: tuple[str, str, str]
) -> None:
    path = tmp_path / "x.md"
    path.write_text(f"# A title\n\n{header}")
    assert provenance.source(path) == ("A title", *expected)

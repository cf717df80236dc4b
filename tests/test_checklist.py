"""docs/checklist.md, the curriculum and the chapters agree, both ways.

The map (docs/checklist.md) has one row per item of the backend checklist
(docs/backend-checklist.md, a copy of the curriculum the project follows).
Each chapter ends with "Checklist items this chapter teaches": one bullet per
item, written ``- *Section — Item*: what the chapter shows``. A chapter
claims an item exactly when the item's row cites that chapter in its docs
column - so neither the map nor a chapter can claim teaching the other does
not know about, and an item the map calls ``not yet`` is claimed by no one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
CURRICULUM = DOCS / "backend-checklist.md"
MAP = DOCS / "checklist.md"
SHARED = Path("/work/shared/backend-checklist.md")  # where the curriculum came from

HEADING = "## Checklist items this chapter teaches"
BULLET = re.compile(r"^- \*(?P<section>[^*—]+?) — (?P<item>[^*]+)\*:")
CHAPTER_LINK = re.compile(r"\]\((?P<chapter>\d\d-[\w-]+\.md)(?:#[\w-]*)?\)")

Item = tuple[str, str]  # (section, item) exactly as the curriculum spells them


def curriculum(text: str) -> list[Item]:
    """Every ``### Section`` and its non-blank lines, up to the author's advice."""
    items: list[Item] = []
    section = ""
    for line in text.splitlines():
        if line.startswith("### "):
            section = line[4:].strip()
            if section.startswith("andre"):
                break
        elif section and line.strip():
            items.append((section, line.strip()))
    return items


def map_rows(text: str) -> dict[Item, set[str]]:
    """Each row's (section, item) and the chapter files its docs column links to."""
    rows: dict[Item, set[str]] = {}
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith(("| section ", "|---")):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 6, f"a map row has 6 columns: {line[:80]}"
        key = (cells[0], cells[1])
        assert key not in rows, f"two rows for {key}"
        rows[key] = {match["chapter"] for match in CHAPTER_LINK.finditer(cells[3])}
        if not rows[key]:
            assert cells[3] == "not yet", f"{key}: the docs column links no chapter"
    return rows


def chapter_claims(text: str, name: str) -> list[Item]:
    """The items a chapter's checklist section names, one per bullet."""
    if HEADING not in text:
        return []
    section = text.split(HEADING, 1)[1]
    section = re.split(r"^## ", section, maxsplit=1, flags=re.MULTILINE)[0]
    bullets: list[str] = []
    for line in section.splitlines():
        if line.startswith("- "):
            bullets.append(line)
        elif bullets and line.startswith("  "):  # a bullet's wrapped line
            bullets[-1] += " " + line.strip()
    claims = []
    for bullet in bullets:
        match = BULLET.match(bullet)
        assert match, f"{name}: a checklist bullet starts with *Section — Item*: {bullet!r}"
        claims.append((match["section"], match["item"]))
    return claims


def chapters() -> list[Path]:
    return sorted(DOCS.glob("[0-9][0-9]-*.md"))


def test_the_curriculum_copy_is_the_curriculum() -> None:
    if not SHARED.exists():
        pytest.skip("the shared curriculum is not on this machine (CI): the copy stands")
    assert CURRICULUM.read_text() == SHARED.read_text()


def test_every_item_of_the_curriculum_has_one_row_and_no_row_is_invented() -> None:
    items = curriculum(CURRICULUM.read_text())
    rows = map_rows(MAP.read_text())
    assert len(items) > 60
    assert [key for key in items if key not in rows] == []
    assert [key for key in rows if key not in items] == []
    assert list(rows) == items  # and in the curriculum's order


def test_every_chapter_claim_names_a_real_item() -> None:
    items = set(curriculum(CURRICULUM.read_text()))
    wrong = [
        (path.name, claim)
        for path in chapters()
        for claim in chapter_claims(path.read_text(), path.name)
        if claim not in items
    ]
    assert wrong == []


def disagreements(rows: dict[Item, set[str]], claimed: dict[str, set[Item]]) -> list[str]:
    """What a chapter claims that the map does not cite it for, and the reverse."""
    cited: dict[str, set[Item]] = {chapter: set() for chapter in claimed}
    problems = []
    for key, chapter_files in rows.items():
        for chapter in sorted(chapter_files):
            if chapter not in cited:
                problems.append(f"{key[1]!r} cites {chapter}, which does not exist")
                continue
            cited[chapter].add(key)
    for chapter in sorted(claimed):
        for key in sorted(claimed[chapter] - cited[chapter]):
            where = "calls it `not yet`" if not rows.get(key) else "does not cite it"
            problems.append(f"{chapter} claims {key[1]!r}, but the map {where}")
        for key in sorted(cited[chapter] - claimed[chapter]):
            problems.append(f"the map cites {chapter} for {key[1]!r}, which it does not claim")
    return problems


def test_chapters_and_map_agree_both_ways() -> None:
    rows = map_rows(MAP.read_text())
    claimed = {path.name: set(chapter_claims(path.read_text(), path.name)) for path in chapters()}
    assert disagreements(rows, claimed) == []


HEADER = "| section | item | code | docs | example | test |\n|---|---|---|---|---|---|\n"


def test_a_claim_the_map_calls_not_yet_is_caught() -> None:
    rows = map_rows(HEADER + "| Testing and Debugging | Unit tests | x | not yet | x | x |\n")
    chapter = f"# 99\n\n{HEADING}\n\n- *Testing and Debugging — Unit tests*: claimed,\n  wrapped.\n"
    claimed = {"99-x.md": set(chapter_claims(chapter, "99-x.md"))}
    assert disagreements(rows, claimed) == [
        "99-x.md claims 'Unit tests', but the map calls it `not yet`"
    ]


def test_a_citation_the_chapter_does_not_claim_is_caught() -> None:
    row = "| Testing and Debugging | Unit tests | x | [99 · Tests](99-x.md#tests) | x | x |\n"
    claimed: dict[str, set[Item]] = {"99-x.md": set()}
    assert disagreements(map_rows(HEADER + row), claimed) == [
        "the map cites 99-x.md for 'Unit tests', which it does not claim"
    ]


def test_a_bullet_that_names_no_item_is_refused() -> None:
    chapter = f"# 99\n\n{HEADING}\n\n- *Caching*: `Vary` and shared caches.\n"
    with pytest.raises(AssertionError, match="starts with"):
        chapter_claims(chapter, "99")

"""Exercise 12: migrate, roll back, migrate again - on SQLite."""

from pathlib import Path
from types import ModuleType

import anyio
import pytest

from minimal_asgi_sql import Database, NotNullViolation, migrate
from minimal_asgi_sql.migrations import rollback


def write(module: ModuleType, folder: Path) -> Path:
    (folder / "0001_create_notes.sql").write_text(module.MIGRATION_0001)
    (folder / "0002_pin_notes.sql").write_text(module.MIGRATION_0002)
    return folder


async def columns(db: Database) -> list[str]:
    return [row["name"] for row in await db.fetch_all("PRAGMA table_info(notes)")]


async def indexes(db: Database) -> list[str]:
    return [row["name"] for row in await db.fetch_all("PRAGMA index_list(notes)")]


def test_up_adds_a_column_with_a_default_and_an_index(exercise: ModuleType, tmp_path: Path) -> None:
    folder = write(exercise, tmp_path)

    async def main() -> None:
        async with Database("sqlite://:memory:") as db:
            await migrate(db, folder, to=1)
            await db.execute("INSERT INTO notes (title) VALUES ('before 0002')")
            await migrate(db, folder)
            assert await columns(db) == ["id", "title", "pinned"]
            assert "notes_pinned_idx" in await indexes(db)
            await db.execute("INSERT INTO notes (title) VALUES ('after 0002')")
            rows = await db.fetch_all("SELECT title, pinned FROM notes ORDER BY id")
            assert rows == [
                {"title": "before 0002", "pinned": 0},
                {"title": "after 0002", "pinned": 0},
            ]

    anyio.run(main)


def test_pinned_is_never_null(exercise: ModuleType, tmp_path: Path) -> None:
    folder = write(exercise, tmp_path)

    async def main() -> None:
        async with Database("sqlite://:memory:") as db:
            await migrate(db, folder)
            assert "pinned" in await columns(db)
            with pytest.raises(NotNullViolation):
                await db.execute("INSERT INTO notes (title, pinned) VALUES ('x', NULL)")

    anyio.run(main)


def test_down_undoes_up_and_up_works_again(exercise: ModuleType, tmp_path: Path) -> None:
    folder = write(exercise, tmp_path)

    async def main() -> None:
        async with Database("sqlite://:memory:") as db:
            await migrate(db, folder)
            await db.execute("INSERT INTO notes (title, pinned) VALUES ('kept', 1)")
            undone = await rollback(db, folder)
            assert [m.version for m in undone] == [2]
            assert await columns(db) == ["id", "title"]
            assert await indexes(db) == []
            assert await db.fetch_all("SELECT title FROM notes") == [{"title": "kept"}]
            await migrate(db, folder)
            assert await columns(db) == ["id", "title", "pinned"]

    anyio.run(main)

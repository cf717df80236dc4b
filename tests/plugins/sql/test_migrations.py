"""Migrations: apply, status, rollback, checksums, and migrators racing."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from minimal_asgi import App
from minimal_asgi.testing import TestClient
from minimal_asgi_sql import SQL, Database, MigrationError, migrate
from minimal_asgi_sql.__main__ import main
from minimal_asgi_sql.migrations import LOCK_KEY, load_migrations, rollback, status

USERS = """\
-- up
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
-- down
DROP TABLE users;
"""
POSTS = """\
-- up
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));
CREATE INDEX posts_user_id ON posts (user_id);
-- down
DROP TABLE posts;
"""
TAGS = """\
-- up
CREATE TABLE tags (name TEXT PRIMARY KEY);
-- down
DROP TABLE tags;
"""


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/app.db"  # a file, so the CLI can open it too
        return
    yield request.getfixturevalue("pg_url")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_create_users.sql").write_text(USERS)
    (directory / "0002_create_posts.sql").write_text(POSTS)
    return directory


@pytest.fixture
async def db(url: str) -> AsyncIterator[Database]:
    async with Database(url) as database:
        yield database


async def tables(db: Database) -> set[str]:
    if db.dialect == "postgres":
        rows = await db.fetch_all(
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
        )
    else:
        rows = await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row["name"] for row in rows}


async def recorded(db: Database) -> list[int]:
    rows = await db.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
    return [row["version"] for row in rows]


# -- applying ------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_migrate_applies_pending_files_in_order_and_records_them(
    db: Database, folder: Path
) -> None:
    applied = await migrate(db, folder)
    assert [m.filename for m in applied] == ["0001_create_users.sql", "0002_create_posts.sql"]
    assert {"users", "posts", "schema_migrations"} <= await tables(db)
    rows = await db.fetch_all("SELECT version, name, checksum, applied_at FROM schema_migrations")
    assert [(r["version"], r["name"]) for r in rows] == [(1, "create_users"), (2, "create_posts")]
    assert rows[0]["checksum"] == hashlib.sha256(USERS.encode()).hexdigest()
    assert all(r["applied_at"] for r in rows)


@pytest.mark.anyio
async def test_migrate_again_applies_nothing(db: Database, folder: Path) -> None:
    await migrate(db, folder)
    assert await migrate(db, folder) == []
    assert await recorded(db) == [1, 2]


@pytest.mark.anyio
async def test_a_new_file_is_applied_on_the_next_run(db: Database, folder: Path) -> None:
    await migrate(db, folder)
    (folder / "0003_create_tags.sql").write_text(TAGS)
    assert [m.version for m in await migrate(db, folder)] == [3]
    assert "tags" in await tables(db)


@pytest.mark.anyio
async def test_migrate_to_stops_at_that_version(db: Database, folder: Path) -> None:
    assert [m.version for m in await migrate(db, folder, to=1)] == [1]
    assert "posts" not in await tables(db)


@pytest.mark.anyio
async def test_a_failing_migration_is_undone_whole_and_not_recorded(
    db: Database, folder: Path
) -> None:
    (folder / "0002_create_posts.sql").write_text(
        "-- up\nCREATE TABLE posts (id INTEGER);\nINSERT INTO nowhere VALUES (1);\n"
        "-- down\nDROP TABLE posts;\n"
    )
    with pytest.raises(MigrationError, match=r"cannot apply 0002_create_posts\.sql"):
        await migrate(db, folder)
    assert await recorded(db) == [1]
    assert "posts" not in await tables(db)  # the first statement was rolled back too


# -- status --------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_status_lists_applied_and_pending(db: Database, folder: Path) -> None:
    assert [(s.version, s.state) for s in await status(db, folder)] == [
        (1, "pending"),
        (2, "pending"),
    ]
    await migrate(db, folder, to=1)
    rows = await status(db, folder)
    assert [(s.version, s.name, s.state) for s in rows] == [
        (1, "create_users", "applied"),
        (2, "create_posts", "pending"),
    ]
    assert rows[0].applied_at is not None and rows[1].applied_at is None


# -- rolling back ----------------------------------------------------------------------------
@pytest.mark.anyio
async def test_rollback_undoes_the_latest_migration_only(db: Database, folder: Path) -> None:
    await migrate(db, folder)
    assert [m.version for m in await rollback(db, folder)] == [2]
    assert await recorded(db) == [1]
    assert "posts" not in await tables(db) and "users" in await tables(db)


@pytest.mark.anyio
async def test_rollback_to_a_version_undoes_everything_above_it(
    db: Database, folder: Path
) -> None:
    (folder / "0003_create_tags.sql").write_text(TAGS)
    await migrate(db, folder)
    assert [m.version for m in await rollback(db, folder, to=1)] == [3, 2]
    assert await recorded(db) == [1]
    assert [m.version for m in await rollback(db, folder, to=0)] == [1]
    assert await tables(db) == {"schema_migrations"}
    assert await rollback(db, folder) == []


@pytest.mark.anyio
async def test_a_file_without_down_cannot_be_rolled_back(db: Database, folder: Path) -> None:
    (folder / "0003_create_tags.sql").write_text("-- up\nCREATE TABLE tags (name TEXT);\n")
    await migrate(db, folder)
    with pytest.raises(MigrationError, match=r"0003_create_tags\.sql has no '-- down' section"):
        await rollback(db, folder)
    assert await recorded(db) == [1, 2, 3]


@pytest.mark.anyio
async def test_an_empty_down_section_rolls_back_as_a_no_op(db: Database, folder: Path) -> None:
    (folder / "0003_seed.sql").write_text("-- up\nINSERT INTO users VALUES (1, 'a');\n-- down\n")
    await migrate(db, folder)
    await rollback(db, folder)
    assert await recorded(db) == [1, 2]
    assert await db.fetch_val("SELECT count(*) FROM users") == 1


# -- checksums -------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_an_edited_applied_file_is_an_error_naming_it(db: Database, folder: Path) -> None:
    await migrate(db, folder)
    (folder / "0001_create_users.sql").write_text(USERS.replace("email", "mail"))
    (folder / "0003_create_tags.sql").write_text(TAGS)
    with pytest.raises(MigrationError, match=r"0001_create_users\.sql was edited"):
        await migrate(db, folder)
    with pytest.raises(MigrationError, match=r"0001_create_users\.sql was edited"):
        await rollback(db, folder)
    assert [s.state for s in await status(db, folder)] == ["changed", "applied", "pending"]
    assert await recorded(db) == [1, 2]  # nothing else was applied


@pytest.mark.anyio
async def test_a_deleted_applied_file_is_an_error(db: Database, folder: Path) -> None:
    await migrate(db, folder)
    (folder / "0002_create_posts.sql").unlink()
    with pytest.raises(MigrationError, match="0002_create_posts was applied, but its file"):
        await migrate(db, folder)
    assert [s.state for s in await status(db, folder)] == ["applied", "missing"]


def test_windows_line_endings_do_not_change_the_checksum(folder: Path) -> None:
    before = load_migrations(folder)[0].checksum
    (folder / "0001_create_users.sql").write_bytes(USERS.replace("\n", "\r\n").encode())
    assert load_migrations(folder)[0].checksum == before


# -- reading files ---------------------------------------------------------------------------
def test_files_are_read_in_version_order_with_their_sections(folder: Path) -> None:
    (folder / "0010_create_tags.sql").write_text(TAGS)
    migrations = load_migrations(folder)
    assert [(m.version, m.name) for m in migrations] == [
        (1, "create_users"),
        (2, "create_posts"),
        (10, "create_tags"),
    ]
    assert migrations[0].up.strip().startswith("CREATE TABLE users")
    assert migrations[0].down is not None and migrations[0].down.strip() == "DROP TABLE users;"


@pytest.mark.parametrize(
    ("filename", "text", "message"),
    [
        ("create_users.sql", USERS, "named NNNN_description.sql"),
        ("0001_again.sql", USERS, "have the same version 1"),
        ("0003_x.sql", "DROP TABLE users;\n-- up\nSELECT 1;\n", "SQL before the '-- up' line"),
        ("0003_x.sql", "-- down\nSELECT 1;\n-- up\nSELECT 1;\n", "'-- up' must come before"),
        ("0003_x.sql", "-- up\nSELECT 1;\n-- up\nSELECT 2;\n", "two '-- up' lines"),
        ("0003_x.sql", "CREATE TABLE tags (name TEXT);\n", "it has no '-- up' line"),
        ("0003_x.sql", "CREATE TABLE t (a TEXT);\n-- down\nDROP TABLE t;\n", "no '-- up' line"),
    ],
)
def test_malformed_migration_files_are_refused(
    folder: Path, filename: str, text: str, message: str
) -> None:
    (folder / filename).write_text(text)
    with pytest.raises(MigrationError, match=message):
        load_migrations(folder)


@pytest.mark.anyio
async def test_a_file_without_up_is_refused_before_anything_is_applied(
    db: Database, folder: Path
) -> None:
    # Before, such a file was applied whole and failed only at rollback.
    (folder / "0003_create_tags.sql").write_text("CREATE TABLE tags (name TEXT);\n")
    with pytest.raises(MigrationError, match=r"0003_create_tags\.sql: it has no '-- up' line"):
        await migrate(db, folder)
    assert "tags" not in await tables(db)
    assert "users" not in await tables(db)  # the good files wait too: nothing ran


def test_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="does not exist"):
        load_migrations(tmp_path / "nope")


# -- migrators racing ------------------------------------------------------------------------
SLOW_USERS = USERS.replace("-- up\n", "-- up\nSELECT pg_sleep(0.3);\n")


@pytest.mark.anyio
async def test_two_migrators_at_once_apply_each_migration_once(url: str, folder: Path) -> None:
    # PostgreSQL: two Databases - two pools, as two processes would have -
    # meet at the advisory lock. SQLite (one process): two tasks share the
    # Database, whose one connection makes them take turns.
    if url.startswith("postgresql"):
        (folder / "0001_create_users.sql").write_text(SLOW_USERS)
    first = Database(url)
    second = Database(url) if url.startswith("postgresql") else first
    results: list[list[int]] = []
    async with first, second:

        async def run(db: Database) -> None:
            results.append([m.version for m in await migrate(db, folder)])

        async with anyio.create_task_group() as group:
            group.start_soon(run, first)
            group.start_soon(run, second)
        assert sorted(results) == [[], [1, 2]]
        assert await recorded(first) == [1, 2]


def test_two_processes_migrating_at_once_apply_each_migration_once(
    pg_url: str, folder: Path
) -> None:
    (folder / "0001_create_users.sql").write_text(SLOW_USERS)
    command = [sys.executable, "-m", "minimal_asgi_sql", "migrate", "--url", pg_url,
               "--dir", str(folder)]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    printed = "".join(out for out, _ in outputs)
    assert printed.count("applied 0001_create_users.sql") == 1
    assert printed.count("applied 0002_create_posts.sql") == 1
    assert printed.count("nothing to apply") == 1


@pytest.mark.anyio
async def test_a_held_lock_makes_a_migrator_give_up_after_lock_timeout(
    pg_url: str, folder: Path
) -> None:
    holder = await asyncpg.connect(pg_url)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        async with Database(pg_url) as db:
            with pytest.raises(MigrationError, match="held the migration lock"):
                await migrate(db, folder, lock_timeout=0.3)
    finally:
        await holder.close()


# -- the command line and the plugin --------------------------------------------------------
def test_command_line_migrates_shows_status_and_rolls_back(
    url: str, folder: Path, capsys: Any
) -> None:
    base = ["--url", url, "--dir", str(folder)]
    assert main(["migrate", *base]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "applied 0001_create_users.sql",
        "applied 0002_create_posts.sql",
    ]
    assert main(["status", *base]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["version", "state", "name", "applied", "at"]
    assert lines[1].split()[:3] == ["1", "applied", "create_users"]
    assert main(["rollback", *base]) == 0
    assert capsys.readouterr().out.strip() == "rolled back 0002_create_posts.sql"
    assert main(["rollback", "--to", "0", *base]) == 0
    assert capsys.readouterr().out.strip() == "rolled back 0001_create_users.sql"
    assert main(["status", *base]) == 0
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]] == [
        "pending",
        "pending",
    ]


def test_command_line_reports_errors_on_stderr(url: str, folder: Path, capsys: Any) -> None:
    base = ["--url", url, "--dir", str(folder)]
    main(["migrate", *base])
    (folder / "0002_create_posts.sql").write_text(POSTS + "\n-- edited\n")
    capsys.readouterr()
    assert main(["migrate", *base]) == 1
    assert "0002_create_posts.sql was edited" in capsys.readouterr().err


def test_command_line_needs_a_url(folder: Path, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["status", "--dir", str(folder)]) == 2
    assert "--url" in capsys.readouterr().err


def test_command_line_runs_as_a_module(url: str, folder: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "minimal_asgi_sql", "status", "--dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DATABASE_URL": url},
    )
    assert result.returncode == 0, result.stderr
    assert "pending" in result.stdout


def test_plugin_applies_migrations_at_startup(url: str, folder: Path) -> None:
    sql = SQL(url, migrations=folder)
    app = App(plugins=[sql])

    @app.get("/users")
    async def users(db: Database) -> list[Any]:
        return await db.fetch_all("SELECT * FROM users")

    with TestClient(app) as client:
        assert client.get("/users").json() == []
        with TestClient(App(plugins=[SQL(url, migrations=folder)])):
            pass  # a second start finds nothing to do

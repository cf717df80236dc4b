"""Migrations: the schema's history as numbered SQL files, each applied once.

A schema changes with the code. Every change is a file, numbered in the
order it must run, holding the SQL that makes it (``-- up``) and the SQL
that undoes it (``-- down``)::

    migrations/0001_create_users.sql
    ----------------------------------
    -- up
    CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE);
    -- down
    DROP TABLE users;

The database records what it has applied, in ``schema_migrations``
(version, name, checksum, applied_at). ``migrate`` applies the files not
recorded there, in version order, each in its own transaction together with
its record - so a file that fails leaves neither its half-made change nor a
record behind. ``rollback`` runs the ``-- down`` part of the latest applied
file (or of every one above ``to``) and deletes its record.

**A file once applied must not change.** Other databases (a colleague's,
production) ran the old text; editing it would leave them different from a
fresh one. So the record keeps a SHA-256 of the file, and every command
first checks the applied files against it: an edited one is an error naming
the file. Make the change in a new migration instead. (A file with no
``-- down`` line is irreversible; an empty ``-- down`` section undoes
nothing.) A file without a ``-- up`` line is refused when the folder is
read, before anything runs.

**Two processes starting at once** - two app workers with
``SQL(migrations=...)``, or a deploy running ``migrate`` twice - must not
both apply the same file. On PostgreSQL the whole run holds an *advisory
lock* (``pg_advisory_lock``: a lock on a number, owned by one connection,
released when it ends or disconnects). The second process waits, then
re-reads ``schema_migrations`` and finds nothing left to do. SQLite has no
such lock across processes: there, migrations are for a single process (in
one process, the Database's single connection already makes two runs take
turns). Statements that refuse to run in a transaction (PostgreSQL's
``CREATE INDEX CONCURRENTLY``) are not supported.

Command line (``__main__.py``)::

    python -m minimal_asgi_sql migrate  --url postgresql://... --dir migrations [--to 3]
    python -m minimal_asgi_sql rollback --url ... [--to VERSION]   # one step by default
    python -m minimal_asgi_sql status   --url ...
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from minimal_asgi_sql.database import Database
from minimal_asgi_sql.errors import DatabaseError

__all__ = [
    "Migration",
    "MigrationError",
    "MigrationStatus",
    "load_migrations",
    "migrate",
    "rollback",
    "status",
]

TABLE = "schema_migrations"

# The advisory lock's number: any 64-bit integer every migrator agrees on.
# Derived from a name so it will not collide with an application's own locks.
LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"minimal_asgi_sql.migrations").digest()[:8], "big", signed=True
)

_FILENAME = re.compile(r"^(\d+)_(\w+)\.sql$")
_SECTION = re.compile(r"^--[ \t]*(up|down)[ \t]*$", re.IGNORECASE | re.MULTILINE)

_CREATE_TABLE = {
    "postgres": f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        version BIGINT PRIMARY KEY,
        name TEXT NOT NULL,
        checksum TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
    "sqlite": f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        checksum TEXT NOT NULL,
        applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)""",
}
_TABLE_EXISTS = {
    "postgres": f"SELECT to_regclass('{TABLE}') IS NOT NULL",
    "sqlite": f"SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '{TABLE}'",
}


class MigrationError(DatabaseError):
    """A migration cannot be applied or rolled back; the message names the file."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One file: ``0001_create_users.sql`` -> version 1, name "create_users"."""

    version: int
    name: str
    path: Path
    up: str
    down: str | None  # None: no "-- down" line, cannot be rolled back
    checksum: str

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """``state``: "applied", "pending", "changed" (edited since it was
    applied) or "missing" (applied, but its file is gone)."""

    version: int
    name: str
    state: str
    applied_at: Any = None


# -- reading the files ---------------------------------------------------------------
def load_migrations(directory: str | Path) -> list[Migration]:
    """Every ``NNNN_name.sql`` in ``directory``, in version order."""
    folder = Path(directory)
    if not folder.is_dir():
        raise MigrationError(f"the migrations directory {str(folder)!r} does not exist")
    migrations: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        migration = _read(path)
        if migration.version in migrations:
            raise MigrationError(
                f"{migrations[migration.version].filename} and {path.name} have the same "
                f"version {migration.version}; renumber one"
            )
        migrations[migration.version] = migration
    return [migrations[version] for version in sorted(migrations)]


def _read(path: Path) -> Migration:
    match = _FILENAME.match(path.name)
    if match is None:
        raise MigrationError(
            f"{path.name}: a migration file is named NNNN_description.sql, "
            "like 0001_create_users.sql"
        )
    # Line endings normalised: a checkout that turns \n into \r\n has not
    # edited the migration.
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    pieces = _SECTION.split(text)  # [before, "up", body, "down", body]
    head, sections = pieces[0], {}
    order = [marker.lower() for marker in pieces[1::2]]
    for marker, body in zip(order, pieces[2::2], strict=True):
        if marker in sections:
            raise MigrationError(f"{path.name}: it has two '-- {marker}' lines")
        sections[marker] = body
    if order == ["down", "up"]:
        raise MigrationError(f"{path.name}: '-- up' must come before '-- down'")
    if "up" not in sections:
        # Refused here, at load time: a file without markers would otherwise
        # be applied whole, as if it all were "up", and fail only much later,
        # at rollback.
        raise MigrationError(
            f"{path.name}: it has no '-- up' line; start the file with '-- up' above the SQL "
            "that makes the change, and end it with '-- down' above the SQL that undoes it"
        )
    if not _blank(head):
        raise MigrationError(f"{path.name}: there is SQL before the '-- up' line")
    return Migration(
        version=int(match.group(1)),
        name=match.group(2),
        path=path,
        up=sections["up"],
        down=sections.get("down"),
        checksum=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _blank(sql: str) -> bool:
    """Only whitespace and ``--`` comments."""
    return all(not line.strip() or line.strip().startswith("--") for line in sql.splitlines())


# -- the commands --------------------------------------------------------------------------
async def migrate(
    db: Database, directory: str | Path, *, to: int | None = None, lock_timeout: float = 60.0
) -> list[Migration]:
    """Apply every pending migration (up to version ``to``); returns those applied."""
    migrations = load_migrations(directory)
    applied_now: list[Migration] = []
    async with _exclusive(db, lock_timeout):
        await db.execute(_CREATE_TABLE[db.dialect])
        # Read under the lock: another process may have just applied some.
        applied = await _applied(db)
        _verify(migrations, applied, directory)
        for migration in migrations:
            if migration.version in applied or (to is not None and migration.version > to):
                continue
            async with db.transaction():
                await _run(db, migration, migration.up, "apply")
                await db.execute(
                    _sql(db, f"INSERT INTO {TABLE} (version, name, checksum) VALUES ($1, $2, $3)"),
                    [migration.version, migration.name, migration.checksum],
                )
            applied_now.append(migration)
    return applied_now


async def rollback(
    db: Database, directory: str | Path, *, to: int | None = None, lock_timeout: float = 60.0
) -> list[Migration]:
    """Undo the latest applied migration - or, with ``to``, every one above
    version ``to`` (``to=0``: all), newest first. Returns those undone."""
    migrations = {m.version: m for m in load_migrations(directory)}
    undone: list[Migration] = []
    async with _exclusive(db, lock_timeout):
        await db.execute(_CREATE_TABLE[db.dialect])
        applied = await _applied(db)
        _verify(list(migrations.values()), applied, directory)
        versions = sorted(applied, reverse=True)
        targets = versions[:1] if to is None else [v for v in versions if v > to]
        for version in targets:
            migration = migrations[version]
            if migration.down is None:
                raise MigrationError(
                    f"{migration.filename} has no '-- down' section, so it cannot be rolled "
                    "back; add one (an empty section undoes nothing)"
                )
            async with db.transaction():
                await _run(db, migration, migration.down, "roll back")
                await db.execute(_sql(db, f"DELETE FROM {TABLE} WHERE version = $1"), [version])
            undone.append(migration)
    return undone


async def status(db: Database, directory: str | Path) -> list[MigrationStatus]:
    """Each migration, file or record, with its state; changes nothing."""
    migrations = {m.version: m for m in load_migrations(directory)}
    applied = await _applied(db) if await db.fetch_val(_TABLE_EXISTS[db.dialect]) else {}
    result = []
    for version in sorted(set(migrations) | set(applied)):
        migration, record = migrations.get(version), applied.get(version)
        if record is None:
            assert migration is not None
            result.append(MigrationStatus(version, migration.name, "pending"))
            continue
        if migration is None:
            state = "missing"
        elif migration.checksum != record["checksum"]:
            state = "changed"
        else:
            state = "applied"
        result.append(MigrationStatus(version, record["name"], state, record["applied_at"]))
    return result


# -- helpers ---------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def _exclusive(db: Database, lock_timeout: float) -> AsyncIterator[None]:
    """One migrator at a time. The whole run uses one pinned connection: a
    PostgreSQL advisory lock belongs to the session that took it."""
    async with db.connection():
        if db.dialect != "postgres":
            yield  # SQLite: one process; its single connection is already ours
            return
        # pg_try_advisory_lock, retried: waiting in pg_advisory_lock itself
        # would run into the statement timeout with no clear message.
        deadline = anyio.current_time() + lock_timeout
        while not await db.fetch_val("SELECT pg_try_advisory_lock($1)", [LOCK_KEY]):
            if anyio.current_time() > deadline:
                raise MigrationError(
                    f"another process held the migration lock for more than {lock_timeout}s;"
                    " is a migration stuck? (see pg_locks where locktype = 'advisory')"
                )
            await anyio.sleep(0.05)
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                await db.fetch_val("SELECT pg_advisory_unlock($1)", [LOCK_KEY])


async def _applied(db: Database) -> dict[int, dict[str, Any]]:
    rows = await db.fetch_all(
        f"SELECT version, name, checksum, applied_at FROM {TABLE} ORDER BY version"
    )
    return {int(row["version"]): row for row in rows}


def _verify(
    migrations: list[Migration], applied: dict[int, dict[str, Any]], directory: str | Path
) -> None:
    files = {m.version: m for m in migrations}
    for version, record in applied.items():
        migration = files.get(version)
        if migration is None:
            raise MigrationError(
                f"migration {version:04d}_{record['name']} was applied, but its file is not in "
                f"{str(directory)!r}; restore it"
            )
        if migration.checksum != record["checksum"]:
            raise MigrationError(
                f"{migration.filename} was edited after it was applied (its checksum no "
                "longer matches schema_migrations); restore the applied text and put the "
                "change in a new migration"
            )


async def _run(db: Database, migration: Migration, sql: str, action: str) -> None:
    if _blank(sql):
        return
    try:
        await db.execute(sql)
    except Exception as exc:
        raise MigrationError(f"cannot {action} {migration.filename}: {exc}") from exc


def _sql(db: Database, text: str) -> str:
    """Our statements are written with PostgreSQL's $1 placeholders."""
    return text if db.dialect == "postgres" else re.sub(r"\$\d+", "?", text)

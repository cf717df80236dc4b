"""``python -m minimal_asgi_sql migrate|rollback|status``: migrations from a shell.

::

    python -m minimal_asgi_sql status   --url postgresql://app@db/app --dir migrations
    python -m minimal_asgi_sql migrate  [--to VERSION]     # apply what is pending
    python -m minimal_asgi_sql rollback [--to VERSION]     # undo one step, or down to VERSION

``--url`` defaults to the ``DATABASE_URL`` environment variable, ``--dir``
to ``migrations``. Exit status: 0 done, 1 a migration or database error
(printed on stderr), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import anyio

from minimal_asgi import ConfigurationError
from minimal_asgi_sql.database import Database
from minimal_asgi_sql.errors import DatabaseError
from minimal_asgi_sql.migrations import migrate, rollback, status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m minimal_asgi_sql", description="Apply, undo and list SQL migrations."
    )
    parser.add_argument("command", choices=["migrate", "rollback", "status"])
    parser.add_argument(
        "--url",
        default=os.environ.get("DATABASE_URL"),
        help="database URL (default: $DATABASE_URL)",
    )
    parser.add_argument("--dir", default="migrations", help="migrations directory")
    parser.add_argument(
        "--to",
        type=int,
        default=None,
        metavar="VERSION",
        help="migrate: apply up to VERSION; rollback: undo every migration above VERSION",
    )
    return parser


async def _run(args: argparse.Namespace) -> None:
    async with Database(args.url) as db:
        if args.command == "migrate":
            done = await migrate(db, args.dir, to=args.to)
            for migration in done:
                print(f"applied {migration.filename}")
            if not done:
                print("nothing to apply")
        elif args.command == "rollback":
            undone = await rollback(db, args.dir, to=args.to)
            for migration in undone:
                print(f"rolled back {migration.filename}")
            if not undone:
                print("nothing to roll back")
        else:
            rows = await status(db, args.dir)
            print(f"{'version':<9}{'state':<9}{'name':<32}applied at")
            for row in rows:
                applied_at = "" if row.applied_at is None else str(row.applied_at)
                print(f"{row.version:<9}{row.state:<9}{row.name:<32}{applied_at}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.url:
        print("error: give --url or set DATABASE_URL", file=sys.stderr)
        return 2
    try:
        anyio.run(_run, args)
    except (DatabaseError, ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The SQL plugin against the driver, and the query-optimisation lesson, on PostgreSQL.

Everything runs in a schema made for the run (and dropped after it), holding
the blog example's tables (examples/blog/migrations/postgres) filled with
2,000 users and 200,000 posts.

1. **What ``Database`` costs.** The same 1,000-row ``SELECT`` through raw
   asyncpg (``pool.fetch``: Record objects, the floor), raw asyncpg turning
   each Record into a dict (what a JSON answer needs anyway), and the SQL
   plugin's ``Database.fetch_all`` - given the SQL text, and given a
   query-builder ``select`` that is compiled on every call. The cases take
   turns round by round (A B C D, D C B A, ...) in one run, and each round's
   ratio to raw asyncpg is kept, so drift lands on every case alike.
2. **An index, before and after.** The blog's "a user's posts, newest first"
   query (``PostRepository.page_query``, as ``GET /users/{id}/posts`` runs it)
   with its index dropped, then created again: PostgreSQL's ``EXPLAIN`` (from
   ``Database.explain``) and ``EXPLAIN ANALYZE`` for each, and the timings.
   The two sides cannot take turns - building the index takes a while - so
   they run one after the other; the difference dwarfs any drift.
3. **OFFSET against a keyset cursor.** The same page of 20 posts, deep in the
   table, asked for as ``OFFSET 100000`` and as ``WHERE id < :cursor``,
   interleaved.

Run: ``python -m benchmarks.sql --quick`` (PostgreSQL at ``BENCH_DATABASE_URL``,
default postgresql://postgres@127.0.0.1:5432/test). The report is printed and
written to benchmarks/results/sql.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shlex
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from benchmarks import harness
from benchmarks.harness import SPREAD_NOTE, Sample, Settings, fmt_ms, progress
from examples.blog.app import MIGRATIONS, PostRepository
from examples.blog.schema import posts
from minimal_asgi_sql import Database, migrate, select

NAME = "sql"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
USERS = 2_000
AUTHOR = 42  # whose posts the index lesson asks for
DEEP_OFFSET = 100_000

FETCH_SQL = (
    'SELECT "posts"."id", "posts"."author_id", "posts"."title", "posts"."body", '
    '"posts"."created_at" FROM "posts" ORDER BY "posts"."id" LIMIT $1'
)


def fetch_query(rows: int) -> Any:
    return (
        select(posts.c.id, posts.c.author_id, posts.c.title, posts.c.body, posts.c.created_at)
        .order_by(posts.c.id)
        .limit(rows)
    )


def _settings(argv: Sequence[str] | None) -> tuple[Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="7 rounds of ~0.1 s per case (default: 15 rounds of ~0.4 s)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds")
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
                        help="PostgreSQL (default: $BENCH_DATABASE_URL, else %(default)s)")
    parser.add_argument("--rows", type=int, default=1_000, help="rows per fetch (default 1000)")
    parser.add_argument("--posts", type=int, default=200_000,
                        help="posts in the table (default 200000)")
    # The other scripts' options (`make bench BENCH_FLAGS=...` passes them to all):
    # nothing here goes over the wire or draws a chart.
    for flag in ("--no-wire", "--no-charts", "--no-pin"):
        parser.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    for option in ("--duration", "--warmup", "--connections"):
        parser.add_argument(option, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    arguments = sys.argv[1:] if argv is None else list(argv)
    settings = Settings(
        quick=args.quick,
        rounds=0, duration=0, warmup=0, connections=0,  # (no over-the-wire part)
        inproc_rounds=args.rounds or (7 if args.quick else 15),
        round_seconds=0.1 if args.quick else 0.4,
        wire=False, charts=False, pin=False,
        command=" ".join(["python", "-m", f"benchmarks.{NAME}", *map(shlex.quote, arguments)]),
    )
    return settings, args


# -- timing ---------------------------------------------------------------------------
Call = Callable[[], Awaitable[Any]]


async def _time(call: Call, n: int) -> float:
    """Milliseconds per call, over ``n`` calls."""
    started = time.perf_counter()
    for _ in range(n):
        await call()
    return (time.perf_counter() - started) / n * 1000


async def interleaved(
    cases: dict[str, Call], rounds: int, round_seconds: float
) -> dict[str, Sample]:
    """ms per call for each case, the cases taking turns round by round."""
    sizes = {}
    for label, call in cases.items():
        await _time(call, 3)  # warm: prepared statements, caches
        per_call_ms = await _time(call, 5)
        sizes[label] = max(3, int(round_seconds * 1000 / per_call_ms))
    values: dict[str, list[float]] = {label: [] for label in cases}
    labels = list(cases)
    for number in range(1, rounds + 1):
        progress(f"  round {number}/{rounds}")
        for label in labels if number % 2 else reversed(labels):
            gc.collect()
            values[label].append(await _time(cases[label], sizes[label]))
    return {label: Sample(v) for label, v in values.items()}


# -- the run ----------------------------------------------------------------------------------
async def _seed(db: Database, n_posts: int) -> None:
    progress(f"migrating and filling the blog tables: {USERS:,} users, {n_posts:,} posts")
    await migrate(db, MIGRATIONS / "postgres")
    await db.execute(
        "INSERT INTO users (email, name) "
        "SELECT 'user' || i || '@example.com', 'User ' || i FROM generate_series(1, $1) AS i",
        [USERS],
    )
    # Authors spread evenly over the users; titles and bodies of a realistic size.
    await db.execute(
        "INSERT INTO posts (author_id, title, body, created_at) "
        "SELECT 1 + (i * 7919) % $2, 'Post number ' || i, repeat('lorem ipsum ', 20), "
        "now() - make_interval(secs => $1 - i) FROM generate_series(1, $1) AS i",
        [n_posts, USERS],
    )
    await db.execute("ANALYZE")


async def _explain_analyze(db: Database, query: Any) -> str:
    sql, params = query.compile("postgres")
    rows = await db.fetch_all("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
    return "\n".join(row["QUERY PLAN"] for row in rows)


async def run(settings: Settings, url: str, rows: int, n_posts: int) -> str:
    import asyncpg  # type: ignore[import-untyped]

    schema = f"bench_sql_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    schema_url = f"{url}{'&' if '?' in url else '?'}search_path={schema}"
    try:
        pool = await asyncpg.create_pool(schema_url, min_size=1, max_size=1)
        try:
            async with Database(schema_url, min_size=1, max_size=1) as db:
                await _seed(db, n_posts)
                return await _measure(settings, db, pool, rows)
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


async def _measure(settings: Settings, db: Database, pool: Any, rows: int) -> str:
    rounds, seconds = settings.inproc_rounds, settings.round_seconds
    query = fetch_query(rows)
    assert query.compile("postgres") == (FETCH_SQL, [rows])  # the same SQL text everywhere

    async def raw_records() -> Any:
        return await pool.fetch(FETCH_SQL, rows)

    async def raw_dicts() -> Any:
        return [dict(record) for record in await pool.fetch(FETCH_SQL, rows)]

    async def database_text() -> Any:
        return await db.fetch_all(FETCH_SQL, [rows])

    async def database_builder() -> Any:
        return await db.fetch_all(fetch_query(rows))

    fetches: dict[str, Call] = {
        "asyncpg pool.fetch (Records)": raw_records,
        "asyncpg pool.fetch + dict(row)": raw_dicts,
        "Database.fetch_all(sql text)": database_text,
        "Database.fetch_all(select(...))": database_builder,
    }
    answers = [await call() for call in fetches.values()]
    assert all(len(a) == rows and dict(a[0]) == dict(answers[0][0]) for a in answers)
    progress(f"part 1: a {rows:,}-row fetch, {len(fetches)} ways, {rounds} interleaved rounds")
    fetched = await interleaved(fetches, rounds, seconds)
    compile_us = min(_compile_time(rows) for _ in range(5))

    progress("part 2: the same query without and with its index")
    page = PostRepository(db).page_query(after=None, limit=20, author_id=AUTHOR)
    lesson = {}
    for state in ("without", "with"):
        if state == "without":
            await db.execute("DROP INDEX posts_author_id_idx")
        else:
            await db.execute("CREATE INDEX posts_author_id_idx ON posts (author_id, id)")
        await db.execute("ANALYZE posts")
        plan = await db.explain(page)
        analyzed = await _explain_analyze(db, page)
        timing = await interleaved({state: lambda: db.fetch_all(page)}, rounds, seconds)
        lesson[state] = (plan, analyzed, timing[state])

    progress("part 3: a deep page by OFFSET and by keyset cursor")
    newest_first = select(posts.c.id, posts.c.title).order_by(posts.c.id.desc()).limit(20)
    by_offset = newest_first.offset(DEEP_OFFSET)
    cursor = await db.fetch_val(select(posts.c.id).order_by(posts.c.id.desc())
                                .offset(DEEP_OFFSET - 1).limit(1))
    by_cursor = select(posts.c.id, posts.c.title).after(posts.c.id, cursor, descending=True) \
        .limit(20)
    assert await db.fetch_all(by_offset) == await db.fetch_all(by_cursor)
    paging = await interleaved(
        {"offset": lambda: db.fetch_all(by_offset), "cursor": lambda: db.fetch_all(by_cursor)},
        rounds, seconds,
    )
    return report(settings, rows, fetched, compile_us, lesson, page, paging,
                  (by_offset, by_cursor))


def _compile_time(rows: int, n: int = 2_000) -> float:
    """µs to build and compile the fetch's select, once."""
    started = time.perf_counter()
    for _ in range(n):
        fetch_query(rows).compile("postgres")
    return (time.perf_counter() - started) / n * 1e6


def report(settings: Settings, rows: int, fetched: dict[str, Sample], compile_us: float,
           lesson: dict[str, tuple[str, str, Sample]], page: Any,
           paging: dict[str, Sample], paging_queries: tuple[Any, Any]) -> str:
    lines = [
        "# The SQL plugin on PostgreSQL: its cost, and an index",
        "",
        f"Command: `{settings.command}`",
        "",
        *(f"- {key}: {value}" for key, value in harness.environment(settings) if key != "wrk"),
        f"- settings: {settings.inproc_rounds} interleaved rounds of ~{settings.round_seconds} s "
        "per case; one connection per pool; PostgreSQL on the same machine",
        "",
        f"## 1. The same {rows:,}-row fetch, four ways",
        "",
    ]
    floor = fetched["asyncpg pool.fetch (Records)"]
    table = []
    for label, sample in fetched.items():
        over = harness.ratio(sample, floor)
        table.append([label, sample.show(fmt_ms), over.show(harness.fmt_ratio),
                      f"{(sample.median - floor.median) * 1000 / rows:+.2f}"])
    lines.append(harness.markdown_table(
        ["how", "ms per fetch", "ratio to asyncpg", "µs added per row"], table))
    lines += [
        "`Database.fetch_all` returns a list of dicts; most of what it adds over raw asyncpg",
        "is that conversion, which the `+ dict(row)` line pays too. Building and compiling",
        f"the `select(...)` takes {compile_us:.1f} µs (timed alone), so the last two lines",
        "differ by less than their noise.",
        "",
        "## 2. A user's posts, newest first, without and with `posts_author_id_idx`",
        "",
        f"`{page.compile('postgres')[0]}` with `{page.compile('postgres')[1]}`",
        "",
    ]
    for state, (plan, analyzed, sample) in lesson.items():
        lines += [f"### {state} the index: {sample.show(fmt_ms)} ms per query", "",
                  "`Database.explain`:", "", "```text", plan, "```", "",
                  "`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)`:", "", "```text", analyzed, "```", ""]
    without, with_ = lesson["without"][2], lesson["with"][2]
    lines += [f"The index makes this query {without.median / with_.median:,.0f}x faster.", ""]
    offset_sql, cursor_sql = (q.compile("postgres") for q in paging_queries)
    lines += [
        f"## 3. Page {DEEP_OFFSET // 20 + 1:,} of 20 posts: OFFSET against a keyset cursor",
        "",
        harness.markdown_table(["how", "SQL", "ms per page"], [
            ["OFFSET", f"`{offset_sql[0]}` {offset_sql[1]}", paging["offset"].show(fmt_ms)],
            ["keyset", f"`{cursor_sql[0]}` {cursor_sql[1]}", paging["cursor"].show(fmt_ms)],
        ]),
        f"The cursor is {harness.ratio(paging['offset'], paging['cursor']).median:,.0f}x faster "
        "here; OFFSET reads and throws away every row before the page.",
        "",
        SPREAD_NOTE,
    ]
    return "\n".join(lines) + "\n"


def database_problem(url: str) -> str | None:
    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed: pip install -e '.[dev]'"

    async def probe() -> None:
        connection = await asyncpg.connect(url, timeout=5)
        await connection.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"PostgreSQL at {url} is not reachable ({type(exc).__name__}: {exc})"
    return None


def main(argv: Sequence[str] | None = None) -> None:
    settings, args = _settings(argv)
    problem = database_problem(args.url)
    if problem is not None:
        # `make bench` goes on with the other scripts: say why, measure nothing.
        print(f"benchmarks.sql: skipped: {problem}", file=sys.stderr)
        return
    text = asyncio.run(run(settings, args.url, args.rows, args.posts))
    path = harness.write_report(NAME, text)
    print(text)
    progress(f"written to {path.relative_to(harness.REPO)}")


if __name__ == "__main__":
    main()

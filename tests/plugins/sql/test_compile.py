"""Golden tests: the exact SQL and parameters of every construct, in both dialects.

Each case is (statement, PostgreSQL text, SQLite text, parameters). The same
cases then run on a real SQLite and a real PostgreSQL (with the blog schema
and a few rows, each case rolled back), so a golden string that no database
accepts cannot hide here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from minimal_asgi_sql import (
    Statement,
    and_,
    avg,
    count,
    delete,
    desc,
    excluded,
    func,
    insert,
    max_,
    min_,
    not_,
    now,
    or_,
    select,
    sum_,
    text,
    update,
)
from tests.plugins.sql.blog import TABLES, post_tags, posts, posts_by_score, samples, users
from tests.plugins.sql.engines import Engine, open_engine

u, p, t = users.c, posts.c, post_tags.c
n = count().label("n")

CASES: dict[str, tuple[Statement, str, str, list[Any]]] = {
    # -- SELECT: columns, FROM, labels
    "select columns": (
        select(u.id, u.email),
        'SELECT "users"."id", "users"."email" FROM "users"',
        'SELECT "users"."id", "users"."email" FROM "users"',
        [],
    ),
    "select a whole table": (
        select(post_tags),
        'SELECT "post_tags"."post_id", "post_tags"."tag" FROM "post_tags"',
        'SELECT "post_tags"."post_id", "post_tags"."tag" FROM "post_tags"',
        [],
    ),
    "label": (
        select(u.email.label("login")),
        'SELECT "users"."email" AS "login" FROM "users"',
        'SELECT "users"."email" AS "login" FROM "users"',
        [],
    ),
    "select_from": (
        select(count()).select_from(users).where(u.active == True),  # noqa: E712
        'SELECT count(*) FROM "users" WHERE "users"."active" = $1',
        'SELECT count(*) FROM "users" WHERE "users"."active" = ?',
        [True],
    ),
    "distinct": (
        select(p.author_id).distinct(),
        'SELECT DISTINCT "posts"."author_id" FROM "posts"',
        'SELECT DISTINCT "posts"."author_id" FROM "posts"',
        [],
    ),
    "func": (
        select(func("lower", u.email).label("email")).where(func("length", u.name) > 3),
        'SELECT lower("users"."email") AS "email" FROM "users" WHERE length("users"."name") > $1',
        'SELECT lower("users"."email") AS "email" FROM "users" WHERE length("users"."name") > ?',
        [3],
    ),
    # -- WHERE: operators
    "six comparisons": (
        select(u.id).where(u.id == 1, u.id != 2, u.age < 3, u.age <= 4, u.age > 5, u.age >= 6),
        'SELECT "users"."id" FROM "users" WHERE "users"."id" = $1 AND "users"."id" <> $2'
        ' AND "users"."age" < $3 AND "users"."age" <= $4 AND "users"."age" > $5'
        ' AND "users"."age" >= $6',
        'SELECT "users"."id" FROM "users" WHERE "users"."id" = ? AND "users"."id" <> ?'
        ' AND "users"."age" < ? AND "users"."age" <= ? AND "users"."age" > ?'
        ' AND "users"."age" >= ?',
        [1, 2, 3, 4, 5, 6],
    ),
    "== None is IS NULL": (
        select(u.id).where(u.name == None, u.age != None),  # noqa: E711
        'SELECT "users"."id" FROM "users" WHERE "users"."name" IS NULL'
        ' AND "users"."age" IS NOT NULL',
        'SELECT "users"."id" FROM "users" WHERE "users"."name" IS NULL'
        ' AND "users"."age" IS NOT NULL',
        [],
    ),
    "is_null and is_not_null": (
        select(u.id).where(u.name.is_null(), u.age.is_not_null()),
        'SELECT "users"."id" FROM "users" WHERE "users"."name" IS NULL'
        ' AND "users"."age" IS NOT NULL',
        'SELECT "users"."id" FROM "users" WHERE "users"."name" IS NULL'
        ' AND "users"."age" IS NOT NULL',
        [],
    ),
    "in_ a list": (
        select(u.id).where(u.id.in_([1, 2, 3])),
        'SELECT "users"."id" FROM "users" WHERE "users"."id" IN ($1, $2, $3)',
        'SELECT "users"."id" FROM "users" WHERE "users"."id" IN (?, ?, ?)',
        [1, 2, 3],
    ),
    "not_in a list": (
        select(u.id).where(u.email.not_in(["a@example.com", "b@example.com"])),
        'SELECT "users"."id" FROM "users" WHERE "users"."email" NOT IN ($1, $2)',
        'SELECT "users"."id" FROM "users" WHERE "users"."email" NOT IN (?, ?)',
        ["a@example.com", "b@example.com"],
    ),
    "in_ an empty list is false": (
        select(u.id).where(u.id.in_([])),
        'SELECT "users"."id" FROM "users" WHERE 1 = 0',
        'SELECT "users"."id" FROM "users" WHERE 1 = 0',
        [],
    ),
    "not_in an empty list is true": (
        select(u.id).where(u.id.not_in([])),
        'SELECT "users"."id" FROM "users" WHERE 1 = 1',
        'SELECT "users"."id" FROM "users" WHERE 1 = 1',
        [],
    ),
    "in_ a subquery numbers its placeholders with the outer query": (
        select(u.email).where(
            u.active == True,  # noqa: E712
            u.id.in_(select(p.author_id).where(p.score > 10)),
            u.age < 90,
        ),
        'SELECT "users"."email" FROM "users" WHERE "users"."active" = $1 AND "users"."id" IN'
        ' (SELECT "posts"."author_id" FROM "posts" WHERE "posts"."score" > $2)'
        ' AND "users"."age" < $3',
        'SELECT "users"."email" FROM "users" WHERE "users"."active" = ? AND "users"."id" IN'
        ' (SELECT "posts"."author_id" FROM "posts" WHERE "posts"."score" > ?)'
        ' AND "users"."age" < ?',
        [True, 10, 90],
    ),
    "like": (
        select(u.id).where(u.email.like("%@example.com")),
        'SELECT "users"."id" FROM "users" WHERE "users"."email" LIKE $1',
        'SELECT "users"."id" FROM "users" WHERE "users"."email" LIKE ?',
        ["%@example.com"],
    ),
    "like with an escape character": (
        select(u.id).where(u.name.like("100\\%%", escape="\\")),
        'SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE $1 ESCAPE $2',
        'SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE ? ESCAPE ?',
        ["100\\%%", "\\"],
    ),
    "ilike is LIKE on SQLite": (
        select(u.id).where(u.name.ilike("an%")),
        'SELECT "users"."id" FROM "users" WHERE "users"."name" ILIKE $1',
        'SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE ?',
        ["an%"],
    ),
    "between": (
        select(u.id).where(u.age.between(18, 65)),
        'SELECT "users"."id" FROM "users" WHERE "users"."age" BETWEEN $1 AND $2',
        'SELECT "users"."id" FROM "users" WHERE "users"."age" BETWEEN ? AND ?',
        [18, 65],
    ),
    "and_ or_ not_ are parenthesised": (
        select(u.id).where(or_(u.age < 18, and_(u.active == True, not_(u.name.is_null())))),  # noqa: E712
        'SELECT "users"."id" FROM "users" WHERE "users"."age" < $1'
        ' OR ("users"."active" = $2 AND NOT ("users"."name" IS NULL))',
        'SELECT "users"."id" FROM "users" WHERE "users"."age" < ?'
        ' OR ("users"."active" = ? AND NOT ("users"."name" IS NULL))',
        [18, True],
    ),
    "arithmetic keeps its grouping": (
        select(((p.score + 1) * 2).label("a"), (p.score - (p.id - 1)).label("b")),
        'SELECT ("posts"."score" + $1) * $2 AS "a", "posts"."score" - ("posts"."id" - $3) AS "b"'
        ' FROM "posts"',
        'SELECT ("posts"."score" + ?) * ? AS "a", "posts"."score" - ("posts"."id" - ?) AS "b"'
        ' FROM "posts"',
        [1, 2, 1],
    ),
    # -- aggregates, GROUP BY, HAVING
    "aggregates": (
        select(count(), count(p.id), count(p.author_id, distinct=True), sum_(p.score),
               avg(p.score), min_(p.score), max_(p.score)),
        'SELECT count(*), count("posts"."id"), count(DISTINCT "posts"."author_id"),'
        ' sum("posts"."score"), avg("posts"."score"), min("posts"."score"), max("posts"."score")'
        ' FROM "posts"',
        'SELECT count(*), count("posts"."id"), count(DISTINCT "posts"."author_id"),'
        ' sum("posts"."score"), avg("posts"."score"), min("posts"."score"), max("posts"."score")'
        ' FROM "posts"',
        [],
    ),
    "group_by, having, order by a label": (
        select(p.author_id, n).group_by(p.author_id).having(count() > 1).order_by(n.desc()),
        'SELECT "posts"."author_id", count(*) AS "n" FROM "posts" GROUP BY "posts"."author_id"'
        ' HAVING count(*) > $1 ORDER BY "n" DESC',
        'SELECT "posts"."author_id", count(*) AS "n" FROM "posts" GROUP BY "posts"."author_id"'
        ' HAVING count(*) > ? ORDER BY "n" DESC',
        [1],
    ),
    # -- joins
    "join": (
        select(u.email, p.title).join(posts, on=p.author_id == u.id).where(p.score >= 5),
        'SELECT "users"."email", "posts"."title" FROM "users"'
        ' JOIN "posts" ON "posts"."author_id" = "users"."id" WHERE "posts"."score" >= $1',
        'SELECT "users"."email", "posts"."title" FROM "users"'
        ' JOIN "posts" ON "posts"."author_id" = "users"."id" WHERE "posts"."score" >= ?',
        [5],
    ),
    "left join with a condition in ON": (
        select(u.email, count(p.id).label("posts"))
        .left_join(posts, on=and_(p.author_id == u.id, p.score > 0))
        .group_by(u.email),
        'SELECT "users"."email", count("posts"."id") AS "posts" FROM "users" LEFT JOIN "posts"'
        ' ON "posts"."author_id" = "users"."id" AND "posts"."score" > $1 GROUP BY "users"."email"',
        'SELECT "users"."email", count("posts"."id") AS "posts" FROM "users" LEFT JOIN "posts"'
        ' ON "posts"."author_id" = "users"."id" AND "posts"."score" > ? GROUP BY "users"."email"',
        [0],
    ),
    "two joins": (
        select(u.email, t.tag)
        .join(posts, on=p.author_id == u.id)
        .join(post_tags, on=t.post_id == p.id),
        'SELECT "users"."email", "post_tags"."tag" FROM "users"'
        ' JOIN "posts" ON "posts"."author_id" = "users"."id"'
        ' JOIN "post_tags" ON "post_tags"."post_id" = "posts"."id"',
        'SELECT "users"."email", "post_tags"."tag" FROM "users"'
        ' JOIN "posts" ON "posts"."author_id" = "users"."id"'
        ' JOIN "post_tags" ON "post_tags"."post_id" = "posts"."id"',
        [],
    ),
    # -- ORDER BY, LIMIT, OFFSET, keyset pages
    "order_by asc, desc, nulls first and last": (
        select(u.id).order_by(u.name.asc(nulls="first"), desc(u.age, nulls="last"), u.id),
        'SELECT "users"."id" FROM "users" ORDER BY "users"."name" ASC NULLS FIRST,'
        ' "users"."age" DESC NULLS LAST, "users"."id"',
        'SELECT "users"."id" FROM "users" ORDER BY "users"."name" ASC NULLS FIRST,'
        ' "users"."age" DESC NULLS LAST, "users"."id"',
        [],
    ),
    "limit and offset are parameters": (
        select(u.id).order_by(u.id).limit(10).offset(20),
        'SELECT "users"."id" FROM "users" ORDER BY "users"."id" LIMIT $1 OFFSET $2',
        'SELECT "users"."id" FROM "users" ORDER BY "users"."id" LIMIT ? OFFSET ?',
        [10, 20],
    ),
    "offset without limit (SQLite needs LIMIT -1)": (
        select(u.id).order_by(u.id).offset(20),
        'SELECT "users"."id" FROM "users" ORDER BY "users"."id" OFFSET $1',
        'SELECT "users"."id" FROM "users" ORDER BY "users"."id" LIMIT -1 OFFSET ?',
        [20],
    ),
    "after: the first page": (
        select(u.id, u.email).after(u.id, None).limit(20),
        'SELECT "users"."id", "users"."email" FROM "users" ORDER BY "users"."id" LIMIT $1',
        'SELECT "users"."id", "users"."email" FROM "users" ORDER BY "users"."id" LIMIT ?',
        [20],
    ),
    "after: the next page": (
        select(u.id, u.email).after(u.id, 40).limit(20),
        'SELECT "users"."id", "users"."email" FROM "users" WHERE "users"."id" > $1'
        ' ORDER BY "users"."id" LIMIT $2',
        'SELECT "users"."id", "users"."email" FROM "users" WHERE "users"."id" > ?'
        ' ORDER BY "users"."id" LIMIT ?',
        [40, 20],
    ),
    "after: two keys, descending": (
        select(p.id, p.score).after((p.score, p.id), (7, 3), descending=True).limit(10),
        'SELECT "posts"."id", "posts"."score" FROM "posts"'
        ' WHERE ("posts"."score", "posts"."id") < ($1, $2)'
        ' ORDER BY "posts"."score" DESC, "posts"."id" DESC LIMIT $3',
        'SELECT "posts"."id", "posts"."score" FROM "posts"'
        ' WHERE ("posts"."score", "posts"."id") < (?, ?)'
        ' ORDER BY "posts"."score" DESC, "posts"."id" DESC LIMIT ?',
        [7, 3, 10],
    ),
    # -- INSERT
    "insert one row (columns in table order)": (
        insert(users).values(name="New", email="new@example.com"),
        'INSERT INTO "users" ("email", "name") VALUES ($1, $2)',
        'INSERT INTO "users" ("email", "name") VALUES (?, ?)',
        ["new@example.com", "New"],
    ),
    "insert returning": (
        insert(users).values({"email": "new@example.com"}).returning(u.id, u.created_at),
        'INSERT INTO "users" ("email") VALUES ($1) RETURNING "users"."id", "users"."created_at"',
        'INSERT INTO "users" ("email") VALUES (?) RETURNING "users"."id", "users"."created_at"',
        ["new@example.com"],
    ),
    "insert many rows": (
        insert(posts).values([
            {"author_id": 1, "slug": "a", "title": "A"},
            {p.author_id: 1, p.slug: "b", p.title: "B"},
        ]),
        'INSERT INTO "posts" ("author_id", "slug", "title") VALUES ($1, $2, $3), ($4, $5, $6)',
        'INSERT INTO "posts" ("author_id", "slug", "title") VALUES (?, ?, ?), (?, ?, ?)',
        [1, "a", "A", 1, "b", "B"],
    ),
    "insert default values": (
        insert(samples).returning(samples.c.id),
        'INSERT INTO "samples" DEFAULT VALUES RETURNING "samples"."id"',
        'INSERT INTO "samples" DEFAULT VALUES RETURNING "samples"."id"',
        [],
    ),
    "insert an expression": (
        insert(users).values(email="new@example.com", created_at=now()),
        'INSERT INTO "users" ("email", "created_at") VALUES ($1, CURRENT_TIMESTAMP)',
        'INSERT INTO "users" ("email", "created_at") VALUES (?, CURRENT_TIMESTAMP)',
        ["new@example.com"],
    ),
    "upsert: do nothing on any conflict": (
        insert(users).values(email="ann@example.com").on_conflict_do_nothing(),
        'INSERT INTO "users" ("email") VALUES ($1) ON CONFLICT DO NOTHING',
        'INSERT INTO "users" ("email") VALUES (?) ON CONFLICT DO NOTHING',
        ["ann@example.com"],
    ),
    "upsert: do nothing on a target": (
        insert(posts)
        .values(author_id=1, slug="hello", title="Again")
        .on_conflict_do_nothing([p.author_id, "slug"]),
        'INSERT INTO "posts" ("author_id", "slug", "title") VALUES ($1, $2, $3)'
        ' ON CONFLICT ("author_id", "slug") DO NOTHING',
        'INSERT INTO "posts" ("author_id", "slug", "title") VALUES (?, ?, ?)'
        ' ON CONFLICT ("author_id", "slug") DO NOTHING',
        [1, "hello", "Again"],
    ),
    "upsert: do update": (
        insert(posts)
        .values(author_id=1, slug="hello", title="Hello again")
        .on_conflict_do_update(
            index_elements=["author_id", "slug"],
            set_={"title": excluded(p.title), p.score: p.score + 1},
            where=p.score < 100,
        )
        .returning(p.id, p.score),
        'INSERT INTO "posts" ("author_id", "slug", "title") VALUES ($1, $2, $3)'
        ' ON CONFLICT ("author_id", "slug") DO UPDATE SET "title" = excluded."title",'
        ' "score" = "posts"."score" + $4 WHERE "posts"."score" < $5'
        ' RETURNING "posts"."id", "posts"."score"',
        'INSERT INTO "posts" ("author_id", "slug", "title") VALUES (?, ?, ?)'
        ' ON CONFLICT ("author_id", "slug") DO UPDATE SET "title" = excluded."title",'
        ' "score" = "posts"."score" + ? WHERE "posts"."score" < ?'
        ' RETURNING "posts"."id", "posts"."score"',
        [1, "hello", "Hello again", 1, 100],
    ),
    # -- UPDATE and DELETE
    "update": (
        update(users).values(name="Ann B.", age=u.age + 1).where(u.id == 1),
        'UPDATE "users" SET "name" = $1, "age" = "users"."age" + $2 WHERE "users"."id" = $3',
        'UPDATE "users" SET "name" = ?, "age" = "users"."age" + ? WHERE "users"."id" = ?',
        ["Ann B.", 1, 1],
    ),
    "update returning": (
        update(posts).values({p.score: 0}).where(p.author_id == 1, p.score < 0).returning(p.id),
        'UPDATE "posts" SET "score" = $1 WHERE "posts"."author_id" = $2 AND "posts"."score" < $3'
        ' RETURNING "posts"."id"',
        'UPDATE "posts" SET "score" = ? WHERE "posts"."author_id" = ? AND "posts"."score" < ?'
        ' RETURNING "posts"."id"',
        [0, 1, 0],
    ),
    "delete": (
        delete(post_tags).where(t.tag.in_(["spam", "junk"])),
        'DELETE FROM "post_tags" WHERE "post_tags"."tag" IN ($1, $2)',
        'DELETE FROM "post_tags" WHERE "post_tags"."tag" IN (?, ?)',
        ["spam", "junk"],
    ),
    "delete returning": (
        delete(users).where(u.active == False).returning(u.id, u.email),  # noqa: E712
        'DELETE FROM "users" WHERE "users"."active" = $1 RETURNING "users"."id", "users"."email"',
        'DELETE FROM "users" WHERE "users"."active" = ? RETURNING "users"."id", "users"."email"',
        [False],
    ),
    "delete every row": (
        delete(post_tags),
        'DELETE FROM "post_tags"',
        'DELETE FROM "post_tags"',
        [],
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_compiles_to_the_golden_sql(name: str) -> None:
    stmt, postgres, sqlite, params = CASES[name]
    assert stmt.compile("postgres") == (postgres, params)
    assert stmt.compile("sqlite") == (sqlite, params)


def test_text_passes_sql_through_and_keeps_values_apart() -> None:
    stmt = text('SELECT "id" FROM "users" WHERE "email" = $1 AND "age" > $2', "a@x", 3)
    expected = ('SELECT "id" FROM "users" WHERE "email" = $1 AND "age" > $2', ["a@x", 3])
    assert stmt.compile("postgres") == expected
    assert stmt.compile("sqlite") == expected  # raw means raw: write SQLite's `?` for SQLite


def test_str_of_a_statement_is_its_postgres_text() -> None:
    assert str(select(u.id).where(u.id == 1)) == (
        'SELECT "users"."id" FROM "users" WHERE "users"."id" = $1'
    )


def test_an_unknown_dialect_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown SQL dialect 'mysql'"):
        select(u.id).compile("mysql")


# -- the golden SQL runs ------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def blog_db(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The blog schema with two users, two posts and a tag.

    The rows get their ids from the database (1 and 2, in a new table): on
    PostgreSQL an explicit id would not move the identity's counter, and the
    next insert would collide with it.
    """
    with open_engine(request.param, request) as db:
        for table in TABLES:
            db.run(table.create())
            for index in table.indexes:
                db.run(index.create())
        db.run(posts_by_score.create())
        db.run(insert(users).values([
            {"email": "ann@example.com", "name": "Ann", "age": 30},
            {"email": "bob@example.com", "name": "Bob", "age": None},
        ]))
        db.run(insert(posts).values([
            {"author_id": 1, "slug": "hello", "title": "Hello", "score": 5},
            {"author_id": 1, "slug": "again", "title": "Again", "score": 9},
        ]))
        db.run(insert(post_tags).values(post_id=1, tag="intro"))
        yield db


@pytest.mark.parametrize("name", CASES)
def test_the_golden_sql_runs(blog_db: Engine, name: str) -> None:
    with blog_db.rolled_back():
        blog_db.run(CASES[name][0])


def test_text_runs_with_each_databases_own_placeholders(blog_db: Engine) -> None:
    mark = "$1" if blog_db.dialect == "postgres" else "?"
    stmt = text(f'SELECT "name" FROM "users" WHERE "email" = {mark}', "ann@example.com")
    assert blog_db.run(stmt) == [("Ann",)]

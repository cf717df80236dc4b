"""What statements *do*, on a real SQLite and a real PostgreSQL; immutability;
and the mistakes the builder refuses."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from minimal_asgi_sql import (
    and_,
    count,
    delete,
    excluded,
    func,
    insert,
    select,
    update,
)
from tests.plugins.sql.blog import TABLES, posts, users
from tests.plugins.sql.engines import Engine, open_engine

u, p = users.c, posts.c

# -- immutability ------------------------------------------------------------------------------


def test_a_shared_base_query_is_never_changed_by_refining_it() -> None:
    base = select(u.id, u.email).where(u.active == True)  # noqa: E712
    before = base.compile("postgres")
    adults = base.where(u.age >= 18).order_by(u.id).limit(10)
    named = base.where(u.name.is_not_null()).offset(5)
    assert base.compile("postgres") == before
    assert adults.compile("postgres") == (
        'SELECT "users"."id", "users"."email" FROM "users" WHERE "users"."active" = $1'
        ' AND "users"."age" >= $2 ORDER BY "users"."id" LIMIT $3',
        [True, 18, 10],
    )
    assert named.compile("postgres") == (
        'SELECT "users"."id", "users"."email" FROM "users" WHERE "users"."active" = $1'
        ' AND "users"."name" IS NOT NULL OFFSET $2',
        [True, 5],
    )


def test_every_statement_method_returns_a_new_object() -> None:
    stmts = [
        select(u.id),
        insert(users).values(email="a"),
        update(users).values(name="a"),
        delete(users),
    ]
    for stmt in stmts:
        with pytest.raises(dataclasses.FrozenInstanceError):
            stmt.table = posts  # type: ignore[misc,union-attr]
    ins = insert(users)
    assert ins.values(email="a") is not ins and ins.returning(u.id) is not ins
    upd = update(users).values(name="a")
    assert upd.where(u.id == 1) is not upd and upd.compile("sqlite")[0].count("WHERE") == 0


# -- mistakes are refused where they are made --------------------------------------------------


def test_builder_mistakes_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="no column 'nope'"):
        insert(users).values(nope=1)
    with pytest.raises(ValueError, match="no column"):
        update(users).values({p.title: "x"})  # a column of another table
    with pytest.raises(ValueError, match="row 1 sets other columns"):
        insert(users).values([{"email": "a"}, {"name": "b"}])
    with pytest.raises(ValueError, match="limit must be a non-negative integer"):
        select(u.id).limit(-1)
    with pytest.raises(ValueError, match="offset must be a non-negative integer"):
        select(u.id).offset("10")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a string"):
        u.email.in_("abc")
    with pytest.raises(ValueError, match=r"needs \.values"):
        update(users).compile("postgres")
    with pytest.raises(TypeError, match="at least one condition"):
        and_()
    with pytest.raises(ValueError, match="nulls must be"):
        u.id.desc(nulls="middle")
    with pytest.raises(ValueError, match="not a valid SQL function name"):
        func("lower(x); DROP TABLE users; --", u.email)
    with pytest.raises(ValueError, match="2 columns but 1 values"):
        select(u.id).after((u.id, u.email), (1,))


def test_a_column_compares_with_another_by_identity_in_python() -> None:
    # So that `column in some_list` works; a comparison with a value still refuses bool().
    assert u.id in [p.id, u.id]
    assert u.id not in [p.id, u.email]


# -- behaviour on both databases -----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Iterator[Engine]:
    with open_engine(request.param, request) as engine:
        for table in TABLES:
            engine.run(table.create())
        yield engine


def add_user(db: Engine, email: str, **columns: object) -> int:
    [(user_id,)] = db.run(insert(users).values(email=email, **columns).returning(u.id))
    return int(user_id)


def test_insert_many_returns_one_row_each(db: Engine) -> None:
    rows = db.run(
        insert(users).values([{"email": f"{i}@example.com"} for i in range(3)]).returning(u.email)
    )
    assert sorted(rows) == [("0@example.com",), ("1@example.com",), ("2@example.com",)]


def test_upsert_do_nothing_keeps_the_existing_row(db: Engine) -> None:
    add_user(db, "ann@example.com", name="Ann")
    stmt = insert(users).values(email="ann@example.com", name="Impostor")
    assert db.run(stmt.on_conflict_do_nothing(["email"]).returning(u.id)) == []
    assert db.run(stmt.on_conflict_do_nothing().returning(u.id)) == []
    assert db.run(select(u.name)) == [("Ann",)]


def test_upsert_do_update_updates_the_existing_row(db: Engine) -> None:
    ann = add_user(db, "ann@example.com", name="Ann", age=30)
    upsert = (
        insert(users)
        .values(email="ann@example.com", name="Ann B.", age=1)
        .on_conflict_do_update(["email"], {"name": excluded(u.name), "age": u.age + 1})
        .returning(u.id, u.name, u.age)
    )
    assert db.run(upsert) == [(ann, "Ann B.", 31)]
    # A new key is a plain insert.
    new = upsert.values(email="bob@example.com", name="Bob", age=40)
    assert db.run(new)[0][1:] == ("Bob", 40)
    assert db.run(select(count()).select_from(users)) == [(2,)]


def test_upsert_where_can_skip_the_update(db: Engine) -> None:
    add_user(db, "ann@example.com", name="Ann", age=30)
    upsert = (
        insert(users)
        .values(email="ann@example.com", name="Changed")
        .on_conflict_do_update(["email"], {"name": excluded(u.name)}, where=u.age < 18)
    )
    db.run(upsert)
    assert db.run(select(u.name)) == [("Ann",)]


def test_keyset_pages_walk_every_row_once(db: Engine) -> None:
    for i in range(7):
        add_user(db, f"{i}@example.com")
    page = select(u.id, u.email)
    seen: list[int] = []
    last = None
    while True:
        rows = db.run(page.after(u.id, last).limit(3))
        if not rows:
            break
        seen += [row[0] for row in rows]
        last = rows[-1][0]
    assert seen == sorted(seen) and len(seen) == 7


def test_keyset_pages_on_a_non_unique_key_use_a_tie_breaker(db: Engine) -> None:
    author = add_user(db, "ann@example.com")
    db.run(insert(posts).values(
        [{"author_id": author, "slug": str(i), "title": "t", "score": i % 2} for i in range(5)]
    ))
    key = (p.score, p.id)
    query = select(p.score, p.id)
    first = db.run(query.after(key, None, descending=True).limit(2))
    rest = db.run(query.after(key, first[-1], descending=True))
    everything = db.run(query.order_by(p.score.desc(), p.id.desc()))
    assert first + rest == everything


def test_subquery_join_and_aggregates(db: Engine) -> None:
    ann, bob = add_user(db, "ann@example.com"), add_user(db, "bob@example.com")
    add_user(db, "cy@example.com")
    db.run(insert(posts).values([
        {"author_id": ann, "slug": "a", "title": "A", "score": 10},
        {"author_id": ann, "slug": "b", "title": "B", "score": 2},
        {"author_id": bob, "slug": "c", "title": "C", "score": 1},
    ]))
    writers = select(u.email).where(u.id.in_(select(p.author_id).where(p.score > 5)))
    assert db.run(writers) == [("ann@example.com",)]
    n = count(p.id).label("n")
    per_user = (
        select(u.email, n)
        .left_join(posts, on=p.author_id == u.id)
        .group_by(u.email)
        .order_by(u.email)
    )
    assert db.run(per_user) == [
        ("ann@example.com", 2),
        ("bob@example.com", 1),
        ("cy@example.com", 0),
    ]
    busy = select(u.email).join(posts, on=p.author_id == u.id).group_by(u.email).having(count() > 1)
    assert db.run(busy) == [("ann@example.com",)]


def test_ilike_ignores_ascii_case_on_both(db: Engine) -> None:
    add_user(db, "Ann@Example.com")
    assert db.run(select(u.email).where(u.email.ilike("ann@%"))) == [("Ann@Example.com",)]


def test_like_escape_makes_a_wildcard_literal(db: Engine) -> None:
    add_user(db, "a@example.com", name="100%")
    add_user(db, "b@example.com", name="1000")
    assert db.run(select(u.name).where(u.name.like("100!%", escape="!"))) == [("100%",)]


def test_nulls_first_and_last(db: Engine) -> None:
    add_user(db, "a@example.com", age=20)
    add_user(db, "b@example.com")
    ages = select(u.age)
    assert db.run(ages.order_by(u.age.asc(nulls="first"))) == [(None,), (20,)]
    assert db.run(ages.order_by(u.age.desc(nulls="last"))) == [(20,), (None,)]


def test_update_and_delete_return_the_rows_they_touched(db: Engine) -> None:
    ann = add_user(db, "ann@example.com", age=30)
    add_user(db, "bob@example.com", age=40)
    assert db.run(update(users).values(age=u.age + 1).where(u.id == ann).returning(u.age)) == [
        (31,)
    ]
    assert db.run(delete(users).where(u.age > 35).returning(u.email)) == [("bob@example.com",)]
    assert db.run(select(u.email)) == [("ann@example.com",)]

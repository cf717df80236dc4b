"""Exercise 11: the query, run on SQLite against a small data set."""

from types import ModuleType

import anyio
import pytest

from minimal_asgi_sql import Database, insert

AUTHORS = ["ada", "grace", "linus", "barbara", "ken"]
POSTS = [  # (author, status)
    ("ada", "published"),
    ("ada", "published"),
    ("grace", "published"),
    ("grace", "published"),
    ("grace", "draft"),
    ("linus", "draft"),
    ("ken", "published"),
]


def run(module: ModuleType, min_posts: int) -> list[dict]:
    async def main() -> list[dict]:
        async with Database("sqlite://:memory:") as db:
            await db.execute(module.authors.create())
            await db.execute(module.posts.create())
            for number, name in enumerate(AUTHORS, start=1):
                await db.execute(insert(module.authors).values(id=number, name=name))
            for author, status in POSTS:
                author_id = AUTHORS.index(author) + 1
                await db.execute(insert(module.posts).values(author_id=author_id, status=status))
            return await db.fetch_all(module.authors_by_post_count(min_posts))

    return anyio.run(main)


def test_every_author_in_order_with_zeros(exercise: ModuleType) -> None:
    assert run(exercise, 0) == [
        {"name": "ada", "posts": 2},
        {"name": "grace", "posts": 2},  # the draft is not counted
        {"name": "ken", "posts": 1},
        {"name": "barbara", "posts": 0},  # no posts at all
        {"name": "linus", "posts": 0},  # only a draft
    ]


@pytest.mark.parametrize(
    ("min_posts", "names"), [(1, ["ada", "grace", "ken"]), (2, ["ada", "grace"]), (3, [])]
)
def test_at_least_min_posts(exercise: ModuleType, min_posts: int, names: list[str]) -> None:
    assert [row["name"] for row in run(exercise, min_posts)] == names


def test_values_are_parameters_not_text(exercise: ModuleType) -> None:
    sql, params = exercise.authors_by_post_count(2).compile("sqlite")
    assert "published" not in sql and "published" in params
    assert 2 in params

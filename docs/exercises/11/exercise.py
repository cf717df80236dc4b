"""Exercise 11: a LEFT JOIN, GROUP BY and HAVING with the query builder. See README.md."""

from minimal_asgi_sql import Column, ForeignKey, Integer, Select, Table, Text, count, select

authors = Table(
    "authors",
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
)
posts = Table(
    "posts",
    Column("id", Integer, primary_key=True),
    Column("author_id", Integer, ForeignKey(authors.c.id), nullable=False),
    Column("status", Text, nullable=False),
)


def authors_by_post_count(min_posts: int) -> Select:
    # TODO: every author (0 included), published posts only, at least min_posts, ordered.
    return (
        select(authors.c.name.label("name"), count(posts.c.id).label("posts"))
        .select_from(authors)
        .join(posts, on=posts.c.author_id == authors.c.id)
        .where(posts.c.status == "published")
        .group_by(authors.c.id, authors.c.name)
    )

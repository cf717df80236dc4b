"""Exercise 11, solved: a LEFT JOIN, GROUP BY and HAVING with the query builder."""

from minimal_asgi_sql import (
    Column,
    ForeignKey,
    Integer,
    Select,
    Table,
    Text,
    and_,
    count,
    desc,
    select,
)

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
    published = count(posts.c.id)
    return (
        select(authors.c.name.label("name"), published.label("posts"))
        .select_from(authors)
        # The status test belongs to the join: in WHERE it would drop the authors
        # the LEFT JOIN kept (their posts.status is NULL).
        .left_join(posts, on=and_(posts.c.author_id == authors.c.id, posts.c.status == "published"))
        .group_by(authors.c.id, authors.c.name)
        .having(published >= min_posts)
        .order_by(desc(published), authors.c.name)
    )

"""The blog's tables, declared for the query builder.

The schema itself is made by the migrations (``migrations/<dialect>/*.sql``):
they are the history every database replays. These declarations describe the
same tables to Python, so queries can be built from ``users.c.email`` instead
of strings - ``tests/examples/test_blog.py`` checks that both agree, column by
column, on SQLite and on PostgreSQL.

::

    users 1 ──< posts >──< post_tags >── 1 tags
          (author_id)      (post_id, tag_id)

A user writes many posts (a foreign key on ``posts``); a post has many tags
and a tag many posts (a join table with one row per pair).
"""

from __future__ import annotations

from minimal_asgi_sql import (
    BigInteger,
    Check,
    Column,
    ForeignKey,
    Index,
    Table,
    Text,
    Timestamp,
    Unique,
    func,
    now,
)

users = Table(
    "users",
    Column("id", BigInteger, primary_key=True),
    Column("email", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False, default=now()),
    Unique("email", name="users_email_key"),
    Check(lambda c: c.email.like("_%@_%"), name="users_email_check"),
)

posts = Table(
    "posts",
    Column("id", BigInteger, primary_key=True),
    Column("author_id", BigInteger, ForeignKey(users.c.id, on_delete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False, default=now()),
    Check(lambda c: func("length", c.title).between(1, 200), name="posts_title_check"),
)
posts_by_author = Index("posts_author_id_idx", posts.c.author_id, posts.c.id)

tags = Table(
    "tags",
    Column("id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Unique("name", name="tags_name_key"),
    Check(lambda c: func("length", c.name).between(1, 30), name="tags_name_check"),
)

post_tags = Table(
    "post_tags",
    Column("post_id", BigInteger, ForeignKey(posts.c.id, on_delete="CASCADE"), primary_key=True),
    Column("tag_id", BigInteger, ForeignKey(tags.c.id, on_delete="CASCADE"), primary_key=True),
)
post_tags_by_tag = Index("post_tags_tag_id_idx", post_tags.c.tag_id, post_tags.c.post_id)

TABLES = (users, posts, tags, post_tags)
INDEXES = (posts_by_author, post_tags_by_tag)

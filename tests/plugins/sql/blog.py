"""The example schema the SQL tests share: users, their posts, tags on posts."""

from __future__ import annotations

from minimal_asgi_sql import (
    JSON,
    UUID,
    BigInteger,
    Boolean,
    Check,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Table,
    Text,
    Timestamp,
    Unique,
    now,
)

users = Table(
    "users",
    Column("id", Integer, primary_key=True),
    Column("email", Text, nullable=False, unique=True),
    Column("name", Text),
    Column("age", Integer),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Timestamp, nullable=False, default=now()),
    Check(lambda c: c.age >= 0, name="users_age_check"),
)

posts = Table(
    "posts",
    Column("id", Integer, primary_key=True),
    Column("author_id", Integer, ForeignKey(users.c.id, on_delete="CASCADE"), nullable=False,
           index=True),
    Column("slug", Text, nullable=False),
    Column("title", Text, nullable=False, default="untitled"),
    Column("score", Integer, nullable=False, default=0),
    Unique("author_id", "slug", name="posts_author_slug_key"),
)

# A two-column index for "best posts first" pages (keyset on score, then id).
posts_by_score = Index("ix_posts_score_id", posts.c.score.desc(), posts.c.id)

post_tags = Table(
    "post_tags",
    Column("post_id", Integer, ForeignKey(posts.c.id, on_delete="CASCADE"), primary_key=True),
    Column("tag", Text, primary_key=True),
)

# One column of every type, to see how each dialect spells it.
samples = Table(
    "samples",
    Column("id", BigInteger, primary_key=True),
    Column("ratio", Float),
    Column("price", Numeric(10, 2), nullable=False, default=0),
    Column("seen_at", Timestamp(timezone=False)),
    Column("born_on", Date),
    Column("token", UUID, unique=True),
    Column("payload", JSON),
    Column("note", Text, default="it's"),
    Column("flag", Boolean, default=False),
)

TABLES = (users, posts, post_tags, samples)

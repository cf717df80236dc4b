"""A small blog API on a relational database: routes -> service -> repository.

Run it with nothing installed (an in-memory SQLite database)::

    .venv/bin/uvicorn examples.blog.app:app

or on PostgreSQL::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/uvicorn examples.blog.app:app

The migrations in ``migrations/<dialect>/`` are applied at startup. What it
shows (see README.md beside this file): a schema with a foreign key, a
many-to-many join table, unique and check constraints and two indexes;
JOINs and aggregate counts; keyset pagination (``?after=``); one transaction
around several inserts that rolls back as a whole; a duplicate email as a 409
naming the constraint; the layers, each injected into the next; and a cached
aggregate query (``GET /tags``), invalidated when a post is published or deleted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from examples.blog import settings as blog_settings
from examples.blog.schema import post_tags, posts, tags, users
from examples.blog.settings import BlogSettings
from minimal_asgi import (
    App,
    Depends,
    Ge,
    HTTPException,
    JSONResponse,
    Le,
    MaxLen,
    MinLen,
    Pattern,
    Request,
    Response,
)
from minimal_asgi_cache import Cache
from minimal_asgi_health import Health
from minimal_asgi_sql import (
    SQL,
    Database,
    ForeignKeyViolation,
    Select,
    count,
    delete,
    desc,
    insert,
    select,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# -- the data at the edge: validated before any SQL runs -------------------------------
# The ids are BIGINT columns. A number outside their range names no row, and the
# database would refuse it in a query: say the range here, so that such a number
# is a 422 naming its field, and the OpenAPI document promises no more than that.
BigInt = Annotated[int, Ge(-(2**63)), Le(2**63 - 1)]
# Text both databases store: PostgreSQL's TEXT cannot hold a NUL (SQLite's can),
# so the edge refuses it on both, and the API answers the same on either.
StoredText = Annotated[str, Pattern(r"[^\x00]*")]


@dataclass
class NewUser:
    email: Annotated[str, Pattern(r"[^@\s\x00]+@[^@\s\x00]+"), MaxLen(254)]
    name: Annotated[StoredText, MinLen(1), MaxLen(100)]


@dataclass
class NewPost:
    author_id: BigInt
    title: Annotated[StoredText, MinLen(1), MaxLen(200)]
    body: StoredText
    tags: Annotated[list[Annotated[str, Pattern(r"[a-z0-9-]{1,30}")]], MaxLen(10)] = field(
        default_factory=list
    )


Row = dict[str, Any]


def _timestamp(value: str | dt.datetime) -> dt.datetime:
    """PostgreSQL gives a TIMESTAMPTZ as an aware datetime; SQLite has no date
    type and gives CURRENT_TIMESTAMP's text, "2025-01-31 12:00:00", in UTC."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


# -- the repositories: the only code that writes SQL ---------------------------------------
class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, email: str, name: str) -> Row:
        # A duplicate email breaks users_email_key: the database refuses the row
        # (UniqueViolation), and the SQL plugin answers 409 naming the constraint.
        query = insert(users).values(email=email, name=name).returning(
            users.c.id, users.c.email, users.c.name
        )
        row = await self.db.fetch_one(query)
        assert row is not None
        return row

    async def get(self, user_id: int) -> Row | None:
        query = select(users.c.id, users.c.email, users.c.name).where(users.c.id == user_id)
        return await self.db.fetch_one(query)

    async def with_post_counts(self) -> list[Row]:
        # LEFT JOIN keeps the users without posts (their posts.* are NULL), and
        # count(posts.id) counts non-NULL ids: 0 for them. count(*) would say 1.
        post_count = count(posts.c.id).label("post_count")
        query = (
            select(users.c.id, users.c.name, post_count)
            .left_join(posts, on=posts.c.author_id == users.c.id)
            .group_by(users.c.id, users.c.name)
            .order_by(desc(post_count), users.c.id)
        )
        return await self.db.fetch_all(query)


class PostRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, author_id: int, title: str, body: str) -> Row:
        query = insert(posts).values(author_id=author_id, title=title, body=body).returning(
            posts.c.id, posts.c.created_at
        )
        row = await self.db.fetch_one(query)
        assert row is not None
        return row

    async def link_tags(self, post_id: int, tag_ids: list[int]) -> None:
        if tag_ids:  # one INSERT with a row per tag
            rows = [{"post_id": post_id, "tag_id": tag_id} for tag_id in tag_ids]
            await self.db.execute(insert(post_tags).values(rows))

    def page_query(
        self, *, after: int | None, limit: int, author_id: int | None = None, tag: str | None = None
    ) -> Select:
        """Newest first, ``limit`` posts older than post ``after`` (keyset pagination:
        ``WHERE posts.id < after ORDER BY posts.id DESC``, however deep the page)."""
        query = (
            select(posts.c.id, posts.c.title, posts.c.created_at, posts.c.author_id,
                   users.c.name.label("author"))
            .join(users, on=users.c.id == posts.c.author_id)
            .after(posts.c.id, after, descending=True)
            .limit(limit)
        )
        if author_id is not None:
            query = query.where(posts.c.author_id == author_id)
        if tag is not None:  # through the join table to the tag's name
            query = (
                query.join(post_tags, on=post_tags.c.post_id == posts.c.id)
                .join(tags, on=tags.c.id == post_tags.c.tag_id)
                .where(tags.c.name == tag)
            )
        return query

    async def page(self, **criteria: Any) -> list[Row]:
        return await self.db.fetch_all(self.page_query(**criteria))

    async def get(self, post_id: int) -> Row | None:
        query = (
            select(posts.c.id, posts.c.title, posts.c.body, posts.c.created_at,
                   posts.c.author_id, users.c.name.label("author"))
            .join(users, on=users.c.id == posts.c.author_id)
            .where(posts.c.id == post_id)
        )
        return await self.db.fetch_one(query)

    async def tags_of(self, post_ids: list[int]) -> dict[int, list[str]]:
        """The tags of many posts in one query - not one query per post (N+1)."""
        query = (
            select(post_tags.c.post_id, tags.c.name)
            .join(tags, on=tags.c.id == post_tags.c.tag_id)
            .where(post_tags.c.post_id.in_(post_ids))
            .order_by(tags.c.name)
        )
        found: dict[int, list[str]] = {post_id: [] for post_id in post_ids}
        for row in await self.db.fetch_all(query):
            found[row["post_id"]].append(row["name"])
        return found

    async def remove(self, post_id: int) -> bool:
        # ON DELETE CASCADE removes its post_tags rows too.
        return bool(await self.db.execute(delete(posts).where(posts.c.id == post_id)))


class TagRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ensure(self, names: list[str]) -> list[int]:
        """The ids of these tags, creating the ones that do not exist yet."""
        if not names:
            return []
        # ON CONFLICT DO NOTHING: a tag another request created meanwhile is not
        # an error. Then one SELECT for all the ids, old and new.
        rows = [{"name": name} for name in names]
        await self.db.execute(insert(tags).values(rows).on_conflict_do_nothing(["name"]))
        found = await self.db.fetch_all(select(tags.c.id).where(tags.c.name.in_(names)))
        return [row["id"] for row in found]

    async def with_post_counts(self) -> list[Row]:
        post_count = count(post_tags.c.post_id).label("post_count")
        query = (
            select(tags.c.name, post_count)
            .left_join(post_tags, on=post_tags.c.tag_id == tags.c.id)
            .group_by(tags.c.name)
            .order_by(desc(post_count), tags.c.name)
        )
        return await self.db.fetch_all(query)


# -- the service: the rules and the transaction, no SQL ----------------------------------
class BlogService:
    def __init__(
        self, db: Database, users: UserRepository, posts: PostRepository, tags: TagRepository
    ) -> None:
        self.db, self.users, self.posts, self.tags = db, users, posts, tags

    async def register(self, new: NewUser) -> Row:
        # Stored in lower case, so that the unique constraint also stops
        # "Ada@example.com" beside "ada@example.com".
        return await self.users.add(new.email.strip().lower(), new.name.strip())

    async def user(self, user_id: int) -> Row:
        user = await self.users.get(user_id)
        if user is None:
            raise HTTPException(404, f"there is no user {user_id}")
        return user

    async def users_with_post_counts(self) -> list[Row]:
        return await self.users.with_post_counts()

    async def tags_with_post_counts(self) -> list[Row]:
        return await self.tags.with_post_counts()

    async def publish(self, new: NewPost) -> Row:
        """Three inserts - the new tags, the post, its tag links - as one transaction:
        if any fails, none of them happened."""
        names = sorted(set(new.tags))
        try:
            async with self.db.transaction():
                tag_ids = await self.tags.ensure(names)
                post = await self.posts.add(new.author_id, new.title.strip(), new.body)
                await self.posts.link_tags(post["id"], tag_ids)
        except ForeignKeyViolation:
            # posts_author_id_fkey: the author does not exist. The tags made
            # above were rolled back with the rest.
            raise HTTPException(422, f"there is no user {new.author_id}") from None
        return {"id": post["id"], "author_id": new.author_id, "title": new.title.strip(),
                "created_at": _timestamp(post["created_at"]), "tags": names}

    async def page(
        self, *, after: int | None, limit: int, author_id: int | None = None, tag: str | None = None
    ) -> tuple[list[Row], int | None]:
        """A page of posts with their tags, and the cursor of the next page (or None)."""
        # One row more than asked: if it comes back, there is a next page.
        rows = await self.posts.page(after=after, limit=limit + 1, author_id=author_id, tag=tag)
        rows, more = rows[:limit], len(rows) > limit
        tags_by_post = await self.posts.tags_of([row["id"] for row in rows])
        items = [
            {**row, "created_at": _timestamp(row["created_at"]), "tags": tags_by_post[row["id"]]}
            for row in rows
        ]
        return items, rows[-1]["id"] if more else None

    async def post(self, post_id: int) -> Row:
        row = await self.posts.get(post_id)
        if row is None:
            raise HTTPException(404, f"there is no post {post_id}")
        tags_by_post = await self.posts.tags_of([post_id])
        return {**row, "created_at": _timestamp(row["created_at"]), "tags": tags_by_post[post_id]}

    async def unpublish(self, post_id: int) -> None:
        if not await self.posts.remove(post_id):
            raise HTTPException(404, f"there is no post {post_id}")


# -- the wiring: each layer injected into the next ---------------------------------------
# `async def`, though they do not wait: a sync dependency would run in a worker
# thread, which costs more than building these small objects.
async def get_users(db: Database) -> UserRepository:
    return UserRepository(db)


async def get_posts(db: Database) -> PostRepository:
    return PostRepository(db)


async def get_tags(db: Database) -> TagRepository:
    return TagRepository(db)


async def get_service(
    db: Database,
    users: Annotated[UserRepository, Depends(get_users)],
    posts: Annotated[PostRepository, Depends(get_posts)],
    tags: Annotated[TagRepository, Depends(get_tags)],
) -> BlogService:
    return BlogService(db, users, posts, tags)


Service = Annotated[BlogService, Depends(get_service)]
Limit = Annotated[int, Ge(1), Le(100)]


# -- the routes: HTTP in, HTTP out -------------------------------------------------------
def create_app(url: str | None = None, settings: BlogSettings | None = None) -> App:
    """The blog on ``url``; by default ``DATABASE_URL``, else in-memory SQLite.

    ``settings``: by default read from the environment (examples/blog/settings.py).
    """
    settings = settings or blog_settings.load()
    url = url or settings.database_url
    # One folder of migrations per dialect: the files differ where the dialects
    # do (how an id is numbered, the timestamp type); see docs/12-migrations.md.
    dialect = Database(url).dialect  # "postgres" or "sqlite", from the URL's scheme
    # Where a migration job runs first (deploy/k8s/migrate-job.yaml), the
    # replicas need not each take the lock at startup: BLOG_MIGRATE_ON_STARTUP=false.
    migrations = MIGRATIONS / dialect if settings.migrate_on_startup else None
    sql = SQL(url=url, migrations=migrations)
    # In memory: one process. With several workers, REDIS_URL shares it.
    cache = Cache(settings.redis_url or "memory")
    # /health/live and /health/ready (docs/29-deployment.md): ready asks the
    # database through the SQL plugin, so a replica without one gets no traffic.
    app = App(title="Blog API", version="1.0.0", plugins=[sql, cache, Health()])

    # Caching a DB query: the tag counts scan the whole join table and change
    # only when a post is published or deleted, which invalidate the tag "posts".
    @cache.cached(ttl=300, key=lambda repository: "tag-counts", tags=["posts"])
    async def tag_counts(repository: TagRepository) -> list[Row]:
        return await repository.with_post_counts()

    # OpenAPI links: the id in a 201 is the user_id (post_id) of these operations;
    # a client, or schemathesis's stateful phase, can follow them.
    the_new_user = {"user_id": "$response.body#/id"}
    the_new_post = {"post_id": "$response.body#/id"}

    @app.post(
        "/users",
        status_code=201,
        responses={409: "That email is taken."},
        links={
            "read_user": the_new_user,
            "list_user_posts": the_new_user,
            "create_post": {"requestBody": {"author_id": "$response.body#/id"}},
        },
    )
    async def create_user(new: NewUser, service: Service, request: Request) -> Response:
        """Register a user. A taken email answers 409, naming the unique constraint."""
        user = await service.register(new)
        location = request.url_for("read_user", user_id=user["id"])
        return JSONResponse(user, status_code=201, headers={"location": location})

    @app.get("/users")
    async def list_users(service: Service) -> list[Row]:
        """Every user with their number of posts (LEFT JOIN, GROUP BY, count)."""
        return await service.users_with_post_counts()

    @app.get("/users/{user_id:int}", responses={404: "There is no user with that id."})
    async def read_user(user_id: int, service: Service) -> Row:
        """One user."""
        return await service.user(user_id)

    @app.get("/users/{user_id:int}/posts", responses={404: "There is no user with that id."})
    async def list_user_posts(
        user_id: int, service: Service, after: BigInt | None = None, limit: Limit = 20
    ) -> dict[str, Any]:
        """A user's posts, newest first (read through the posts_author_id_idx index)."""
        await service.user(user_id)
        items, next_after = await service.page(after=after, limit=limit, author_id=user_id)
        return {"items": items, "next_after": next_after}

    @app.post(
        "/posts",
        status_code=201,
        responses={422: "There is no user with that author_id."},
        links={"read_post": the_new_post, "delete_post": the_new_post},
    )
    async def create_post(new: NewPost, service: Service) -> Row:
        """Publish a post with its tags, all in one transaction."""
        post = await service.publish(new)
        await cache.invalidate_tags("posts")
        return post

    @app.get("/posts")
    async def list_posts(
        service: Service,
        after: BigInt | None = None,
        limit: Limit = 20,
        tag: StoredText | None = None,
    ) -> dict[str, Any]:
        """Posts newest first. Pass the page's ``next_after`` as ``after`` for the next one."""
        items, next_after = await service.page(after=after, limit=limit, tag=tag)
        return {"items": items, "next_after": next_after}

    @app.get("/posts/{post_id:int}", responses={404: "There is no post with that id."})
    async def read_post(post_id: int, service: Service) -> Row:
        """One post, with its author's name and its tags."""
        return await service.post(post_id)

    @app.delete(
        "/posts/{post_id:int}",
        responses={404: "There is no post with that id."},
        links={"read_post": {"post_id": "$request.path.post_id"}},  # now a 404
    )
    async def delete_post(post_id: int, service: Service) -> None:
        """Delete a post; its tag links go with it (ON DELETE CASCADE)."""
        await service.unpublish(post_id)
        await cache.invalidate_tags("posts")

    @app.get("/tags")
    async def list_tags(service: Service) -> list[Row]:
        """Every tag with the number of posts carrying it (cached: see tag_counts)."""
        return await tag_counts(service.tags)

    return app


app = create_app()

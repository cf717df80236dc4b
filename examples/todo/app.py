"""A versioned CRUD API in layers: routes -> service -> repository.

Run it: `uvicorn examples.todo.app:app` (or `make run APP=examples.todo.app:app`).
Everything is in memory, so it needs nothing installed; the repository is the
one place that would change to use a database.

What it shows (see README.md beside this file):
- resources, routes and verbs: /v1/todos (GET list, POST), /v1/todos/{id}
  (GET, PATCH, DELETE), 201 + Location on create, 204 on delete;
- pagination with limit/offset and an RFC 8288 Link header;
- idempotent creation with an Idempotency-Key header (the idempotency plugin:
  a retry gets the first answer, the same key with another body a 422; in
  memory, or on Redis with TODO_IDEMPOTENCY_BACKEND=redis://...);
- a v2 of one route beside v1 (include_router with a prefix);
- dependency injection of the layers, so a test can swap the repository;
- validation errors as 422 problem details, unknown ids as 404;
- CORS for a browser front-end on another origin (the CORS plugin);
- a cached list invalidated by every write (the cache plugin: `cache=` on the
  GETs, `invalidate_tags("todos")` in POST, PATCH and DELETE).
- a rate-limited write endpoint: POST /v1/todos allows TODO_WRITE_LIMIT
  (default 10/minute) per client, then answers 429 (the rate-limit plugin;
  in memory, or on Redis with TODO_RATELIMIT_BACKEND=redis://...).
- security headers on every response, errors included, and a 400 for a Host
  this API is not served under (the security plugin).
- running in production (docs/29-deployment.md): /health/live and
  /health/ready (the health plugin), and the client's address from a proxy
  listed in TODO_TRUSTED_PROXIES (comma-separated; none by default).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Annotated

from examples.todo import settings as todo_settings
from minimal_asgi import (
    App,
    Depends,
    Ge,
    HTTPException,
    JSONResponse,
    Le,
    MaxLen,
    MinLen,
    ProxyHeadersMiddleware,
    Request,
    RequestLoggingMiddleware,
    Response,
    Router,
)
from minimal_asgi_cache import Cache, Cached
from minimal_asgi_cors import CORS
from minimal_asgi_health import Health
from minimal_asgi_idempotency import Idempotency
from minimal_asgi_ratelimit import RateLimit
from minimal_asgi_security import SecurityHeaders, TrustedHosts

# Every variable this app reads, typed, read once (examples/todo/settings.py).
settings = todo_settings.load()


# -- the data --------------------------------------------------------------------
@dataclass(frozen=True)
class Todo:
    id: int
    title: str
    done: bool = False
    tags: list[str] = field(default_factory=list)


@dataclass
class NewTodo:
    title: Annotated[str, MinLen(1), MaxLen(200)]
    tags: list[str] = field(default_factory=list)


@dataclass
class TodoChanges:
    title: Annotated[str, MinLen(1), MaxLen(200)] | None = None
    done: bool | None = None


# -- the repository: the only layer that knows where data lives ---------------------
class TodoRepository:
    def __init__(self) -> None:
        self._rows: dict[int, Todo] = {}
        self._ids = itertools.count(1)

    def add(self, title: str, tags: list[str]) -> Todo:
        todo = Todo(id=next(self._ids), title=title, tags=tags)
        self._rows[todo.id] = todo
        return todo

    def get(self, todo_id: int) -> Todo | None:
        return self._rows.get(todo_id)

    def page(self, limit: int, offset: int) -> tuple[list[Todo], int]:
        rows = sorted(self._rows.values(), key=lambda t: t.id)
        return rows[offset : offset + limit], len(rows)

    def save(self, todo: Todo) -> None:
        self._rows[todo.id] = todo

    def remove(self, todo_id: int) -> bool:
        return self._rows.pop(todo_id, None) is not None


# -- the service: the rules, with no HTTP in sight -----------------------------------
class TodoService:
    def __init__(self, repository: TodoRepository) -> None:
        self.repository = repository

    def create(self, new: NewTodo) -> Todo:
        """Create a todo. (A retry of the same POST is answered by the
        idempotency plugin around the route, so this runs once per key.)"""
        return self.repository.add(new.title.strip(), new.tags)

    def get(self, todo_id: int) -> Todo:
        todo = self.repository.get(todo_id)
        if todo is None:
            raise HTTPException(404, f"there is no todo {todo_id}")
        return todo

    def change(self, todo_id: int, changes: TodoChanges) -> Todo:
        todo = self.get(todo_id)
        if changes.title is not None:
            todo = replace(todo, title=changes.title.strip())
        if changes.done is not None:
            todo = replace(todo, done=changes.done)
        self.repository.save(todo)
        return todo

    def delete(self, todo_id: int) -> None:
        if not self.repository.remove(todo_id):
            raise HTTPException(404, f"there is no todo {todo_id}")


# One repository for the process; tests override `get_repository` for a fresh one.
_repository = TodoRepository()


def get_repository() -> TodoRepository:
    return _repository


def get_service(
    repository: Annotated[TodoRepository, Depends(get_repository)],
) -> TodoService:
    return TodoService(repository)


Service = Annotated[TodoService, Depends(get_service)]


# -- the routes: HTTP in, HTTP out -------------------------------------------------
v1 = Router()

# Reads are cached for 30 s under the tag "todos"; every write makes them stale
# at once (one process: in memory; give it a Redis URL to share across workers).
cache = Cache(default_ttl=30)
TODOS = Cached(ttl=30, tags=["todos"])
# Writes are limited per client address; reads are not (they pay nothing for it).
WRITE_LIMIT = settings.write_limit  # TODO_WRITE_LIMIT
limiter = RateLimit(backend=settings.ratelimit_backend)  # TODO_RATELIMIT_BACKEND
# A POST with an Idempotency-Key runs once; a retry gets the first answer for a
# day. In memory for one process; with workers, TODO_IDEMPOTENCY_BACKEND=redis://...
idempotency = Idempotency(settings.idempotency_backend)



@v1.get("/todos", cache=TODOS)
async def list_todos(
    request: Request,
    service: Service,
    limit: Annotated[int, Ge(1), Le(100)] = 20,
    offset: Annotated[int, Ge(0)] = 0,
) -> Response:
    """List todos, a page at a time (Link: rel="next" points at the next page)."""
    rows, total = service.repository.page(limit, offset)
    headers = {"x-total-count": str(total)}
    if offset + limit < total:
        next_url = request.url.replace(query=f"limit={limit}&offset={offset + limit}")
        headers["link"] = f'<{next_url}>; rel="next"'
    return JSONResponse({"items": rows, "total": total}, headers=headers)


# The new todo's id is the todo_id of these operations (OpenAPI links: a client,
# or schemathesis's stateful phase, can follow them from the 201).
_THE_NEW_TODO = {"todo_id": "$response.body#/id"}


@v1.post(
    "/todos",
    status_code=201,
    rate_limit=WRITE_LIMIT,
    idempotency=True,
    responses={
        429: "Too many writes from this client: see Retry-After and the RateLimit header.",
    },
    links={"read_todo": _THE_NEW_TODO, "update_todo": _THE_NEW_TODO, "delete_todo": _THE_NEW_TODO},
)
async def create_todo(new: NewTodo, service: Service, request: Request) -> Response:
    """Create a todo. Send an Idempotency-Key header to make retries safe."""
    todo = service.create(new)
    await cache.invalidate_tags("todos")
    location = request.url_for("read_todo", todo_id=todo.id)
    return JSONResponse(todo, status_code=201, headers={"location": location})


@v1.get("/todos/{todo_id:int}", responses={404: "There is no todo with that id."}, cache=TODOS)
async def read_todo(todo_id: int, service: Service) -> Todo:
    """One todo."""
    return service.get(todo_id)


@v1.patch("/todos/{todo_id:int}", responses={404: "There is no todo with that id."})
async def update_todo(todo_id: int, changes: TodoChanges, service: Service) -> Todo:
    """Change the title or the done flag."""
    todo = service.change(todo_id, changes)
    await cache.invalidate_tags("todos")
    return todo


@v1.delete(
    "/todos/{todo_id:int}",
    responses={404: "There is no todo with that id."},
    links={"read_todo": {"todo_id": "$request.path.todo_id"}},  # now a 404
)
async def delete_todo(todo_id: int, service: Service) -> None:
    """Delete a todo (204 No Content)."""
    service.delete(todo_id)
    await cache.invalidate_tags("todos")


# v2 changes one thing: the list is a bare array with the page in headers.
v2 = Router()


@v2.get("/todos")
async def list_todos_v2(
    service: Service,
    limit: Annotated[int, Ge(1), Le(100)] = 20,
    offset: Annotated[int, Ge(0)] = 0,
) -> Response:
    """List todos as a bare JSON array; the total is in X-Total-Count."""
    rows, total = service.repository.page(limit, offset)
    return JSONResponse(rows, headers={"x-total-count": str(total)})


# A browser front-end served from another origin (a dev server on :5173, say)
# may call this API; list the origins in TODO_CORS_ORIGINS, comma-separated.
cors_origins = settings.cors_origins

# The host names this API answers for; any other Host is a 400, so no link it
# builds (Location, Link) can point at an attacker's host. Set TODO_ALLOWED_HOSTS
# in production ("todo.example.com"); the default is for a laptop, and
# "testserver" is the TestClient's host (Django's test runner adds the same
# name to ALLOWED_HOSTS).
allowed_hosts = settings.allowed_hosts

app = App(
    title="Todo API",
    version="1.0.0",
    # The last installed is the outermost layer: the headers wrap everything
    # (the host check's 400 and CORS's preflight answers included), and a
    # request with a foreign Host is refused before CORS or routing see it.
    plugins=[
        CORS(
            allow_origins=cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["content-type", "idempotency-key"],
            expose_headers=["location", "link", "x-total-count", "ratelimit", "ratelimit-policy",
                            "retry-after"],
        ),
        cache,
        limiter,
        idempotency,
        TrustedHosts(allowed_hosts=allowed_hosts),
        # JSON answers get the strict API preset (default-src 'none'); the
        # /docs page keeps its own policy. HSTS is sent on https only.
        SecurityHeaders(),
        Health(),
    ],
)
app.include_router(v1, prefix="/v1")
app.include_router(v2, prefix="/v2")
app.add_middleware(RequestLoggingMiddleware)
# Outermost, so the log line, the host check and the rate limiter all see the
# client behind the proxy (docs/29-deployment.md). Empty: headers ignored.
app.add_middleware(ProxyHeadersMiddleware, trusted=settings.trusted_proxies)

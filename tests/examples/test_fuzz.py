"""Schemathesis against the example apps, in process: the OpenAPI document is the
specification, and every answer must keep it.

Each app's ``/openapi.json`` is loaded over ASGI (``schemathesis.openapi.from_asgi``:
no socket, no server) and each app is tested two ways:

- operation by operation (the examples, coverage and fuzzing phases): valid and
  invalid requests built from the document;
- statefully: sequences of calls that follow the document's OpenAPI ``links``
  (``POST /users`` leads to ``GET /users/{user_id}``, ``DELETE /posts/{post_id}`` to
  ``GET /posts/{post_id}``), so that the fuzzing reaches rows that exist.

Every built-in check is on: no 5xx, status codes, content types, response headers
and bodies as documented, invalid data rejected with a 4xx, valid data accepted,
a deleted resource gone (use after free), a created one readable, a missing
required header refused, an undocumented method answered 405 with ``Allow``.
Where a check is wrong for a documented, deliberate behaviour, that one check is
relaxed for that one operation, with the reason beside it (``_deliberate``).

The runs are bounded and deterministic (``derandomize=True``, a fixed
``max_examples``, no deadline: the machine may be loaded), so a failure here
fails the same way on every machine. For a longer campaign, raise the number of
examples; the seed still follows the test, so a longer run explores more::

    MINIMAL_ASGI_FUZZ_EXAMPLES=1000 .venv/bin/python -m pytest tests/examples/test_fuzz.py

A failure prints the check, the response and a ``curl`` command that repeats the
request; turn it into a focused regression test beside the code it breaks, fix
it, and only then is this module green again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.python import asgi

from examples.blog.app import create_app
from examples.todo import app as todo_module
from examples.todo.app import TodoRepository, get_repository
from minimal_asgi import App

MAX_EXAMPLES = int(os.environ.get("MINIMAL_ASGI_FUZZ_EXAMPLES", "25"))

SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,  # the same examples on every run: a failure is reproducible
    deadline=None,  # two cores shared by many processes: time says nothing here
    # The generated data are filtered by the schemas' constraints on purpose,
    # and the examples are few: the health checks would flag exactly that.
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)
STATEFUL_SETTINGS = hypothesis.settings(
    SETTINGS,
    stateful_step_count=16,
    # Schemathesis's own choice for state machines: no shrinking, whose replays
    # of a failing scenario would multiply the run time of a failure.
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)


def _config(*deliberate: dict[str, Any]) -> schemathesis.Config:
    """Every check on, the number of examples bounded, generation deterministic."""
    return schemathesis.Config.from_dict(
        {
            # Schemathesis's own choices (which link to follow...) from a fixed seed.
            "seed": 0,
            "checks": {"enabled": True},
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "operations": list(deliberate),
        }
    )


def _deliberate(operation: str, check: str, **settings: Any) -> dict[str, Any]:
    """One check's settings for one operation ("POST /posts")."""
    return {"include-name": operation, "checks": {check: settings}}


# positive_data_acceptance's own list of statuses that accept valid data, plus 422.
ACCEPTED_OR_422 = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]


def _load(app: App, config: schemathesis.Config) -> schemathesis.BaseSchema:
    """The app's own ``/openapi.json``, fetched over ASGI; the app is stopped again
    after (schemathesis starts it to ask), so that loading holds nothing open."""
    try:
        return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    finally:
        asgi.shutdown_lifespans()


# -- the todo API: in memory --------------------------------------------------------------
TODO_CONFIG = _config(
    # The IETF Idempotency-Key draft answers 422 to a key reused with another body:
    # the body is schema-valid and refused on purpose (tests/examples/test_todo.py,
    # test_the_same_idempotency_key_with_another_body_is_422).
    _deliberate(
        "POST /v1/todos",
        "positive_data_acceptance",
        **{"expected-statuses": ACCEPTED_OR_422},
    ),
)


def _empty_todos() -> None:
    """A new repository, no idempotency keys and no write counted against the
    rate limit: each run starts from nothing. (With the counters kept, whether
    a replayed scenario's POST is a 201 or a 429 would depend on the clock -
    on whether a minute boundary passed - and Hypothesis, meeting a different
    answer to the same steps, fails the run as flaky.)"""
    repository = TodoRepository()
    todo_module.app.dependency_overrides[get_repository] = lambda: repository
    todo_module.idempotency.backend.clear()  # type: ignore[attr-defined]  # memory
    todo_module.limiter.backend.clear()  # type: ignore[attr-defined]  # memory


todo_api = _load(todo_module.app, TODO_CONFIG)


@pytest.fixture
def empty_todos() -> Iterator[None]:
    _empty_todos()
    yield
    asgi.shutdown_lifespans()
    todo_module.app.dependency_overrides.clear()


@todo_api.parametrize()
@SETTINGS
def test_each_todo_operation_answers_as_documented(
    case: schemathesis.Case, empty_todos: None
) -> None:
    case.call_and_validate()


def test_todo_call_sequences_answer_as_documented(empty_todos: None) -> None:
    answered: set[str] = set()

    class TodoScenarios(todo_api.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each scenario from an empty list: a replayed scenario must meet
            # the state it met the first time (Hypothesis checks that it does).
            _empty_todos()

        def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            if response.status_code < 300:
                answered.add(case.operation.label)

    TodoScenarios.run(settings=STATEFUL_SETTINGS)
    # The links were followed: todos that exist were read, changed and deleted.
    assert answered >= {
        "GET /v1/todos/{todo_id}",
        "PATCH /v1/todos/{todo_id}",
        "DELETE /v1/todos/{todo_id}",
    }


# -- the blog: SQL, on in-memory SQLite and on PostgreSQL ---------------------------------
BLOG_CONFIG = _config(
    # A post whose author_id names no user is refused with a documented 422
    # (RFC 9110, 15.5.21: well-formed, but its instructions cannot be followed);
    # the fuzzer's author_ids mostly name no one (tests/examples/test_blog.py,
    # test_a_post_by_an_unknown_author_is_422_and_its_new_tags_are_rolled_back).
    _deliberate(
        "POST /posts",
        "positive_data_acceptance",
        **{"expected-statuses": ACCEPTED_OR_422},
    ),
)

NewDatabase = Callable[[], contextlib.AbstractContextManager[str]]


@pytest.fixture(params=["sqlite", "postgres"])
def new_blog_database(request: pytest.FixtureRequest) -> NewDatabase:
    """Makes an empty database for one app, as a URL: a new in-memory SQLite
    database, or a new PostgreSQL schema, dropped when the context ends."""
    if request.param == "sqlite":
        return lambda: contextlib.nullcontext("sqlite://:memory:")
    from tests.plugins.sql.support import pg_schema  # asyncpg: only for the tests that ask

    database_url = str(request.getfixturevalue("database_url"))
    return lambda: pg_schema(database_url)


# The document does not depend on the database: it is read from an app on SQLite,
# and the requests go to the app each test makes (``app=``).
blog_api = _load(create_app("sqlite://:memory:"), BLOG_CONFIG)


@pytest.fixture
def blog_app(new_blog_database: NewDatabase) -> Iterator[App]:
    with new_blog_database() as url:
        try:
            yield create_app(url)
        finally:
            asgi.shutdown_lifespans()  # the app's connections close before its schema goes


@blog_api.parametrize()
@SETTINGS
def test_each_blog_operation_answers_as_documented(case: schemathesis.Case, blog_app: App) -> None:
    case.call_and_validate(app=blog_app)


def test_blog_call_sequences_answer_as_documented(new_blog_database: NewDatabase) -> None:
    answered: set[str] = set()

    class BlogScenarios(blog_api.as_state_machine()):  # type: ignore[misc]
        # Each scenario on an app of its own with an empty database, so that a
        # replayed scenario meets the state it met the first time.
        def setup(self) -> None:
            self.database = contextlib.ExitStack()
            self.app = create_app(self.database.enter_context(new_blog_database()))

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"app": self.app}

        def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            if response.status_code < 300:
                answered.add(case.operation.label)

        def teardown(self) -> None:
            asgi.shutdown_lifespans()
            self.database.close()

    BlogScenarios.run(settings=STATEFUL_SETTINGS)
    # The links were followed: users and posts that exist were read, a user's
    # posts listed, posts written by real authors and deleted.
    assert answered >= {
        "GET /users/{user_id}",
        "GET /users/{user_id}/posts",
        "POST /posts",
        "GET /posts/{post_id}",
        "DELETE /posts/{post_id}",
    }


# -- bookshelf: every plugin at once, on in-memory SQLite -----------------------------------
def _bookshelf(storage: str) -> Any:
    from examples.bookshelf.app import build
    from examples.bookshelf.settings import BookshelfSettings
    from minimal_asgi import Secret
    from minimal_asgi_auth import passwords

    settings = BookshelfSettings(
        jwt_secret=Secret("j" * 43), storage_signing_key=Secret("s" * 43), storage_root=storage,
        admin_emails=["admin@example.com"], json_logs=False, login_limit="1000/minute",
        write_limit="1000/minute",
    )
    return build(settings, hasher=passwords.Hasher(passwords.CHEAP_PARAMETERS))


# Deliberate, on every operation that reads credentials: an Authorization
# header that says "Bearer" and carries no token is a malformed request, 400
# invalid_request (RFC 6750, 3.1) - not a missing credential (401). The
# fuzzer's bearer values include that one. And as for the blog, a book whose
# author_id names no author is a documented 422. A PATCH without If-Match is
# a 428 (RFC 6585, 3: the update must be conditional), though the header is
# optional in the document - a missing one must reach the endpoint to get it
# (tests/examples/test_bookshelf.py, test_an_update_needs_the_current_etag_in_if_match).
ACCEPTED_OR_400 = [*ACCEPTED_OR_422, "400"]
BOOKSHELF_CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 0,
        "checks": {
            "enabled": True,
            "positive_data_acceptance": {"expected-statuses": ACCEPTED_OR_400},
        },
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
        "operations": [_deliberate("PATCH /books/{book_id}", "positive_data_acceptance",
                                   **{"expected-statuses": [*ACCEPTED_OR_400, "428"]})],
    }
)
bookshelf_api = _load(_bookshelf("/nonexistent").app, BOOKSHELF_CONFIG)


@pytest.fixture
def bookshelf(tmp_path: Any) -> Iterator[Any]:
    try:
        yield _bookshelf(str(tmp_path))
    finally:
        asgi.shutdown_lifespans()


@bookshelf_api.parametrize()
@SETTINGS
def test_each_bookshelf_operation_answers_as_documented(
    case: schemathesis.Case, bookshelf: Any
) -> None:
    case.call_and_validate(app=bookshelf.app)


@bookshelf_api.parametrize()
@SETTINGS
def test_each_bookshelf_operation_answers_an_admin_as_documented(
    case: schemathesis.Case, bookshelf: Any
) -> None:
    """The same, signed in as an admin: past the guards, into the services."""
    token = bookshelf.parts.tokens.access_token("1", roles=["admin", "member"])
    case.call_and_validate(app=bookshelf.app, headers={"Authorization": f"Bearer {token}"})

"""Resolving a plan, per request: the values, the cache and the teardowns.

dependencies.py builds each endpoint's plan (a ``Dependant`` tree) once, at
startup. This module walks such a plan for one request: ``Context.solve``
fills each parameter from its source, calls each dependency at most once
(the per-request cache), collects every validation error for one 422, and
keeps the code after ``yield`` of generator dependencies in ``Teardowns`` to
run after the response. ``DependencyScope`` does the same outside a request
(startup hooks, background tasks, workers).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import anyio
import anyio.to_thread

from minimal_asgi.background import BackgroundTasks
from minimal_asgi.dependencies import (
    _REQUIRED,
    BackgroundSource,
    BodySource,
    ConnectionSource,
    Dependant,
    DependencyOverrides,
    DependsSource,
    FileSource,
    PathSource,
    PlanBuilder,
    RequestSource,
    Source,
    TextSource,
    WebSocketSource,
)
from minimal_asgi.exceptions import ConfigurationError, HTTPException
from minimal_asgi.requests import HTTPConnection, Request
from minimal_asgi.uploads import UploadFile
from minimal_asgi.validation import INVALID, Errors, RequestValidationError, error
from minimal_asgi.websockets import WebSocket

__all__ = ["Context", "DependencyScope", "Teardowns", "WebSocketContext", "read_json_body"]


class Teardowns:
    """The code after ``yield`` of generator dependencies, run in reverse order.

    Unlike ``contextlib.AsyncExitStack`` this never lets a dependency swallow
    the endpoint's exception: the error response must still be sent.
    """

    __slots__ = ("_exits",)

    def __init__(self) -> None:
        self._exits: list[Callable[[BaseException | None], Awaitable[None]]] = []

    def push(self, exit_: Callable[[BaseException | None], Awaitable[None]]) -> None:
        self._exits.append(exit_)

    def __bool__(self) -> bool:
        return bool(self._exits)

    async def close(self, exc: BaseException | None) -> None:
        first_error: BaseException | None = None
        # Shielded: if the request was cancelled (a timeout, a client gone), the
        # teardowns' own awaits would be cancelled too, and a connection would
        # never go back to its pool.
        with anyio.CancelScope(shield=True):
            while self._exits:
                exit_ = self._exits.pop()
                try:
                    await exit_(exc)
                except BaseException as teardown_error:
                    if teardown_error is not exc and first_error is None:
                        first_error = teardown_error
        if first_error is not None and exc is None:
            raise first_error


class Context:
    """Everything one request's resolution needs: values, cache, teardowns."""

    __slots__ = ("background", "cache", "errors", "overrides", "path_key", "path_params",
                 "request", "teardowns")

    # PERF: set only by WebSocketContext; a class attribute here, so that an
    # HTTP request's Context costs not one store more for it.
    websocket: WebSocket | None = None

    def __init__(
        self,
        request: Request | None,
        path_params: Mapping[str, Any],
        overrides: DependencyOverrides | None,
        path_key: frozenset[Any] = frozenset(),
    ) -> None:
        self.request = request
        self.path_params = path_params
        self.overrides = overrides or None
        self.path_key = path_key
        self.cache: dict[Any, Any] = {}
        self.errors: Errors = []
        self.background: BackgroundTasks | None = None
        # PERF: made on the first generator dependency: most requests have none.
        self.teardowns: Teardowns | None = None

    def _teardowns(self) -> Teardowns:
        if self.teardowns is None:
            self.teardowns = Teardowns()
        return self.teardowns

    async def solve(self, dependant: Dependant) -> dict[str, Any] | None:
        """The keyword arguments for ``dependant``, or None if some were invalid."""
        for guard in dependant.guards:
            await self.call(guard)
        kwargs: dict[str, Any] = {}
        invalid = False
        for source in dependant.sources:
            # PERF: a sub-dependency and a JSON body, the commonest sources, are
            # read from here: not through _value's isinstance tests and coroutine.
            if type(source) is DependsSource:
                value = await self.call(source.dependant)
            elif type(source) is BodySource:
                # A body source makes the plan need a Request: there is one.
                value = await read_json_body(self.request, source, self.errors)  # type: ignore[arg-type]
            else:
                value = await self._value(source)
            if value is INVALID:
                invalid = True
            else:
                kwargs[source.name] = value
        return None if invalid else kwargs

    async def _value(self, source: Source) -> Any:
        if isinstance(source, PathSource):
            raw = self.path_params[source.name]
            if source.convert is None:
                return raw
            try:
                return source.convert(raw)
            except ValueError as exc:
                self.errors.append(error(("path", source.name), str(exc), "value"))
                return INVALID
        if isinstance(source, DependsSource):
            return await self.call(source.dependant)
        if isinstance(source, TextSource):
            if source.location == "form":
                return await self._form_field(source)
            return self._text(source)
        if isinstance(source, BodySource):
            return await self._body(source)
        if isinstance(source, FileSource):
            return await self._file(source)
        if isinstance(source, RequestSource):
            if self.request is None:
                raise RuntimeError(f"{source.name!r} needs a Request, and there is none here")
            return self.request
        if isinstance(source, BackgroundSource):
            if self.background is None:
                self.background = BackgroundTasks()
            return self.background
        if isinstance(source, WebSocketSource):
            if self.websocket is None:
                raise RuntimeError(f"{source.name!r} needs a WebSocket, and there is none here")
            return self.websocket
        if isinstance(source, ConnectionSource):
            connection = self.request or self.websocket
            if connection is None:
                raise RuntimeError(f"{source.name!r} needs a connection, and there is none here")
            return connection
        raise AssertionError(source)  # pragma: no cover

    def _text(self, source: TextSource) -> Any:
        # A query, header or cookie value: both kinds of connection have them.
        connection: HTTPConnection | None = self.request or self.websocket
        if connection is None:
            raise RuntimeError(f"{source.name!r} is read from a request, and there is none here")
        location = source.location
        if location == "query":
            values = connection.query_params.getlist(source.key)
        elif location == "header":
            values = connection.headers.getlist(source.key)
        else:
            cookie = connection.cookies.get(source.key)
            values = [] if cookie is None else [cookie]
        if not values:
            if source.default is _REQUIRED:
                self.errors.append(error((location, source.key), "field required", "missing"))
                return INVALID
            return source.default
        try:
            return source.convert(values if source.is_list else values[-1])
        except ValueError as exc:
            self.errors.append(error((location, source.key), str(exc), "value"))
            return INVALID

    async def _body(self, source: BodySource) -> Any:
        assert self.request is not None
        return await read_json_body(self.request, source, self.errors)

    async def _form_field(self, source: TextSource) -> Any:
        # A text field of the form: converted like a query value; a file sent
        # under this name is not text.
        assert self.request is not None
        form = await self.request.form()
        values = form.getlist(source.key)
        if any(isinstance(value, UploadFile) for value in values):
            self.errors.append(error(("body", source.key), "expected a text field, got a file",
                                     "type"))
            return INVALID
        if not values:
            if source.default is _REQUIRED:
                self.errors.append(error(("body", source.key), "field required", "missing"))
                return INVALID
            return source.default
        try:
            return source.convert(values if source.is_list else values[-1])
        except ValueError as exc:
            self.errors.append(error(("body", source.key), str(exc), "value"))
            return INVALID

    async def _file(self, source: FileSource) -> Any:
        assert self.request is not None
        form = await self.request.form()
        values = form.getlist(source.key)
        where = ("body", source.key)
        if any(not isinstance(value, UploadFile) for value in values):
            self.errors.append(error(where, "expected a file, got a text field", "type"))
            return INVALID
        if not values:
            if source.default is _REQUIRED:
                self.errors.append(error(where, "file required", "missing"))
                return INVALID
            return source.default
        allowed = source.media_types
        if allowed:
            for upload in values:
                assert isinstance(upload, UploadFile)
                found = upload.media_type
                if found not in allowed:
                    self.errors.append(error(
                        where,
                        f"the file is {found or 'of no known type'} (read from its first "
                        f"bytes), expected one of {', '.join(allowed)}",
                        "media_type",
                    ))
                    return INVALID
        return values if source.is_list else values[-1]

    async def call(self, dependant: Dependant) -> Any:
        """Call a dependency (at most once per request unless use_cache=False)."""
        # use_cache belongs to the Depends(...) that asked, so an override keeps it.
        use_cache = dependant.use_cache
        if self.overrides is not None:
            dependant = self.overrides.plan_for(dependant, self.path_key)
        call = dependant.call
        cache = self.cache
        if use_cache and call in cache:
            return cache[call]
        kwargs = await self.solve(dependant)
        if kwargs is None:
            return INVALID
        kind = dependant.kind
        if kind == "async":
            value = await call(**kwargs)
        elif kind == "sync":
            value = await anyio.to_thread.run_sync(lambda: call(**kwargs))
        elif kind == "async_gen":
            manager = contextlib.asynccontextmanager(call)(**kwargs)
            value = await manager.__aenter__()
            self._teardowns().push(_async_exit(manager))
        else:
            sync_manager = contextlib.contextmanager(call)(**kwargs)
            value = await anyio.to_thread.run_sync(sync_manager.__enter__)
            self._teardowns().push(_sync_exit(sync_manager))
        if use_cache:
            cache[call] = value
        return value

    async def solve_endpoint(self, dependant: Dependant) -> dict[str, Any]:
        """The endpoint's arguments; a 422 listing every error if any input,
        the endpoint's own or a dependency's, was invalid."""
        kwargs = await self.solve(dependant)
        if kwargs is None or self.errors:
            raise RequestValidationError(self.errors)
        return kwargs

    def raise_if_invalid(self) -> None:
        if self.errors:
            raise RequestValidationError(self.errors)

    async def after_response(self, exc: BaseException | None) -> None:
        """The last step of every request with a Context, HTTP or WebSocket (and
        of a ``DependencyScope``): if it succeeded, the background tasks, in
        order; then, either way, the generator dependencies' teardowns, newest
        first, each receiving ``exc`` (so a transaction can roll back)."""
        if exc is None and self.background is not None:
            try:
                await self.background()
            except BaseException as cancelled:
                # The tasks log their own errors; only a cancellation gets here.
                # The teardowns must still run, and know why.
                if self.teardowns:
                    await self.teardowns.close(cancelled)
                raise
        if self.teardowns:
            await self.teardowns.close(exc)


async def read_json_body(request: Request, source: BodySource, errors: Errors) -> Any:
    """A JSON body, validated: its value, or INVALID with the errors appended.
    (Also called by the coroutines straight_dependencies.py writes.)"""
    raw_type = request._raw_header(b"content-type")
    # PERF: the usual header, exactly, needs no decoding, splitting and lowering.
    if raw_type == b"application/json":
        media = "application/json"
    else:
        content_type = raw_type.decode("latin-1") if raw_type is not None else ""
        media = content_type.split(";", 1)[0].strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        raise HTTPException(415, f"expected an application/json body, got {media!r}")
    raw = await request.body()
    if not raw:
        if source.required:
            errors.append(error(("body",), "a JSON body is required", "missing"))
            return INVALID
        return None
    return source.validate(request._json_of(raw), ("body",), errors, 0)


class WebSocketContext(Context):
    """A WebSocket route's context: no Request, the WebSocket instead."""

    __slots__ = ("websocket",)

    def __init__(
        self,
        websocket: WebSocket,
        path_params: Mapping[str, Any],
        overrides: DependencyOverrides | None,
        path_key: frozenset[Any] = frozenset(),
    ) -> None:
        super().__init__(None, path_params, overrides, path_key)
        self.websocket = websocket


def _async_exit(
    manager: contextlib.AbstractAsyncContextManager[Any],
) -> Callable[[BaseException | None], Awaitable[None]]:
    async def exit_(exc: BaseException | None) -> None:
        if exc is None:
            await manager.__aexit__(None, None, None)
        else:
            await manager.__aexit__(type(exc), exc, exc.__traceback__)

    return exit_


def _sync_exit(
    manager: contextlib.AbstractContextManager[Any],
) -> Callable[[BaseException | None], Awaitable[None]]:
    async def exit_(exc: BaseException | None) -> None:
        if exc is None:
            await anyio.to_thread.run_sync(manager.__exit__, None, None, None)
        else:
            await anyio.to_thread.run_sync(manager.__exit__, type(exc), exc, exc.__traceback__)

    return exit_


class DependencyScope:
    """Resolve dependencies outside a request: in startup hooks, background
    tasks, workers. ``async with app.dependencies_scope() as scope:``, then
    ``await scope.resolve(get_repo)``; teardowns run when the block exits."""

    def __init__(self, builder: PlanBuilder, overrides: DependencyOverrides | None) -> None:
        self._builder = builder
        self._context = Context(None, {}, overrides)

    async def resolve(self, dependency: Callable[..., Any]) -> Any:
        dependant = self._builder.build(self._builder.providers.get(dependency, dependency), {})
        if dependant.needs_request:
            raise ConfigurationError(
                f"{dependant.description} needs a request (Request, WebSocket, query, header, "
                "cookie or body) and cannot be resolved outside one"
            )
        value = await self._context.call(dependant)
        self._context.raise_if_invalid()
        return value

    @contextlib.asynccontextmanager
    async def _run(self) -> AsyncIterator[DependencyScope]:
        try:
            yield self
        except BaseException as exc:
            await self._context.after_response(exc)
            raise
        await self._context.after_response(None)  # as after a response



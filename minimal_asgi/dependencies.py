"""Dependency injection: how an endpoint gets its arguments.

Each parameter of an endpoint is filled by one rule, decided once at startup:

=====================================  ==========================================
parameter                              filled from
=====================================  ==========================================
named like a path parameter            the path (converted to its annotation)
annotated ``Request``                  the request
annotated ``WebSocket``                the connection (WebSocket routes only)
annotated ``HTTPConnection``           the connection, either kind: the ``Request``
                                       or the ``WebSocket`` (for dependencies, such
                                       as an auth guard, that serve both)
annotated ``BackgroundTasks``          this request's background tasks
annotated with a type given to         the factory registered for it
``app.provide(Type, factory)``
``= Depends(fn)`` or                   what ``fn`` returns (``fn``'s own parameters
``Annotated[T, Depends(fn)]``          are filled by these same rules)
``= Header()`` / ``= Cookie()``        a request header / cookie
``= Form()``                           a text field of a form body
annotated ``UploadFile`` (or a list    a file of a ``multipart/form-data`` body
of them), or ``= File()``
annotated with a dataclass or          the JSON body, validated
``list[dataclass]``
any other simple type (int, str, ...)  the query string
=====================================  ==========================================

Reading signatures (``inspect.signature``, ``get_type_hints``) is slow and the
answer never changes, so it happens here, at startup, once per endpoint: the
result is a *plan* (a ``Dependant`` tree). Per request, the plan is only
walked: values looked up, converted, functions called. A dependency is called
at most once per request (a per-request cache), and a generator dependency's
code after ``yield`` runs after the response has been sent - or, if the
endpoint raised, receives the exception (so a transaction can roll back).
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

from minimal_asgi.background import BackgroundTasks
from minimal_asgi.concurrency import is_async_callable
from minimal_asgi.exceptions import ConfigurationError
from minimal_asgi.requests import HTTPConnection, Request
from minimal_asgi.uploads import UploadFile
from minimal_asgi.validation import (
    JsonValidator,
    check_constraints_fit,
    compile_json,
    compile_text,
    compile_text_list,
    constraints_only,
    is_sequence_type,
    is_text_type,
    split_annotated,
)
from minimal_asgi.websockets import WebSocket

__all__ = [
    "CallPlan",
    "CallShape",
    "Cookie",
    "DependencyOverrides",
    "Depends",
    "File",
    "Form",
    "Header",
    "Query",
    "build_call_plan",
    "describe_callable",
]

_REQUIRED: Any = inspect.Parameter.empty


# -- the markers users write ---------------------------------------------------
# Each marker is built by a function typed to return ``Any`` (as FastAPI does), so
# that ``db: Database = Depends(get_db)`` type-checks: to mypy the default is
# "anything", while at startup the plan builder finds the marker object.
class DependsMarker:
    """What ``Depends(...)`` returns; read by the plan builder."""

    __slots__ = ("dependency", "use_cache")

    def __init__(self, dependency: Callable[..., Any] | None, use_cache: bool) -> None:
        self.dependency = dependency
        self.use_cache = use_cache

    def __repr__(self) -> str:
        return f"Depends({getattr(self.dependency, '__name__', self.dependency)!r})"


def Depends(
    dependency: Callable[..., Any] | None = None, *, use_cache: bool = True
) -> Any:
    """``db = Depends(get_db)``: fill this parameter with what ``get_db`` returns.

    ``Depends()`` with no argument uses the parameter's annotation as the
    callable. ``use_cache=False`` calls it again even if it already ran in this
    request.
    """
    return DependsMarker(dependency, use_cache)


class ParamMarker:
    """What ``Query()``, ``Header()`` and ``Cookie()`` return."""

    __slots__ = ("alias", "default", "description", "location")

    def __init__(self, location: str, default: Any, alias: str | None, description: str) -> None:
        self.location = location
        self.default = default
        self.alias = alias
        self.description = description

    def __repr__(self) -> str:
        return f"{self.location.title()}(alias={self.alias!r})"


def Query(
    default: Any = _REQUIRED, *, alias: str | None = None, description: str = ""
) -> Any:
    """A query-string parameter, with an optional ``alias`` (e.g. ``"page-size"``)."""
    return ParamMarker("query", default, alias, description)


def Header(
    default: Any = _REQUIRED, *, alias: str | None = None, description: str = ""
) -> Any:
    """A request header; ``x_token`` reads the ``x-token`` header unless ``alias``."""
    return ParamMarker("header", default, alias, description)


def Cookie(
    default: Any = _REQUIRED, *, alias: str | None = None, description: str = ""
) -> Any:
    """A request cookie, by the parameter's name unless ``alias``."""
    return ParamMarker("cookie", default, alias, description)


def Form(
    default: Any = _REQUIRED, *, alias: str | None = None, description: str = ""
) -> Any:
    """A text field of a form body (urlencoded or multipart), converted to the
    annotation like a query parameter: ``title: str = Form()``."""
    return ParamMarker("form", default, alias, description)


class FileMarker(ParamMarker):
    """What ``File()`` returns: a file field, and the media types it may be."""

    __slots__ = ("media_types",)

    def __init__(
        self, default: Any, alias: str | None, description: str, media_types: tuple[str, ...]
    ) -> None:
        super().__init__("file", default, alias, description)
        self.media_types = media_types


def File(
    default: Any = _REQUIRED,
    *,
    alias: str | None = None,
    description: str = "",
    media_types: Sequence[str] = (),
) -> Any:
    """A file of a ``multipart/form-data`` body: ``avatar: UploadFile = File(...)``.

    ``media_types=["image/png", "image/jpeg"]`` accepts only files whose first
    bytes show one of these types (``UploadFile.media_type``, sniffed; the
    client's ``Content-Type`` is not believed); any other is a 422.
    """
    return FileMarker(default, alias, description, tuple(media_types))


def describe_callable(func: Callable[..., Any]) -> str:
    """``name (file.py:12)``: how configuration errors point at user code."""
    code = getattr(inspect.unwrap(func), "__code__", None)
    name = getattr(func, "__qualname__", repr(func))
    if code is None:
        code = getattr(getattr(func, "__call__", None), "__code__", None)  # noqa: B004
    if code is None:
        return name
    filename = code.co_filename.rsplit("/", 1)[-1]
    return f"{name} ({filename}:{code.co_firstlineno})"


# -- the plan --------------------------------------------------------------------
class Source:
    """Where one parameter's value comes from (one subclass per rule)."""

    __slots__ = ("name",)
    needs_request = False

    def __init__(self, name: str) -> None:
        self.name = name


class PathSource(Source):
    __slots__ = ("convert",)

    def __init__(self, name: str, convert: Callable[[str], Any] | None) -> None:
        super().__init__(name)
        self.convert = convert


class RequestSource(Source):
    __slots__ = ()
    needs_request = True


class WebSocketSource(Source):
    __slots__ = ()
    needs_request = True  # a connection, at least: not resolvable outside one


class ConnectionSource(Source):
    """The connection, whichever kind: a dependency that only reads headers,
    cookies or the URL (an authentication guard) serves HTTP and WebSocket
    routes alike."""

    __slots__ = ()
    needs_request = True


class BackgroundSource(Source):
    __slots__ = ()


class DependsSource(Source):
    __slots__ = ("dependant",)

    def __init__(self, name: str, dependant: Dependant) -> None:
        super().__init__(name)
        self.dependant = dependant


class TextSource(Source):
    """A query parameter, header or cookie."""

    __slots__ = ("annotation", "convert", "default", "is_list", "key", "location", "marker")
    needs_request = True

    def __init__(
        self,
        name: str,
        location: str,
        key: str,
        annotation: Any,
        default: Any,
        marker: ParamMarker | None,
    ) -> None:
        super().__init__(name)
        self.location = location
        self.key = key
        self.annotation = annotation
        self.default = default
        self.marker = marker
        self.is_list = is_sequence_type(annotation)
        self.convert: Callable[[Any], Any] = (
            compile_text_list(annotation) if self.is_list else compile_text(annotation)
        )


class BodySource(Source):
    __slots__ = ("annotation", "required", "validate")
    needs_request = True

    def __init__(self, name: str, annotation: Any, validate: JsonValidator, required: bool) -> None:
        super().__init__(name)
        self.annotation = annotation
        self.validate = validate
        self.required = required


class FileSource(Source):
    """An uploaded file (or a list of them) from a multipart form body."""

    __slots__ = ("annotation", "default", "is_list", "key", "marker", "media_types")
    needs_request = True

    def __init__(
        self, name: str, key: str, annotation: Any, default: Any, is_list: bool,
        marker: ParamMarker | None,
    ) -> None:
        super().__init__(name)
        self.key = key
        self.annotation = annotation
        self.default = default
        self.is_list = is_list
        self.marker = marker
        self.media_types = marker.media_types if isinstance(marker, FileMarker) else ()


@dataclass(eq=False, slots=True)
class Dependant:
    """The plan for calling one function (an endpoint or a dependency)."""

    call: Callable[..., Any]
    kind: str  # "async", "sync", "async_gen" or "gen"
    sources: list[Source]
    use_cache: bool = True
    guards: list[Dependant] = field(default_factory=list)  # dependencies=[...] without values
    needs_request: bool = False
    needs_context: bool = False  # uses Depends, background tasks, guards or validation

    @property
    def description(self) -> str:
        return describe_callable(self.call)

    def explain(self) -> str:
        """The plan as a tree a person can read: where each argument comes from."""
        kinds = {"async": "", "sync": ", sync: worker thread", "async_gen": ", async generator",
                 "gen": ", generator: worker thread"}
        name = getattr(self.call, "__qualname__", repr(self.call))
        lines = [f"{name}{kinds[self.kind]}"]
        children: list[tuple[str, Dependant | None]] = [
            (f"guard {getattr(g.call, '__qualname__', g.call)}", g) for g in self.guards
        ]
        children += [(_describe_source(source), _sub(source)) for source in self.sources]
        for index, (label, sub) in enumerate(children):
            last = index == len(children) - 1
            lines.append(("└─ " if last else "├─ ") + label)
            if sub is not None:
                below = sub.explain().splitlines()[1:]
                lines.extend(("   " if last else "│  ") + line for line in below)
        return "\n".join(lines)

    def walk(self) -> typing.Iterator[Dependant]:
        """This plan and every plan below it (for OpenAPI and checks)."""
        yield self
        for guard in self.guards:
            yield from guard.walk()
        for source in self.sources:
            if isinstance(source, DependsSource):
                yield from source.dependant.walk()


def _sub(source: Source) -> Dependant | None:
    return source.dependant if isinstance(source, DependsSource) else None


def _type_label(annotation: Any) -> str:
    base, _ = split_annotated(annotation)
    return getattr(base, "__name__", None) or str(base).replace("typing.", "")


def _describe_source(source: Source) -> str:
    name = source.name
    if isinstance(source, PathSource):
        return f"{name}: path" + (" (converted)" if source.convert else "")
    if isinstance(source, RequestSource):
        return f"{name}: the Request"
    if isinstance(source, WebSocketSource):
        return f"{name}: the WebSocket"
    if isinstance(source, ConnectionSource):
        return f"{name}: the connection (Request or WebSocket)"
    if isinstance(source, BackgroundSource):
        return f"{name}: this request's BackgroundTasks"
    if isinstance(source, DependsSource):
        dependant = source.dependant
        label = getattr(dependant.call, "__qualname__", repr(dependant.call))
        kind = {"async_gen": " (async generator)", "gen": " (generator)", "sync": " (sync)"}
        return f"{name}: Depends({label}){kind.get(dependant.kind, '')}"
    if isinstance(source, TextSource):
        required = "required" if source.default is _REQUIRED else f"default {source.default!r}"
        type_name = _type_label(source.annotation)
        return f"{name}: {source.location} {source.key!r} ({type_name}, {required})"
    if isinstance(source, BodySource):
        return f"{name}: JSON body ({_type_label(source.annotation)})"
    if isinstance(source, FileSource):
        required = "required" if source.default is _REQUIRED else "optional"
        files = "files" if source.is_list else "file"
        return f"{name}: form {files} {source.key!r} ({required})"
    return name  # pragma: no cover


def _kind(call: Callable[..., Any]) -> str:
    target: Any = call
    if not (inspect.isfunction(call) or inspect.ismethod(call) or isinstance(call, type)):
        target = type(call).__call__  # a callable object: look at its __call__
    if inspect.isasyncgenfunction(target):
        return "async_gen"
    if inspect.isgeneratorfunction(target):
        return "gen"
    return "async" if is_async_callable(call) else "sync"


def _signature(func: Callable[..., Any]) -> tuple[inspect.Signature, dict[str, Any]]:
    signature = inspect.signature(func)
    target: Any = func
    if isinstance(func, type):
        target = func.__init__  # type: ignore[misc]
    elif not (inspect.isfunction(func) or inspect.ismethod(func)):
        target = type(func).__call__
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception:
        # One annotation cannot be resolved (say, a return type naming a local
        # class under `from __future__ import annotations`): resolve the others
        # one by one, so `request: Request` is still recognised.
        hints = {}
        namespace = getattr(inspect.unwrap(target), "__globals__", {})
        for name, annotation in getattr(target, "__annotations__", {}).items():
            try:
                hints[name] = (
                    eval(annotation, namespace) if isinstance(annotation, str) else annotation
                )
            except Exception:
                hints[name] = annotation
    return signature, hints


def _is_subclass(annotation: Any, cls: type) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, cls)


def _is_body_type(annotation: Any) -> bool:
    base, _ = split_annotated(annotation)
    if dataclasses.is_dataclass(base) and isinstance(base, type):
        return True
    if get_origin(base) is list:
        args = get_args(base)
        return bool(args) and _is_body_type(args[0])
    inner = _optional(base)
    return inner is not None and _is_body_type(inner)


def _optional(annotation: Any) -> Any | None:
    args = get_args(annotation)
    if get_origin(annotation) in (typing.Union, __import__("types").UnionType) and len(args) == 2:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else None
    return None


class PlanBuilder:
    """Builds plans at startup, for one app: knows its providers and reuses
    the plan of a dependency shared by many routes with the same path names."""

    def __init__(
        self,
        providers: Mapping[Any, Callable[..., Any]] | None = None,
        *,
        forbid_extra: bool = True,
    ) -> None:
        self.providers = dict(providers or {})
        self.forbid_extra = forbid_extra
        self._cache: dict[tuple[Any, frozenset[Any], bool], Dependant] = {}
        self.path_name_sets: set[tuple[tuple[str, Any], ...]] = set()

    def build(
        self,
        call: Callable[..., Any],
        path_params: Mapping[str, Any],
        *,
        use_cache: bool = True,
        _stack: tuple[Callable[..., Any], ...] = (),
    ) -> Dependant:
        """Plan ``call`` for a route whose path parameters are ``path_params``
        (name -> converter name)."""
        key = (call, frozenset(path_params.items()), use_cache)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if call in _stack:
            cycle = " -> ".join(describe_callable(c) for c in (*_stack, call))
            raise ConfigurationError(f"dependency cycle: {cycle}")
        stack = (*_stack, call)
        described = describe_callable(call)
        signature, hints = _signature(call)
        sources: list[Source] = []
        body_seen: str | None = None
        body_kind = ""
        for parameter in signature.parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            if parameter.kind is parameter.POSITIONAL_ONLY:
                raise ConfigurationError(
                    f"{described}: positional-only parameter {parameter.name!r} cannot be "
                    "filled by name; remove the '/'"
                )
            source = self._source_for(parameter, hints, path_params, described, stack)
            if source is None:
                continue  # not ours to fill: its default applies
            kind = _body_kind(source)
            if kind and body_kind and "JSON" in (kind, body_kind):
                # Two JSON bodies, or JSON and a form: a request has one body.
                raise ConfigurationError(
                    f"{described}: two body parameters ({body_seen!r} and "
                    f"{parameter.name!r}); a request has one JSON body - wrap them in "
                    "one dataclass"
                    if kind == body_kind
                    else f"{described}: {body_seen!r} reads the body as {body_kind} and "
                    f"{parameter.name!r} as {kind}; a request has one body"
                )
            if kind:
                body_seen, body_kind = body_seen or parameter.name, kind
            sources.append(source)
        dependant = Dependant(call=call, kind=_kind(call), sources=sources, use_cache=use_cache)
        _finish(dependant)
        self._cache[key] = dependant
        return dependant

    def _source_for(
        self,
        parameter: inspect.Parameter,
        hints: Mapping[str, Any],
        path_params: Mapping[str, Any],
        described: str,
        stack: tuple[Callable[..., Any], ...],
    ) -> Source | None:
        """Where one parameter's value comes from (None: from its default).
        The rules are tried in this order, and the first that claims the
        parameter wins; chapter 06 ("The rules") tabulates them for users."""
        name = parameter.name
        annotation = hints.get(name, parameter.annotation)
        base, extras = split_annotated(annotation)
        marker, default = _marker_and_default(parameter.default, extras)
        if isinstance(marker, DependsMarker):
            return self._depends_source(name, marker, base, path_params, described, stack)
        upload = _upload_kind(annotation)
        if isinstance(marker, ParamMarker):
            key = _param_key(name, marker)
            if marker.location in ("form", "file"):
                _require_forms_extra(described)
            if marker.location == "file" or (marker.location == "form" and upload is not None):
                if upload is None:
                    raise ConfigurationError(
                        f"{described}: File() on {name!r} needs the annotation UploadFile, "
                        f"UploadFile | None or list[UploadFile], not {annotation!r}"
                    )
                return FileSource(name, key, annotation, default, upload, marker)
            return self._text_source(name, marker.location, key, annotation, default, marker,
                                     described)
        if name in path_params:
            return _path_source(name, annotation, path_params[name], described)
        if upload is not None:
            _require_forms_extra(described)
            return FileSource(name, name, annotation, default, upload, None)
        for cls, source_type in _CONNECTION_OBJECTS:
            if _is_subclass(base, cls):
                return source_type(name)
        if base in self.providers:
            return DependsSource(name, self.build(self.providers[base], path_params, _stack=stack))
        if _is_body_type(base):
            validate = compile_json(annotation, forbid_extra=self.forbid_extra)
            return BodySource(name, annotation, validate, required=default is _REQUIRED)
        if base is inspect.Parameter.empty:
            if default is not _REQUIRED:
                return None
            raise ConfigurationError(
                f"{described}: parameter {name!r} has no annotation and no default, and is "
                f"not a path parameter (the path has {list(path_params) or 'none'}). "
                "Annotate it (e.g. `q: str` for a query parameter) or give it a default."
            )
        if is_text_type(annotation):
            return self._text_source(name, "query", name, annotation, default, None, described)
        if default is not _REQUIRED:
            return None
        raise ConfigurationError(
            f"{described}: cannot fill parameter {name!r} of type {annotation!r}: it is not a "
            "path parameter, Request, WebSocket, BackgroundTasks, provided type (app.provide), "
            "Depends(...), query type, or dataclass body"
        )

    def _depends_source(
        self,
        name: str,
        marker: DependsMarker,
        base: Any,
        path_params: Mapping[str, Any],
        described: str,
        stack: tuple[Callable[..., Any], ...],
    ) -> DependsSource:
        target = marker.dependency or base  # Annotated[Service, Depends()]: the type itself
        if target is _REQUIRED or not callable(target):
            raise ConfigurationError(f"{described}: Depends() on {name!r} needs a callable")
        target = self.providers.get(target, target)
        return DependsSource(
            name, self.build(target, path_params, use_cache=marker.use_cache, _stack=stack)
        )

    @staticmethod
    def _text_source(
        name: str,
        location: str,
        key: str,
        annotation: Any,
        default: Any,
        marker: ParamMarker | None,
        described: str,
    ) -> TextSource:
        try:
            return TextSource(name, location, key, annotation, default, marker)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{described}: parameter {name!r}: {exc}") from None


def _body_kind(source: Source) -> str:
    """What of the body a source reads: "JSON", "form" or nothing ("")."""
    if isinstance(source, BodySource):
        return "JSON"
    if isinstance(source, FileSource) or (
        isinstance(source, TextSource) and source.location == "form"
    ):
        return "form"
    return ""


# Objects of the connection itself, injected by annotation (a subclass too).
_CONNECTION_OBJECTS: tuple[tuple[type, type[Source]], ...] = (
    (Request, RequestSource),
    (WebSocket, WebSocketSource),
    (HTTPConnection, ConnectionSource),  # after its two subclasses
    (BackgroundTasks, BackgroundSource),
)


def _marker_and_default(
    default: Any, extras: Sequence[Any]
) -> tuple[DependsMarker | ParamMarker | None, Any]:
    """The Depends/Query/Header/Cookie marker of a parameter, given as its
    default or inside Annotated[...], and the default that remains."""
    if isinstance(default, DependsMarker | ParamMarker):
        return default, (default.default if isinstance(default, ParamMarker) else _REQUIRED)
    marker = next((e for e in extras if isinstance(e, DependsMarker | ParamMarker)), None)
    return marker, default


def _upload_kind(annotation: Any) -> bool | None:
    """For ``UploadFile`` (or ``UploadFile | None``) False, for a list of them
    True; None if the annotation is not an upload at all."""
    base, _ = split_annotated(annotation)
    base = _optional(base) or base
    if _is_subclass(base, UploadFile):
        return False
    args = get_args(base)
    if is_sequence_type(base) and args and _is_subclass(args[0], UploadFile):
        return True
    return None


def _require_forms_extra(described: str) -> None:
    """Forms need python-multipart: say so at startup, not on the first upload."""
    from minimal_asgi.formparsers import require_multipart_parser

    try:
        require_multipart_parser()
    except RuntimeError as exc:
        raise ConfigurationError(f"{described}: {exc}") from None


def _param_key(name: str, marker: ParamMarker) -> str:
    """The name to look up: the alias, or the parameter's name (user_agent ->
    user-agent for a header, whose names are matched in lower case)."""
    if marker.location != "header":
        return marker.alias or name
    return (marker.alias or name.replace("_", "-")).lower()


def _path_source(name: str, annotation: Any, convertor_name: str, described: str) -> PathSource:
    base, extras = split_annotated(annotation)
    convert = None
    if base in (inspect.Parameter.empty, Any):
        pass
    elif not _fits_convertor(base, convertor_name):
        convert = _text_converter(annotation, described, name)
    elif extras:
        # The converter already made the type; only the constraints
        # (Annotated[int, Ge(1)]) remain to check.
        check_constraints_fit(base, extras)
        convert = constraints_only(extras)
    return PathSource(name, convert)


def _fits_convertor(annotation: Any, convertor_name: str) -> bool:
    """Does the path converter already produce the annotated type?"""
    import uuid

    expected = {"int": int, "float": float, "uuid": uuid.UUID, "str": str, "path": str}
    return annotation is expected.get(convertor_name)


def _text_converter(annotation: Any, described: str, name: str) -> Callable[[str], Any]:
    try:
        return compile_text(annotation)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{described}: path parameter {name!r}: {exc}") from None


def _finish(dependant: Dependant) -> None:
    """Work out, once, what this plan needs per request."""
    needs_request = any(source.needs_request for source in dependant.sources)
    # A context (cache, errors, teardowns) is needed for anything beyond
    # "path values and the Request": generators, guards, sub-dependencies,
    # background tasks, and any value that must be validated.
    needs_context = dependant.kind in ("async_gen", "gen") or bool(dependant.guards)
    for source in dependant.sources:
        if isinstance(source, DependsSource):
            needs_request = needs_request or source.dependant.needs_request
        validated_path = isinstance(source, PathSource) and source.convert is not None
        if validated_path or not isinstance(source, PathSource | RequestSource):
            needs_context = True
    for guard in dependant.guards:
        needs_request = needs_request or guard.needs_request
    dependant.needs_request = needs_request
    dependant.needs_context = needs_context


def with_guards(dependant: Dependant, guards: Sequence[Dependant]) -> Dependant:
    """A copy of an endpoint's plan that first runs ``guards`` (route, router
    and app ``dependencies=[...]``)."""
    if not guards:
        return dependant
    copy = Dependant(
        call=dependant.call,
        kind=dependant.kind,
        sources=dependant.sources,
        use_cache=dependant.use_cache,
        guards=[*guards, *dependant.guards],
    )
    _finish(copy)
    return copy


# -- overrides -------------------------------------------------------------------
class DependencyOverrides(dict[Callable[..., Any], Callable[..., Any]]):
    """``app.dependency_overrides[get_db] = fake_db``: for tests.

    Takes effect on the next request, even on an app already serving. The
    replacement's plan is built here, when it is set - never on the request
    path - for every set of path parameters the app's routes use.
    """

    def __init__(self) -> None:
        super().__init__()
        self.builder: PlanBuilder | None = None
        self.plans: dict[tuple[Callable[..., Any], frozenset[Any]], Dependant] = {}

    def update(self, *args: Any, **kwargs: Any) -> None:
        # Through __setitem__, so every replacement is planned when it is set.
        for original, replacement in dict(*args, **kwargs).items():
            self[original] = replacement

    def __setitem__(self, original: Callable[..., Any], replacement: Callable[..., Any]) -> None:
        self.compile(replacement)  # first: a replacement that cannot be planned is refused
        super().__setitem__(original, replacement)

    def compile(self, replacement: Callable[..., Any]) -> None:
        if self.builder is None:
            return  # the app has not started: compiled by attach()
        for names in self.builder.path_name_sets:
            path_params = dict(names)
            plan = self.builder.build(replacement, path_params)
            self.plans[(replacement, frozenset(path_params.items()))] = plan

    def attach(self, builder: PlanBuilder) -> None:
        self.builder = builder
        for replacement in list(self.values()):
            self.compile(replacement)

    def plan_for(self, dependant: Dependant, path_key: frozenset[Any]) -> Dependant:
        replacement = self.get(dependant.call)
        if replacement is None:
            return dependant
        plan = self.plans.get((replacement, path_key))
        if plan is None:  # e.g. DI outside routes: no path parameters
            assert self.builder is not None
            plan = self.builder.build(replacement, dict(path_key))
            self.plans[(replacement, path_key)] = plan
        return plan


# -- the route's call plan -----------------------------------------------------------
class CallShape(enum.Enum):
    """How an endpoint is called, decided once from its plan.

    The first four need no per-request ``Context``: the endpoint takes nothing
    but path values and the ``Request``, so the handler passes them straight
    in. ``CONTEXT`` is everything else (dependencies, query, headers, cookies,
    a body, guards, validated path values).
    """

    NO_ARGS = "endpoint()"
    PATH_VALUES = "endpoint(*path_values)"
    REQUEST = "endpoint(request)"
    KEYWORDS = "endpoint(**{path values and the Request, by name})"
    CONTEXT = "endpoint(**arguments a Context resolved)"


@dataclass(frozen=True, slots=True)
class CallPlan:
    """What the route needs to call one endpoint: its plan, and its shape."""

    dependant: Dependant
    shape: CallShape
    # The route's path parameters, in path order: (name, converter name).
    path_params: tuple[tuple[str, str], ...] = ()

    @property
    def path_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.path_params)

    @property
    def path_key(self) -> frozenset[tuple[str, str]]:
        """What a dependency override's plan is looked up by."""
        return frozenset(self.path_params)

    @property
    def needs_request(self) -> bool:
        return self.dependant.needs_request

    @property
    def description(self) -> str:
        return self.dependant.description


def build_call_plan(
    endpoint: Callable[..., Any],
    path_params: Sequence[str] | Mapping[str, str],
    *,
    builder: PlanBuilder | None = None,
    guards: Sequence[Callable[..., Any]] = (),
    websocket: bool = False,
) -> CallPlan:
    """Decide how ``endpoint`` is called (at startup). ``websocket``: the endpoint
    serves a WebSocket route, so it is async and takes no Request or body."""
    if not isinstance(path_params, Mapping):
        path_params = dict.fromkeys(path_params, "str")
    builder = builder or PlanBuilder()
    builder.path_name_sets.add(tuple(sorted(path_params.items())))
    dependant = builder.build(endpoint, path_params)
    guard_plans = [builder.build(builder.providers.get(g, g), path_params) for g in guards]
    dependant = with_guards(dependant, guard_plans)
    if dependant.kind in ("async_gen", "gen"):
        raise ConfigurationError(
            f"{dependant.description}: an endpoint cannot be a generator; return a "
            "StreamingResponse to stream"
        )
    check_connection_kind(dependant, websocket)
    body_kinds = {_body_kind(s) for d in dependant.walk() for s in d.sources} - {""}
    if len(body_kinds) > 1:
        raise ConfigurationError(
            f"{dependant.description}: it and its dependencies read the body both as JSON "
            "and as a form; a request has one body"
        )
    shape = _call_shape(dependant, tuple(path_params))
    return CallPlan(dependant, shape, tuple(path_params.items()))


def _call_shape(dependant: Dependant, path_names: tuple[str, ...]) -> CallShape:
    """The simplest shape that calls ``dependant``; CONTEXT when none fits."""
    if dependant.needs_context:
        return CallShape.CONTEXT
    sources = dependant.sources
    if not sources:
        return CallShape.NO_ARGS
    names = tuple(source.name for source in sources)
    parameters = inspect.signature(dependant.call).parameters
    positional = all(
        parameters[name].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for name in names
    )
    if positional and names == path_names:
        return CallShape.PATH_VALUES
    if positional and len(sources) == 1 and isinstance(sources[0], RequestSource):
        return CallShape.REQUEST
    return CallShape.KEYWORDS


def check_connection_kind(endpoint: Dependant, websocket: bool) -> None:
    """An HTTP endpoint (or any of its dependencies) cannot ask for a WebSocket,
    nor a WebSocket endpoint for a Request or a body: refused at startup."""
    if websocket and endpoint.kind != "async":
        raise ConfigurationError(
            f"{endpoint.description}: a WebSocket endpoint must be `async def` (it awaits "
            "accept(), receive_*() and send_*())"
        )
    for dependant in endpoint.walk():
        for source in dependant.sources:
            where = f"{dependant.description}: parameter {source.name!r}"
            if websocket and isinstance(source, RequestSource):
                raise ConfigurationError(
                    f"{where} asks for a Request, but this is a WebSocket route; annotate it "
                    "`WebSocket` instead (it has the same url, headers, query_params, cookies)"
                )
            if websocket and _body_kind(source) == "form":
                raise ConfigurationError(
                    f"{where} is a form field, but a WebSocket handshake has no body"
                )
            if websocket and isinstance(source, BodySource):
                raise ConfigurationError(
                    f"{where} is a JSON body, but a WebSocket handshake has none; read "
                    "messages with `await websocket.receive_json()` instead"
                )
            if not websocket and isinstance(source, WebSocketSource):
                raise ConfigurationError(
                    f"{where} asks for a WebSocket, but this is an HTTP route; register "
                    "the endpoint with @app.websocket(path), or annotate it `Request`"
                )

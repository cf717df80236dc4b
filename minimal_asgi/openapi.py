"""OpenAPI: the app's routes, written down as a document other programs read.

No request passes through this module on its way to an endpoint. It reads what
the app built at startup - each route's path and its dependency *plan*
(dependencies.py) - and describes it as an OpenAPI 3.1 document: a query
parameter is listed because the plan reads it, with the JSON Schema of the
annotation its validator checks. So the document is derived from the same
facts the request path acts on, and cannot quietly drift from the code.

Two routes serve it (added by ``App.build`` unless turned off):

    GET /openapi.json   the document, generated once after startup
    GET /docs           a page that fetches the document, shows each operation
                        and can try it (docs_page.py: our own, or Swagger UI)
    GET /docs/assets/*  the page's script and style, served by the app itself:
                        the page loads nothing from elsewhere

OpenAPI 3.1 uses JSON Schema 2020-12 for its schemas, so Python types map onto
plain JSON Schema: ``int | None`` is ``{"type": ["integer", "null"]}``, a
dataclass is an object schema kept once under ``components/schemas`` and
referred to by ``$ref`` (which is also how a recursive dataclass stays finite).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime as dt
import enum
import inspect
import math
import re
import types
import typing
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from minimal_asgi.convertors import INT_MAX
from minimal_asgi.dependencies import (
    BodySource,
    Dependant,
    FileSource,
    PathSource,
    PlanBuilder,
    TextSource,
)
from minimal_asgi.docs_page import ASSET_HEADERS, DocsPage, docs_page
from minimal_asgi.exceptions import ConfigurationError, HTTPException
from minimal_asgi.files import FileResponse
from minimal_asgi.handlers import RouteSettings
from minimal_asgi.requests import Request
from minimal_asgi.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
    json_dumps,
)
from minimal_asgi.routing import Route
from minimal_asgi.validation import Ge, Gt, Le, Lt, MaxLen, MinLen, Pattern, split_annotated

if TYPE_CHECKING:
    from minimal_asgi.app import App
    from minimal_asgi.plugins import OpenAPIHook

__all__ = [
    "OPENAPI_VERSION",
    "OpenAPISecurity",
    "SchemaRegistry",
    "add_openapi_routes",
    "docs_page",
    "generate_openapi",
    "openapi_document",
]

OPENAPI_VERSION = "3.1.0"

_EMPTY: Any = inspect.Parameter.empty
_NONE_TYPE = type(None)
_CONSTRAINTS = (MinLen, MaxLen, Ge, Gt, Le, Lt, Pattern)

# Methods in the order OpenAPI tools show them. CONNECT has no slot in a 3.1
# path item; HEAD is answered by every GET route, so it is not listed beside it.
_METHOD_ORDER = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    dt.datetime: {"type": "string", "format": "date-time"},
    dt.date: {"type": "string", "format": "date"},
    dt.time: {"type": "string", "format": "time"},
}

# What each path converter (convertors.py) lets through, as a schema.
_CONVERTOR_SCHEMAS: dict[str, dict[str, Any]] = {
    "str": {"type": "string", "minLength": 1},
    "path": {"type": "string"},
    "int": {"type": "integer", "format": "int64", "minimum": 0, "maximum": INT_MAX},
    "float": {"type": "number", "minimum": 0},
    "uuid": {"type": "string", "format": "uuid"},
}
_PATH_PARAM = re.compile(r"\{([^{}:]+)(?::([^{}]+))?\}")


# -- security: what a dependency says about the credentials it checks ----------------
@dataclasses.dataclass(frozen=True)
class OpenAPISecurity:
    """How a dependency describes, to the OpenAPI document, the credentials it checks.

    A dependency - a guard in ``dependencies=[...]``, or anything an endpoint
    ``Depends`` on, at any depth - that carries one of these as its
    ``openapi_security`` attribute puts ``schemes`` under
    ``components/securitySchemes`` and ``requirements`` on every operation that
    uses it, so ``/docs`` shows which routes need a token::

        check_key.openapi_security = OpenAPISecurity(
            schemes={"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
            requirements=[{"apiKey": []}],
        )

    ``requirements`` are alternatives, any one of which is enough (OpenAPI's
    list of Security Requirement Objects): ``[{"bearer": []}, {"apiKey": []}]``.
    When several dependencies of one route carry requirements, all of them must
    hold. Two that name the same schemes describe one credential checked twice
    ("signed in", then "has the scope todos:write"): their alternatives are
    matched scheme for scheme and the scopes merged
    (``[{"bearer": ["todos:write"]}]``). Two that name different schemes are
    two credentials, both needed: every combination is listed.
    """

    schemes: Mapping[str, Mapping[str, Any]]
    requirements: Sequence[Mapping[str, Sequence[str]]]


def _security(
    dependants: list[Dependant], schemes: dict[str, Mapping[str, Any]], where: str
) -> list[dict[str, list[str]]] | None:
    """The operation's ``security``, and its schemes added to ``schemes``."""
    seen: set[int] = set()
    combined: list[dict[str, list[str]]] | None = None
    for dependant in dependants:
        declared = getattr(dependant.call, "openapi_security", None)
        if not isinstance(declared, OpenAPISecurity) or id(declared) in seen:
            continue
        seen.add(id(declared))  # a dependency used by several guards counts once
        for name, scheme in declared.schemes.items():
            if schemes.setdefault(name, scheme) != scheme:
                raise ConfigurationError(
                    f"{where}: two dependencies describe the security scheme {name!r} "
                    "differently; give each scheme its own name"
                )
        alternatives = [dict(r) for r in declared.requirements]
        if not alternatives:
            continue
        if combined is None:
            combined = [_merge_requirements({}, more) for more in alternatives]
        elif _names(combined) & _names(alternatives):
            # The same credentials, checked again (a scope guard on top of
            # "signed in"): each alternative is refined by its counterpart.
            combined = [
                _merge_requirements(have, more)
                for have in combined
                for more in alternatives
                if have.keys() == more.keys()
            ]
        else:
            # Other credentials: both are needed, in every combination.
            combined = [
                _merge_requirements(have, more) for have in combined for more in alternatives
            ]
    if combined is None:
        return None
    unique: list[dict[str, list[str]]] = []
    for requirement in combined:
        if requirement not in unique:
            unique.append(requirement)
    return unique


def _names(requirements: Iterable[Mapping[str, Any]]) -> set[str]:
    return {name for requirement in requirements for name in requirement}


def _merge_requirements(
    have: Mapping[str, Sequence[str]], more: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    merged = {name: list(scopes) for name, scopes in have.items()}
    for name, scopes in more.items():
        merged[name] = list(dict.fromkeys([*merged.get(name, []), *scopes]))
    return merged


# -- JSON Schema for Python annotations ---------------------------------------------
class SchemaRegistry:
    """Turns annotations into JSON Schema. Dataclasses become named entries of
    ``components`` (referred to by ``$ref``), everything else is inlined.

    ``forbid_extra`` mirrors ``App(reject_unknown_fields=...)``: when unknown
    body fields are rejected, object schemas say ``additionalProperties: false``.
    """

    def __init__(self, *, forbid_extra: bool = True, reserved: Iterable[str] = ()) -> None:
        self.forbid_extra = forbid_extra
        self.components: dict[str, dict[str, Any]] = {}
        self._reserved = set(reserved)
        self._names: dict[type, str] = {}

    def schema(self, annotation: Any) -> dict[str, Any]:
        """The schema of a JSON value of type ``annotation``."""
        base, extras = split_annotated(annotation)
        return _constrained(self._base(base), base, extras)

    def parameter_schema(self, annotation: Any) -> dict[str, Any]:
        """The schema of a path, query, header or cookie value. Text has no
        null: an optional parameter is one that may be absent, so ``X | None``
        is described as ``X`` (and ``required: false`` on the parameter)."""
        base, extras = split_annotated(annotation)
        inner = _optional_inner(base)
        if inner is not None:
            inner_base, inner_extras = split_annotated(inner)
            base, extras = inner_base, [*inner_extras, *extras]
        return _constrained(self._base(base), base, extras)

    def _base(self, base: Any) -> dict[str, Any]:
        if base is Any or base is object or base is _EMPTY:
            return {}
        if base is None or base is _NONE_TYPE:
            return {"type": "null"}
        if isinstance(base, type) and issubclass(base, enum.Enum):
            return _enum_schema([member.value for member in base])
        scalar = _SCALARS.get(base)
        if scalar is not None:
            return dict(scalar)
        origin, args = get_origin(base), get_args(base)
        if origin is Literal:
            values = [v.value if isinstance(v, enum.Enum) else v for v in args]
            if len(values) == 1:
                return {**_type_of(values), "const": values[0]}
            return _enum_schema(values)
        if origin is Union or origin is types.UnionType:
            return self._union(args)
        if base in (list, set, frozenset, tuple) or origin in (
            list,
            set,
            frozenset,
            collections.abc.Sequence,
            collections.abc.Set,
        ):
            schema: dict[str, Any] = {"type": "array"}
            if args:
                schema["items"] = self.schema(args[0])
            if origin in (set, frozenset, collections.abc.Set) or base in (set, frozenset):
                schema["uniqueItems"] = True
            return schema
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.schema(args[0])}
            # A fixed-length tuple: one schema per position, nothing after.
            return {
                "type": "array",
                "prefixItems": [self.schema(a) for a in args],
                "minItems": len(args),
                "maxItems": len(args),
                "items": False,
            }
        if base is dict or origin in (dict, collections.abc.Mapping):
            schema = {"type": "object"}
            if len(args) == 2 and args[1] is not Any:
                schema["additionalProperties"] = self.schema(args[1])
            return schema
        if isinstance(base, type) and dataclasses.is_dataclass(base):
            return {"$ref": "#/components/schemas/" + self._dataclass(base)}
        return {}  # a type JSON Schema cannot say more about: any value

    def _union(self, args: tuple[Any, ...]) -> dict[str, Any]:
        options = [a for a in args if a is not _NONE_TYPE]
        schemas = [self.schema(a) for a in options]
        if len(options) == len(args):
            return {"anyOf": schemas}
        if len(schemas) > 1:
            return {"anyOf": [*schemas, {"type": "null"}]}
        inner = schemas[0]
        kind = inner.get("type")
        if isinstance(kind, str) and not {"$ref", "const", "anyOf"} & inner.keys():
            # {"type": "integer"} -> {"type": ["integer", "null"]}: shorter than
            # anyOf, and what most tools render best. An enum must list null too.
            nullable = {**inner, "type": [kind, "null"]}
            if "enum" in nullable:
                nullable["enum"] = [*nullable["enum"], None]
            return nullable
        return {"anyOf": [inner, {"type": "null"}]}

    def _dataclass(self, cls: type) -> str:
        name = self._names.get(cls)
        if name is not None:
            return name
        name = self._unique_name(cls)
        # Named *before* its fields are described, so that a field referring
        # back to this class (a tree of comments) finds the name: no loop.
        self._names[cls] = name
        self.components[name] = {}
        self.components[name] = self._dataclass_schema(cls)
        return name

    def _unique_name(self, cls: type) -> str:
        taken = self._reserved | self.components.keys()
        for candidate in (cls.__name__, f"{cls.__module__}.{cls.__qualname__}"):
            name = re.sub(r"[^A-Za-z0-9._-]", "_", candidate)
            if name not in taken:
                return name
        number = 2
        while f"{name}_{number}" in taken:
            number += 1
        return f"{name}_{number}"

    def _dataclass_schema(self, cls: type) -> dict[str, Any]:
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception:  # an unresolvable forward reference: describe what we can
            hints = {}
        properties: dict[str, Any] = {}
        required: list[str] = []
        for f in dataclasses.fields(cls):
            schema = self.schema(hints.get(f.name, Any))
            if f.metadata.get("description"):
                schema = {**schema, "description": str(f.metadata["description"])}
            if not f.init:
                # Computed by the class: in every response, never accepted in a body.
                schema = {**schema, "readOnly": True}
            elif f.default is not dataclasses.MISSING:
                known, value = _json_value(f.default)
                if known:
                    schema = {**schema, "default": value}
            elif f.default_factory is dataclasses.MISSING:
                required.append(f.name)
            properties[f.name] = schema
        result: dict[str, Any] = {"type": "object"}
        doc = cls.__dict__.get("__doc__") or ""
        if doc and not doc.startswith(cls.__name__ + "("):  # not dataclass's generated one
            result["description"] = inspect.cleandoc(doc)
        result["properties"] = properties
        if required:
            result["required"] = required
        if self.forbid_extra:
            result["additionalProperties"] = False
        return result


def _optional_inner(annotation: Any) -> Any | None:
    """``X | None`` -> ``X``; anything else -> None."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = get_args(annotation)
        rest = [a for a in args if a is not _NONE_TYPE]
        if len(rest) == 1 and len(args) == 2:
            return rest[0]
    return None


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", _NONE_TYPE: "null"}


def _type_of(values: list[Any]) -> dict[str, Any]:
    kinds = {_JSON_TYPES.get(type(v)) for v in values}
    if len(kinds) == 1 and None not in kinds:
        return {"type": kinds.pop()}
    return {}


def _enum_schema(values: list[Any]) -> dict[str, Any]:
    return {**_type_of(values), "enum": values}


def _constrained(schema: dict[str, Any], base: Any, extras: list[Any]) -> dict[str, Any]:
    """Add the keywords of ``MinLen``, ``Ge``, ``Pattern``... to ``schema``.
    A length is ``minLength`` on a string, ``minItems`` on an array and
    ``minProperties`` on an object, as ``len()`` is for all three."""
    constraints = [c for c in extras if isinstance(c, _CONSTRAINTS)]
    if not constraints:
        return schema
    schema = dict(schema)
    length = {"string": "Length", "array": "Items", "object": "Properties"}[_kind(base)]
    for c in constraints:
        if isinstance(c, MinLen):
            schema["min" + length] = c.value
        elif isinstance(c, MaxLen):
            schema["max" + length] = c.value
        elif isinstance(c, Ge):
            schema["minimum"] = c.value
        elif isinstance(c, Gt):
            schema["exclusiveMinimum"] = c.value
        elif isinstance(c, Le):
            schema["maximum"] = c.value
        elif isinstance(c, Lt):
            schema["exclusiveMaximum"] = c.value
        else:
            # Python checks with fullmatch; a JSON Schema pattern may match
            # anywhere in the string unless anchored.
            schema["pattern"] = f"^(?:{c.regex})$"
    return schema


def _kind(base: Any) -> str:
    """Is a value of this type measured as a string, an array or an object?"""
    inner = _optional_inner(base)
    if inner is not None:
        base, _ = split_annotated(inner)
    origin = get_origin(base) or base
    if origin in (list, set, frozenset, tuple, collections.abc.Sequence, collections.abc.Set):
        return "array"
    if origin in (dict, collections.abc.Mapping) or dataclasses.is_dataclass(base):
        return "object"
    return "string"


def _json_value(value: Any) -> tuple[bool, Any]:
    """``(True, json_value)`` for a default the document can show, else ``(False, None)``."""
    if isinstance(value, enum.Enum):
        return _json_value(value.value)
    if isinstance(value, float) and not math.isfinite(value):
        return False, None
    if value is None or isinstance(value, bool | int | float | str):
        return True, value
    if isinstance(value, dt.date | dt.time):
        return True, value.isoformat()
    if isinstance(value, uuid.UUID):
        return True, str(value)
    if isinstance(value, list | tuple):
        items = [_json_value(v) for v in value]
        if all(known for known, _ in items):
            return True, [v for _, v in items]
    return False, None


# -- the problem-details responses every operation shares ----------------------------
_PROBLEM_SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "type": "object",
        "description": "An error, as RFC 9457 problem details.",
        "properties": {
            "type": {"type": "string", "format": "uri-reference", "default": "about:blank"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 100, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string", "format": "uri-reference"},
        },
        "required": ["type", "title", "status"],
    },
    "ValidationError": {
        "type": "object",
        "description": "One input that failed validation, and where it was.",
        "properties": {
            "loc": {
                "type": "array",
                "items": {"type": ["string", "integer"]},
                "description": 'Where the value was, e.g. ["body", "items", 2, "price"].',
            },
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
        "required": ["loc", "msg", "type"],
    },
    # A 422 is either a failed validation (with ``errors``) or one the endpoint
    # raised itself - HTTPException(422, "there is no user 7"), the SQL plugin's
    # refused value - which has none. So ``errors`` is described, not required.
    "ValidationProblem": {
        "allOf": [
            {"$ref": "#/components/schemas/Problem"},
            {
                "type": "object",
                "properties": {
                    "errors": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/ValidationError"},
                        "description": "Present when the input failed validation: "
                        "every error, with its location (the first 100).",
                    },
                    "omitted_errors": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "How many more errors there were, past the "
                        "first 100 (absent when every error is listed).",
                    },
                },
            },
        ]
    },
}


def _problem_response(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
        },
    }


_VALIDATION_FAILED = "The input failed validation; every error is listed with its location."
_PROBLEM_RESPONSES: dict[str, dict[str, Any]] = {
    "ValidationFailed": _problem_response(_VALIDATION_FAILED, "ValidationProblem"),
    "ClientError": _problem_response("The request cannot be served as sent.", "Problem"),
    "ServerError": _problem_response("The server failed to answer the request.", "Problem"),
}


def _ref_response(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/responses/{name}"}


# -- from routes and plans to operations --------------------------------------------
def generate_openapi(
    routes: Iterable[Route],
    *,
    title: str,
    version: str,
    forbid_extra: bool = True,
    hooks: Sequence[OpenAPIHook] = (),
) -> dict[str, Any]:
    """The OpenAPI document for ``routes``, whose plans are built (``route.plan``).
    Each of ``hooks`` (plugins', see ``App.add_openapi_hook``) may then change
    every operation in place."""
    registry = SchemaRegistry(forbid_extra=forbid_extra, reserved=_PROBLEM_SCHEMAS)
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    security_schemes: dict[str, Mapping[str, Any]] = {}
    tags: dict[str, None] = {}  # first-seen order
    linked: list[tuple[str, str]] = []  # (route, operationId it links to), checked at the end
    for route in routes:
        if not route.include_in_schema or route.plan is None:
            continue
        path, convertors = _template(route.path)
        item = paths.setdefault(path, {})
        methods = {m.lower() for m in route.methods}
        if "get" in methods:
            methods.discard("head")
        for method in [m for m in _METHOD_ORDER if m in methods]:
            if method in item:
                continue  # /items/{id:int} and /items/{id}: one OpenAPI path; the first wins
            operation = _operation(
                route, method, convertors, registry, operation_ids, security_schemes
            )
            for hook in hooks:
                hook(route.view(), method, operation)
            tags.update(dict.fromkeys(operation.get("tags", ())))
            item[method] = operation
            linked.extend((_where(route), target) for target in _declared_links(route))
    for where, target in linked:
        if target not in operation_ids:
            raise ConfigurationError(
                f"{where}: links= names the operation {target!r}, which the document does "
                f"not have; its operationIds are {sorted(operation_ids)}"
            )
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version},
    }
    if tags:
        document["tags"] = [{"name": tag} for tag in tags]
    document["paths"] = {
        path: {method: item[method] for method in _METHOD_ORDER if method in item}
        for path, item in paths.items()
        if item
    }
    document["components"] = {
        "schemas": {**_PROBLEM_SCHEMAS, **dict(sorted(registry.components.items()))},
        "responses": _PROBLEM_RESPONSES,
    }
    if security_schemes:
        document["components"]["securitySchemes"] = {
            name: dict(scheme) for name, scheme in sorted(security_schemes.items())
        }
    return document


def _template(path: str) -> tuple[str, list[tuple[str, str]]]:
    """``/items/{item_id:int}`` -> ``("/items/{item_id}", [("item_id", "int")])``."""
    convertors = [(m.group(1), m.group(2) or "str") for m in _PATH_PARAM.finditer(path)]
    return _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", path), convertors


def _operation(
    route: Route,
    method: str,
    convertors: list[tuple[str, str]],
    registry: SchemaRegistry,
    operation_ids: set[str],
    security_schemes: dict[str, Mapping[str, Any]],
) -> dict[str, Any]:
    assert route.plan is not None
    dependants = list(route.plan.dependant.walk())
    operation: dict[str, Any] = {}
    tags = route.options.get("tags")
    if tags:
        operation["tags"] = [tags] if isinstance(tags, str) else [str(t) for t in tags]
    summary, description = _docstring(route.endpoint)
    summary = route.options.get("summary", summary)
    description = route.options.get("description", description)
    if summary:
        operation["summary"] = summary
    if description:
        operation["description"] = description
    operation["operationId"] = _operation_id(route, method, operation_ids)
    parameters, validated = _parameters(dependants, convertors, registry)
    if parameters:
        operation["parameters"] = parameters
    body = _request_body(dependants, registry) or _form_body(dependants, registry)
    if body is not None:
        operation["requestBody"] = body
        validated = True
    operation["responses"] = _responses(route, registry, validated)
    links = _declared_links(route)
    if links:
        _add_links(operation["responses"], links, route)
    if route.options.get("deprecated"):
        operation["deprecated"] = True
    security = _security(dependants, security_schemes, _where(route))
    if security is not None:
        operation["security"] = security
    return operation


def _docstring(endpoint: Callable[..., Any]) -> tuple[str, str]:
    """The first line of the docstring and the rest."""
    target: Any = endpoint
    if not (inspect.isroutine(endpoint) or inspect.isclass(endpoint)):
        target = type(endpoint)  # a callable object: its class says what it does
    doc = inspect.getdoc(target) or ""
    first, _, rest = doc.strip().partition("\n")
    return first.strip(), rest.strip()


def _operation_id(route: Route, method: str, taken: set[str]) -> str:
    base = str(route.name or getattr(route.endpoint, "__name__", None) or "operation")
    if len([m for m in route.methods if m not in ("HEAD", "OPTIONS")]) > 1:
        base = f"{base}_{method}"
    candidate, number = base, 2
    while candidate in taken:  # the same endpoint under two prefixes: /v1, /v2
        candidate, number = f"{base}_{number}", number + 1
    taken.add(candidate)
    return candidate


def _parameters(
    dependants: list[Dependant], convertors: list[tuple[str, str]], registry: SchemaRegistry
) -> tuple[list[dict[str, Any]], bool]:
    """Path parameters from the template, then every query, header and cookie
    value the endpoint, its dependencies and guards read - each listed once."""
    path_annotations: dict[str, Any] = {}
    validated = False
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for dependant in dependants:
        hints: dict[str, Any] | None = None
        for source in dependant.sources:
            if isinstance(source, PathSource):
                validated = validated or source.convert is not None
                if source.name not in path_annotations:
                    hints = _hints(dependant.call) if hints is None else hints
                    if source.name in hints:
                        path_annotations[source.name] = hints[source.name]
            elif isinstance(source, TextSource) and source.location != "form":
                validated = True
                key = (source.location, source.key)
                required = source.default is _EMPTY
                if key in found:
                    # Read by two dependencies: required if either requires it.
                    found[key]["required"] = found[key]["required"] or required
                    continue
                found[key] = _text_parameter(source, required, registry)
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _path_schema(kind, path_annotations.get(name), registry),
        }
        for name, kind in convertors
    ]
    return [*parameters, *found.values()], validated


def _text_parameter(
    source: TextSource, required: bool, registry: SchemaRegistry
) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": source.key, "in": source.location, "required": required}
    description = source.marker.description if source.marker is not None else ""
    if description:
        parameter["description"] = description
    schema = registry.parameter_schema(source.annotation)
    if not required and source.default is not None:
        known, value = _json_value(source.default)
        if known:
            schema = {**schema, "default": value}
    parameter["schema"] = schema
    return parameter


def _path_schema(kind: str, annotation: Any, registry: SchemaRegistry) -> dict[str, Any]:
    """What the converter lets through, narrowed by what the endpoint declared."""
    schema = dict(_CONVERTOR_SCHEMAS.get(kind, {"type": "string"}))
    if annotation is None:
        return schema
    declared = registry.parameter_schema(annotation)
    if kind in ("str", "path"):
        if declared.get("type", "string") != "string" or declared.keys() & {"$ref", "enum"}:
            return declared  # e.g. {code} with code: int - converted from the text
        return {**schema, **declared}
    for keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        if keyword in declared:
            schema[keyword] = declared[keyword]
    if isinstance(schema.get("minimum"), int | float) and schema["minimum"] < 0:
        schema["minimum"] = 0  # the int and float converters match digits only
    if kind == "int" and schema["maximum"] > INT_MAX:
        schema["maximum"] = INT_MAX  # nor does the int converter match beyond int64
    return schema


def _hints(call: Callable[..., Any]) -> dict[str, Any]:
    """The annotations of ``call``'s parameters, resolved; {} if they cannot be."""
    target: Any = call
    if isinstance(call, type):
        target = call.__init__  # type: ignore[misc]
    elif not (inspect.isfunction(call) or inspect.ismethod(call)):
        target = type(call).__call__
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:
        return dict(getattr(target, "__annotations__", {}))


def _request_body(
    dependants: list[Dependant], registry: SchemaRegistry
) -> dict[str, Any] | None:
    sources = [s for d in dependants for s in d.sources if isinstance(s, BodySource)]
    if not sources:
        return None
    schemas: list[dict[str, Any]] = []
    for source in sources:
        schema = registry.schema(source.annotation)
        if schema not in schemas:
            schemas.append(schema)
    return {
        # Two dependencies reading the same body as two types: it must be both.
        "required": any(s.required for s in sources),
        "content": {
            "application/json": {
                "schema": schemas[0] if len(schemas) == 1 else {"allOf": schemas}
            }
        },
    }


def _form_body(dependants: list[Dependant], registry: SchemaRegistry) -> dict[str, Any] | None:
    """Form fields and files as one object schema: ``multipart/form-data``
    when there is a file (each ``format: binary``), else either form type."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    has_file = False
    for dependant in dependants:
        for source in dependant.sources:
            if isinstance(source, FileSource):
                has_file = True
                schema: dict[str, Any] = {"type": "string", "format": "binary"}
                if source.media_types:
                    schema["description"] = "one of " + ", ".join(source.media_types) + (
                        " (checked from the content)"
                    )
                if source.is_list:
                    schema = {"type": "array", "items": schema}
            elif isinstance(source, TextSource) and source.location == "form":
                schema = registry.parameter_schema(source.annotation)
                if source.default is not _EMPTY and source.default is not None:
                    known, value = _json_value(source.default)
                    if known:
                        schema = {**schema, "default": value}
            else:
                continue
            if source.key not in properties:
                properties[source.key] = schema
            if source.default is _EMPTY and source.key not in required:
                required.append(source.key)
    if not properties:
        return None
    body_schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        body_schema["required"] = required
    kinds = ["multipart/form-data"] if has_file else [
        "application/x-www-form-urlencoded", "multipart/form-data"
    ]
    return {
        "required": bool(required),
        "content": {kind: {"schema": body_schema} for kind in kinds},
    }


def _responses(route: Route, registry: SchemaRegistry, validated: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    returns = _hints(route.endpoint).get("return", _EMPTY)
    base, _ = split_annotated(returns)
    status = route.status_code
    if isinstance(base, type) and issubclass(base, Response):
        # A returned Response carries its own status, which the code cannot be
        # asked for; a declared status_code is the author saying what it is.
        code = status or (307 if issubclass(base, RedirectResponse) else 200)
        media = base.media_type
        content: dict[str, Any] | None = None
        if media:
            content = {media: {"schema": {"type": "string"}} if media.startswith("text/") else {}}
        responses[str(code)] = _described(code, content)
    elif base is None or base is _NONE_TYPE:
        responses[str(status or 204)] = _described(status or 204, None)
    else:
        inner = _optional_inner(base)
        code = status or 200
        responses[str(code)] = _described(code, _content(inner or returns, registry, returns))
        if inner is not None and status is None:
            responses["204"] = _described(204, None)  # the endpoint returned None
    if validated:
        responses["422"] = _ref_response("ValidationFailed")
    for code_text, declared in _declared_responses(route).items():
        responses[code_text] = _declared_response(code_text, declared, validated)
    responses["4XX"] = _ref_response("ClientError")
    responses["5XX"] = _ref_response("ServerError")
    # In status order, each range ("4XX") after its codes, as people read them.
    return dict(sorted(responses.items(), key=lambda item: (item[0][0], item[0])))


def _declared_response(code_text: str, declared: str | Mapping[str, Any], validated: bool) -> Any:
    """One entry of a route's ``responses`` option, as an OpenAPI Response Object."""
    if not isinstance(declared, str):
        return dict(declared)  # a Response Object written by hand: taken as it is
    if code_text[0] in "123":
        return {"description": declared}
    if code_text == "422" and validated:
        # The endpoint's own 422 and the validation's share the status code.
        both = f"{declared} Or the input failed validation: see errors."
        return _problem_response(both, "ValidationProblem")
    return _problem_response(declared, "Problem")


_STATUS_RANGE = re.compile(r"[1-5]XX")


def _declared_responses(route: Any) -> dict[str, str | Mapping[str, Any]]:
    """A route's ``responses`` option - ``{404: "There is no such item."}`` - checked.

    A status is an int (or its digits) from 100 to 599, or a range such as
    ``"4XX"``; a value is a description (``str``; an error status gets the
    problem-details schema) or a whole OpenAPI Response Object (``dict``).
    """
    declared = getattr(route, "options", {}).get("responses")
    if declared is None:
        return {}
    where = _where(route)
    if not isinstance(declared, Mapping):
        raise ConfigurationError(
            f"{where}: responses={declared!r} is not a dict; write responses={{404: "
            "'There is no such item.'}"
        )
    checked: dict[str, str | Mapping[str, Any]] = {}
    for status, value in declared.items():
        text = str(status)
        is_code = isinstance(status, int | str) and not isinstance(status, bool) and (
            (text.isdigit() and 100 <= int(text) <= 599) or bool(_STATUS_RANGE.fullmatch(text))
        )
        if not is_code:
            raise ConfigurationError(
                f"{where}: {status!r} in responses= is not a status code; use 100-599, or "
                "'4XX' for a range"
            )
        if not isinstance(value, str | Mapping):
            raise ConfigurationError(
                f"{where}: responses[{status!r}] is {value!r}; give a description (str) or "
                "an OpenAPI Response Object (dict)"
            )
        checked[text] = value
    return checked


def _where(route: Any) -> str:
    """``route GET /items/{item_id:int}``, for error messages."""
    methods = sorted(route.methods - {"HEAD"} if "GET" in route.methods else route.methods)
    return f"route {','.join(methods)} {route.path}"


def _declared_links(route: Any) -> dict[str, Mapping[str, Any]]:
    """A route's ``links`` option - ``{"read_user": {"user_id": "$response.body#/id"}}``:
    the operations its success response leads to, each with the values of its
    parameters (OpenAPI runtime expressions, or constants) - checked. The key
    ``requestBody`` (OpenAPI's name) gives the body, or some of its fields."""
    declared = getattr(route, "options", {}).get("links")
    if declared is None:
        return {}
    if not isinstance(declared, Mapping) or not all(
        isinstance(target, str)
        and isinstance(parameters, Mapping)
        and all(isinstance(name, str) for name in parameters)
        for target, parameters in declared.items()
    ):
        raise ConfigurationError(
            f"{_where(route)}: links={declared!r} is not a dict from operationId to "
            "parameters; write links={'read_user': {'user_id': '$response.body#/id'}}"
        )
    return dict(declared)


def _add_links(
    responses: dict[str, Any], links: dict[str, Mapping[str, Any]], route: Route
) -> None:
    """Put OpenAPI Link Objects on the success response - the route's
    ``status_code``, else its first 2xx: a client (or a fuzzer's stateful phase)
    learns that the id in this answer is the ``user_id`` of that operation."""
    declared = str(route.status_code)
    success = declared if declared in responses else next(
        (code for code in responses if code.startswith("2")), None
    )
    if success is None:
        raise ConfigurationError(f"{_where(route)}: links= needs a 2xx response to start from")
    responses[success] = {
        **responses[success],
        "links": {target: _link(target, values) for target, values in links.items()},
    }


def _link(target: str, values: Mapping[str, Any]) -> dict[str, Any]:
    link: dict[str, Any] = {"operationId": target}
    parameters = {name: value for name, value in values.items() if name != "requestBody"}
    if parameters:
        link["parameters"] = parameters
    if "requestBody" in values:
        link["requestBody"] = values["requestBody"]
    return link


def _content(annotation: Any, registry: SchemaRegistry, declared: Any) -> dict[str, Any] | None:
    """The media type and schema of a return value (``to_response`` in responses.py)."""
    if declared is _EMPTY:
        return None  # not annotated: nothing honest to say about the body
    base, _ = split_annotated(annotation)
    if base is str:
        return {"text/plain": {"schema": {"type": "string"}}}
    if base is bytes:
        return {"application/octet-stream": {}}
    return {"application/json": {"schema": registry.schema(annotation)}}


def _described(status: int, content: dict[str, Any] | None) -> dict[str, Any]:
    try:
        description = HTTPStatus(status).phrase
    except ValueError:
        description = "Response"
    response: dict[str, Any] = {"description": description}
    if content is not None and status not in (204, 304):
        response["content"] = content
    return response


# -- the app's document ---------------------------------------------------------------
def openapi_document(app: App) -> dict[str, Any]:
    """The document for ``app``. After startup the routes' own plans are read;
    before, plans are built for copies of the routes, so the app stays open
    for more routes (calling this does not start the app)."""
    if app.started:
        routes: Iterable[Route] = app.router.all_routes()
    else:
        builder = PlanBuilder(app.providers, forbid_extra=app.reject_unknown_fields)
        settings = RouteSettings(builder=builder, dependencies=app.dependencies)
        routes = [_planned_copy(route, settings) for route in app.routes if route.include_in_schema]
    return generate_openapi(
        routes,
        title=app.title,
        version=app.version,
        forbid_extra=app.reject_unknown_fields,
        hooks=app.openapi_hooks,
    )


def _planned_copy(route: Route, settings: RouteSettings) -> Route:
    copy = Route(
        route.path,
        route.endpoint,
        methods=sorted(route.methods),
        name=route.name,
        include_in_schema=route.include_in_schema,
        dependencies=route.dependencies,
        status_code=route.status_code,
        options=route.options,
    )
    copy.prepare(settings)
    return copy


# -- serving it ---------------------------------------------------------------------
def add_openapi_routes(app: App) -> None:
    """Register ``GET openapi_url`` and ``GET docs_url`` (called by ``App.build``).
    The docs page needs the document, so it is served only when both are on."""
    openapi_url, docs_url = app.openapi_url, app.docs_url
    for route in app.router.iter_routes():
        # A malformed option fails at startup, not in /docs.
        _declared_responses(route)
        _declared_links(route)
    if openapi_url is None:
        return
    taken = {route.path for route in app.router.iter_routes() if "GET" in route.methods}
    for url, setting in ((openapi_url, "openapi_url"), (docs_url, "docs_url")):
        if url is not None and url in taken:
            raise ConfigurationError(
                f"route GET {url} clashes with the OpenAPI {setting}; pass "
                f"App({setting}='/another/path'), or App({setting}=None) to turn it off"
            )
    encoded: list[bytes] = []  # the document, encoded on the first request

    async def openapi_json() -> Response:
        if not encoded:
            encoded.append(json_dumps(app.openapi()))
        return Response(encoded[0], media_type="application/json")

    app.add_route(
        openapi_url, openapi_json, ["GET"], name="minimal_asgi.openapi", include_in_schema=False
    )
    if docs_url is None:
        return
    # Done once: the variant chosen (Swagger UI if asked for and installed),
    # its files read and hashed.
    page = DocsPage(app.docs_ui)
    assets_path = docs_url.rstrip("/") + "/assets"

    async def openapi_docs(request: Request) -> HTMLResponse:
        # Behind a proxy that serves the app under a prefix, the page must
        # fetch the document (and its files, and the tried requests) under
        # that prefix too.
        root = request.scope.get("root_path", "")
        return HTMLResponse(
            page.html(app.title, root + openapi_url, root + assets_path, root),
            headers=page.headers,
        )

    async def openapi_docs_asset(name: str) -> FileResponse:
        # Only the page's own files, looked up by name: nothing else on disk
        # can be reached from here.
        asset = page.assets.get(name)
        if asset is None:
            raise HTTPException(404, "The docs page has no such file.")
        return FileResponse(asset.path, media_type=asset.media_type, headers=ASSET_HEADERS)

    app.add_route(
        docs_url, openapi_docs, ["GET"], name="minimal_asgi.docs", include_in_schema=False
    )
    app.add_route(
        assets_path + "/{name}",
        openapi_docs_asset,
        ["GET"],
        name="minimal_asgi.docs_asset",
        include_in_schema=False,
    )

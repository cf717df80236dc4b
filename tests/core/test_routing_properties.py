"""Routing properties, checked on generated route tables.

The router is compared with ``reference_match`` below: a deliberately naive
statement of the precedence rule the segment tree implements. Among the routes
whose pattern matches a path, the winner is the one whose segments are most
specific, compared left to right - a static segment, then ``int``, ``uuid``,
``float``, ``str``, and a ``{name:path}`` catch-all last. It looks at every
route on every call; the tree is only allowed to be faster, not different.
"""

import math
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_asgi import App, Router
from minimal_asgi.convertors import CONVERTORS, INT_MAX
from minimal_asgi.routing import Route
from minimal_asgi.types import Message

# Any character a decoded path can hold but "/" (no lone surrogates: percent-
# decoding replaces invalid UTF-8, so they never reach an app).
NOT_SLASH = st.characters(codec="utf-8", exclude_characters="/")
RANK = {"static": 0, "int": 1, "uuid": 2, "float": 3, "str": 4, "path": 5}
_INT = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
STATIC_ALPHABET = "ab"  # few letters: routes share prefixes, so the tree branches


@dataclass(frozen=True)
class RouteSpec:
    """A generated route: ``segments`` are ("static", text) or (converter, "")."""

    segments: tuple[tuple[str, str], ...]
    method: str

    @property
    def pattern(self) -> str:
        return "/" + "/".join(
            text if kind == "static" else f"{{p{i}:{kind}}}"
            for i, (kind, text) in enumerate(self.segments)
        )

    @property
    def shape(self) -> tuple[tuple[str, str], ...]:
        """Two specs with the same shape and method would be a route conflict."""
        return self.segments


def _convert(kind: str, segment: str) -> Any:
    """What the reference expects a converter to make of a segment (or None)."""
    try:
        if kind == "int" and _INT.fullmatch(segment):
            number = int(segment)
            return number if number <= INT_MAX else None  # ids are int64
        if kind == "float" and _FLOAT.fullmatch(segment):
            real = float(segment)
            return real if math.isfinite(real) else None  # 400 nines: no match
    except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
        return None
    if kind == "uuid" and _UUID.fullmatch(segment):
        return uuid.UUID(segment)
    if kind == "str" and segment:
        return segment
    return None


def _match_one(spec: RouteSpec, segments: list[str]) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    for i, (kind, text) in enumerate(spec.segments):
        if kind == "path":
            if i > len(segments) - 1:
                return None
            values[f"p{i}"] = "/".join(segments[i:])
            return values
        if i >= len(segments):
            return None
        if kind == "static":
            if segments[i] != text:
                return None
            continue
        value = _convert(kind, segments[i])
        if value is None:
            return None
        values[f"p{i}"] = value
    return values if len(spec.segments) == len(segments) else None


def reference_match(
    specs: list[RouteSpec], path: str, method: str
) -> tuple[RouteSpec | None, dict[str, Any], set[str]]:
    """The route for ``method`` at ``path`` by the precedence rule; if none, the
    methods the path does allow (what an ``Allow`` header would list)."""
    segments = path[1:].split("/")
    matches = [
        (spec, values) for spec in specs if (values := _match_one(spec, segments)) is not None
    ]
    for_method = [
        (spec, values)
        for spec, values in matches
        if spec.method == method or (method == "HEAD" and spec.method == "GET")
    ]
    if for_method:
        spec, values = min(for_method, key=lambda m: [RANK[kind] for kind, _ in m[0].segments])
        return spec, values, set()
    allowed = {spec.method for spec, _ in matches}
    if allowed:
        allowed |= {"OPTIONS"} | ({"HEAD"} if "GET" in allowed else set())
    return None, {}, allowed


# -- generators ---------------------------------------------------------------------

param_specs = st.sampled_from(["int", "uuid", "float", "str"]).map(lambda kind: (kind, ""))
segment_specs = st.one_of(
    st.text(STATIC_ALPHABET, min_size=1, max_size=2).map(lambda text: ("static", text)),
    param_specs,
)
METHODS = ["GET", "GET", "GET", "POST", "DELETE"]  # mostly GET: more routes compete


@st.composite
def route_tables(draw: st.DrawFn) -> list[RouteSpec]:
    """Up to 8 routes that are variations of one base pattern - the same shape
    with one segment of another kind, a prefix of it, a longer one, a catch-all -
    so that they compete for the same paths; no two of them conflict."""
    base = draw(st.lists(segment_specs, min_size=1, max_size=4))
    specs: list[RouteSpec] = []
    for _ in range(draw(st.integers(1, 8))):
        segments = list(base)
        variation = draw(st.sampled_from(["same", "prefix", "longer"]))
        if variation == "prefix":
            segments = segments[: draw(st.integers(0, len(segments)))]
        elif variation == "longer":
            segments += draw(st.lists(segment_specs, min_size=1, max_size=2))
        if draw(st.booleans()) and segments:  # often a competing converter at one position
            segments[draw(st.integers(0, len(segments) - 1))] = draw(
                st.one_of(param_specs, segment_specs)
            )
        if draw(st.booleans()):
            segments.append(("path", ""))
        spec = RouteSpec(tuple(segments), draw(st.sampled_from(METHODS)))
        if segments and all((s.shape, s.method) != (spec.shape, spec.method) for s in specs):
            specs.append(spec)
    if not specs:
        specs.append(RouteSpec(tuple(base), "GET"))
    return specs


def _narrowest_is_str(text: str) -> bool:
    """A str value that no static segment or narrower converter would claim first."""
    return not (
        re.fullmatch(f"[{STATIC_ALPHABET}]+", text)
        or _INT.fullmatch(text)
        or _FLOAT.fullmatch(text)
        or _UUID.fullmatch(text)
    )


VALUES: dict[str, st.SearchStrategy[Any]] = {
    "int": st.integers(min_value=0, max_value=INT_MAX),
    "float": st.floats(min_value=0.0, allow_nan=False, allow_infinity=False),
    "uuid": st.uuids(),
    "str": st.text(NOT_SLASH, min_size=1).filter(_narrowest_is_str),
    "path": st.text(),
}


@st.composite
def tables_with_a_target(
    draw: st.DrawFn,
) -> tuple[list[RouteSpec], int, dict[str, Any]]:
    specs = draw(route_tables())
    index = draw(st.integers(0, len(specs) - 1))
    values = {
        f"p{i}": draw(VALUES[kind])
        for i, (kind, _) in enumerate(specs[index].segments)
        if kind != "static"
    }
    return specs, index, values


def _endpoint(label: str) -> Any:
    async def endpoint() -> str:
        return label

    return endpoint


def build_router(specs: list[RouteSpec]) -> tuple[Router, dict[str, RouteSpec]]:
    router = Router()
    for i, spec in enumerate(specs):
        router.add_route(spec.pattern, _endpoint(f"r{i}"), [spec.method], name=f"r{i}")
    router.build()
    return router, {f"r{i}": spec for i, spec in enumerate(specs)}


def _found(route: Route | None, values: Any) -> tuple[str | None, dict[str, Any]]:
    if route is None:
        return None, {}
    return route.name, dict(zip(route.param_names, values, strict=True))


# -- properties -----------------------------------------------------------------------


@settings(deadline=None, max_examples=500)
@given(tables_with_a_target())
def test_url_path_for_then_match_returns_the_same_route_and_values(
    case: tuple[list[RouteSpec], int, dict[str, Any]],
) -> None:
    specs, index, values = case
    router, _ = build_router(specs)
    target = specs[index]
    url = router.url_path_for(f"r{index}", **values)
    path = unquote(url)  # what a server puts in scope["path"]
    route, found_values, _ = router.match(path, target.method)

    if all(kind != "path" for kind, _ in target.segments):
        # Each generated value is of the narrowest kind that fits it, so no
        # other route can be more specific than the target on this path.
        assert _found(route, found_values) == (f"r{index}", values)
    else:
        # A catch-all's value can also spell out segments that a more specific
        # route claims first; then that route must be the one found.
        winner, expected_values, _ = reference_match(specs, path, target.method)
        assert winner is not None
        assert _found(route, found_values) == (f"r{specs.index(winner)}", expected_values)


any_paths = st.lists(st.text(max_size=8), min_size=1, max_size=6).map(
    lambda parts: "/".join(["", *parts])
)
# For each kind of segment, texts that almost fit it: what a sloppy converter
# would let through, or what a narrower route might claim first.
_A_UUID = "0f8c4e5a-6b1d-4c0e-9a57-2f3e4d5c6b7a"
NEAR_MISSES = {
    "static": st.sampled_from(["", "A", "aB", "aaa", "%61"]),
    "int": st.sampled_from(
        ["", " 1", "-1", "+1", "1_0", "\u0661", "\u00b2", "\uff11", "1.5", "1e5"]
    ),
    "float": st.sampled_from(["", "1e5", "nan", "inf", "1.", ".5", "-1.5", "1,5", "\u0661.5", "7"]),
    "uuid": st.sampled_from(
        [
            "",
            _A_UUID.replace("-", ""),  # no hyphens
            "{" + _A_UUID + "}",
            "urn:uuid:" + _A_UUID,
            _A_UUID[:-1],  # a digit short
            _A_UUID[:-1] + "g",  # not hex
            _A_UUID.upper(),  # fits: uuids are case-insensitive
        ]
    ),
    "str": st.sampled_from(["", "a", "12", "0.5", _A_UUID]),
}
near_misses = st.one_of(*NEAR_MISSES.values())
segment_texts = st.one_of(
    near_misses,
    st.text(STATIC_ALPHABET, min_size=1, max_size=2),
    st.integers(min_value=0).map(str),
    st.floats(min_value=0.0, allow_nan=False, allow_infinity=False).map(repr),
    st.uuids().map(str),
    st.text(NOT_SLASH, max_size=6),
)


@st.composite
def tables_and_paths(draw: st.DrawFn) -> tuple[list[RouteSpec], str]:
    """A route table, and a path that is either anything at all or shaped like one
    of the routes - each segment its own text or some other, often near, value,
    with a segment more or less at the end."""
    specs = draw(route_tables())
    if draw(st.integers(0, 3)) == 0:
        return specs, draw(any_paths)
    spec = draw(st.sampled_from(specs))
    parts = []
    for kind, text in spec.segments:
        if kind == "static":
            parts.append(text)
        elif kind == "path":
            parts.append(draw(st.text()))
        else:
            parts.append(unquote(CONVERTORS[kind].to_string(draw(VALUES[kind]))))
    if draw(st.booleans()):  # one segment becomes some other text, often a near miss
        i = draw(st.integers(0, len(parts) - 1))
        kind = spec.segments[i][0]
        parts[i] = draw(st.one_of(NEAR_MISSES.get(kind, near_misses), segment_texts))
    ending = draw(st.sampled_from(["same", "same", "same", "extra", "slash", "shorter"]))
    if ending == "extra":
        parts.append(draw(segment_texts))
    elif ending == "slash":
        parts.append("")
    elif ending == "shorter" and len(parts) > 1:
        parts.pop()
    return specs, "/".join(["", *parts])


methods = st.sampled_from(["GET", "GET", "GET", "HEAD", "POST", "DELETE", "PUT", "OPTIONS"])


@settings(deadline=None, max_examples=1000)
@given(tables_and_paths(), methods)
def test_match_agrees_with_the_reference_on_any_path(
    case: tuple[list[RouteSpec], str], method: str
) -> None:
    specs, path = case
    router, by_name = build_router(specs)
    route, values, allowed = router.match(path, method)
    winner, expected_values, expected_allowed = reference_match(specs, path, method)
    if winner is None:
        assert route is None
        assert allowed == expected_allowed
    else:
        name, found_values = _found(route, values)
        assert (by_name.get(name or ""), found_values) == (winner, expected_values)


async def _status(app: App, method: str, path: str) -> int:
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": quote(path).encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    return int(messages[0]["status"])


@settings(deadline=None, max_examples=200)
@given(tables_and_paths(), methods)
def test_any_path_gets_an_answer_never_an_exception(
    case: tuple[list[RouteSpec], str], method: str
) -> None:
    specs, path = case
    app = App()
    for i, spec in enumerate(specs):
        app.add_route(spec.pattern, _endpoint(f"r{i}"), [spec.method], name=f"r{i}")
    status = anyio.run(_status, app, method, path)
    # The route answered, OPTIONS was answered for it, a trailing slash was
    # redirected, or the router said why not: nothing else, and no crash.
    assert status in {200, 204, 307, 404, 405}

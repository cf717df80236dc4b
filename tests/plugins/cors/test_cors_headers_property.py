"""The CORS plugin's response headers, against a plain model of the rule.

The plugin takes a short way when the endpoint's response has neither ``Vary``
nor a CORS header of its own (append the headers prebuilt for that origin),
and a long way otherwise (keep the endpoint's CORS headers, merge ``Origin``
into its ``Vary``). Hypothesis draws the configuration, the request's
``Origin`` and the endpoint's header list - repeated, odd and empty ones
included - and the test compares the exact header list the plugin sends with
what ``expected`` below, written the plain way, says it must be.

The middleware is called as a bare ASGI app, so the header lists are compared
exactly as sent (no client in between to join or reorder them).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_asgi import Message, Receive, Scope, Send
from minimal_asgi_cors import CORSMiddleware

A = "https://a.example"
B = "https://b.example"
PREVIEW = "https://pr-7.preview.example"  # matched by REGEX only
REGEX = r"https://pr-\d+\.preview\.example"

Header = tuple[bytes, bytes]

CONFIGS: list[dict[str, Any]] = [
    {"allow_origins": [A]},
    {"allow_origins": [A, "null"], "allow_credentials": True, "expose_headers": ["X-Total"]},
    {"allow_origins": ["*"]},
    {"allow_origins": ["*"], "expose_headers": ["X-Total", "X-Page"]},
    {"allow_origins": [A], "allow_origin_regex": REGEX, "allow_credentials": True},
    {"allow_origin_regex": REGEX},
    {},
]

NAMES = [b"content-type", b"vary", b"access-control-allow-origin",
         b"access-control-allow-credentials", b"access-control-expose-headers", b"x-other"]
VALUES = [b"Accept-Encoding", b"origin", b"Origin", b"*", b"Accept, Origin", b"Accept",
          b"", b"https://c.example", b"true"]
endpoint_headers = st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(VALUES)),
                            max_size=6)


def allowed(config: dict[str, Any], origin: str) -> bool:
    """Is ``origin`` allowed: listed, matched in full by the regex, or covered by "*"
    (which never covers "null")."""
    origins = config.get("allow_origins", [])
    if origin in origins:
        return True
    regex = config.get("allow_origin_regex")
    if regex and re.fullmatch(regex, origin):
        return True
    return "*" in origins and origin != "null"


def expected(config: dict[str, Any], origin: str | None, sent: list[Header]) -> list[Header]:
    """The endpoint's headers, then each CORS header it lacks, then Vary: Origin
    merged into its first Vary (unless that already names Origin or is "*")."""
    result = list(sent)
    names = {name for name, _ in sent}
    if origin is not None and allowed(config, origin):
        star = "*" in config.get("allow_origins", [])
        cors = [(b"access-control-allow-origin", b"*" if star else origin.encode())]
        if config.get("allow_credentials"):
            cors.append((b"access-control-allow-credentials", b"true"))
        if config.get("expose_headers"):
            cors.append((b"access-control-expose-headers",
                         ", ".join(config["expose_headers"]).encode()))
        result += [pair for pair in cors if pair[0] not in names]
    for index, (name, value) in enumerate(result):
        if name == b"vary":
            fields = [field.strip().lower() for field in value.split(b",")]
            if b"origin" not in fields and b"*" not in fields:
                result[index] = (name, value + b", Origin")
            return result
    return [*result, (b"vary", b"Origin")]


def through_cors(config: dict[str, Any], origin: str | None, sent: Any) -> list[Any]:
    """The messages the middleware sends when the endpoint sends ``sent`` as its headers."""

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": sent})
        await send({"type": "http.response.body", "body": b"ok"})

    headers = [(b"host", b"testserver"), (b"accept", b"*/*")]
    if origin is not None:
        headers.append((b"origin", origin.encode("latin-1")))
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        messages.append(message)

    asyncio.run(CORSMiddleware(endpoint, **config)(scope, receive, send))
    return messages


@settings(max_examples=300, deadline=None)
@given(
    config=st.sampled_from(CONFIGS),
    origin=st.sampled_from([None, A, B, "null", PREVIEW, PREVIEW + ".evil"]),
    sent=endpoint_headers,
)
def test_response_headers_follow_the_rule(
    config: dict[str, Any], origin: str | None, sent: list[Header]
) -> None:
    start, body = through_cors(config, origin, sent)
    assert start["headers"] == expected(config, origin, sent)
    assert start["status"] == 200
    assert body == {"type": "http.response.body", "body": b"ok"}


@settings(deadline=None)  # no timing in tests: a loaded machine is slow, not wrong
@given(origin=st.sampled_from([None, A, B]), sent=endpoint_headers)
def test_the_endpoints_header_list_is_left_as_it_was(origin: str | None,
                                                    sent: list[Header]) -> None:
    # An app may send one prebuilt list on every response: changing it in place
    # would add the headers again on each.
    before = list(sent)
    through_cors({"allow_origins": [A]}, origin, sent)
    assert sent == before


def test_a_tuple_of_headers_is_accepted_like_a_list() -> None:
    (start, _) = through_cors({"allow_origins": [A]}, A, ((b"content-type", b"text/plain"),))
    assert start["headers"] == [
        (b"content-type", b"text/plain"),
        (b"access-control-allow-origin", A.encode()),
        (b"vary", b"Origin"),
    ]


def test_a_start_message_without_headers_gets_them() -> None:
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body", "body": b""})

    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"origin", A.encode())]}
    asyncio.run(CORSMiddleware(endpoint, allow_origins=[A])(scope, receive, send))
    assert messages[0]["headers"] == [(b"access-control-allow-origin", A.encode()),
                                      (b"vary", b"Origin")]


def test_the_last_of_repeated_origin_headers_is_the_one_read() -> None:
    # As it always was: the header scan keeps the last one it sees.
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    for first, last, answer in ((B, A, A.encode()), (A, B, None)):
        messages: list[Message] = []

        async def send(message: Message, into: list[Message] = messages) -> None:
            into.append(message)

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "method": "GET", "path": "/",
                 "headers": [(b"origin", first.encode()), (b"origin", last.encode())]}
        asyncio.run(CORSMiddleware(endpoint, allow_origins=[A])(scope, receive, send))
        assert dict(messages[0]["headers"]).get(b"access-control-allow-origin") == answer


# -- preflights: the requested headers, read once and remembered ------------------------------
def preflight(middleware: CORSMiddleware, asked: bytes, method: bytes = b"PUT") -> Message:
    """The start message of the answer to a preflight from A asking for ``asked``."""

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("a preflight must not reach the endpoint")

    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "OPTIONS", "path": "/", "headers": [
        (b"origin", A.encode()), (b"access-control-request-method", method),
        (b"access-control-request-headers", asked)]}
    asyncio.run(middleware(scope, receive, send))
    return messages[0]


ASKABLE = ["X-Token", "x-token", "Content-Type", "X-Other", "accept", " ", ""]


@settings(max_examples=200, deadline=None)
@given(asked=st.lists(st.sampled_from(ASKABLE), max_size=5),
       separator=st.sampled_from([",", ", ", " , "]))
def test_a_preflight_allows_exactly_the_listed_and_safelisted_headers(
    asked: list[str], separator: str
) -> None:
    middleware = CORSMiddleware(lambda *_: None, allow_origins=[A], allow_methods=["PUT"],
                                allow_headers=["X-Token"])
    raw = separator.join(asked).encode()
    names = [name.strip().lower() for name in asked if name.strip()]
    allowed = all(name in {"x-token", "content-type", "accept"} for name in names)
    for _ in range(2):  # the second time, the answer comes from the memo: the same answer
        start = preflight(middleware, raw)
        assert start["status"] == (204 if allowed else 400)
        if allowed:
            echoed = dict(start["headers"]).get(b"access-control-allow-headers")
            assert echoed == (", ".join(names).encode() if names else None)


def test_the_memo_of_requested_headers_is_bounded() -> None:
    from minimal_asgi_cors import ASKED_MEMO_SIZE

    middleware = CORSMiddleware(lambda *_: None, allow_origins=[A], allow_methods=["PUT"],
                                allow_headers=["*"])
    for n in range(ASKED_MEMO_SIZE + 50):
        start = preflight(middleware, f"x-made-up-{n}".encode())
        assert dict(start["headers"])[b"access-control-allow-headers"] == f"x-made-up-{n}".encode()
    assert len(middleware.policy.asked_memo) == ASKED_MEMO_SIZE

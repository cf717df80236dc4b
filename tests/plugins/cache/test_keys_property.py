"""Properties of the key and of If-None-Match, over generated inputs."""

from __future__ import annotations

from random import Random
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_asgi import Receive, Scope, Send
from minimal_asgi_cache import Cached, Store
from minimal_asgi_cache.backends import MemoryBackend
from minimal_asgi_cache.responses import ResponseCache, _matches


async def _never_called(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("not called")


CACHE = ResponseCache(
    _never_called,
    Store(MemoryBackend()),
    Cached(ttl=60),
    ttl=60,
    max_bytes=1024,
    session_cookies=None,
    route_path="/search",
)


def key_of(query: str) -> str:
    scope = {
        "scheme": "http",
        "path": "/search",
        "query_string": query.encode(),
        "headers": [(b"host", b"shop.example")],
    }
    return CACHE._key(scope, CACHE._read(scope["headers"]), "")


pairs = st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=8)), max_size=6)


@settings(max_examples=200, derandomize=True)
@given(pairs, st.randoms())
def test_the_order_of_query_parameters_never_changes_the_key(
    items: list[tuple[str, str]], random: Random
) -> None:
    encoded = [f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in items]
    shuffled = list(encoded)
    random.shuffle(shuffled)
    assert key_of("&".join(encoded)) == key_of("&".join(shuffled))


@settings(max_examples=200, derandomize=True)
@given(pairs, pairs)
def test_different_parameters_never_share_a_key(
    first: list[tuple[str, str]], second: list[tuple[str, str]]
) -> None:
    def query(items: list[tuple[str, str]]) -> str:
        return "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in items)

    if sorted(first) != sorted(second):
        assert key_of(query(first)) != key_of(query(second))


etags = st.text(alphabet=st.characters(min_codepoint=0x23, max_codepoint=0x7E), max_size=12)


@settings(max_examples=200, derandomize=True)
@given(etags, st.lists(etags, max_size=4), st.booleans())
def test_if_none_match_matches_exactly_when_the_tag_is_listed(
    current: str, others: list[str], weak: bool
) -> None:
    listed = [f'"{tag}"' for tag in others]
    assert _matches(", ".join(listed).encode(), f'"{current}"') == (current in others)
    with_current = [*listed, f'{"W/" if weak else ""}"{current}"']
    assert _matches(", ".join(with_current).encode(), f'"{current}"')

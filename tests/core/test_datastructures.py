"""The containers a request is made of: multi-dicts, headers, URLs, state."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_asgi import URL, FormData, Headers, MutableHeaders, QueryParams, State
from minimal_asgi.datastructures import MultiDict, check_header_value, encode_query


# -- multi-dicts ------------------------------------------------------------------
def test_a_multidict_gives_the_last_value_of_a_repeated_key() -> None:
    assert MultiDict([("a", "1"), ("a", "2")])["a"] == "2"


def test_a_multidict_getlist_gives_every_value_in_order() -> None:
    d = MultiDict([("a", "1"), ("b", "x"), ("a", "2")])
    assert d.getlist("a") == ["1", "2"]
    assert d.getlist("missing") == []


def test_a_multidict_counts_and_iterates_distinct_keys() -> None:
    d = MultiDict([("a", "1"), ("b", "x"), ("a", "2")])
    assert list(d) == ["a", "b"]
    assert len(d) == 2


def test_a_multidict_keeps_every_pair_in_multi_items() -> None:
    pairs = [("a", "1"), ("b", "x"), ("a", "2")]
    assert MultiDict(pairs).multi_items() == pairs


def test_multidicts_with_the_same_pairs_in_any_order_are_equal() -> None:
    assert MultiDict([("a", "1"), ("b", "2")]) == MultiDict([("b", "2"), ("a", "1")])
    assert MultiDict([("a", "1")]) != MultiDict([("a", "1"), ("a", "1")])


def test_query_params_parse_bytes_and_str_alike() -> None:
    assert QueryParams(b"a=1&a=2&b=%20") == QueryParams("a=1&a=2&b=%20")
    assert QueryParams(b"a=1&a=2&b=%20").getlist("a") == ["1", "2"]
    assert QueryParams("b=%20")["b"] == " "


def test_query_params_accept_a_mapping_or_pairs() -> None:
    assert QueryParams({"a": "1"}) == QueryParams([("a", "1")])


def test_query_params_render_back_to_a_query_string() -> None:
    assert str(QueryParams([("q", "a b"), ("tag", "x"), ("tag", "é")])) == "q=a+b&tag=x&tag=%C3%A9"


@given(st.lists(st.tuples(st.text(min_size=1), st.text())))
def test_query_params_survive_a_round_trip_through_a_query_string(
    pairs: list[tuple[str, str]],
) -> None:
    rendered = str(QueryParams(pairs))
    assert parse_qsl(rendered, keep_blank_values=True) == pairs


def test_form_data_is_a_multidict() -> None:
    form = FormData([("tag", "a"), ("tag", "b")])
    assert form.getlist("tag") == ["a", "b"]
    assert form["tag"] == "b"


def test_encode_query_repeats_a_key_for_a_list_value() -> None:
    assert encode_query({"tag": ["a", "b"], "page": 2}) == "tag=a&tag=b&page=2"
    assert encode_query([("q", "x y")]) == "q=x+y"


# -- headers ---------------------------------------------------------------------------
def test_headers_from_a_mapping_are_lower_cased() -> None:
    headers = Headers({"Content-Type": "text/html"})
    assert headers.raw == [(b"content-type", b"text/html")]


def test_header_lookup_ignores_case() -> None:
    headers = Headers(raw=[(b"content-type", b"text/html")])
    assert headers["Content-Type"] == headers["CONTENT-TYPE"] == "text/html"
    assert "Content-TYPE" in headers


def test_a_missing_header_raises_key_error() -> None:
    with pytest.raises(KeyError):
        Headers()["x-missing"]


def test_a_non_string_is_never_in_headers() -> None:
    assert b"a" not in Headers(raw=[(b"a", b"1")])  # type: ignore[comparison-overlap]


def test_headers_keep_every_value_of_a_repeated_name() -> None:
    headers = Headers(raw=[(b"vary", b"a"), (b"x", b"1"), (b"vary", b"b")])
    assert headers["vary"] == "a"  # the first, as the server sent it
    assert headers.getlist("Vary") == ["a", "b"]
    assert headers.keys() == ["vary", "x"]
    assert len(headers) == 2
    assert headers.items() == [("vary", "a"), ("x", "1"), ("vary", "b")]


def test_header_values_are_decoded_as_latin1() -> None:
    assert Headers(raw=[(b"x", "café".encode("latin-1"))])["x"] == "café"


def test_headers_with_the_same_fields_in_any_order_are_equal() -> None:
    assert Headers({"a": "1", "b": "2"}) == Headers({"b": "2", "a": "1"})


header_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20)


@given(name=header_names, value=st.text(alphabet=st.characters(max_codepoint=255), max_size=20))
def test_a_header_is_found_under_any_casing_of_its_name(name: str, value: str) -> None:
    headers = Headers(raw=[(name.encode(), value.encode("latin-1"))])
    assert headers[name.upper()] == value
    assert headers[name.title()] == value


# -- mutable headers ---------------------------------------------------------------------
def test_setting_a_header_replaces_every_value_of_that_name() -> None:
    headers = MutableHeaders(raw=[(b"x", b"1"), (b"y", b"y"), (b"x", b"2")])
    headers["X"] = "3"
    assert headers.getlist("x") == ["3"]
    assert headers["y"] == "y"


def test_appending_a_header_keeps_the_existing_values() -> None:
    headers = MutableHeaders({"set-cookie": "a=1"})
    headers.append("Set-Cookie", "b=2")
    assert headers.getlist("set-cookie") == ["a=1", "b=2"]


def test_deleting_a_header_removes_every_value_of_that_name() -> None:
    headers = MutableHeaders(raw=[(b"x", b"1"), (b"y", b"y"), (b"x", b"2")])
    del headers["X"]
    assert headers.raw == [(b"y", b"y")]


def test_deleting_a_missing_header_raises_key_error() -> None:
    with pytest.raises(KeyError):
        del MutableHeaders()["x"]


def test_setdefault_keeps_an_existing_value() -> None:
    headers = MutableHeaders({"x": "1"})
    assert headers.setdefault("X", "2") == "1"
    assert headers.setdefault("y", "3") == "3"
    assert headers.items() == [("x", "1"), ("y", "3")]


def test_update_sets_each_header() -> None:
    headers = MutableHeaders({"x": "1"})
    headers.update({"X": "2", "y": "3"})
    assert sorted(headers.items()) == [("x", "2"), ("y", "3")]


def test_add_vary_adds_a_field_once() -> None:
    headers = MutableHeaders({"vary": "Accept"})
    headers.add_vary("Origin")
    headers.add_vary("origin")
    headers.add_vary("Accept")
    assert headers["vary"] == "Accept, Origin"


def test_add_vary_creates_the_header() -> None:
    headers = MutableHeaders()
    headers.add_vary("Origin")
    assert headers["vary"] == "Origin"


def test_mutable_headers_write_through_to_the_raw_list() -> None:
    raw: list[tuple[bytes, bytes]] = []
    MutableHeaders(raw=raw)["x"] = "1"
    assert raw == [(b"x", b"1")]


def test_mutable_headers_refuse_a_value_with_a_line_break() -> None:
    headers = MutableHeaders()
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        headers.update({"x": "a\r\nb"})


@given(value=st.text(st.characters(codec="latin-1", exclude_characters="\r\n\x00"), max_size=20))
def test_a_header_value_without_cr_lf_nul_is_kept_exactly_as_given(value: str) -> None:
    # Both ways in pass through check_header_value; what it accepts arrives unchanged.
    headers = MutableHeaders()
    headers["x-value"] = value
    headers.append("x-other", value)
    assert headers["x-value"] == headers["x-other"] == value


@given(
    prefix=st.text(max_size=10),
    bad=st.sampled_from(["\r", "\n", "\x00"]),
    suffix=st.text(max_size=10),
)
def test_check_header_value_refuses_any_value_with_cr_lf_or_nul(
    prefix: str, bad: str, suffix: str
) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        check_header_value("x-value", prefix + bad + suffix)


# -- URL -----------------------------------------------------------------------------------
def test_a_url_is_parsed_from_a_string() -> None:
    url = URL.from_string("https://example.com:8443/a/b?x=1#top")
    assert (url.scheme, url.hostname, url.port, url.path, url.query, url.fragment) == (
        "https",
        "example.com",
        8443,
        "/a/b",
        "x=1",
        "top",
    )


def test_a_url_renders_back_to_its_string() -> None:
    text = "https://example.com:8443/a/b?x=1#top"
    assert str(URL.from_string(text)) == text


def test_a_url_without_a_path_has_the_root_path() -> None:
    assert URL.from_string("http://example.com").path == "/"


def test_a_url_brackets_an_ipv6_host() -> None:
    assert URL(hostname="::1", port=8000).netloc == "[::1]:8000"


def test_url_replace_changes_only_what_is_given() -> None:
    url = URL.from_string("http://example.com/a?x=1")
    assert str(url.replace(path="/b", query="")) == "http://example.com/b"
    assert str(url) == "http://example.com/a?x=1"


def test_a_url_equals_its_string_form() -> None:
    assert URL.from_string("http://example.com/a") == "http://example.com/a"
    assert hash(URL.from_string("http://example.com/a")) == hash("http://example.com/a")


# -- state --------------------------------------------------------------------------------
def test_state_holds_attributes() -> None:
    state = State({"db": "pool"})
    state.user = "ada"
    assert (state.db, state.user) == ("pool", "ada")


def test_a_missing_state_attribute_raises_with_a_hint() -> None:
    with pytest.raises(AttributeError, match="set it first"):
        State().missing  # noqa: B018


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from(list("ab=&;x1 é?#%+")), max_size=24))
def test_query_params_parse_exactly_as_parse_qsl_does(query: str) -> None:
    # The fast path (no % or +) must agree with the standard library everywhere.
    from urllib.parse import parse_qsl

    assert QueryParams(query).multi_items() == parse_qsl(query, keep_blank_values=True)

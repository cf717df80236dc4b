"""The Idempotency-Key field: an RFC 8941 Item whose value is a String.

The parser is checked three ways: examples from the RFC and the draft, the
rules of the issue (empty, over 255, two fields), and hypothesis against the
``http-sf`` library as an oracle - any text, and any serialized String with
parameters."""

from __future__ import annotations

import http_sf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_asgi_idempotency import InvalidKey, parse_key, parse_sf_string


@pytest.mark.parametrize(
    ("field", "key"),
    [
        ('"8e03978e-40d5-43e8-bc93-6894a57f9324"', "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ('"clkyoesmbgybucifusbbtdsbohtyuuwz"', "clkyoesmbgybucifusbbtdsbohtyuuwz"),
        ('  "padded"  ', "padded"),
        (r'"a \"quoted\" key \\ with a backslash"', 'a "quoted" key \\ with a backslash'),
        ('"with params";a=1;b;c=?0;d="x";e=:aGk=:;f=tok;g=-1.5', "with params"),
    ],
)
def test_a_valid_field_gives_its_string(field: str, key: str) -> None:
    assert parse_sf_string(field) == key


@pytest.mark.parametrize(
    ("field", "why"),
    [
        ("abc", "quoted string"),  # a token, not a String
        ("8e03978e-40d5-43e8-bc93-6894a57f9324", "quoted string"),  # a bare UUID
        ("42", "quoted string"),
        ('"open', "no closing quote"),
        (r'"bad \x escape"', "backslash"),
        ('"a", "b"', "list"),
        ('"a" trailing', "unexpected characters"),
        ('"a";B=1', "parameter name"),
        ('"tab\there"', "printable ASCII"),
        ("", "quoted string"),
    ],
)
def test_an_invalid_field_is_refused_with_the_reason(field: str, why: str) -> None:
    with pytest.raises(InvalidKey, match=why):
        parse_sf_string(field)


def test_the_key_must_be_one_field_of_1_to_max_length_characters() -> None:
    assert parse_key([b'"' + b"k" * 255 + b'"'], 255) == "k" * 255
    with pytest.raises(InvalidKey, match="256 characters long; at most 255"):
        parse_key([b'"' + b"k" * 256 + b'"'], 255)
    with pytest.raises(InvalidKey, match="empty"):
        parse_key([b'""'], 255)
    with pytest.raises(InvalidKey, match="2 Idempotency-Key fields"):
        parse_key([b'"a"', b'"a"'], 255)
    with pytest.raises(InvalidKey, match="not ASCII"):
        parse_key(['"café"'.encode()], 255)


def _oracle(field: str) -> str | None:
    """What http-sf reads: the String, or None if the field is not an Item holding one."""
    try:
        value, _ = http_sf.parse(field.encode("ascii"), tltype="item")
    except Exception:
        return None
    return value if isinstance(value, str) else None


def _ours(field: str) -> str | None:
    try:
        return parse_sf_string(field)
    except InvalidKey:
        return None


# Text made of the characters that matter to the grammar, so that the examples
# are often nearly valid rather than random noise.
_GRAMMAR = st.text(alphabet=st.sampled_from('"\\ ;=,:?*-.aZ09\tx/=+'), max_size=30)


@settings(max_examples=500, deadline=None)
@given(_GRAMMAR | st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_any_text_is_read_as_the_oracle_reads_it(field: str) -> None:
    assert _ours(field) == _oracle(field)


_PRINTABLE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
_PARAM_VALUES = (
    st.integers(-(10**15) + 1, 10**15 - 1)
    | st.booleans()
    | _PRINTABLE
    | st.binary(max_size=10)
    | st.decimals(-(10**11), 10**11, places=3, allow_nan=False, allow_infinity=False)
)
_PARAMS = st.dictionaries(st.from_regex(r"[a-z*][a-z0-9_.*-]{0,5}", fullmatch=True), _PARAM_VALUES)


@settings(max_examples=300, deadline=None)
@given(_PRINTABLE, _PARAMS)
def test_every_serialized_string_round_trips(key: str, params: dict[str, object]) -> None:
    field = http_sf.ser((key, params))
    assert parse_sf_string(field) == key

"""The hand-written JWT: encode/decode, keys, claims, the RFC vectors, PyJWT interop, properties."""

from __future__ import annotations

import base64
import json
import string
from typing import Any

import jwt as pyjwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_asgi_auth import jwt

from .test_jwt_attacks import DER_PUBLIC_KEY, JWK_PUBLIC_KEY, PEM_PUBLIC_KEY, SSH_PUBLIC_KEY

KEY = b"0123456789abcdef" * 4  # 512 bits: long enough for HS512 too (RFC 7518 3.2)
NOW = 1_800_000_000

# RFC 7515 Appendix A.1: an HS256 JWS (with CRLFs inside its JSON), its key, its claims.
RFC7515_A1_TOKEN = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
RFC7515_A1_KEY = base64.urlsafe_b64decode(
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow=="
)
# RFC 7519 section 6.1: an unsecured JWT (alg "none", empty signature).
RFC7519_UNSECURED = (
    "eyJhbGciOiJub25lIn0"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
)


def test_rfc7515_a1_verifies_at_its_own_time() -> None:
    claims = jwt.decode(RFC7515_A1_TOKEN, RFC7515_A1_KEY, algorithms=["HS256"], now=1300819379)
    assert claims == {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True}


def test_rfc7515_a1_is_expired_now() -> None:
    with pytest.raises(jwt.ExpiredTokenError, match="expired at 1300819380"):
        jwt.decode(RFC7515_A1_TOKEN, RFC7515_A1_KEY, algorithms=["HS256"])


def test_rfc7515_a1_with_leeway() -> None:
    claims = jwt.decode(
        RFC7515_A1_TOKEN, RFC7515_A1_KEY, algorithms=["HS256"], now=1300819400, leeway=30
    )
    assert claims["iss"] == "joe"


def test_rfc7519_unsecured_token_is_refused() -> None:
    with pytest.raises(jwt.InvalidTokenError):
        jwt.decode(RFC7519_UNSECURED, RFC7515_A1_KEY, algorithms=["HS256"], now=1300819379)


def test_round_trip_with_each_algorithm() -> None:
    for algorithm in ["HS256", "HS384", "HS512"]:
        token = jwt.encode({"sub": "1", "exp": NOW + 5}, KEY, algorithm=algorithm)
        assert jwt.decode(token, KEY, algorithms=[algorithm], now=NOW) == {
            "sub": "1",
            "exp": NOW + 5,
        }
        assert jwt.unverified_header(token) == {"alg": algorithm, "typ": "JWT"}


def test_the_headers_cannot_override_the_algorithm() -> None:
    token = jwt.encode({"exp": NOW + 5}, KEY, headers={"alg": "none", "typ": "at+jwt"})
    assert jwt.unverified_header(token) == {"alg": "HS256", "typ": "at+jwt"}
    assert jwt.decode(token, KEY, algorithms=["HS256"], typ="AT+JWT", now=NOW) == {"exp": NOW + 5}


def test_access_and_refresh_tokens_stay_apart() -> None:
    access = jwt.encode({"exp": NOW + 5}, KEY, headers={"typ": "at+jwt"})
    refresh = jwt.encode({"exp": NOW + 5}, KEY, headers={"typ": "refresh+jwt"})
    assert jwt.decode(access, KEY, algorithms=["HS256"], typ="at+jwt", now=NOW)
    assert jwt.decode(refresh, KEY, algorithms=["HS256"], typ="refresh+jwt", now=NOW)
    with pytest.raises(jwt.InvalidTypeError):
        jwt.decode(refresh, KEY, algorithms=["HS256"], typ="at+jwt", now=NOW)
    with pytest.raises(jwt.InvalidTypeError):
        jwt.decode(access, KEY, algorithms=["HS256"], typ="refresh+jwt", now=NOW)


def test_audience_may_be_a_list_on_either_side() -> None:
    token = jwt.encode({"exp": NOW + 5, "aud": ["api", "web"]}, KEY)
    assert jwt.decode(token, KEY, algorithms=["HS256"], audience="web", now=NOW)
    assert jwt.decode(token, KEY, algorithms=["HS256"], audience=["other", "api"], now=NOW)
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, KEY, algorithms=["HS256"], audience=["other"], now=NOW)


def test_require_names_claims_that_must_be_present() -> None:
    token = jwt.encode({"sub": "1"}, KEY)
    assert jwt.decode(token, KEY, algorithms=["HS256"], require=()) == {"sub": "1"}
    with pytest.raises(jwt.MissingClaimError, match="'exp'"):
        jwt.decode(token, KEY, algorithms=["HS256"])
    with pytest.raises(jwt.MissingClaimError, match="'jti'"):
        jwt.decode(token, KEY, algorithms=["HS256"], require=("sub", "jti"))


def test_rotation_several_keys_verify_one_signs() -> None:
    old = jwt.encode({"exp": NOW + 5}, {"2025": KEY}, headers={"kid": "2025"})
    keys = {"2025": KEY, "2026": KEY[::-1]}
    new = jwt.encode({"exp": NOW + 5}, keys, headers={"kid": "2026"})
    assert jwt.decode(old, keys, algorithms=["HS256"], now=NOW)
    assert jwt.decode(new, keys, algorithms=["HS256"], now=NOW)
    with pytest.raises(jwt.InvalidKeyIdError):
        jwt.decode(old, {"2026": KEY[::-1]}, algorithms=["HS256"], now=NOW)  # the old key retired
    with pytest.raises(jwt.InvalidKeyError, match="kid"):
        jwt.encode({}, keys)


@pytest.mark.parametrize(
    "key",
    [
        b"short",
        "a text secret that is long enough!!",
        PEM_PUBLIC_KEY,
        DER_PUBLIC_KEY,
        SSH_PUBLIC_KEY,
        JWK_PUBLIC_KEY,
        42,
    ],
    ids=["short", "str", "pem", "der", "ssh", "jwk", "int"],
)
def test_keys_that_are_not_hmac_secrets_are_refused_at_encode_and_decode(key: Any) -> None:
    with pytest.raises(jwt.InvalidKeyError):
        jwt.encode({}, key)
    with pytest.raises(jwt.InvalidKeyError):
        jwt.decode("a.b.c", key, algorithms=["HS256"])
    with pytest.raises(jwt.InvalidKeyError):
        jwt.decode("a.b.c", {"kid": key}, algorithms=["HS256"])


def test_hmac_key_repr_hides_the_secret() -> None:
    assert KEY.decode() not in repr(jwt.HMACKey(KEY))


def test_bad_configuration_is_an_error_of_the_application() -> None:
    token = jwt.encode({}, KEY)
    with pytest.raises(jwt.InvalidKeyError, match="at least one"):
        jwt.decode(token, KEY, algorithms=[])
    with pytest.raises(jwt.InvalidKeyError, match="none"):
        jwt.decode(token, KEY, algorithms=["HS256", "none"])
    with pytest.raises(TypeError, match="list"):
        jwt.decode(token, KEY, algorithms="HS256")
    with pytest.raises(jwt.InvalidKeyError, match="RS256"):
        jwt.encode({}, KEY, algorithm="RS256")
    with pytest.raises(jwt.InvalidKeyError, match="HS512 needs a secret of at least 64 bytes"):
        jwt.decode(token, KEY[:32], algorithms=["HS256", "HS512"])
    with pytest.raises(jwt.InvalidKeyError, match="HS384 needs"):
        jwt.encode({}, KEY[:32], algorithm="HS384")
    with pytest.raises(jwt.InvalidKeyError, match="empty"):
        jwt.decode(token, {}, algorithms=["HS256"])
    with pytest.raises(TypeError):
        jwt.encode(["not", "a", "mapping"], KEY)  # type: ignore[arg-type]
    with pytest.raises(jwt.DecodeError):
        jwt.decode(42, KEY, algorithms=["HS256"])  # type: ignore[arg-type]


def test_bytes_tokens_are_accepted() -> None:
    token = jwt.encode({"exp": NOW + 5}, KEY)
    assert jwt.decode(token.encode(), KEY, algorithms=["HS256"], now=NOW) == {"exp": NOW + 5}


# ------------------------------------------------------- interop with PyJWT (a test oracle)


def test_pyjwt_verifies_our_tokens() -> None:
    for algorithm in ["HS256", "HS384", "HS512"]:
        token = jwt.encode({"sub": "1", "aud": "api", "exp": NOW + 5}, KEY, algorithm=algorithm)
        claims = pyjwt.decode(
            token, KEY, algorithms=[algorithm], audience="api", options={"verify_exp": False}
        )
        assert claims == {"sub": "1", "aud": "api", "exp": NOW + 5}


def test_we_verify_pyjwt_tokens() -> None:
    for algorithm in ["HS256", "HS384", "HS512"]:
        token = pyjwt.encode(
            {"sub": "1", "aud": ["api"], "exp": NOW + 5},
            KEY,
            algorithm=algorithm,
            headers={"kid": "k"},
        )
        claims = jwt.decode(token, {"k": KEY}, algorithms=[algorithm], audience="api", now=NOW)
        assert claims == {"sub": "1", "aud": ["api"], "exp": NOW + 5}


# ---------------------------------------------------------------- properties

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
claims_objects = st.dictionaries(
    st.text(max_size=12).filter(lambda name: name not in {"exp", "nbf", "iat", "aud", "iss"}),
    json_values,
    max_size=6,
)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(claims_objects)
def test_any_json_object_round_trips(claims: dict[str, Any]) -> None:
    token = jwt.encode(claims, KEY)
    assert jwt.decode(token, KEY, algorithms=["HS256"], require=()) == json.loads(
        json.dumps(claims)
    )
    assert pyjwt.decode(token, KEY, algorithms=["HS256"]) == json.loads(json.dumps(claims))


VALID = jwt.encode({"sub": "42", "role": "user", "exp": NOW + 60}, KEY)
REPLACEMENTS = string.ascii_letters + string.digits + "-_.=+/ \x00é"


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.sampled_from(REPLACEMENTS))
def test_any_single_byte_change_is_refused(position: int, replacement: str) -> None:
    if VALID[position] == replacement:
        replacement = "A" if replacement != "A" else "B"
    changed = VALID[:position] + replacement + VALID[position + 1 :]
    with pytest.raises(jwt.InvalidTokenError):
        jwt.decode(changed, KEY, algorithms=["HS256"], now=NOW)


def test_every_position_of_a_token_is_covered_by_the_signature() -> None:
    # The exhaustive companion of the property above, for one replacement per position.
    for position in range(len(VALID)):
        replacement = "A" if VALID[position] != "A" else "B"
        with pytest.raises(jwt.InvalidTokenError):
            jwt.decode(
                VALID[:position] + replacement + VALID[position + 1 :],
                KEY,
                algorithms=["HS256"],
                now=NOW,
            )

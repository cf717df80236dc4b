"""An attack corpus: forged, malformed and misused tokens, every one refused.

Each entry names the published vulnerability class it stands for. The corpus
is checked against a *valid* baseline token made the same way, so a verifier
that refused everything would fail here too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable

import pytest

from minimal_asgi_auth import jwt

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
NOW = 1_800_000_000
ISSUER = "https://idp.example"
CLAIMS = {"sub": "42", "iss": ISSUER, "aud": "api", "exp": NOW + 60, "iat": NOW - 1}
HEADER = {"alg": "HS256", "typ": "at+jwt"}

PEM_PUBLIC_KEY = (
    b"-----BEGIN PUBLIC KEY-----\n"
    b"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEvFlMrLPdI/ng6cKU5XsdCoq98ojM\n"
    b"YIsA0jhXcHGACAa9Zf1m4hCc0J1Xcpchk17rqGCSlmt4J2yhxM4kFZEVjg==\n"
    b"-----END PUBLIC KEY-----\n"
)
DER_PUBLIC_KEY = base64.b64decode(b"".join(PEM_PUBLIC_KEY.splitlines()[1:-1]))
SSH_PUBLIC_KEY = (
    b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk7kJ2lJ8qYx0b3W7tXzE9j5i0vS2yq0a0m5s0R3c1x user@host"
)
JWK_PUBLIC_KEY = json.dumps(
    {
        "kty": "EC",
        "crv": "P-256",
        "x": "vFlMrLPdI_ng6cKU5XsdCoq98ojMYIsA0jhXcHGACAa",
        "y": "vWX9ZuIQnNCdV3KXIZNe66hgkpZreCdsocTOJBWRFY4",
    }
).encode()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: object) -> str:
    return b64(value if isinstance(value, bytes) else json.dumps(value).encode())


def forge(
    header: object = HEADER,
    claims: object = CLAIMS,
    key: bytes = KEY,
    digest: Callable[..., object] = hashlib.sha256,
) -> str:
    """What an attacker can do: any header, any claims, an HMAC with any key."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = hmac.new(key, signing_input.encode(), digest).digest()  # type: ignore[arg-type]
    return f"{signing_input}.{b64(signature)}"


def verify(token: str | bytes) -> dict[str, object]:
    return jwt.decode(
        token, KEY, algorithms=["HS256"], audience="api", issuer=ISSUER, typ="at+jwt", now=NOW
    )


VALID = forge()
H, P, S = VALID.split(".")


def with_claims(**changes: object) -> dict[str, object]:
    claims: dict[str, object] = {**CLAIMS, **changes}
    return {name: value for name, value in claims.items() if value is not None}


def flip_last_bits(part: str) -> str:
    """The same bytes, spelled non-canonically (the unused low bits of the last character set)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return part[:-1] + alphabet[alphabet.index(part[-1]) | 1]


def duplicate_key_segment(text: str) -> str:
    return b64(text.encode())


# The same signature bytes in the standard alphabet ('+' and '/' instead of '-' and '_').
STANDARD_S = base64.b64encode(base64.urlsafe_b64decode(S + "=")).decode().rstrip("=") + "+/"

CORPUS: dict[str, str] = {
    # CVE-2015-9235 and kin: the unsecured "none" algorithm, in any letter case.
    "alg none, no signature": f"{segment({'alg': 'none'})}.{P}.",
    "alg None, no signature": f"{segment({'alg': 'None'})}.{P}.",
    "alg NONE, no signature": f"{segment({'alg': 'NONE'})}.{P}.",
    "alg nOnE, no signature": f"{segment({'alg': 'nOnE'})}.{P}.",
    "alg none, with a real signature": forge({"alg": "none", "typ": "at+jwt"}),
    # Algorithm switch: a valid HMAC, but with an algorithm the app did not allow.
    "alg switched to HS512": forge({"alg": "HS512", "typ": "at+jwt"}, digest=hashlib.sha512),
    "alg switched to HS384": forge({"alg": "HS384", "typ": "at+jwt"}, digest=hashlib.sha384),
    "alg missing": forge({"typ": "at+jwt"}),
    "alg not a string": forge({"alg": ["HS256"], "typ": "at+jwt"}),
    # CVE-2016-10555, CVE-2017-11424, CVE-2022-29217: the public key used as an HMAC secret.
    "RS256 header, HMAC with the PEM public key": forge(
        {"alg": "RS256", "typ": "at+jwt"}, key=PEM_PUBLIC_KEY
    ),
    "HS256 with the PEM public key as secret": forge(key=PEM_PUBLIC_KEY),
    "HS256 with the DER public key as secret": forge(key=DER_PUBLIC_KEY),
    "HS256 with the OpenSSH public key as secret": forge(key=SSH_PUBLIC_KEY),
    "HS256 with the JWK public key as secret": forge(key=JWK_PUBLIC_KEY),
    "ES256 header, HMAC with the JWK": forge({"alg": "ES256", "typ": "at+jwt"}, key=JWK_PUBLIC_KEY),
    # CVE-2018-0114 class: a key carried by the token itself.
    "injected jwk header": forge(
        {**HEADER, "jwk": {"kty": "oct", "k": b64(OTHER_KEY)}}, key=OTHER_KEY
    ),
    "injected jku header": forge(
        {**HEADER, "jku": "https://evil.example/jwks.json"}, key=OTHER_KEY
    ),
    "injected x5u header": forge({**HEADER, "x5u": "https://evil.example/cert.pem"}, key=OTHER_KEY),
    "injected x5c header": forge({**HEADER, "x5c": [b64(DER_PUBLIC_KEY)]}, key=OTHER_KEY),
    # kid used as a file path or in SQL (the key would become "" or attacker-chosen).
    "kid path traversal to /dev/null": forge({**HEADER, "kid": "../../../../dev/null"}, key=b""),
    "kid SQL injection": forge(
        {**HEADER, "kid": "x' UNION SELECT 'attacker-secret-attacker-secret!!' --"},
        key=b"attacker-secret-attacker-secret!!",
    ),
    # Stripped or missing signatures.
    "signature stripped": f"{H}.{P}.",
    "signature segment missing": f"{H}.{P}",
    "signed with another key": forge(key=OTHER_KEY),
    "payload altered, signature kept": f"{H}.{segment(with_claims(sub='1'))}.{S}",
    "only one segment": H,
    "JWE-shaped, five segments": f"{H}.{P}.{S}.{S}.{S}",
    "empty token": "",
    # Encoding tricks: padding, the standard alphabet, whitespace, non-canonical spellings.
    "signature with base64 padding": f"{H}.{P}.{S}=",
    "header with base64 padding": f"{H}==.{P}.{S}",
    "signature in the standard base64 alphabet": f"{H}.{P}.{STANDARD_S}",
    "whitespace in the signature": f"{H}.{P}.{S[:10]} {S[10:]}",
    "newline in the header": f"{H[:5]}\n{H[5:]}.{P}.{S}",
    "non-canonical signature": f"{H}.{P}.{flip_last_bits(S)}",
    "non-ASCII character": f"{H}.{P}.{S[:-1]}é",
    # Not JSON objects, or ambiguous JSON.
    "header is a JSON array": forge(["HS256"]),
    "header is not JSON": forge(b"alg=HS256"),
    "payload is a JSON string": forge(claims="admin"),
    "payload is a number": forge(claims=42),
    "payload has NaN": forge(claims=b'{"sub":"42","exp":NaN}'),
    "duplicate alg in the header": forge(b'{"alg":"none","alg":"HS256","typ":"at+jwt"}'),
    "duplicate sub in the payload": forge(claims=json.dumps(CLAIMS)[:-1].encode() + b',"sub":"1"}'),
    # Critical extensions nobody here understands (RFC 7515 4.1.11).
    "unknown crit extension": forge({**HEADER, "crit": ["b64"], "b64": False}),
    "crit not a list": forge({**HEADER, "crit": "exp"}),
    # Claims.
    "expired": forge(claims=with_claims(exp=NOW - 1)),
    "expires exactly now": forge(claims=with_claims(exp=NOW)),
    "not valid yet": forge(claims=with_claims(nbf=NOW + 60)),
    "issued in the future": forge(claims=with_claims(iat=NOW + 60)),
    "exp as a string": forge(claims=with_claims(exp=str(NOW + 60))),
    "exp as a boolean": forge(claims=with_claims(exp=True)),
    "no exp": forge(claims=with_claims(exp=None)),
    "iss only a prefix of the token's": forge(claims=with_claims(iss=ISSUER + ".evil")),
    "iss with a path appended": forge(claims=with_claims(iss=ISSUER + "/evil")),
    "iss missing": forge(claims=with_claims(iss=None)),
    "aud missing": forge(claims=with_claims(aud=None)),
    "aud another service": forge(claims=with_claims(aud="billing")),
    "aud list without ours": forge(claims=with_claims(aud=["billing", "admin"])),
    "aud a prefix": forge(claims=with_claims(aud="ap")),
    "aud not a string": forge(claims=with_claims(aud=1)),
    # RFC 8725 3.11: a refresh token (or an untyped one) presented as an access token.
    "typ refresh used as access": forge({"alg": "HS256", "typ": "refresh+jwt"}),
    "typ missing": forge({"alg": "HS256"}),
    # Sizes: refused before any decoding.
    "oversized token": forge(claims=with_claims(pad="x" * 9000)),
    "oversized header": forge({**HEADER, "pad": "x" * 9000}),
}


def test_the_baseline_token_verifies() -> None:
    assert verify(VALID)["sub"] == "42"


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_attack_token_is_refused(name: str) -> None:
    with pytest.raises(jwt.InvalidTokenError) as refused:
        verify(CORPUS[name])
    assert str(refused.value)  # every refusal says why


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_attack_tokens_are_refused_with_a_key_map_too(name: str) -> None:
    with pytest.raises(jwt.InvalidTokenError):
        jwt.decode(
            CORPUS[name],
            {"current": KEY},
            algorithms=["HS256"],
            audience="api",
            issuer=ISSUER,
            typ="at+jwt",
            now=NOW,
        )


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("alg none, no signature", jwt.InvalidSignatureError),
        ("alg none, with a real signature", jwt.InvalidAlgorithmError),
        ("alg switched to HS512", jwt.InvalidAlgorithmError),
        ("RS256 header, HMAC with the PEM public key", jwt.InvalidAlgorithmError),
        ("HS256 with the PEM public key as secret", jwt.InvalidSignatureError),
        ("injected jwk header", jwt.InvalidSignatureError),
        ("signature with base64 padding", jwt.DecodeError),
        ("non-canonical signature", jwt.DecodeError),
        ("duplicate alg in the header", jwt.DecodeError),
        ("unknown crit extension", jwt.DecodeError),
        ("expired", jwt.ExpiredTokenError),
        ("not valid yet", jwt.ImmatureTokenError),
        ("issued in the future", jwt.InvalidIssuedAtError),
        ("iss only a prefix of the token's", jwt.InvalidIssuerError),
        ("aud missing", jwt.InvalidAudienceError),
        ("typ refresh used as access", jwt.InvalidTypeError),
        ("no exp", jwt.MissingClaimError),
        ("oversized token", jwt.TokenTooLargeError),
    ],
)
def test_refusals_name_the_right_error(name: str, error: type[jwt.InvalidTokenError]) -> None:
    with pytest.raises(error):
        verify(CORPUS[name])


def test_kid_is_looked_up_in_the_key_map_only() -> None:
    keys = {"2025": OTHER_KEY, "2026": KEY}
    signed = jwt.encode(CLAIMS, keys, headers={"kid": "2026", "typ": "at+jwt"})
    assert jwt.decode(signed, keys, algorithms=["HS256"], audience="api", now=NOW)["sub"] == "42"
    for kid in ["../../dev/null", "2027", ""]:
        with pytest.raises(jwt.InvalidKeyIdError):
            jwt.decode(forge({**HEADER, "kid": kid}), keys, algorithms=["HS256"], now=NOW)
    with pytest.raises(jwt.InvalidKeyIdError):
        jwt.decode(VALID, keys, algorithms=["HS256"], now=NOW)  # no kid at all


def test_a_size_limit_is_checked_before_decoding() -> None:
    with pytest.raises(jwt.TokenTooLargeError):
        verify(b"!" * 10_000)  # not even base64: the size alone refuses it
    with pytest.raises(jwt.TokenTooLargeError):
        jwt.decode(VALID, KEY, algorithms=["HS256"], now=NOW, max_size=len(VALID) - 1)

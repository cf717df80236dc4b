"""RS256, ES256, EdDSA: RFC vectors, keys bound to algorithms, PyJWT interop; properties for all."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_asgi_auth import jwt
from minimal_asgi_auth.keys import PrivateKey, PublicKey

from .vectors import (
    RFC7515_A2_PUBLIC_JWK,
    RFC7515_A2_TOKEN,
    RFC7515_A3_PRIVATE_JWK,
    RFC7515_A3_PUBLIC_JWK,
    RFC7515_A3_TOKEN,
    RFC7515_CLAIMS,
    RFC8037_PRIVATE_JWK,
    RFC8037_PUBLIC_JWK,
    RFC8037_SIGNATURE,
    RFC8037_SIGNING_INPUT,
)

NOW = 1_800_000_000
ASYMMETRIC = ["RS256", "ES256", "EdDSA"]
PRIVATE = {algorithm: PrivateKey.generate(algorithm) for algorithm in ASYMMETRIC}
PUBLIC = {algorithm: key.public_key() for algorithm, key in PRIVATE.items()}
ES256_PRIVATE = ec.generate_private_key(ec.SECP256R1())
PRIVATE["ES256"] = PrivateKey(ES256_PRIVATE)
PUBLIC["ES256"] = PRIVATE["ES256"].public_key()


def b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


# ---------------------------------------------------------------- the RFC vectors


def test_rfc7515_a2_rs256_verifies_at_its_own_time_and_is_expired_now() -> None:
    key = PublicKey.from_jwk(RFC7515_A2_PUBLIC_JWK)
    assert jwt.decode(RFC7515_A2_TOKEN, key, algorithms=["RS256"], now=1300819379) == (
        RFC7515_CLAIMS
    )
    with pytest.raises(jwt.ExpiredTokenError):
        jwt.decode(RFC7515_A2_TOKEN, key, algorithms=["RS256"])


def test_rfc7515_a3_es256_verifies_at_its_own_time_and_is_expired_now() -> None:
    key = PublicKey.from_jwk(RFC7515_A3_PUBLIC_JWK)
    assert jwt.decode(RFC7515_A3_TOKEN, key, algorithms=["ES256"], now=1300819379) == (
        RFC7515_CLAIMS
    )
    with pytest.raises(jwt.ExpiredTokenError):
        jwt.decode(RFC7515_A3_TOKEN, key, algorithms=["ES256"])


def test_rfc7515_a3_private_key_signs_tokens_its_public_key_verifies() -> None:
    private = PrivateKey.from_jwk(RFC7515_A3_PRIVATE_JWK)
    assert private.public_key().to_jwk() == PublicKey.from_jwk(RFC7515_A3_PUBLIC_JWK).to_jwk()
    token = jwt.encode({"exp": NOW + 5}, private, algorithm="ES256")
    assert jwt.decode(
        token, PublicKey.from_jwk(RFC7515_A3_PUBLIC_JWK), algorithms=["ES256"], now=NOW
    ) == {"exp": NOW + 5}


def test_rfc8037_a4_eddsa_signature_is_reproduced_and_verifies() -> None:
    private = PrivateKey.from_jwk(RFC8037_PRIVATE_JWK)
    public = PublicKey.from_jwk(RFC8037_PUBLIC_JWK)
    signing_input = RFC8037_SIGNING_INPUT.encode()
    assert private.sign("EdDSA", signing_input) == b64decode(RFC8037_SIGNATURE)
    assert public.verify("EdDSA", signing_input, b64decode(RFC8037_SIGNATURE))
    # Through decode: the signature verifies, then the payload - a sentence, not
    # a claims object - is refused; a changed signature fails earlier, on the signature.
    token = f"{RFC8037_SIGNING_INPUT}.{RFC8037_SIGNATURE}"
    with pytest.raises(jwt.DecodeError, match="payload is not valid UTF-8 JSON"):
        jwt.decode(token, public, algorithms=["EdDSA"])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token[:-2] + "AA", public, algorithms=["EdDSA"])


# ---------------------------------------------------------------- keys are typed


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_round_trip_and_headers(algorithm: str) -> None:
    token = jwt.encode(
        {"sub": "1", "exp": NOW + 5}, PRIVATE[algorithm], algorithm=algorithm, headers={"kid": "k1"}
    )
    assert jwt.unverified_header(token) == {"alg": algorithm, "typ": "JWT", "kid": "k1"}
    assert jwt.decode(token, PUBLIC[algorithm], algorithms=[algorithm], now=NOW)["sub"] == "1"
    assert jwt.decode(token, {"k1": PUBLIC[algorithm]}, algorithms=[algorithm], now=NOW)


def test_es256_signatures_are_64_bytes_r_then_s() -> None:
    token = jwt.encode({"exp": NOW + 5}, PRIVATE["ES256"], algorithm="ES256")
    assert len(b64decode(token.rsplit(".", 1)[1])) == 64


def test_each_key_serves_exactly_one_algorithm() -> None:
    for algorithm in ASYMMETRIC:
        assert PUBLIC[algorithm].algorithms == {algorithm}
        assert PRIVATE[algorithm].algorithms == {algorithm}
    assert jwt.HMACKey(bytes(32)).algorithms == {"HS256", "HS384", "HS512"}


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_a_public_key_cannot_be_configured_for_hmac(algorithm: str) -> None:
    token = jwt.encode({"exp": NOW + 5}, PRIVATE[algorithm], algorithm=algorithm)
    # The classic confusion setup - one public key, HMAC allowed too - is a configuration error.
    with pytest.raises(jwt.InvalidKeyError, match=r"HS256 needs|cannot be verified"):
        jwt.decode(token, PUBLIC[algorithm], algorithms=[algorithm, "HS256"], now=NOW)
    with pytest.raises(jwt.InvalidKeyError):
        jwt.decode(token, PUBLIC[algorithm], algorithms=["HS256"], now=NOW)
    with pytest.raises(jwt.InvalidKeyError, match="can only verify"):
        jwt.encode({}, PUBLIC[algorithm], algorithm="HS256")  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_an_asymmetric_algorithm_needs_the_right_key_type(algorithm: str) -> None:
    with pytest.raises(jwt.InvalidKeyError, match=algorithm):
        jwt.encode({}, bytes(64), algorithm=algorithm)  # an HMAC secret cannot sign RS256...
    with pytest.raises(jwt.InvalidKeyError, match=algorithm):
        jwt.decode("a.b.c", bytes(64), algorithms=[algorithm])
    other = next(a for a in ASYMMETRIC if a != algorithm)
    with pytest.raises(jwt.InvalidKeyError, match="serves"):
        jwt.encode({}, PRIVATE[other], algorithm=algorithm)
    with pytest.raises(jwt.InvalidKeyError, match="serves"):
        jwt.decode("a.b.c", PUBLIC[other], algorithms=[algorithm])
    with pytest.raises(jwt.InvalidKeyError, match="public_key"):
        jwt.decode("a.b.c", PRIVATE[algorithm], algorithms=[algorithm])  # type: ignore[arg-type]


def test_a_key_map_may_mix_types_each_kid_bound_to_its_own() -> None:
    hmac_secret = bytes(range(32))
    keys: dict[str, Any] = {"hs": hmac_secret, "rs": PUBLIC["RS256"], "ed": PUBLIC["EdDSA"]}
    allowed = ["HS256", "RS256", "EdDSA"]
    hs = jwt.encode({"exp": NOW + 5}, {"hs": hmac_secret}, headers={"kid": "hs"})
    rs = jwt.encode({"exp": NOW + 5}, PRIVATE["RS256"], "RS256", headers={"kid": "rs"})
    for token in (hs, rs):
        assert jwt.decode(token, keys, algorithms=allowed, now=NOW) == {"exp": NOW + 5}
    # The RSA kid with an HMAC computed over its public key: refused by type, not by luck.
    pem = PUBLIC["RS256"]._key.public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"rs"}').rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps({"exp": NOW + 5}).encode()).rstrip(b"=")
    mac = hmac.new(pem, header + b"." + payload, hashlib.sha256).digest()
    forged = (header + b"." + payload + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()
    with pytest.raises(jwt.InvalidAlgorithmError, match="does not fit"):
        jwt.decode(forged, keys, algorithms=allowed, now=NOW)
    with pytest.raises(jwt.InvalidKeyError, match="ES256"):
        jwt.decode(rs, keys, algorithms=["ES256", "RS256"], now=NOW)  # no key can serve ES256


def test_weak_or_unsupported_keys_are_refused_when_loaded() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(jwt.InvalidKeyError, match="2048"):
        PublicKey(small.public_key())
    with pytest.raises(jwt.InvalidKeyError, match="P-256"):
        PublicKey(ec.generate_private_key(ec.SECP384R1()).public_key())
    with pytest.raises(jwt.InvalidKeyError, match="oct"):
        PublicKey.from_jwk({"kty": "oct", "k": "c2VjcmV0"})
    with pytest.raises(jwt.InvalidKeyError, match="private"):
        PublicKey.from_jwk(RFC8037_PRIVATE_JWK)
    with pytest.raises(jwt.InvalidKeyError, match="no private part"):
        PrivateKey.from_jwk(RFC8037_PUBLIC_JWK)
    with pytest.raises(jwt.InvalidKeyError, match="not a PEM"):
        PublicKey.from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(jwt.InvalidKeyError):
        PublicKey("-----BEGIN PUBLIC KEY-----")  # type: ignore[arg-type]
    off_curve = {**RFC7515_A3_PUBLIC_JWK, "y": RFC7515_A3_PUBLIC_JWK["x"]}
    with pytest.raises(jwt.InvalidKeyError, match="not a valid key"):
        PublicKey.from_jwk(off_curve)  # an invalid-curve point
    mismatched = {**RFC8037_PRIVATE_JWK, "x": PUBLIC["EdDSA"].to_jwk()["x"]}
    with pytest.raises(jwt.InvalidKeyError, match="does not match"):
        PrivateKey.from_jwk(mismatched)


def test_public_keys_load_from_every_form() -> None:
    raw = ed25519.Ed25519PrivateKey.generate().public_key()
    expected = PublicKey(raw).to_jwk()
    pem = raw.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = raw.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ssh = raw.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    for loaded in [
        PublicKey.from_pem(pem),
        PublicKey.from_pem(pem.decode()),
        PublicKey.from_der(der),
        PublicKey.from_ssh(ssh),
        PublicKey.from_jwk(json.dumps(expected)),
    ]:
        assert loaded.to_jwk() == expected


def test_private_keys_never_show_in_reprs() -> None:
    for key in PRIVATE.values():
        pem = key._key.private_bytes(  # type: ignore[union-attr]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        body = "".join(pem.splitlines()[1:-1])
        assert body[:40] not in repr(key) and "<private>" in repr(key)
        assert PrivateKey.from_pem(pem).public_key().to_jwk() == key.public_key().to_jwk()


# ---------------------------------------------------------------- interop with PyJWT


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_pyjwt_verifies_our_asymmetric_tokens(algorithm: str) -> None:
    token = jwt.encode({"sub": "1", "aud": "api", "exp": NOW + 5}, PRIVATE[algorithm], algorithm)
    claims = pyjwt.decode(
        token,
        PUBLIC[algorithm]._key,  # type: ignore[arg-type]
        algorithms=[algorithm],
        audience="api",
        options={"verify_exp": False},
    )
    assert claims == {"sub": "1", "aud": "api", "exp": NOW + 5}


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_we_verify_pyjwt_asymmetric_tokens(algorithm: str) -> None:
    token = pyjwt.encode(
        {"sub": "1", "aud": ["api"], "exp": NOW + 5},
        PRIVATE[algorithm]._key,  # type: ignore[arg-type]
        algorithm=algorithm,
        headers={"kid": "k"},
    )
    claims = jwt.decode(
        token, {"k": PUBLIC[algorithm]}, algorithms=[algorithm], audience="api", now=NOW
    )
    assert claims == {"sub": "1", "aud": ["api"], "exp": NOW + 5}


def test_we_refuse_pyjwt_es256_tokens_whose_signature_is_der() -> None:
    token = pyjwt.encode({"exp": NOW + 5}, ES256_PRIVATE, algorithm="ES256")
    signing_input, _, _ = token.rpartition(".")
    der = ES256_PRIVATE.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    as_der = signing_input + "." + base64.urlsafe_b64encode(der).rstrip(b"=").decode()
    assert jwt.decode(token, PUBLIC["ES256"], algorithms=["ES256"], now=NOW)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(as_der, PUBLIC["ES256"], algorithms=["ES256"], now=NOW)


# ---------------------------------------------------------------- properties

# Every algorithm, the HMAC ones included: (the signing key, the verifying key).
EVERY_ALGORITHM: dict[str, tuple[Any, Any]] = {
    **{algorithm: (PRIVATE[algorithm], PUBLIC[algorithm]) for algorithm in ASYMMETRIC},
    **{
        algorithm: (bytes(range(64)), bytes(range(64))) for algorithm in ["HS256", "HS384", "HS512"]
    },
}
TOKENS = {
    algorithm: jwt.encode({"sub": "42", "role": "user", "exp": NOW + 60}, signer, algorithm)
    for algorithm, (signer, _) in EVERY_ALGORITHM.items()
}
REPLACEMENTS = string.ascii_letters + string.digits + "-_.=+/ \x00é"


@pytest.mark.parametrize("algorithm", sorted(EVERY_ALGORITHM))
def test_any_single_byte_change_is_refused_for_each_algorithm(algorithm: str) -> None:
    valid, verifier = TOKENS[algorithm], EVERY_ALGORITHM[algorithm][1]
    assert jwt.decode(valid, verifier, algorithms=[algorithm], now=NOW)

    @settings(max_examples=200, derandomize=True, deadline=None)
    @given(st.integers(0, len(valid) - 1), st.sampled_from(REPLACEMENTS))
    def single_change(position: int, replacement: str) -> None:
        if valid[position] == replacement:
            replacement = "A" if replacement != "A" else "B"
        changed = valid[:position] + replacement + valid[position + 1 :]
        with pytest.raises(jwt.InvalidTokenError):
            jwt.decode(changed, verifier, algorithms=[algorithm], now=NOW)

    single_change()


@pytest.mark.parametrize("algorithm", sorted(EVERY_ALGORITHM))
def test_every_position_is_covered_by_the_signature(algorithm: str) -> None:
    valid, verifier = TOKENS[algorithm], EVERY_ALGORITHM[algorithm][1]
    for position in range(len(valid)):
        replacement = "A" if valid[position] != "A" else "B"
        with pytest.raises(jwt.InvalidTokenError):
            jwt.decode(
                valid[:position] + replacement + valid[position + 1 :],
                verifier,
                algorithms=[algorithm],
                now=NOW,
            )


@pytest.mark.parametrize(
    ("jwk", "message"),
    [
        ({"kty": "RSA", "n": "not base64!", "e": "AQAB"}, "base64url"),
        ({"kty": "RSA", "e": "AQAB"}, "'n'"),
        ({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "RSA"),
        ({**RFC7515_A3_PUBLIC_JWK, "crv": "P-384"}, "P-256"),
        ({**RFC7515_A3_PUBLIC_JWK, "x": "AAAA"}, "32 bytes"),
        ({"kty": "OKP", "crv": "Ed448", "x": RFC8037_PUBLIC_JWK["x"]}, "Ed25519"),
        ({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}, "not a valid key"),
        ({"kty": "XYZ"}, "unsupported JWK kty"),
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_malformed_jwks_are_configuration_errors(jwk: Any, message: str) -> None:
    with pytest.raises(jwt.InvalidKeyError, match=message):
        PublicKey.from_jwk(jwk)


def test_other_loading_mistakes_are_configuration_errors() -> None:
    with pytest.raises(jwt.InvalidKeyError, match="cannot generate"):
        PrivateKey.generate("HS256")
    with pytest.raises(jwt.InvalidKeyError, match="PEM private key"):
        PrivateKey.from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(jwt.InvalidKeyError, match="must be bytes"):
        PublicKey.from_der("MIIB")  # type: ignore[arg-type]
    with pytest.raises(jwt.InvalidKeyError, match="cryptography private key"):
        PrivateKey(PUBLIC["EdDSA"])  # type: ignore[arg-type]
    assert not PUBLIC["EdDSA"].verify("ES256", b"data", bytes(64))  # the backstop


def test_an_rsa_private_jwk_and_a_certificate_load() -> None:
    import datetime

    from cryptography import x509

    raw = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = raw.private_numbers()

    def b64(value: int) -> str:
        data = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    public_jwk = PublicKey(raw.public_key()).to_jwk()
    private_jwk = {**public_jwk, "d": b64(numbers.d), "p": b64(numbers.p), "q": b64(numbers.q)}
    signed = jwt.encode({"exp": NOW + 5}, PrivateKey.from_jwk(private_jwk), "RS256")
    assert jwt.decode(signed, PublicKey.from_jwk(public_jwk), algorithms=["RS256"], now=NOW)

    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "idp.example")])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(raw.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=30))
        .sign(raw, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    assert PublicKey.from_pem(pem).to_jwk() == public_jwk

"""The attack corpus, against a verifier holding *public* keys (RS256, ES256, EdDSA).

The HMAC corpus (test_jwt_attacks.py) attacks a shared secret; this one
attacks the setup most published JWT CVEs are about: an API that trusts an
identity provider's public key. Every token is refused; a baseline token made
the same way verifies, so a verifier refusing everything would fail here too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from minimal_asgi_auth import jwt
from minimal_asgi_auth.keys import PrivateKey, PublicKey

NOW = 1_800_000_000
ISSUER = "https://idp.example"
CLAIMS = {"sub": "42", "iss": ISSUER, "aud": "api", "exp": NOW + 60, "iat": NOW - 1}

RSA_PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_PRIVATE = ec.generate_private_key(ec.SECP256R1())
ATTACKER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ED = PrivateKey.generate("EdDSA")
RSA_PUBLIC = PublicKey(RSA_PRIVATE.public_key())
EC_PUBLIC = PublicKey(EC_PRIVATE.public_key())
# The verifier's keys, by kid: what it got from the identity provider.
KEYS = {"rsa-1": RSA_PUBLIC, "ec-1": EC_PUBLIC, "ed-1": ED.public_key()}
ALGORITHMS = ["RS256", "ES256", "EdDSA"]

# The public key in every form an attacker can find it in: all public, so all "known".
PEM = RSA_PRIVATE.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
PEM_PKCS1 = RSA_PRIVATE.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
)
DER = RSA_PRIVATE.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
)
SSH = RSA_PRIVATE.public_key().public_bytes(
    serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
)
JWK = json.dumps(RSA_PUBLIC.to_jwk("rsa-1")).encode()
EC_PEM = EC_PRIVATE.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: object) -> str:
    return b64(value if isinstance(value, bytes) else json.dumps(value).encode())


def signing_input(header: object, claims: object = CLAIMS) -> bytes:
    return f"{segment(header)}.{segment(claims)}".encode()


def with_signature(header: object, sign: Callable[[bytes], bytes], claims: object = CLAIMS) -> str:
    data = signing_input(header, claims)
    return f"{data.decode()}.{b64(sign(data))}"


def rs256(key: rsa.RSAPrivateKey = RSA_PRIVATE) -> Callable[[bytes], bytes]:
    return lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def hs256(
    secret: bytes, digest: Callable[..., object] = hashlib.sha256
) -> Callable[[bytes], bytes]:
    return lambda data: hmac.new(secret, data, digest).digest()  # type: ignore[arg-type]


def es256_raw(data: bytes) -> bytes:
    r, s = decode_dss_signature(EC_PRIVATE.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def attacker_certificate() -> bytes:
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "idp.example")])
    import datetime

    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ATTACKER_RSA.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(ATTACKER_RSA, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


RS_HEADER = {"alg": "RS256", "typ": "at+jwt", "kid": "rsa-1"}
ES_HEADER = {"alg": "ES256", "typ": "at+jwt", "kid": "ec-1"}
VALID_RS = with_signature(RS_HEADER, rs256())
VALID_ES = with_signature(ES_HEADER, es256_raw)
VALID_ED = jwt.encode(CLAIMS, ED, "EdDSA", headers={"typ": "at+jwt", "kid": "ed-1"})
H, P, S = VALID_RS.split(".")
ES_INPUT, ES_SIGNATURE = VALID_ES.rsplit(".", 1)
ES_RAW = base64.urlsafe_b64decode(ES_SIGNATURE + "==")
ATTACKER_JWK = PublicKey(ATTACKER_RSA.public_key()).to_jwk("rsa-1")
N = int.from_bytes(
    bytes.fromhex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"), "big"
)  # the order of P-256

CORPUS: dict[str, str] = {
    # CVE-2015-9235 class: the unsecured algorithm, against a public-key verifier.
    "alg none, kid of the RSA key": f"{segment({'alg': 'none', 'kid': 'rsa-1'})}.{P}.",
    "alg NoNe with the real RSA signature": f"{segment({**RS_HEADER, 'alg': 'NoNe'})}.{P}.{S}",
    "alg rs256 in lower case": with_signature({**RS_HEADER, "alg": "rs256"}, rs256()),
    # CVE-2016-10555, CVE-2017-11424, CVE-2022-29217: the public key as an HMAC secret.
    "HS256 over the PEM public key": with_signature({**RS_HEADER, "alg": "HS256"}, hs256(PEM)),
    "HS256 over the PKCS#1 PEM public key": with_signature(
        {**RS_HEADER, "alg": "HS256"}, hs256(PEM_PKCS1)
    ),
    "HS256 over the PEM without its final newline": with_signature(
        {**RS_HEADER, "alg": "HS256"}, hs256(PEM.rstrip(b"\n"))
    ),
    "HS256 over the DER public key": with_signature({**RS_HEADER, "alg": "HS256"}, hs256(DER)),
    "HS256 over the OpenSSH public key": with_signature({**RS_HEADER, "alg": "HS256"}, hs256(SSH)),
    "HS256 over the JWK": with_signature({**RS_HEADER, "alg": "HS256"}, hs256(JWK)),
    "HS512 over the PEM public key": with_signature(
        {**RS_HEADER, "alg": "HS512"}, hs256(PEM, hashlib.sha512)
    ),
    "HS256 over the EC PEM, kid of the EC key": with_signature(
        {**ES_HEADER, "alg": "HS256"}, hs256(EC_PEM)
    ),
    # An algorithm switch between the allowed asymmetric ones.
    "ES256 header on the RSA kid": with_signature({**RS_HEADER, "alg": "ES256"}, es256_raw),
    "RS256 header on the EC kid": with_signature({**ES_HEADER, "alg": "RS256"}, rs256()),
    "EdDSA header on the RSA kid": with_signature({**RS_HEADER, "alg": "EdDSA"}, rs256()),
    # CVE-2018-0114 class: the token brings its own key, or says where to fetch it.
    "injected jwk, signed with the attacker's key": with_signature(
        {**RS_HEADER, "jwk": ATTACKER_JWK}, rs256(ATTACKER_RSA)
    ),
    "injected jwk, no kid": with_signature(
        {"alg": "RS256", "typ": "at+jwt", "jwk": ATTACKER_JWK}, rs256(ATTACKER_RSA)
    ),
    "injected jku": with_signature(
        {**RS_HEADER, "jku": "https://evil.example/jwks.json"}, rs256(ATTACKER_RSA)
    ),
    "injected x5u": with_signature(
        {**RS_HEADER, "x5u": "https://evil.example/cert.pem"}, rs256(ATTACKER_RSA)
    ),
    "injected x5c with the attacker's certificate": with_signature(
        {**RS_HEADER, "x5c": [base64.b64encode(attacker_certificate()).decode()]},
        rs256(ATTACKER_RSA),
    ),
    # kid as a path or a query, so that the "key" becomes empty or the attacker's:
    # only a map look-up here, so these are just unknown kids.
    "kid path traversal, HMAC with the empty file": with_signature(
        {**RS_HEADER, "alg": "HS256", "kid": "../../../../dev/null"}, hs256(b"")
    ),
    "kid path traversal, attacker's RSA key": with_signature(
        {**RS_HEADER, "kid": "../../../../tmp/attacker.pem"}, rs256(ATTACKER_RSA)
    ),
    "kid SQL injection": with_signature(
        {**RS_HEADER, "kid": "x' UNION SELECT 'attacker-public-key' --"}, rs256(ATTACKER_RSA)
    ),
    "kid not a string": with_signature({**RS_HEADER, "kid": ["rsa-1"]}, rs256(ATTACKER_RSA)),
    "kid missing": with_signature({"alg": "RS256", "typ": "at+jwt"}, rs256(ATTACKER_RSA)),
    # ES256 signature encodings (RFC 7518 3.4: 64 bytes, r || s).
    "ES256 signature in DER": f"{ES_INPUT}."
    + b64(EC_PRIVATE.sign(ES_INPUT.encode(), ec.ECDSA(hashes.SHA256()))),
    "ES256 signature 63 bytes": f"{ES_INPUT}.{b64(ES_RAW[:63])}",
    "ES256 signature 65 bytes": f"{ES_INPUT}.{b64(ES_RAW + bytes(1))}",
    "ES256 signature r and s swapped": f"{ES_INPUT}.{b64(ES_RAW[32:] + ES_RAW[:32])}",
    # CVE-2022-21449 ("psychic signatures"): r = s = 0, and r = s = n.
    "ES256 psychic signature, zeros": f"{ES_INPUT}.{b64(bytes(64))}",
    "ES256 psychic signature, the curve order": f"{ES_INPUT}.{b64(N.to_bytes(32, 'big') * 2)}",
    # RSA signatures that are not RS256 signatures of this token.
    "RS256 signed by another key": with_signature(RS_HEADER, rs256(ATTACKER_RSA)),
    "RS256 header, PSS signature": with_signature(
        RS_HEADER,
        lambda data: RSA_PRIVATE.sign(
            data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256()
        ),
    ),
    "RS256 header, SHA-1 signature": with_signature(
        RS_HEADER, lambda data: RSA_PRIVATE.sign(data, padding.PKCS1v15(), hashes.SHA1())
    ),
    "RS256 payload altered, signature kept": f"{H}.{segment({**CLAIMS, 'sub': '1'})}.{S}",
    "RS256 signature stripped": f"{H}.{P}.",
    "RS256 signature truncated": f"{H}.{P}.{S[:-8]}",
    "RS256 signature with padding": f"{H}.{P}.{S}==",
    "EdDSA signature of another token": VALID_ED.rsplit(".", 1)[0]
    + "."
    + jwt.encode({"sub": "1"}, ED, "EdDSA").rsplit(".", 1)[1],
    # Structure, claims and size, with a valid RSA signature on each.
    "unknown crit, validly signed": with_signature({**RS_HEADER, "crit": ["exp"]}, rs256()),
    "duplicate alg, validly signed": with_signature(
        b'{"alg":"none","alg":"RS256","kid":"rsa-1","typ":"at+jwt"}', rs256()
    ),
    "iss a prefix, validly signed": with_signature(
        RS_HEADER, rs256(), {**CLAIMS, "iss": ISSUER + ".evil"}
    ),
    "aud missing, validly signed": with_signature(
        RS_HEADER, rs256(), {k: v for k, v in CLAIMS.items() if k != "aud"}
    ),
    "typ refresh, validly signed": with_signature({**RS_HEADER, "typ": "refresh+jwt"}, rs256()),
    "expired, validly signed": with_signature(RS_HEADER, rs256(), {**CLAIMS, "exp": NOW - 1}),
    "deeply nested header, validly signed": with_signature(b"[" * 5000, rs256()),
    "oversized payload, validly signed": with_signature(
        RS_HEADER, rs256(), {**CLAIMS, "pad": "x" * 9000}
    ),
}


def verify(token: str) -> dict[str, object]:
    return jwt.decode(
        token, KEYS, algorithms=ALGORITHMS, audience="api", issuer=ISSUER, typ="at+jwt", now=NOW
    )


def test_the_baseline_tokens_verify() -> None:
    for token in (VALID_RS, VALID_ES, VALID_ED):
        assert verify(token)["sub"] == "42"


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_attack_token_is_refused_by_a_public_key_verifier(name: str) -> None:
    with pytest.raises(jwt.InvalidTokenError) as refused:
        verify(CORPUS[name])
    assert str(refused.value)


# Validly signed by the RSA key: an attack only where the kid chooses among several keys.
ONLY_WITH_A_KEY_MAP = {"RS256 header on the EC kid"}


@pytest.mark.parametrize("name", sorted(set(CORPUS) - ONLY_WITH_A_KEY_MAP))
def test_every_attack_token_is_refused_with_one_rsa_key_too(name: str) -> None:
    with pytest.raises(jwt.InvalidTokenError):
        jwt.decode(
            CORPUS[name],
            RSA_PUBLIC,
            algorithms=["RS256"],
            audience="api",
            issuer=ISSUER,
            typ="at+jwt",
            now=NOW,
        )


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("HS256 over the PEM public key", jwt.InvalidAlgorithmError),
        ("HS256 over the JWK", jwt.InvalidAlgorithmError),
        ("ES256 header on the RSA kid", jwt.InvalidAlgorithmError),
        ("injected jwk, signed with the attacker's key", jwt.InvalidSignatureError),
        ("injected jwk, no kid", jwt.InvalidKeyIdError),
        ("kid path traversal, HMAC with the empty file", jwt.InvalidAlgorithmError),
        ("kid path traversal, attacker's RSA key", jwt.InvalidKeyIdError),
        ("kid SQL injection", jwt.InvalidKeyIdError),
        ("ES256 signature in DER", jwt.InvalidSignatureError),
        ("ES256 psychic signature, zeros", jwt.InvalidSignatureError),
        ("RS256 header, PSS signature", jwt.InvalidSignatureError),
        ("deeply nested header, validly signed", jwt.DecodeError),
        ("oversized payload, validly signed", jwt.TokenTooLargeError),
    ],
)
def test_refusals_name_the_right_error(name: str, error: type[jwt.InvalidTokenError]) -> None:
    with pytest.raises(error):
        verify(CORPUS[name])


def test_the_public_key_in_any_form_is_refused_as_an_hmac_secret() -> None:
    for form in (PEM, PEM_PKCS1, DER, SSH, JWK, EC_PEM, PEM.decode()):
        with pytest.raises(jwt.InvalidKeyError):
            jwt.decode(VALID_RS, form, algorithms=["HS256"])  # type: ignore[arg-type]
        with pytest.raises(jwt.InvalidKeyError):
            jwt.decode(VALID_RS, form, algorithms=["RS256"])  # type: ignore[arg-type]

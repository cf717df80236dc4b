"""Typed keys: what may verify (or sign) a JWT, and with which algorithm.

Algorithm confusion (CVE-2016-10555, CVE-2017-11424, CVE-2022-29217...) happens
when a verifier holds "a key" - some bytes - and lets the token's ``alg`` say
what to do with them: an RSA public key, which everyone has, becomes an HMAC
secret, and anyone can sign. Here a key has a *type*, chosen by the
application when it loads the key, never by the token:

- ``HMACKey`` - a shared secret, for HS256/HS384/HS512 only;
- ``PublicKey`` - an RSA, P-256 or Ed25519 public key, which can only
  *verify* RS256, ES256 or EdDSA respectively;
- ``PrivateKey`` - the matching private key, which can only *sign*.

Each type knows the algorithms it serves (``key.algorithms``), and
``minimal_asgi_auth.jwt.decode`` refuses a token whose ``alg`` the key does
not serve. A public key cannot become an HMAC secret in any form: a
``PublicKey`` has no HMAC code at all, and ``HMACKey`` refuses ``str`` and any
bytes that look like a public key (PEM, DER, OpenSSH, JWK).

The signature maths is ``cryptography``'s; the checks around it are ours:
RSA keys of at least 2048 bits (RFC 7518 3.3), P-256 only for ES256, Ed25519
only for EdDSA, and ES256 signatures in the JOSE form - 64 bytes, ``r || s``
(RFC 7518 3.4) - never DER.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "HMAC_ALGORITHMS",
    "HMACKey",
    "InvalidKeyError",
    "PrivateKey",
    "PublicKey",
]

MIN_HMAC_KEY_BYTES: Final = 32  # 256 bits (RFC 7518 section 3.2, for HS256 and up)
MIN_RSA_BITS: Final = 2048  # RFC 7518 section 3.3

HMAC_ALGORITHMS: Final[Mapping[str, Callable[..., Any]]] = {
    "HS256": hashlib.sha256,
    "HS384": hashlib.sha384,
    "HS512": hashlib.sha512,
}

Family = Literal["RSA", "P-256", "Ed25519"]

# Each asymmetric algorithm, and the one kind of key it is bound to.
ASYMMETRIC_ALGORITHMS: Final[Mapping[str, Family]] = {
    "RS256": "RSA",
    "ES256": "P-256",
    "EdDSA": "Ed25519",
}
_ALGORITHM_OF: Final[Mapping[Family, str]] = {
    family: algorithm for algorithm, family in ASYMMETRIC_ALGORITHMS.items()
}
ES256_SIGNATURE_BYTES: Final = 64  # r and s, 32 bytes each, big-endian (RFC 7518 3.4)


class InvalidKeyError(ValueError):
    """A key given by the *application* is unusable: a configuration error, not a bad token."""


# ---------------------------------------------------------------- HMAC

# What public keys look like when serialised; refused as HMAC secrets so that a
# verifier handed "the issuer's key" can never turn it into an HMAC secret.
_PUBLIC_KEY_MARKERS: Final = (
    b"-----BEGIN",  # PEM: public keys, certificates, private keys
    b"ssh-rsa",
    b"ssh-ed25519",
    b"ecdsa-sha2-",
    b"ssh-dss",
)


class HMACKey:
    """A shared secret for HS256/HS384/HS512, checked once, when it is made.

    Only an ``HMACKey`` (or ``bytes``, wrapped into one) can verify an HMAC; a
    ``str`` is refused because PEM public keys are usually strings.
    """

    __slots__ = ("_secret",)

    algorithms: Final = frozenset(HMAC_ALGORITHMS)

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, (bytes, bytearray)):
            raise InvalidKeyError(
                f"an HMAC secret must be bytes, not {type(secret).__name__}; "
                "encode a text secret explicitly (secret.encode()); "
                "better, use secrets.token_bytes(32)"
            )
        secret = bytes(secret)
        if len(secret) < MIN_HMAC_KEY_BYTES:
            raise InvalidKeyError(
                f"an HMAC secret must be at least {MIN_HMAC_KEY_BYTES} bytes (256 bits), "
                f"got {len(secret)}; "
                "generate one with secrets.token_bytes(32)"
            )
        if _looks_like_a_public_key(secret):
            raise InvalidKeyError(
                "this looks like a public key or certificate, not an HMAC secret; "
                "a public key must never be used as an HMAC secret (algorithm confusion)"
            )
        self._secret = secret

    def check_for(self, algorithm: str) -> None:
        """Refuse an algorithm this key does not serve, or a secret shorter than its hash.

        32 bytes for HS256, 48 for HS384, 64 for HS512 (RFC 7518 3.2).
        """
        if algorithm not in HMAC_ALGORITHMS:
            raise InvalidKeyError(
                f"{algorithm} needs a public key (PublicKey.from_pem, from_jwk...) to "
                "verify, or a PrivateKey to sign; this is an HMAC secret"
            )
        needed = HMAC_ALGORITHMS[algorithm]().digest_size
        if len(self._secret) < needed:
            raise InvalidKeyError(
                f"{algorithm} needs a secret of at least {needed} bytes, "
                f"this one has {len(self._secret)}; "
                f"generate one with secrets.token_bytes({needed})"
            )

    def sign(self, algorithm: str, signing_input: bytes) -> bytes:
        return hmac.new(self._secret, signing_input, HMAC_ALGORITHMS[algorithm]).digest()

    def verify(self, algorithm: str, signing_input: bytes, signature: bytes) -> bool:
        # Constant time: an attacker must not learn the HMAC one byte at a time.
        return hmac.compare_digest(signature, self.sign(algorithm, signing_input))

    def __repr__(self) -> str:
        return "HMACKey(<secret>)"  # never the secret itself: reprs end up in logs


def _looks_like_a_public_key(secret: bytes) -> bool:
    stripped = secret.lstrip()
    if stripped.startswith(_PUBLIC_KEY_MARKERS):
        return True
    if stripped.startswith(b"{") and b'"kty"' in stripped:
        return True  # a JWK
    # DER SubjectPublicKeyInfo: a SEQUENCE holding a SEQUENCE holding an OID.
    return bool(
        re.match(rb"\x30[\x81\x82]..?\x30[\x0d\x13\x05\x0a]\x06", secret, re.DOTALL)
    ) or bool(re.match(rb"\x30[\x2a\x59]\x30[\x05\x13]\x06", secret))


# ---------------------------------------------------------------- public keys

_Public = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
_Private = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def _family(key: _Public | _Private) -> Family:
    """The one algorithm family a key belongs to; InvalidKeyError for anything else."""
    if isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)):
        if key.key_size < MIN_RSA_BITS:
            raise InvalidKeyError(
                f"an RSA key must have at least {MIN_RSA_BITS} bits (RFC 7518 3.3), "
                f"this one has {key.key_size}"
            )
        return "RSA"
    if isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)):
        if not isinstance(key.curve, ec.SECP256R1):
            raise InvalidKeyError(
                f"only the P-256 curve (ES256) is supported, not {key.curve.name}"
            )
        return "P-256"
    if isinstance(key, (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey)):
        return "Ed25519"
    raise InvalidKeyError(
        f"unsupported key type {type(key).__name__}; use RSA (RS256), P-256 (ES256) "
        "or Ed25519 (EdDSA)"
    )


class PublicKey:
    """A public key that verifies exactly one algorithm: RS256, ES256 or EdDSA.

    Made with ``from_pem``, ``from_der``, ``from_ssh``,
    ``from_jwk`` or from a ``cryptography`` key object; it has no way to
    compute an HMAC, whatever a token says.
    """

    __slots__ = ("_key", "algorithm", "algorithms", "family")

    def __init__(self, key: _Public) -> None:
        if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey,
                                ed25519.Ed25519PublicKey)):  # fmt: skip
            raise InvalidKeyError(
                f"PublicKey needs a cryptography public key object, not {type(key).__name__} "
                "(load text or bytes with PublicKey.from_pem, from_der, from_ssh or from_jwk)"
            )
        self._key = key
        self.family = _family(key)
        self.algorithm = _ALGORITHM_OF[self.family]
        self.algorithms = frozenset({self.algorithm})

    @classmethod
    def from_pem(cls, data: bytes | str) -> PublicKey:
        """``-----BEGIN PUBLIC KEY-----`` (SubjectPublicKeyInfo) or a certificate."""
        raw = data.encode() if isinstance(data, str) else data
        if b"-----BEGIN CERTIFICATE-----" in raw:
            from cryptography import x509

            return cls(x509.load_pem_x509_certificate(raw).public_key())  # type: ignore[arg-type]
        return cls(_load(serialization.load_pem_public_key, raw, "PEM public key"))

    @classmethod
    def from_der(cls, data: bytes) -> PublicKey:
        return cls(_load(serialization.load_der_public_key, data, "DER public key"))

    @classmethod
    def from_ssh(cls, data: bytes | str) -> PublicKey:
        """An OpenSSH ``authorized_keys`` line (``ssh-ed25519 AAAA...``)."""
        raw = data.encode() if isinstance(data, str) else data
        return cls(_load(serialization.load_ssh_public_key, raw, "OpenSSH public key"))

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any] | str | bytes) -> PublicKey:
        """A JSON Web Key (RFC 7517): ``kty`` RSA, EC (P-256) or OKP (Ed25519)."""
        fields = _jwk_fields(jwk)
        if "d" in fields:
            raise InvalidKeyError(
                "this JWK holds a private key ('d'); a verifier needs only the public part"
            )
        return cls(_public_from_jwk(fields))

    def verify(self, algorithm: str, signing_input: bytes, signature: bytes) -> bool:
        """True if ``signature`` is this key's ``algorithm`` signature of ``signing_input``."""
        if algorithm != self.algorithm:  # the decoder checks first; this is the backstop
            return False
        try:
            if isinstance(self._key, rsa.RSAPublicKey):
                self._key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
            elif isinstance(self._key, ec.EllipticCurvePublicKey):
                # JOSE sends r || s, 64 bytes; a DER signature (what OpenSSL and
                # many libraries produce) or any other length is refused, not
                # converted: one token, one spelling.
                if len(signature) != ES256_SIGNATURE_BYTES:
                    return False
                r = int.from_bytes(signature[:32], "big")
                s = int.from_bytes(signature[32:], "big")
                der = encode_dss_signature(r, s)
                self._key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
            else:
                self._key.verify(signature, signing_input)
        except InvalidSignature:
            return False
        return True

    def check_for(self, algorithm: str) -> None:
        if algorithm != self.algorithm:
            raise InvalidKeyError(
                f"{algorithm} cannot be verified with this {self.family} public key, "
                f"which serves {self.algorithm} only"
            )

    def to_jwk(self, kid: str | None = None) -> dict[str, str]:
        """The key as a public JWK (for a JWKS document), with ``alg`` and ``use``."""
        jwk: dict[str, str]
        if isinstance(self._key, rsa.RSAPublicKey):
            numbers = self._key.public_numbers()
            jwk = {"kty": "RSA", "n": _b64uint(numbers.n), "e": _b64uint(numbers.e)}
        elif isinstance(self._key, ec.EllipticCurvePublicKey):
            point = self._key.public_numbers()
            jwk = {
                "kty": "EC",
                "crv": "P-256",
                "x": _b64(point.x.to_bytes(32, "big")),
                "y": _b64(point.y.to_bytes(32, "big")),
            }
        else:
            raw = self._key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}
        jwk.update({"alg": self.algorithm, "use": "sig"})
        if kid is not None:
            jwk["kid"] = kid
        return jwk

    def __repr__(self) -> str:
        return f"PublicKey({self.family}, {self.algorithm})"


class PrivateKey:
    """A private key that signs exactly one algorithm: RS256, ES256 or EdDSA.

    For tests, examples and services that issue tokens themselves; a service
    that only *checks* tokens from an identity provider needs a
    ``PublicKey`` (or a JWKS), never this.
    """

    __slots__ = ("_key", "algorithm", "algorithms", "family")

    def __init__(self, key: _Private) -> None:
        if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey,
                                ed25519.Ed25519PrivateKey)):  # fmt: skip
            raise InvalidKeyError(
                f"PrivateKey needs a cryptography private key object, not {type(key).__name__}"
            )
        self._key = key
        self.family = _family(key)
        self.algorithm = _ALGORITHM_OF[self.family]
        self.algorithms = frozenset({self.algorithm})

    @classmethod
    def generate(cls, algorithm: str) -> PrivateKey:
        """A fresh key for ``"RS256"`` (2048-bit RSA), ``"ES256"`` or ``"EdDSA"``."""
        if algorithm == "RS256":
            return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        if algorithm == "ES256":
            return cls(ec.generate_private_key(ec.SECP256R1()))
        if algorithm == "EdDSA":
            return cls(ed25519.Ed25519PrivateKey.generate())
        raise InvalidKeyError(f"cannot generate a key for {algorithm!r}; use one of "
                              f"{sorted(ASYMMETRIC_ALGORITHMS)}")  # fmt: skip

    @classmethod
    def from_pem(cls, data: bytes | str, password: bytes | None = None) -> PrivateKey:
        raw = data.encode() if isinstance(data, str) else data
        try:
            key = serialization.load_pem_private_key(raw, password=password)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise InvalidKeyError("this is not a PEM private key this module can use") from None
        return cls(key)  # type: ignore[arg-type]

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any] | str | bytes) -> PrivateKey:
        fields = _jwk_fields(jwk)
        if "d" not in fields:
            raise InvalidKeyError("this JWK has no private part ('d'); it can only verify")
        public = _public_from_jwk(fields)
        d = _jwk_bytes(fields, "d")
        key: _Private
        if isinstance(public, ed25519.Ed25519PublicKey):
            key = ed25519.Ed25519PrivateKey.from_private_bytes(d)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            key = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())
        else:
            numbers = public.public_numbers()
            p, q = (int.from_bytes(_jwk_bytes(fields, name), "big") for name in ("p", "q"))
            private_exponent = int.from_bytes(d, "big")
            key = rsa.RSAPrivateNumbers(
                p, q, private_exponent,
                rsa.rsa_crt_dmp1(private_exponent, p), rsa.rsa_crt_dmq1(private_exponent, q),
                rsa.rsa_crt_iqmp(p, q), numbers,
            ).private_key()  # fmt: skip
        made = cls(key)
        if made.public_key().to_jwk() != PublicKey(public).to_jwk():
            raise InvalidKeyError("the JWK's private part does not match its public part")
        return made

    def public_key(self) -> PublicKey:
        return PublicKey(self._key.public_key())

    def check_for(self, algorithm: str) -> None:
        if algorithm != self.algorithm:
            raise InvalidKeyError(
                f"{algorithm} cannot be signed with this {self.family} private key, "
                f"which serves {self.algorithm} only"
            )

    def sign(self, algorithm: str, signing_input: bytes) -> bytes:
        self.check_for(algorithm)
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(self._key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return self._key.sign(signing_input)

    def __repr__(self) -> str:
        return f"PrivateKey({self.family}, {self.algorithm}, <private>)"


# ---------------------------------------------------------------- loading helpers


def _load(loader: Callable[[bytes], Any], data: bytes, what: str) -> _Public:
    if not isinstance(data, (bytes, bytearray)):
        raise InvalidKeyError(f"a {what} must be bytes, not {type(data).__name__}")
    try:
        key = loader(bytes(data))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidKeyError(f"this is not a {what} this module can use") from None
    return key  # type: ignore[no-any-return]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64uint(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def _jwk_fields(jwk: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(jwk, (str, bytes)):
        try:
            jwk = json.loads(jwk)
        except ValueError:
            raise InvalidKeyError("this JWK is not JSON") from None
    if not isinstance(jwk, Mapping):
        raise InvalidKeyError("a JWK must be a JSON object")
    return jwk


def _jwk_bytes(fields: Mapping[str, Any], name: str) -> bytes:
    value = fields.get(name)
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise InvalidKeyError(f"the JWK's {name!r} must be a base64url string")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except binascii.Error:
        raise InvalidKeyError(f"the JWK's {name!r} is not base64url") from None


def _public_from_jwk(fields: Mapping[str, Any]) -> _Public:
    kty = fields.get("kty")
    try:
        if kty == "RSA":
            n, e = (int.from_bytes(_jwk_bytes(fields, name), "big") for name in ("n", "e"))
            return rsa.RSAPublicNumbers(e, n).public_key()
        if kty == "EC":
            if fields.get("crv") != "P-256":
                raise InvalidKeyError(
                    f"only the P-256 curve is supported, not {fields.get('crv')!r}"
                )
            x, y = (_jwk_bytes(fields, name) for name in ("x", "y"))
            if len(x) != 32 or len(y) != 32:
                raise InvalidKeyError("a P-256 JWK's 'x' and 'y' are 32 bytes each")
            # Loading checks that the point is on the curve (invalid-curve attacks).
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
        if kty == "OKP":
            if fields.get("crv") != "Ed25519":
                raise InvalidKeyError(f"only Ed25519 is supported, not {fields.get('crv')!r}")
            return ed25519.Ed25519PublicKey.from_public_bytes(_jwk_bytes(fields, "x"))
    except ValueError as exc:
        if isinstance(exc, InvalidKeyError):
            raise
        raise InvalidKeyError(f"this {kty} JWK is not a valid key") from None
    if kty == "oct":
        raise InvalidKeyError(
            "a symmetric ('oct') JWK is a shared secret, not a public key; "
            "make an HMACKey from its bytes explicitly if you really mean it"
        )
    raise InvalidKeyError(f"unsupported JWK kty {kty!r}; use RSA, EC (P-256) or OKP (Ed25519)")

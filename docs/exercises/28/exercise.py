"""Exercise 28: HMAC-signed, expiring download links. See README.md."""

import hashlib


def sign(path: str, expires: int, key: bytes) -> str:
    # TODO: no key, no separator: anyone can make one of these.
    signature = hashlib.sha256(f"{path}{expires}".encode()).hexdigest()
    return f"expires={expires}&signature={signature}"


def verify(path: str, expires: str, signature: str, key: bytes, now: float) -> bool:
    expected = hashlib.sha256(f"{path}{expires}".encode()).hexdigest()
    return signature == expected

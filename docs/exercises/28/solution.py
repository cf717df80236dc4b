"""Exercise 28, solved: HMAC-signed, expiring download links."""

import base64
import hashlib
import hmac


def _signature(path: str, expires: str, key: bytes) -> str:
    # "\n" cannot occur in a path or in a number: (path, expires) <-> message is one to one.
    message = f"{path}\n{expires}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(path: str, expires: int, key: bytes) -> str:
    return f"expires={expires}&signature={_signature(path, str(expires), key)}"


def verify(path: str, expires: str, signature: str, key: bytes, now: float) -> bool:
    if not (expires.isascii() and expires.isdigit()):
        return False
    expected = _signature(path, expires, key)
    valid = hmac.compare_digest(expected.encode(), signature.encode())
    return valid and now < int(expires)

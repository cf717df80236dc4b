"""Keys: the names files are stored under, checked before any backend sees one.

A key is a relative, ``/``-separated path such as ``avatars/42/original.png``.
The same rules hold on every backend, so code moved from local disk to S3 keeps
working: no ``..`` or ``.`` segment, no empty segment (``a//b``, a leading
``/``), no backslash, no control character, each segment at most 255 bytes and
the whole at most 1024 (S3's own limit). On local disk this is also what keeps
a key inside the storage root; the local backend checks the resolved path once
more all the same.

A key should be chosen by the app (``uuid4().hex + ".png"``), never copied from
a client's file name: ``safe_key`` is a wall, not a sanitiser.
"""

from __future__ import annotations

__all__ = ["InvalidKey", "safe_key"]

MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255
_FORBIDDEN = frozenset("\\" + "".join(map(chr, range(32))) + "\x7f")


class InvalidKey(ValueError):
    """The key cannot name a stored file (it would climb out, or is malformed)."""


def safe_key(key: str) -> str:
    """``key`` itself if it is a valid storage key; ``InvalidKey`` otherwise."""
    if not isinstance(key, str) or not key:
        raise InvalidKey("a storage key must be a non-empty string")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKey("a storage key must be valid UTF-8 text") from None
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKey(f"a storage key may be at most {MAX_KEY_BYTES} bytes")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKey(
                f"{key!r}: a key is a relative path like 'avatars/42.png', with no empty, "
                "'.' or '..' segment and no leading '/'"
            )
        if not _FORBIDDEN.isdisjoint(segment):
            raise InvalidKey(f"{key!r}: a key may hold no backslash or control character")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidKey(f"a segment of a storage key may be at most {MAX_SEGMENT_BYTES} bytes")
    return key

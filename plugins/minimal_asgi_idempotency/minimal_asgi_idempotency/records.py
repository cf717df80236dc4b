"""What a key holds, as bytes: one letter for the state, the request's fingerprint,
then what that state needs.

====  ===========================  ==========================================
kind  after it                     meaning
====  ===========================  ==========================================
``R`` fingerprint, lock token      running: a request holds the lock (lease)
``D`` fingerprint, the response    done: replay this response to a retry
``N`` fingerprint, the status      done, but the response was not kept (too
                                   large, or cut off mid-stream): a retry
                                   cannot be answered with it
====  ===========================  ==========================================

The fingerprint (``fingerprint``) is a SHA-256 of the method, the path, the
query string and the body: the same key with another request is told apart by
it (422). A response is stored as one JSON line - the status and the header
list - then the body bytes, unchanged.
"""

from __future__ import annotations

import hashlib
import json
from typing import NamedTuple

__all__ = ["DONE", "NOT_KEPT", "RUNNING", "Record", "encode_response", "fingerprint", "parse"]

RUNNING, DONE, NOT_KEPT = b"R", b"D", b"N"
_FINGERPRINT_LENGTH = 64  # hex SHA-256
_META_JSON = json.JSONEncoder(separators=(",", ":"))  # PERF: built once, not per answer


class Record(NamedTuple):
    kind: bytes
    fingerprint: bytes
    rest: bytes


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> bytes:
    """Which request this was, in 64 hex digits. Each part goes in with its
    length, so no path, query and body can pass for another split of the same
    bytes."""
    digest = hashlib.sha256(method.encode("ascii"))
    for part in (path.encode("utf-8", "surrogateescape"), query, body):
        digest.update(b"\0" + len(part).to_bytes(8, "big") + part)
    return digest.hexdigest().encode("ascii")


def parse(value: bytes) -> Record:
    cut = 1 + _FINGERPRINT_LENGTH
    return Record(value[:1], value[1:cut], value[cut:])


def encode_response(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    pairs = [[name.decode("latin-1"), value.decode("latin-1")] for name, value in headers]
    return _META_JSON.encode([status, pairs]).encode("ascii") + b"\n" + body


def decode_response(payload: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    meta, _, body = payload.partition(b"\n")
    status, pairs = json.loads(meta)
    return status, [(n.encode("latin-1"), v.encode("latin-1")) for n, v in pairs], body


__all__ += ["decode_response"]

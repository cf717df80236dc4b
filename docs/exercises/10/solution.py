"""Exercise 10, solved: an HTTP/1.1 request head, parsed strictly."""

import re
from dataclasses import dataclass

TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class Incomplete(Exception):
    """Not a whole head yet: read more bytes."""


class BadRequest(ValueError):
    """A head no server should guess about: answer 400 and close."""


@dataclass
class Head:
    method: str
    target: str
    version: str
    headers: list[tuple[bytes, bytes]]


def parse_head(data: bytes) -> Head:
    end = data.find(b"\r\n\r\n")
    if end == -1:
        if b"\n\n" in data or b"\r\n\n" in data:
            raise BadRequest("lines must end with CRLF")
        raise Incomplete
    lines = data[:end].split(b"\r\n")
    if any(b"\n" in line or b"\r" in line for line in lines):
        raise BadRequest("a bare LF or CR inside the head")

    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise BadRequest("the request line is METHOD SP target SP version")
    method, target, version = parts
    if not TOKEN.fullmatch(method):
        raise BadRequest(f"{method!r} is not a method")
    if not target.startswith(b"/"):
        raise BadRequest("the target must be a path starting with /")
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise BadRequest(f"{version!r} is not HTTP/1.0 or HTTP/1.1")

    headers = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            raise BadRequest("obsolete line folding")
        name, colon, value = line.partition(b":")
        if not colon or not TOKEN.fullmatch(name):  # "Host : x" fails here: a space is no tchar
            raise BadRequest(f"{line!r} is not a header")
        headers.append((name.lower(), value.strip(b" \t")))

    names = [name for name, _ in headers]
    if version == b"HTTP/1.1" and names.count(b"host") != 1:
        raise BadRequest("HTTP/1.1 needs exactly one Host header")
    lengths = {value for name, value in headers if name == b"content-length"}
    if lengths:
        if len(lengths) > 1 or not lengths.pop().isdigit():
            raise BadRequest("Content-Length must be one number")
        if b"transfer-encoding" in names:
            raise BadRequest("both Content-Length and Transfer-Encoding")
    return Head(method.decode(), target.decode("latin-1"), version.decode(), headers)

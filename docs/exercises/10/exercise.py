"""Exercise 10: parse an HTTP/1.1 request head, strictly. See README.md."""

from dataclasses import dataclass


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
    # TODO: this believes anything; see README.md for what to refuse.
    head = data.split(b"\n\n")[0].split(b"\r\n\r\n")[0]
    lines = [line.strip() for line in head.split(b"\n")]
    method, target, version = lines[0].split(b" ")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip()))
    return Head(method.decode(), target.decode(), version.decode(), headers)

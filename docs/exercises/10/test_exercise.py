"""Exercise 10: friendly heads parsed, ambiguous ones refused."""

from types import ModuleType

import pytest

GOOD = b"GET /notes?limit=2 HTTP/1.1\r\nHost: notes.example\r\nAccept:  */*  \r\n\r\n"


def test_a_good_head(exercise: ModuleType) -> None:
    head = exercise.parse_head(GOOD)
    assert (head.method, head.target, head.version) == ("GET", "/notes?limit=2", "HTTP/1.1")
    assert head.headers == [(b"host", b"notes.example"), (b"accept", b"*/*")]


def test_a_body_after_the_head_is_left_alone(exercise: ModuleType) -> None:
    data = b"POST /notes HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    assert exercise.parse_head(data).headers[-1] == (b"content-length", b"2")


@pytest.mark.parametrize("cut", [0, 10, len(GOOD) - 1])
def test_a_head_cut_short_is_incomplete(exercise: ModuleType, cut: int) -> None:
    with pytest.raises(exercise.Incomplete):
        exercise.parse_head(GOOD[:cut])


BAD = {
    "bare LF": b"GET / HTTP/1.1\nHost: x\n\n",
    "bare LF in a header": b"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
    "space before colon": b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
    "line folding": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  continued\r\n\r\n",
    "no colon": b"GET / HTTP/1.1\r\nHost: x\r\nnonsense\r\n\r\n",
    "method not a token": b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
    "two spaces": b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
    "unknown version": b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
    "no host": b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
    "two hosts": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "lengths disagree": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\n"
    ),
    "length not a number": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "length and chunked": (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
    ),
}


@pytest.mark.parametrize("name", BAD)
def test_ambiguous_heads_are_bad_requests(exercise: ModuleType, name: str) -> None:
    with pytest.raises(exercise.BadRequest):
        exercise.parse_head(BAD[name])


def test_http_1_0_needs_no_host(exercise: ModuleType) -> None:
    assert exercise.parse_head(b"GET / HTTP/1.0\r\n\r\n").headers == []

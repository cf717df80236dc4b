"""FileResponse: files streamed from disk, conditional requests, byte ranges."""

from __future__ import annotations

import errno
import itertools
import os
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minimal_asgi import App, BackgroundTask, FileResponse
from minimal_asgi import files as files_module
from minimal_asgi.errors import RESPONSE_STARTED
from minimal_asgi.files import MAX_RANGES, parse_range
from minimal_asgi.testing import TestClient, TestResponse
from minimal_asgi.types import Message

MTIME = 1_700_000_000  # Tue, 14 Nov 2023 22:13:20 GMT
DATA = bytes(range(256)) * 4  # 1024 bytes, every byte value, so slices are distinguishable


# -- helpers -------------------------------------------------------------------
def write(path: Path, content: bytes, mtime: int = MTIME) -> Path:
    path.write_bytes(content)
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    return write(tmp_path / "data.bin", DATA)


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    return write(tmp_path / "hello.txt", b"Hello, world\n")


def make_app(path: Path | str, **options: Any) -> App:
    app = App()

    async def serve_file() -> FileResponse:
        return FileResponse(path, **options)

    app.add_route("/file", serve_file, methods=["GET", "POST"])
    return app


def fetch(
    path: Path | str,
    request_headers: dict[str, str] | None = None,
    method: str = "GET",
    **options: Any,
) -> TestResponse:
    """One request to an app whose /file route returns ``FileResponse(path, **options)``."""
    with TestClient(make_app(path, **options)) as client:
        return client.request(method, "/file", headers=request_headers)


def etag_of(path: Path) -> str:
    return fetch(path, method="HEAD").headers["etag"]


def parse_byteranges(response: TestResponse) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/byteranges body, checked against RFC 2046's framing."""
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/byteranges; boundary=")
    boundary = content_type.split("boundary=", 1)[1].encode()
    body = response.content
    first, last = b"--" + boundary + b"\r\n", b"\r\n--" + boundary + b"--\r\n"
    assert body.startswith(first) and body.endswith(last)
    parts = []
    for part in body[len(first) : -len(last)].split(b"\r\n--" + boundary + b"\r\n"):
        head, _, data = part.partition(b"\r\n\r\n")
        fields = dict(line.decode().split(": ", 1) for line in head.split(b"\r\n"))
        parts.append((fields, data))
    return parts


async def call_directly(
    response: FileResponse, scope_extra: dict[str, Any] | None = None, disconnect: bool = False
) -> tuple[list[Message], dict[str, Any]]:
    """Call the response as an ASGI app with a recording ``send``."""
    scope: dict[str, Any] = {"type": "http", "method": "GET", "headers": [], **(scope_extra or {})}
    sent: list[Message] = []
    done = anyio.Event()

    async def receive() -> Message:
        if not disconnect:
            await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if not message.get("more_body", False) and message["type"] == "http.response.body":
            done.set()

    await response(scope, receive, send)
    return sent, scope


def body_messages(sent: list[Message]) -> list[Message]:
    return [m for m in sent if m["type"] == "http.response.body"]


# -- the whole file ------------------------------------------------------------
def test_sends_the_whole_file_with_its_length(data_file: Path) -> None:
    response = fetch(data_file)
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-length"] == str(len(DATA))


def test_media_type_is_guessed_from_the_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "page.pdf", b"%PDF-1.7")
    assert fetch(path).headers["content-type"] == "application/pdf"


def test_text_media_type_gets_utf8_charset(text_file: Path) -> None:
    assert fetch(text_file).headers["content-type"] == "text/plain; charset=utf-8"


def test_unknown_extension_is_octet_stream(tmp_path: Path) -> None:
    path = write(tmp_path / "blob.zzunknown", b"?")
    assert fetch(path).headers["content-type"] == "application/octet-stream"


def test_compressed_file_is_not_labelled_as_its_inner_type(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.txt.gz", b"\x1f\x8b")
    assert fetch(path).headers["content-type"] == "application/octet-stream"


def test_media_type_is_guessed_from_filename_when_given(tmp_path: Path) -> None:
    path = write(tmp_path / "upload-7f3a", b"a,b\n")
    response = fetch(path, filename="report.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"


def test_media_type_argument_overrides_the_guess(text_file: Path) -> None:
    response = fetch(text_file, media_type="application/x-custom")
    assert response.headers["content-type"] == "application/x-custom"


def test_last_modified_is_the_http_date_of_the_mtime(data_file: Path) -> None:
    assert fetch(data_file).headers["last-modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"


def test_etag_is_a_quoted_strong_tag(data_file: Path) -> None:
    etag = fetch(data_file).headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2


def test_etag_changes_when_the_file_changes(data_file: Path) -> None:
    before = etag_of(data_file)
    write(data_file, DATA + b"more", mtime=MTIME + 5)
    assert etag_of(data_file) != before


def test_accept_ranges_is_bytes(data_file: Path) -> None:
    assert fetch(data_file).headers["accept-ranges"] == "bytes"


def test_extra_headers_are_sent(data_file: Path) -> None:
    response = fetch(data_file, headers={"cache-control": "max-age=60"})
    assert response.headers["cache-control"] == "max-age=60"


def test_status_code_argument_is_used(data_file: Path) -> None:
    assert fetch(data_file, status_code=203).status_code == 203


def test_chunk_size_must_be_positive(data_file: Path) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        FileResponse(data_file, chunk_size=0)


# -- Content-Disposition --------------------------------------------------------
def test_no_content_disposition_without_filename(data_file: Path) -> None:
    assert "content-disposition" not in fetch(data_file).headers


def test_filename_makes_an_attachment(data_file: Path) -> None:
    response = fetch(data_file, filename="report.bin")
    assert response.headers["content-disposition"] == 'attachment; filename="report.bin"'


def test_inline_disposition_type(data_file: Path) -> None:
    response = fetch(data_file, filename="a.bin", content_disposition_type="inline")
    assert response.headers["content-disposition"] == 'inline; filename="a.bin"'


def test_non_ascii_filename_is_rfc5987_encoded_with_an_ascii_fallback(data_file: Path) -> None:
    response = fetch(data_file, filename="résumé €.pdf")
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"resume _.pdf\"; filename*=utf-8''r%C3%A9sum%C3%A9%20%E2%82%AC.pdf"
    )


def test_filename_with_a_quote_is_encoded_not_escaped(data_file: Path) -> None:
    response = fetch(data_file, filename='say "hi".txt')
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"say _hi_.txt\"; filename*=utf-8''say%20%22hi%22.txt"
    )


def test_filename_with_a_line_break_cannot_split_the_header(data_file: Path) -> None:
    response = fetch(data_file, filename="a\r\nSet-Cookie: x=1")
    assert "set-cookie" not in response.headers
    assert "%0D%0A" in response.headers["content-disposition"]


def test_invalid_disposition_type_is_refused(data_file: Path) -> None:
    with pytest.raises(ValueError, match="disposition"):
        FileResponse(data_file, filename="a.txt", content_disposition_type="inline\r\nx: y")


# -- missing files ----------------------------------------------------------------
def test_missing_file_gives_404_problem(tmp_path: Path) -> None:
    response = fetch(tmp_path / "nope.txt")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_directory_gives_404_problem(tmp_path: Path) -> None:
    response = fetch(tmp_path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_path_through_a_file_gives_404(data_file: Path) -> None:
    assert fetch(data_file / "child").status_code == 404


# -- names that cannot be served: 404 or 403, never a 500 or the server's path -------------
def assert_problem(response: TestResponse, status: int, path: Path | str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert str(path) not in response.text and "tmp" not in response.text


def test_a_name_with_a_nul_gives_404(tmp_path: Path) -> None:
    # os.stat refuses it with ValueError("embedded null byte") before any system call.
    assert_problem(fetch(f"{tmp_path}/data\x00.bin"), 404, tmp_path)


def test_a_name_with_a_lone_surrogate_gives_404(tmp_path: Path) -> None:
    # No file system encoding can spell it: UnicodeEncodeError, a ValueError.
    assert_problem(fetch(f"{tmp_path}/data\ud800.bin"), 404, tmp_path)


def test_a_name_longer_than_name_max_gives_404(tmp_path: Path) -> None:
    name = "a" * 300  # NAME_MAX is 255 bytes on Linux and macOS: ENAMETOOLONG
    assert_problem(fetch(tmp_path / name), 404, tmp_path)


def test_a_path_longer_than_path_max_gives_404(tmp_path: Path) -> None:
    path = tmp_path.joinpath(*["a" * 200] * 30)  # 6,000 bytes: ENAMETOOLONG
    assert_problem(fetch(path), 404, tmp_path)


def test_a_symlink_loop_gives_404(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert_problem(fetch(tmp_path / "a"), 404, tmp_path)  # ELOOP


def test_a_file_the_server_may_not_read_gives_403(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = write(tmp_path / "secret.txt", b"s3cret")
    secret.chmod(0)
    if os.access(secret, os.R_OK):  # root reads anything: refuse it as the OS would
        real_open = anyio.open_file

        async def refusing_open(file: Any, *args: Any, **kwargs: Any) -> Any:
            if str(file) == str(secret):
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
            return await real_open(file, *args, **kwargs)

        monkeypatch.setattr(anyio, "open_file", refusing_open)
        real_read_span = files_module._read_span

        def refusing_read(path: str, start: int, stop: int) -> bytes:
            if str(path) == str(secret):  # the one-hop path for small files
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_read_span(path, start, stop)

        monkeypatch.setattr(files_module, "_read_span", refusing_read)
    assert_problem(fetch(secret), 403, secret)


def test_a_file_in_a_directory_the_server_may_not_enter_gives_403(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    inside = write(locked / "data.bin", DATA)
    locked.chmod(0)
    try:
        if os.access(locked, os.X_OK):  # root enters anything: refuse as the OS would
            real_stat = os.stat

            def refusing_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
                if str(path) == str(inside):
                    raise PermissionError(errno.EACCES, "Permission denied", str(path))
                return real_stat(path, *args, **kwargs)

            monkeypatch.setattr(os, "stat", refusing_stat)
        response = fetch(inside)
    finally:
        locked.chmod(0o700)
    assert_problem(response, 403, inside)


def test_a_disk_error_is_not_hidden_as_a_404(
    data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # EIO is the server's trouble, not the name's: it stays an error for the log.
    real_stat = os.stat

    def failing_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if str(path) == str(data_file):
            raise OSError(errno.EIO, "Input/output error", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", failing_stat)
    with pytest.raises(OSError) as caught:
        fetch(data_file)
    assert caught.value.errno == errno.EIO


# -- HEAD -------------------------------------------------------------------------
def test_head_sends_the_same_headers_as_get_without_a_body(data_file: Path) -> None:
    get, head = fetch(data_file), fetch(data_file, method="HEAD")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers == get.headers


def test_head_does_not_open_the_file(data_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []
    real_open = anyio.open_file

    async def recording_open(*args: Any, **kwargs: Any) -> Any:
        opened.append(args[0])
        return await real_open(*args, **kwargs)

    monkeypatch.setattr(anyio, "open_file", recording_open)
    real_read_span = files_module._read_span

    def recording_read(path: str, start: int, stop: int) -> bytes:  # small files: one hop
        opened.append(path)
        return real_read_span(path, start, stop)

    monkeypatch.setattr(files_module, "_read_span", recording_read)
    fetch(data_file, method="HEAD")
    assert opened == []
    fetch(data_file)
    assert opened == [str(data_file)]  # the spy works: GET does open it


def test_head_ignores_range(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=0-9"}, method="HEAD")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DATA))


# -- conditional requests (RFC 9110, section 13) -------------------------------------
def test_if_none_match_with_the_current_etag_gives_304(data_file: Path) -> None:
    response = fetch(data_file, {"if-none-match": etag_of(data_file)})
    assert response.status_code == 304
    assert response.content == b""


def test_304_carries_etag_and_last_modified_but_no_content_headers(data_file: Path) -> None:
    etag = etag_of(data_file)
    response = fetch(data_file, {"if-none-match": etag})
    assert response.headers["etag"] == etag
    assert response.headers["last-modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert "content-length" not in response.headers
    assert "content-type" not in response.headers


def test_304_keeps_caching_headers(data_file: Path) -> None:
    response = fetch(
        data_file, {"if-none-match": etag_of(data_file)}, headers={"cache-control": "no-cache"}
    )
    assert response.headers["cache-control"] == "no-cache"


def test_if_none_match_star_gives_304(data_file: Path) -> None:
    assert fetch(data_file, {"if-none-match": "*"}).status_code == 304


def test_if_none_match_list_containing_the_etag_gives_304(data_file: Path) -> None:
    header = f'"other", {etag_of(data_file)}, "another"'
    assert fetch(data_file, {"if-none-match": header}).status_code == 304


def test_if_none_match_uses_weak_comparison(data_file: Path) -> None:
    header = "W/" + etag_of(data_file)
    assert fetch(data_file, {"if-none-match": header}).status_code == 304


def test_if_none_match_with_another_etag_sends_the_file(data_file: Path) -> None:
    response = fetch(data_file, {"if-none-match": '"not-it"'})
    assert response.status_code == 200
    assert response.content == DATA


def test_if_none_match_on_post_gives_412(data_file: Path) -> None:
    response = fetch(data_file, {"if-none-match": "*"}, method="POST")
    assert response.status_code == 412


def test_caller_etag_is_sent_and_used_for_if_none_match(data_file: Path) -> None:
    own = {"etag": '"sha-123"'}
    assert fetch(data_file, headers=own).headers.getlist("etag") == ['"sha-123"']
    assert fetch(data_file, {"if-none-match": '"sha-123"'}, headers=own).status_code == 304


def test_if_modified_since_the_mtime_gives_304(data_file: Path) -> None:
    response = fetch(data_file, {"if-modified-since": formatdate(MTIME, usegmt=True)})
    assert response.status_code == 304


def test_if_modified_since_after_the_mtime_gives_304(data_file: Path) -> None:
    response = fetch(data_file, {"if-modified-since": formatdate(MTIME + 3600, usegmt=True)})
    assert response.status_code == 304


def test_if_modified_since_before_the_mtime_sends_the_file(data_file: Path) -> None:
    response = fetch(data_file, {"if-modified-since": formatdate(MTIME - 1, usegmt=True)})
    assert response.status_code == 200
    assert response.content == DATA


def test_invalid_if_modified_since_is_ignored(data_file: Path) -> None:
    assert fetch(data_file, {"if-modified-since": "yesterday"}).status_code == 200


@pytest.mark.parametrize("value", ["", "Mon, 01 Jan 99999 00:00:00 GMT", "0" * 5000])
def test_malformed_if_modified_since_is_ignored(data_file: Path, value: str) -> None:
    assert fetch(data_file, {"if-modified-since": value}).status_code == 200


def test_if_modified_since_is_ignored_for_post(data_file: Path) -> None:
    headers = {"if-modified-since": formatdate(MTIME + 3600, usegmt=True)}
    assert fetch(data_file, headers, method="POST").status_code == 200


def test_if_none_match_takes_precedence_over_if_modified_since(data_file: Path) -> None:
    headers = {
        "if-none-match": '"not-it"',
        "if-modified-since": formatdate(MTIME + 3600, usegmt=True),
    }
    assert fetch(data_file, headers).status_code == 200


@pytest.mark.anyio
async def test_if_none_match_split_over_several_lines_is_one_list(data_file: Path) -> None:
    lines = [(b"if-none-match", b'"a"'), (b"if-none-match", etag_of(data_file).encode())]
    sent, _ = await call_directly(FileResponse(data_file), {"headers": lines})
    assert sent[0]["status"] == 304


def test_head_with_matching_if_none_match_gives_304(data_file: Path) -> None:
    response = fetch(data_file, {"if-none-match": "*"}, method="HEAD")
    assert response.status_code == 304


def test_conditionals_are_ignored_when_status_is_not_200(data_file: Path) -> None:
    response = fetch(data_file, {"if-none-match": "*"}, status_code=404)
    assert response.status_code == 404
    assert response.content == DATA


# -- range requests (RFC 9110, section 14) ----------------------------------------------
def test_range_first_last_gives_206_with_content_range(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.content == DATA[10:20]
    assert response.headers["content-range"] == "bytes 10-19/1024"
    assert response.headers["content-length"] == "10"


def test_range_open_ended_gives_the_rest_of_the_file(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=1000-"})
    assert response.content == DATA[1000:]
    assert response.headers["content-range"] == "bytes 1000-1023/1024"


def test_range_suffix_gives_the_last_bytes(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=-24"})
    assert response.content == DATA[-24:]
    assert response.headers["content-range"] == "bytes 1000-1023/1024"


def test_range_suffix_longer_than_the_file_gives_all_of_it(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=-5000"})
    assert response.status_code == 206
    assert response.headers["content-range"] == "bytes 0-1023/1024"


def test_range_end_past_the_file_is_clamped(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=1020-5000"})
    assert response.content == DATA[1020:]
    assert response.headers["content-range"] == "bytes 1020-1023/1024"


def test_range_keeps_the_file_media_type(text_file: Path) -> None:
    response = fetch(text_file, {"range": "bytes=0-4"})
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_range_unit_is_case_insensitive(data_file: Path) -> None:
    assert fetch(data_file, {"range": "Bytes=0-0"}).status_code == 206


def test_several_ranges_give_multipart_byteranges(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=0-9, 100-109, -5"})
    assert response.status_code == 206
    assert "content-range" not in response.headers
    assert response.headers["content-length"] == str(len(response.content))
    parts = parse_byteranges(response)
    assert [data for _, data in parts] == [DATA[0:10], DATA[100:110], DATA[-5:]]
    assert [fields["Content-Range"] for fields, _ in parts] == [
        "bytes 0-9/1024",
        "bytes 100-109/1024",
        "bytes 1019-1023/1024",
    ]
    assert all(fields["Content-Type"] == "application/octet-stream" for fields, _ in parts)


def test_multipart_parts_carry_the_file_media_type(text_file: Path) -> None:
    parts = parse_byteranges(fetch(text_file, {"range": "bytes=0-1,4-5"}))
    assert {fields["Content-Type"] for fields, _ in parts} == {"text/plain; charset=utf-8"}


def test_multipart_ranges_are_sent_in_file_order(data_file: Path) -> None:
    parts = parse_byteranges(fetch(data_file, {"range": "bytes=500-509,0-9"}))
    assert [data for _, data in parts] == [DATA[0:10], DATA[500:510]]


def test_overlapping_ranges_are_merged_into_one(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=0-9,5-14"})
    assert response.status_code == 206
    assert response.headers["content-range"] == "bytes 0-14/1024"
    assert response.content == DATA[0:15]


def test_adjacent_ranges_are_merged_into_one(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=10-19,0-9"})
    assert response.headers["content-range"] == "bytes 0-19/1024"


def test_sixteen_ranges_are_served_as_multipart(data_file: Path) -> None:
    ranges = ",".join(f"{i * 10}-{i * 10}" for i in range(MAX_RANGES))
    response = fetch(data_file, {"range": f"bytes={ranges}"})
    assert response.status_code == 206
    assert len(parse_byteranges(response)) == MAX_RANGES


def test_more_than_sixteen_ranges_are_ignored(data_file: Path) -> None:
    ranges = ",".join(f"{i * 10}-{i * 10}" for i in range(MAX_RANGES + 1))
    response = fetch(data_file, {"range": f"bytes={ranges}"})
    assert response.status_code == 200
    assert response.content == DATA


def test_many_ranges_that_merge_to_few_are_served(data_file: Path) -> None:
    ranges = ",".join(f"{i}-{i}" for i in range(100))
    response = fetch(data_file, {"range": f"bytes={ranges}"})
    assert response.status_code == 206
    assert response.content == DATA[:100]


def test_unsatisfiable_ranges_are_dropped_when_another_is_satisfiable(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=0-4,5000-6000"})
    assert response.status_code == 206
    assert response.headers["content-range"] == "bytes 0-4/1024"


def test_unsatisfiable_range_gives_416_with_content_range_star(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=1024-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */1024"
    assert response.headers["content-type"] == "application/problem+json"


def test_zero_length_suffix_range_gives_416(data_file: Path) -> None:
    assert fetch(data_file, {"range": "bytes=-0"}).status_code == 416


@pytest.mark.parametrize(
    "header", ["bytes=abc", "bytes=5-3", "bytes=", "bytes=1-2-3", "bytes=0-1,x", "bytes 0-9"]
)
def test_invalid_range_is_ignored(data_file: Path, header: str) -> None:
    response = fetch(data_file, {"range": header})
    assert response.status_code == 200
    assert response.content == DATA


def test_range_with_another_unit_is_ignored(data_file: Path) -> None:
    response = fetch(data_file, {"range": "items=0-9"})
    assert response.status_code == 200
    assert response.content == DATA


def test_range_on_an_empty_file_sends_the_empty_file(tmp_path: Path) -> None:
    response = fetch(write(tmp_path / "empty.txt", b""), {"range": "bytes=0-"})
    assert response.status_code == 200
    assert response.headers["content-length"] == "0"


def test_range_on_post_is_ignored(data_file: Path) -> None:
    assert fetch(data_file, {"range": "bytes=0-9"}, method="POST").status_code == 200


def test_range_is_ignored_when_status_is_not_200(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=0-9"}, status_code=404)
    assert response.status_code == 404
    assert response.content == DATA


def test_if_range_with_the_current_etag_honours_range(data_file: Path) -> None:
    headers = {"range": "bytes=0-9", "if-range": etag_of(data_file)}
    assert fetch(data_file, headers).status_code == 206


def test_if_range_with_a_stale_etag_sends_the_whole_file(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=0-9", "if-range": '"stale"'})
    assert response.status_code == 200
    assert response.content == DATA


def test_if_range_with_a_weak_etag_sends_the_whole_file(data_file: Path) -> None:
    headers = {"range": "bytes=0-9", "if-range": "W/" + etag_of(data_file)}
    assert fetch(data_file, headers).status_code == 200


def test_if_range_with_the_last_modified_date_honours_range(data_file: Path) -> None:
    headers = {"range": "bytes=0-9", "if-range": formatdate(MTIME, usegmt=True)}
    assert fetch(data_file, headers).status_code == 206


def test_if_range_with_another_date_sends_the_whole_file(data_file: Path) -> None:
    headers = {"range": "bytes=0-9", "if-range": formatdate(MTIME - 60, usegmt=True)}
    assert fetch(data_file, headers).status_code == 200


def test_if_range_that_does_not_match_avoids_a_416(data_file: Path) -> None:
    response = fetch(data_file, {"range": "bytes=5000-", "if-range": '"stale"'})
    assert response.status_code == 200


# -- streaming, at the ASGI level ----------------------------------------------------------
@pytest.mark.anyio
async def test_large_file_streams_in_several_body_messages(tmp_path: Path) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)
    path = write(tmp_path / "large.bin", content)
    sent, _ = await call_directly(FileResponse(path))
    bodies = body_messages(sent)
    assert len(bodies) > 10
    assert all(m["more_body"] for m in bodies[:-1])
    assert bodies[-1].get("more_body", False) is False
    assert b"".join(m["body"] for m in bodies) == content


@pytest.mark.anyio
async def test_chunks_are_no_larger_than_chunk_size(data_file: Path) -> None:
    sent, _ = await call_directly(FileResponse(data_file, chunk_size=100))
    assert max(len(m["body"]) for m in body_messages(sent)) == 100


@pytest.mark.anyio
async def test_response_started_is_set_in_the_scope(data_file: Path) -> None:
    _, scope = await call_directly(FileResponse(data_file))
    assert scope[RESPONSE_STARTED] is True


@pytest.mark.anyio
async def test_response_started_is_not_set_for_a_missing_file(tmp_path: Path) -> None:
    scope: dict[str, Any] = {"type": "http", "method": "GET", "headers": []}

    async def never(*args: Any) -> Any:
        raise AssertionError("nothing may be received or sent")

    with pytest.raises(Exception, match="404"):
        await FileResponse(tmp_path / "missing")(scope, never, never)
    assert RESPONSE_STARTED not in scope


@pytest.mark.anyio
async def test_file_that_shrinks_while_sent_raises_after_the_start(data_file: Path) -> None:
    scope: dict[str, Any] = {"type": "http", "method": "GET", "headers": []}

    async def receive() -> Message:
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            data_file.write_bytes(DATA[:100])  # truncated under our feet

    with pytest.raises(RuntimeError, match="shorter"):
        await FileResponse(data_file, chunk_size=64)(scope, receive, send)
    assert scope[RESPONSE_STARTED] is True


@pytest.mark.anyio
async def test_client_disconnect_stops_the_stream_but_runs_background(tmp_path: Path) -> None:
    path = write(tmp_path / "large.bin", bytes(4 * 1024 * 1024))
    ran: list[str] = []
    response = FileResponse(path, chunk_size=1024, background=BackgroundTask(ran.append, "task"))
    sent, _ = await call_directly(response, disconnect=True)
    assert all(m.get("more_body") for m in body_messages(sent))  # never completed
    assert ran == ["task"]


@pytest.mark.anyio
async def test_background_runs_after_the_body(data_file: Path) -> None:
    events: list[str] = []
    response = FileResponse(data_file, background=BackgroundTask(events.append, "background"))
    scope: dict[str, Any] = {"type": "http", "method": "GET", "headers": []}

    async def receive() -> Message:
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: Message) -> None:
        more = "more" if message.get("more_body") else "last"
        events.append(f"{message['type']} {more}")

    await response(scope, receive, send)
    assert events[-2:] == ["http.response.body last", "background"]


def test_background_runs_for_a_304(data_file: Path) -> None:
    ran: list[str] = []
    fetch(data_file, {"if-none-match": "*"}, background=BackgroundTask(ran.append, "task"))
    assert ran == ["task"]


# -- the Range parser against a slicing model (hypothesis) ---------------------------------
Spec = tuple[str, int, int]

specs = st.one_of(
    st.tuples(st.just("closed"), st.integers(0, 300), st.integers(0, 300)).map(
        lambda t: (t[0], min(t[1], t[2]), max(t[1], t[2]))
    ),
    st.tuples(st.just("open"), st.integers(0, 300), st.just(0)),
    st.tuples(st.just("suffix"), st.integers(0, 300), st.just(0)),
)


def render(spec: Spec) -> str:
    kind, a, b = spec
    return {"closed": f"{a}-{b}", "open": f"{a}-", "suffix": f"-{a}"}[kind]


def model(spec: Spec, size: int) -> set[int]:
    """The byte offsets a spec selects, by Python slicing (which clamps like RFC 9110)."""
    kind, a, b = spec
    offsets = range(size)
    if kind == "closed":
        return set(offsets[a : b + 1])
    if kind == "open":
        return set(offsets[a:])
    return set(offsets[-a:]) if a else set()


@given(
    size=st.integers(0, 300),
    spec_list=st.lists(specs, min_size=1, max_size=20),
    separator=st.sampled_from([",", ", ", " , ", ",\t", ",,"]),
)
def test_parse_range_selects_what_slicing_selects(
    size: int, spec_list: list[Spec], separator: str
) -> None:
    spans = parse_range("bytes=" + separator.join(map(render, spec_list)), size)
    assert spans is not None
    expected = set().union(*(model(spec, size) for spec in spec_list))
    assert {i for start, stop in spans for i in range(start, stop)} == expected
    # Sorted, non-empty, and merged: a gap of at least one byte between spans.
    assert all(start < stop for start, stop in spans)
    assert all(prev[1] < nxt[0] for prev, nxt in itertools.pairwise(spans))


@given(first=st.integers(1, 10**6), back=st.integers(1, 10**6), size=st.integers(0, 10**6))
def test_parse_range_with_last_before_first_is_invalid(first: int, back: int, size: int) -> None:
    assert parse_range(f"bytes={first + back}-{first}", size) is None


@given(st.text(alphabet="0123456789-=, abcxyz"))
def test_parse_range_never_raises(header: str) -> None:
    spans = parse_range(header, 100)
    assert spans is None or all(0 <= start < stop <= 100 for start, stop in spans)


@pytest.fixture(scope="module")
def served_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = write(tmp_path_factory.mktemp("files") / "data.bin", DATA)
    with TestClient(make_app(path, chunk_size=100)) as client:
        yield client


@settings(max_examples=40, deadline=None)
@given(spec=specs)
def test_a_single_range_response_is_the_slice(served_data: TestClient, spec: Spec) -> None:
    response = served_data.get("/file", headers={"range": "bytes=" + render(spec)})
    selected = sorted(model(spec, len(DATA)))
    if not selected:
        assert response.status_code == 416
        return
    assert response.status_code == 206
    assert response.content == DATA[selected[0] : selected[-1] + 1]
    assert response.headers["content-range"] == f"bytes {selected[0]}-{selected[-1]}/1024"


# -- a stat given by the caller, and the one-hop path for small files ----------


def _stat_claiming(path: Path, size: int, mtime: int) -> os.stat_result:
    real = os.stat(path)
    fields = list(real[:10])
    fields[6], fields[8] = size, mtime  # st_size, st_mtime
    return os.stat_result(fields, {"st_mtime": float(mtime), "st_mtime_ns": mtime * 10**9})


def test_a_given_stat_result_is_used_instead_of_a_second_look(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", b"hello")
    given = _stat_claiming(path, 5, 1_000_000_000)
    response = fetch(path, stat_result=given)
    assert response.content == b"hello"
    assert response.headers["last-modified"] == formatdate(1_000_000_000, usegmt=True)


def test_a_small_file_shorter_than_its_stat_fails_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "a.txt", b"hello")
    with TestClient(make_app(path, stat_result=_stat_claiming(path, 50, 0)),
                    raise_server_exceptions=False) as client:
        response = client.get("/file")
    assert response.status_code == 500  # not a 200 with 5 of the 50 bytes promised

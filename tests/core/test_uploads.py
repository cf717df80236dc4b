"""Uploads: request.form() on multipart/form-data, UploadFile, File()/Form()
parameters, sniffed media types, safe filenames and the OpenAPI shape.

The limits and the denial-of-service proofs are in test_upload_limits.py, the
clean-up of temporary files in test_upload_cleanup.py, memory under real
servers in test_upload_streaming.py.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from minimal_asgi import (
    App,
    ConfigurationError,
    Depends,
    File,
    Form,
    FormLimits,
    Request,
    UploadFile,
    WebSocket,
    safe_filename,
    sniff_media_type,
)
from minimal_asgi.formparsers import parse_header_params
from minimal_asgi.testing import TestClient, encode_multipart


@dataclass
class Photo:
    title: str


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
GIF = b"GIF89a" + b"\x00" * 32
PDF = b"%PDF-1.7\n" + b"\x00" * 32


def multipart(parts: list[bytes], boundary: str = "b0undary") -> tuple[bytes, dict[str, str]]:
    """A body made of raw parts (headers and content, as written), for tests
    that need to write what a well-behaved client never would."""
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


def form_app(**options: Any) -> App:
    app = App(**options)

    @app.post("/form")
    async def read_form(request: Request) -> dict[str, Any]:
        form = await request.form()
        out: dict[str, Any] = {}
        for name, value in form.items():
            if isinstance(value, UploadFile):
                out[name] = {
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "media_type": value.media_type,
                    "size": value.size,
                    "content": (await value.read()).decode("latin-1"),
                }
            else:
                out[name] = value
        return out

    return app


# -- request.form() ---------------------------------------------------------------------
def test_fields_come_back_as_strings_and_files_as_upload_files() -> None:
    with TestClient(form_app()) as client:
        response = client.post(
            "/form",
            data={"title": "Holiday", "note": "día 1"},
            files={"photo": ("beach.png", PNG, "image/png")},
        )
    assert response.status_code == 200
    assert response.json() == {
        "title": "Holiday",
        "note": "día 1",
        "photo": {
            "filename": "beach.png",
            "content_type": "image/png",
            "media_type": "image/png",
            "size": len(PNG),
            "content": PNG.decode("latin-1"),
        },
    }


def test_a_repeated_field_keeps_every_value_in_order() -> None:
    app = App()

    @app.post("/")
    async def tags(request: Request) -> list[str]:
        return (await request.form()).getlist("tag")

    with TestClient(app) as client:
        response = client.post("/", data={"tag": ["a", "b", "c"]}, files={"f": b"x"})
    assert response.json() == ["a", "b", "c"]


def test_a_file_part_read_back_matches_what_was_sent_byte_for_byte() -> None:
    content = bytes(range(256)) * 4000  # every byte value, CR and LF and "--" among them
    with TestClient(form_app()) as client:
        response = client.post("/form", files={"blob": ("b.bin", content)})
    assert response.json()["blob"]["content"] == content.decode("latin-1")


def test_a_small_file_stays_in_memory_and_a_large_one_moves_to_disk(tmp_path: Path) -> None:
    app = App(form_limits=FormLimits(spool_size=1000, upload_dir=str(tmp_path)))
    seen: dict[str, bool] = {}

    @app.post("/")
    async def upload(small: UploadFile, large: UploadFile) -> None:
        seen.update(small=small.in_memory, large=large.in_memory)
        assert (await large.read()) == b"L" * 5000

    with TestClient(app) as client:
        client.post("/", files={"small": b"s" * 10, "large": b"L" * 5000})
    assert seen == {"small": True, "large": False}


def test_upload_file_seek_then_read_returns_the_content_again() -> None:
    app = App()

    @app.post("/")
    async def twice(file: UploadFile) -> list[str]:
        first = await file.read(3)
        await file.seek(0)
        return [first.decode(), (await file.read()).decode()]

    with TestClient(app) as client:
        assert client.post("/", files={"file": b"abcdef"}).json() == ["abc", "abcdef"]


def test_a_form_read_after_body_parses_the_kept_body() -> None:
    app = App()

    @app.post("/")
    async def both(request: Request) -> dict[str, Any]:
        raw = await request.body()
        form = await request.form()
        return {"length": len(raw), "name": form["name"]}

    with TestClient(app) as client:
        response = client.post("/", data={"name": "x"}, files={"f": b"123"})
    assert response.json()["name"] == "x"


def test_the_body_ending_before_the_closing_boundary_is_a_400() -> None:
    body, headers = multipart([b'content-disposition: form-data; name="a"\r\n\r\n1'])
    truncated = body[: body.rindex(b"--b0undary--")]
    with TestClient(form_app()) as client:
        response = client.post("/form", content=truncated, headers=headers)
    assert response.status_code == 400
    assert "closing boundary" in response.json()["detail"]


def test_a_part_without_a_name_is_a_400() -> None:
    body, headers = multipart([b"content-disposition: form-data\r\n\r\n1"])
    with TestClient(form_app()) as client:
        response = client.post("/form", content=body, headers=headers)
    assert response.status_code == 400


def test_a_field_that_is_not_utf8_is_a_400() -> None:
    body, headers = multipart([b'content-disposition: form-data; name="a"\r\n\r\n\xff\xfe'])
    with TestClient(form_app()) as client:
        response = client.post("/form", content=body, headers=headers)
    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]


def test_a_multipart_type_without_a_boundary_is_a_400() -> None:
    with TestClient(form_app()) as client:
        response = client.post(
            "/form", content=b"x", headers={"content-type": "multipart/form-data"}
        )
    assert response.status_code == 400
    assert "boundary" in response.json()["detail"]


def test_header_parameters_are_parsed_with_quotes_and_the_extended_form() -> None:
    assert parse_header_params('form-data; name="a;b"; filename="x \\"y\\".txt"') == (
        "form-data",
        {"name": "a;b", "filename": 'x "y".txt'},
    )
    assert parse_header_params("form-data; name=f; filename*=UTF-8''%C3%A9t%C3%A9.txt") == (
        "form-data",
        {"name": "f", "filename": "été.txt"},
    )
    # An unknown charset leaves the plain form in place.
    assert parse_header_params("attachment; filename=a.txt; filename*=x-unknown''b")[1] == {
        "filename": "a.txt"
    }


def test_the_test_client_encodes_files_as_a_browser_does() -> None:
    body = encode_multipart({"a": "1"}, {"f": ("x\".txt", b"data", "text/plain")}, "B")
    assert body == (
        b'--B\r\ncontent-disposition: form-data; name="a"\r\n\r\n1\r\n'
        b'--B\r\ncontent-disposition: form-data; name="f"; filename="x%22.txt"\r\n'
        b"content-type: text/plain\r\n\r\ndata\r\n--B--\r\n"
    )


# -- parameters: File() and Form() --------------------------------------------------------
def di_app() -> App:
    app = App()

    @app.post("/photos")
    async def create_photo(
        photo: UploadFile,
        title: str = Form(),
        rating: Annotated[int, Form()] = 3,
        tags: list[str] = Form(default=[]),
        thumbnail: UploadFile | None = None,
    ) -> dict[str, Any]:
        return {
            "title": title,
            "rating": rating,
            "tags": tags,
            "photo": [photo.filename, photo.size],
            "thumbnail": thumbnail and thumbnail.filename,
        }

    @app.post("/albums")
    async def create_album(files: list[UploadFile]) -> list[str | None]:
        return [file.filename for file in files]

    @app.post("/avatars")
    async def set_avatar(
        avatar: UploadFile = File(media_types=["image/png", "image/jpeg"]),
    ) -> str | None:
        return avatar.media_type

    return app


def test_endpoint_parameters_take_files_and_fields() -> None:
    with TestClient(di_app()) as client:
        response = client.post(
            "/photos",
            data={"title": "Sea", "rating": "5", "tags": ["blue", "wet"]},
            files={"photo": ("sea.png", PNG)},
        )
    assert response.json() == {
        "title": "Sea", "rating": 5, "tags": ["blue", "wet"],
        "photo": ["sea.png", len(PNG)], "thumbnail": None,
    }


def test_a_list_parameter_takes_every_file_of_its_name() -> None:
    with TestClient(di_app()) as client:
        response = client.post("/albums", files={"files": [("a.png", PNG), ("b.gif", GIF)]})
    assert response.json() == ["a.png", "b.gif"]


def test_missing_and_invalid_form_values_are_one_422_with_locations() -> None:
    with TestClient(di_app()) as client:
        response = client.post("/photos", data={"rating": "many", "photo": "not a file"})
    assert response.status_code == 422
    assert sorted((e["loc"], e["type"]) for e in response.json()["errors"]) == [
        (["body", "photo"], "type"),
        (["body", "rating"], "value"),
        (["body", "title"], "missing"),
    ]


def test_a_file_sent_where_a_text_field_is_expected_is_a_422() -> None:
    with TestClient(di_app()) as client:
        response = client.post(
            "/photos", files={"photo": ("p.png", PNG), "title": ("t.txt", b"x")}
        )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "title"]


def test_a_required_media_type_is_checked_from_the_bytes_not_the_client() -> None:
    with TestClient(di_app()) as client:
        lying = client.post("/avatars", files={"avatar": ("a.png", GIF, "image/png")})
        honest = client.post(
            "/avatars", files={"avatar": ("a.bin", JPEG, "application/octet-stream")}
        )
    assert lying.status_code == 422
    assert lying.json()["errors"] == [
        {
            "loc": ["body", "avatar"],
            "msg": "the file is image/gif (read from its first bytes), expected one of "
            "image/png, image/jpeg",
            "type": "media_type",
        }
    ]
    assert (honest.status_code, honest.text) == (200, "image/jpeg")


def test_require_media_type_refuses_other_content_with_415() -> None:
    app = App()

    @app.post("/")
    async def pdf_only(request: Request) -> str:
        upload = (await request.form())["doc"]
        assert isinstance(upload, UploadFile)
        return upload.require_media_type("application/pdf")

    with TestClient(app) as client:
        refused = client.post("/", files={"doc": ("cv.pdf", PNG, "application/pdf")})
        accepted = client.post("/", files={"doc": ("cv", PDF)})
    assert refused.status_code == 415
    assert refused.json()["detected"] == "image/png"
    assert accepted.text == "application/pdf"


def test_a_json_body_sent_to_a_form_endpoint_is_a_415() -> None:
    with TestClient(di_app()) as client:
        response = client.post("/photos", json={"title": "x"})
    assert response.status_code == 415


def test_a_json_body_and_a_form_field_on_one_endpoint_are_refused_at_startup() -> None:
    app = App()

    @app.post("/")
    async def both(photo: Photo, file: UploadFile) -> None:
        return None

    with pytest.raises(ConfigurationError, match="a request has one body"):
        app.build()


async def read_photo_json(photo: Photo) -> Photo:
    return photo


def test_a_form_endpoint_whose_dependency_reads_json_is_refused_at_startup() -> None:
    app = App()

    @app.post("/")
    async def both(title: str = Form(), photo: Photo = Depends(read_photo_json)) -> None:
        return None

    with pytest.raises(ConfigurationError, match="both as JSON and as a form"):
        app.build()


def test_file_on_a_parameter_that_is_not_an_upload_is_refused_at_startup() -> None:
    app = App()

    @app.post("/")
    async def wrong(file: str = File()) -> None:
        return None

    with pytest.raises(ConfigurationError, match="File\\(\\) on 'file' needs the annotation"):
        app.build()


def test_a_websocket_cannot_take_a_form_field() -> None:
    app = App()

    @app.websocket("/ws")
    async def chat(websocket: WebSocket, name: str = Form()) -> None:
        return None

    with pytest.raises(ConfigurationError, match="a WebSocket handshake has no body"):
        app.build()


def test_the_plan_explains_where_form_values_come_from() -> None:
    app = di_app()
    app.build()
    route = next(r for r in app.router.routes if getattr(r, "path", "") == "/photos")
    plan = route.explain()
    assert "photo: form file 'photo' (required)" in plan
    assert "title: form 'title' (str, required)" in plan


# -- OpenAPI -----------------------------------------------------------------------------
def test_openapi_describes_files_as_multipart_with_binary_strings() -> None:
    document = di_app().openapi()
    validate(document)
    body = document["paths"]["/photos"]["post"]["requestBody"]
    schema = body["content"]["multipart/form-data"]["schema"]
    assert body["required"] is True
    assert list(body["content"]) == ["multipart/form-data"]
    assert schema["properties"]["photo"] == {"type": "string", "format": "binary"}
    assert schema["properties"]["rating"] == {"type": "integer", "default": 3}
    assert schema["required"] == ["photo", "title"]
    album = document["paths"]["/albums"]["post"]["requestBody"]["content"]
    assert album["multipart/form-data"]["schema"]["properties"]["files"] == {
        "type": "array", "items": {"type": "string", "format": "binary"},
    }
    parameters = document["paths"]["/photos"]["post"].get("parameters", [])
    assert parameters == []  # form values are the body, not query parameters


def test_openapi_offers_both_form_types_when_there_is_no_file() -> None:
    app = App()

    @app.post("/login")
    async def login(username: str = Form(), password: str = Form()) -> None:
        return None

    content = app.openapi()["paths"]["/login"]["post"]["requestBody"]["content"]
    assert list(content) == ["application/x-www-form-urlencoded", "multipart/form-data"]


# -- what the bytes are ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"GIF87a...", "image/gif"),
        (GIF, "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),  # RIFF, but a sound
        (PDF, "application/pdf"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        (b"\x1f\x8b\x08\x00", "application/gzip"),
        (b"II*\x00\x08\x00", "image/tiff"),
        (b"<svg xmlns=", None),
        (b"", None),
    ],
)
def test_sniff_media_type_reads_the_signature(head: bytes, expected: str | None) -> None:
    assert sniff_media_type(head) == expected


# -- filenames ---------------------------------------------------------------------------
HOSTILE = {
    "../../a": "a",
    "..\\a": "a",
    "a\x00.txt": "a_.txt",
    "": "upload",
    "..": "upload",
    "/etc/passwd": "passwd",
    "C:\\Windows\\win.ini": "win.ini",
    "CON.txt": "_CON.txt",
    ".htaccess": "htaccess",
    "résumé final.pdf": "resume final.pdf",
    "a" * 300 + ".png": "a" * 196 + ".png",
}


@pytest.mark.parametrize(("hostile", "expected"), HOSTILE.items())
def test_safe_filename_makes_a_harmless_basename(hostile: str, expected: str) -> None:
    assert safe_filename(hostile) == expected


@given(st.text())
def test_any_name_gives_one_plain_path_component(name: str) -> None:
    safe = safe_filename(name)
    assert safe and safe not in (".", "..") and not safe.startswith(".")
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert safe.isascii() and len(safe) <= 200
    root = Path("/srv/uploads")
    assert (root / safe).parent == root


@pytest.mark.parametrize(
    "disposition",
    [
        b'filename="../../a"',
        b'filename="..\\\\a"',
        b'filename="a\x00b"',
        b"filename*=UTF-8''..%2F..%2Fa",
        b'filename=""',
    ],
    ids=["dot-dot-slash", "backslash", "nul", "rfc8187-encoded", "empty"],
)
def test_hostile_filenames_never_land_outside_the_upload_directory(
    tmp_path: Path, disposition: bytes
) -> None:
    uploads = tmp_path / "uploads" / "inner"
    uploads.mkdir(parents=True)
    app = App()

    @app.post("/")
    async def save(file: UploadFile) -> list[str | None]:
        target = uploads / file.safe_filename
        target.write_bytes(await file.read())
        return [file.filename, file.safe_filename]

    body, headers = multipart(
        [b'content-disposition: form-data; name="file"; ' + disposition + b"\r\n\r\nevil"]
    )
    with TestClient(app) as client:
        response = client.post("/", content=body, headers=headers)
    assert response.status_code == 200
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(written) == 1
    assert written[0].parent == uploads
    assert written[0].read_bytes() == b"evil"
    client_name, safe = response.json()
    assert safe == written[0].name
    if b"*=" in disposition:
        assert client_name == "../../a"  # decoded, kept for display, never used as a path



# -- python-multipart, the optional extra ------------------------------------------------
def test_without_python_multipart_a_form_route_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "python_multipart", None)  # as if not installed
    app = App()

    @app.post("/")
    async def upload(file: UploadFile) -> None:
        return None

    with pytest.raises(ConfigurationError, match=r"pip install 'minimal-asgi\[forms\]'"):
        app.build()


def test_without_python_multipart_urlencoded_forms_still_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "python_multipart", None)
    app = form_app()
    with TestClient(app) as client:
        assert client.post("/form", data={"a": "1"}).json() == {"a": "1"}


def test_importing_the_framework_does_not_import_python_multipart() -> None:
    script = (
        "import sys\n"
        "from minimal_asgi import App, File, Form, FormLimits, UploadFile\n"
        "app = App()\n"
        "print('python_multipart' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


# -- any body at all ---------------------------------------------------------------------
VALID = multipart([
    b'content-disposition: form-data; name="title"\r\n\r\nHoliday',
    b'content-disposition: form-data; name="photo"; filename="a.png"\r\n'
    b"content-type: image/png\r\n\r\n" + PNG,
])[0]


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """A valid body with a few bytes replaced, inserted or cut."""
    body = bytearray(VALID)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(body)))
        edit = draw(st.sampled_from(["replace", "insert", "cut"]))
        chunk = draw(st.sampled_from([b"\r\n", b"--", b"\x00", b'"', b";", b"--b0undary"])
                     | st.binary(max_size=8))
        if edit == "replace":
            body[at : at + len(chunk)] = chunk
        elif edit == "insert":
            body[at:at] = chunk
        else:
            del body[at : at + draw(st.integers(1, 40))]
    return bytes(body)


def test_any_body_is_answered_200_400_or_413_never_500() -> None:
    app = form_app(form_limits=FormLimits(max_file_size=200, max_field_size=50))
    headers = {"content-type": "multipart/form-data; boundary=b0undary"}
    with TestClient(app) as client:

        @settings(max_examples=300, deadline=None)
        @given(mangled() | st.binary(max_size=300))
        def check(body: bytes) -> None:
            response = client.post("/form", content=body, headers=headers)
            assert response.status_code in (200, 400, 413), response.text

        check()

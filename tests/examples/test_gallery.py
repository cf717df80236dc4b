"""The gallery example: images in, thumbnails and signed links out, hostile input refused."""

from __future__ import annotations

import io
import time
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pypdf import PdfWriter

from examples.gallery.app import GallerySettings, create_app
from minimal_asgi import ConfigurationError, Secret
from minimal_asgi.testing import TestClient
from tests.plugins.storage.conftest import bucket, moto_s3  # noqa: F401 - fixtures
from tests.plugins.storage.test_images import _png_declaring

KEY = Secret("g" * 32)
PNG = {"content-type": "image/png"}


def _png(size: tuple[int, int] = (1000, 500), format: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "orange").save(out, format=format)
    return out.getvalue()


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = GallerySettings(storage_root=str(tmp_path), storage_signing_key=KEY)
    with TestClient(create_app(settings)) as client:
        yield client  # type: ignore[misc]


def test_an_uploaded_image_gets_signed_links_to_it_and_its_thumbnail(client: TestClient) -> None:
    image_id = uuid.uuid4()
    response = client.put(f"/images/{image_id}", content=_png(), headers=PNG)
    assert response.status_code == 201
    links = response.json()
    assert links["id"] == str(image_id)
    original = client.get(links["original"])
    assert original.status_code == 200
    assert original.content == _png()
    assert original.headers["content-type"] == "image/png"
    thumb = client.get(links["thumbnail"])
    with Image.open(io.BytesIO(thumb.content)) as picture:
        assert picture.size == (256, 128)


def test_fresh_links_and_delete(client: TestClient) -> None:
    image_id = uuid.uuid4()
    client.put(f"/images/{image_id}", content=_png(), headers={"content-type": "image/png"})
    links = client.get(f"/images/{image_id}").json()
    assert client.get(links["thumbnail"]).status_code == 200
    assert client.delete(f"/images/{image_id}").status_code == 204
    assert client.get(f"/images/{image_id}").status_code == 404
    assert client.get(links["original"]).status_code == 404
    assert client.delete(f"/images/{image_id}").status_code == 404


def test_a_link_aimed_at_the_other_file_is_403(client: TestClient) -> None:
    image_id = uuid.uuid4()
    links = client.put(
        f"/images/{image_id}", content=_png(), headers={"content-type": "image/png"}
    ).json()
    query = links["original"].split("?")[1]
    forged = links["thumbnail"].split("?")[0] + "?" + query
    assert client.get(forged).status_code == 403


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (_png(), "text/plain", 415),
        (_png(), "", 415),
        (b"not an image", "image/png", 422),
        (_png(format="BMP"), "image/png", 422),  # a BMP that claims to be a PNG
        (_png_declaring(60_000, 60_000), "image/png", 422),  # a decompression bomb
        (b"\0" * (10 * 1024 * 1024 + 1), "image/png", 413),
    ],
    ids=["wrong type", "no type", "garbage", "bmp as png", "bomb", "too large"],
)
def test_hostile_uploads_are_4xx_problems(
    client: TestClient, body: bytes, content_type: str, status: int
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.put(f"/images/{uuid.uuid4()}", content=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_a_non_uuid_id_is_404(client: TestClient) -> None:
    response = client.put("/images/..%2f..%2fetc", content=_png(), headers=PNG)
    assert response.status_code == 404


def test_pdf_page_count(client: TestClient) -> None:
    writer = PdfWriter()
    for _ in range(4):
        writer.add_blank_page(width=100, height=100)
    pdf = io.BytesIO()
    writer.write(pdf)
    assert client.post("/documents/pages", content=pdf.getvalue()).json() == {"pages": 4}
    assert client.post("/documents/pages", content=b"hello").status_code == 422


def test_the_static_page_is_served(client: TestClient) -> None:
    response = client.get("/static/")
    assert response.status_code == 200
    assert "<h1>Gallery</h1>" in response.text


def test_production_without_a_signing_key_refuses_to_start(tmp_path: Path) -> None:
    settings = GallerySettings(storage_root=str(tmp_path), environment="production")
    with pytest.raises(ConfigurationError, match="GALLERY_STORAGE_SIGNING_KEY"):
        create_app(settings)


def test_development_without_a_key_uses_a_random_one(tmp_path: Path) -> None:
    with TestClient(create_app(GallerySettings(storage_root=str(tmp_path)))) as client:
        image_id = uuid.uuid4()
        links = client.put(
            f"/images/{image_id}", content=_png(), headers={"content-type": "image/png"}
        ).json()
        assert client.get(links["thumbnail"]).status_code == 200


def test_the_gallery_on_s3_gives_presigned_links(moto_s3: str, bucket: str) -> None:  # noqa: F811
    settings = GallerySettings(
        storage_backend="s3", s3_bucket=bucket, s3_endpoint_url=moto_s3,
        s3_access_key_id="testing", s3_secret_access_key=Secret("testing"),
    )
    with TestClient(create_app(settings)) as client:
        image_id = uuid.uuid4()
        links = client.put(
            f"/images/{image_id}", content=_png(), headers={"content-type": "image/png"}
        ).json()
    assert links["original"].startswith(moto_s3)
    deadline = time.monotonic() + 10
    response = httpx.get(links["thumbnail"], timeout=max(1.0, deadline - time.monotonic()))
    assert response.status_code == 200
    with Image.open(io.BytesIO(response.content)) as picture:
        assert picture.size == (256, 128)


def test_an_image_uploaded_in_a_form_gets_signed_links(client: TestClient) -> None:
    response = client.post("/images", files={"image": ("photo.png", _png(), "image/png")})
    assert response.status_code == 201
    links = response.json()
    uuid.UUID(links["id"])  # the app chose the id, not the file name
    assert client.get(links["original"]).content == _png()
    with Image.open(io.BytesIO(client.get(links["thumbnail"]).content)) as picture:
        assert picture.size == (256, 128)


@pytest.mark.parametrize(
    ("part", "status"),
    [
        (("notes.txt", b"just text", "image/png"), 422),  # the bytes are not an image
        (("photo.png", _png(format="BMP"), "image/png"), 422),  # not an allowed format
        (("../../etc/passwd.png", _png_declaring(60_000, 60_000), "image/png"), 422),  # a bomb
    ],
    ids=["text as png", "bmp as png", "bomb with a hostile name"],
)
def test_hostile_form_uploads_are_422_problems(
    client: TestClient, part: tuple[str, bytes, str], status: int
) -> None:
    response = client.post("/images", files={"image": part})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_a_form_without_the_image_field_is_a_422_naming_it(client: TestClient) -> None:
    response = client.post("/images", files={"picture": ("photo.png", _png(), "image/png")})
    assert response.status_code == 422
    assert ["body", "image"] in [error["loc"] for error in response.json()["errors"]]


def test_an_image_over_the_limit_in_a_form_is_a_413(client: TestClient) -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024)
    response = client.post("/images", files={"image": ("big.png", big, "image/png")})
    assert response.status_code == 413

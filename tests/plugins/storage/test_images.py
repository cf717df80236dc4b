"""Thumbnails and PDF page counts: off the event loop, and safe on hostile input."""

from __future__ import annotations

import io
import struct
import threading
import zlib

import pytest
from PIL import Image
from pypdf import PdfWriter

from minimal_asgi_storage import (
    DocumentRejected,
    ImageRejected,
    count_pdf_pages,
    image_format,
    make_thumbnail,
    pdf_page_count,
    thumbnail,
)
from minimal_asgi_storage import images as images_module


def _image(format: str, size: tuple[int, int] = (800, 600), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "teal").save(out, format=format)
    return out.getvalue()


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header *claims* width x height: the shape of a bomb.
    Decoding it would allocate width * height pixels; reading its header does not."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("format", ["PNG", "JPEG", "GIF", "WEBP"])
def test_a_thumbnail_fits_the_box_and_keeps_the_aspect(format: str) -> None:
    data = make_thumbnail(_image(format), size=(200, 200))
    with Image.open(io.BytesIO(data)) as result:
        assert result.format == "PNG"
        assert result.size == (200, 150)


def test_a_small_image_is_not_enlarged() -> None:
    with Image.open(io.BytesIO(make_thumbnail(_image("PNG", (40, 30))))) as result:
        assert result.size == (40, 30)


def test_the_output_format_can_be_chosen() -> None:
    data = make_thumbnail(_image("PNG"), output_format="WEBP")
    with Image.open(io.BytesIO(data)) as result:
        assert result.format == "WEBP"


def test_a_palette_image_is_converted() -> None:
    data = make_thumbnail(_image("GIF", mode="P"), output_format="JPEG")
    with Image.open(io.BytesIO(data)) as result:
        assert result.format == "JPEG"


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = _png_declaring(50_000, 50_000)  # 2.5 gigapixels, in about 100 bytes
    assert len(bomb) < 200
    with pytest.raises(ImageRejected, match="pixels"):
        make_thumbnail(bomb)


def test_the_pixel_limit_is_configurable() -> None:
    with pytest.raises(ImageRejected, match="800x600 pixels; at most 100,000"):
        make_thumbnail(_image("PNG"), max_pixels=100_000)


def test_pillow_never_decodes_a_refused_bomb(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = []
    original = Image.Image.load

    def spy(self: Image.Image) -> object:
        loaded.append(self.size)
        return original(self)

    monkeypatch.setattr(Image.Image, "load", spy)
    with pytest.raises(ImageRejected):
        make_thumbnail(_png_declaring(20_000, 20_000))
    assert loaded == []


@pytest.mark.parametrize("format", ["BMP", "TIFF", "ICO"])
def test_a_format_outside_the_allow_list_is_refused(format: str) -> None:
    with pytest.raises(ImageRejected, match="accepted format"):
        make_thumbnail(_image(format, (64, 64)))


def test_the_allow_list_can_be_widened() -> None:
    assert make_thumbnail(_image("BMP", (64, 64)), formats={"BMP"})


@pytest.mark.parametrize(
    "data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, _image("PNG")[:100]]
)
def test_garbage_and_truncated_images_are_refused(data: bytes) -> None:
    with pytest.raises(ImageRejected):
        make_thumbnail(data)


@pytest.mark.anyio
async def test_thumbnail_runs_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads = []
    original = images_module.make_thumbnail

    def recording(*args: object, **kwargs: object) -> bytes:
        threads.append(threading.current_thread())
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(images_module, "make_thumbnail", recording)
    data = await thumbnail(_image("PNG"), size=(64, 64))
    assert threads and threads[0] is not threading.main_thread()
    assert threads[0] is not threading.current_thread()
    with Image.open(io.BytesIO(data)) as result:
        assert max(result.size) == 64


# -- documents -----------------------------------------------------------------


def _pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.anyio
async def test_pdf_page_count() -> None:
    assert await pdf_page_count(_pdf(3)) == 3


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7\ngarbage", _pdf(2)[:60]])
def test_a_broken_pdf_is_refused(data: bytes) -> None:
    with pytest.raises(DocumentRejected):
        count_pdf_pages(data)


def test_a_pdf_over_the_page_limit_is_refused() -> None:
    with pytest.raises(DocumentRejected, match="at most 5"):
        count_pdf_pages(_pdf(6), max_pages=5)


@pytest.mark.parametrize("format", ["PNG", "JPEG", "GIF", "WEBP"])
def test_image_format_reads_the_format_from_the_bytes(format: str) -> None:
    assert image_format(_image(format, (8, 8))) == format


@pytest.mark.parametrize("data", [b"", b"GIF89a-but-not", _image("BMP", (8, 8))])
def test_image_format_refuses_what_is_not_allowed(data: bytes) -> None:
    with pytest.raises(ImageRejected, match="accepted format"):
        image_format(data)


def test_image_format_reads_a_large_header_without_decoding_it() -> None:
    # 144 megapixels: under Pillow's own bomb error, far over what make_thumbnail takes.
    assert image_format(_png_declaring(12_000, 12_000)) == "PNG"
    with pytest.raises(ImageRejected):
        image_format(_png_declaring(50_000, 50_000))  # past Pillow's error threshold

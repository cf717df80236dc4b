"""Thumbnails with Pillow: off the event loop, and safe against image bombs.

Decoding an image is CPU work - tens of milliseconds for a photo - and Pillow
holds the GIL for much of it, so it runs in a worker thread
(``anyio.to_thread``): the event loop keeps serving other requests meanwhile.
For heavy volumes, run ``make_thumbnail`` in a job queue instead; it is a plain
function of bytes to bytes for that reason.

An uploaded image is hostile input:

- **A decompression bomb**: a 50 KB PNG that declares 50,000 x 50,000 pixels
  decodes to 10 GB. The header is read first (``Image.open`` decodes nothing)
  and the pixel count checked against ``max_pixels`` *before* ``load``.
- **An unexpected format**: Pillow reads dozens of formats, some with a long
  history of parser bugs. Only those in ``formats`` are even tried
  (``Image.open(formats=...)``); the default is PNG, JPEG, GIF and WebP.
  The format is read from the bytes, never from the file name or the client's
  Content-Type.
- **A broken file**: every Pillow error becomes ``ImageRejected``, which an app
  answers with a 422, not a 500.
"""

from __future__ import annotations

import functools
import io
import warnings
from collections.abc import Iterable

import anyio.to_thread
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "ALLOWED_FORMATS",
    "DEFAULT_MAX_PIXELS",
    "ImageRejected",
    "image_format",
    "make_thumbnail",
    "thumbnail",
]

# The media type of each allowed format, for a stored file's Content-Type.
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}

ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP"})
# 40 megapixels: a large phone photo is about 12 to 50. At 4 bytes a pixel,
# the worst image decoded is about 160 MB.
DEFAULT_MAX_PIXELS = 40_000_000


class ImageRejected(ValueError):
    """Not an image this app accepts: unreadable, a format not allowed, or too large."""


def image_format(data: bytes, formats: Iterable[str] = ALLOWED_FORMATS) -> str:
    """The format of the image in ``data`` ("PNG", ...), read from its header
    only (cheap: nothing is decoded); ``ImageRejected`` if not an allowed one.
    The answer to trust, rather than a file name or a client's Content-Type."""
    allowed = sorted({f.upper() for f in formats})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=allowed) as image:
                return str(image.format)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
            ValueError):
        raise ImageRejected(f"not an image in an accepted format ({', '.join(allowed)})") from None


def make_thumbnail(
    data: bytes,
    *,
    size: tuple[int, int] = (256, 256),
    max_pixels: int = DEFAULT_MAX_PIXELS,
    formats: Iterable[str] = ALLOWED_FORMATS,
    output_format: str = "PNG",
) -> bytes:
    """A copy of the image in ``data``, fitted within ``size`` (aspect kept),
    as ``output_format`` bytes. Blocking: call ``thumbnail`` from async code."""
    allowed = sorted({f.upper() for f in formats})
    with warnings.catch_warnings():
        # Pillow's own bomb check warns above Image.MAX_IMAGE_PIXELS; make
        # it an error, so a bomb never gets as far as being decoded.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=allowed)
        except UnidentifiedImageError:
            accepted = ", ".join(allowed)
            raise ImageRejected(f"not an image in an accepted format ({accepted})") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected("the image declares too many pixels") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageRejected(f"the image cannot be read: {exc}") from None
        with image:
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRejected(
                    f"the image is {width}x{height} pixels; at most {max_pixels:,} are accepted"
                )
            try:
                image.draft("RGB", size)  # JPEG: decode at a reduced scale, far cheaper
                fitted = ImageOps.exif_transpose(image)  # a phone's "rotate 90" flag
                fitted.thumbnail(size)
                if fitted.mode not in ("RGB", "RGBA", "L", "LA"):
                    fitted = fitted.convert("RGBA")  # palette, CMYK, 16-bit: to plain pixels
                if output_format.upper() == "JPEG" and fitted.mode not in ("RGB", "L"):
                    fitted = fitted.convert("RGB")  # JPEG has no alpha channel
                out = io.BytesIO()
                fitted.save(out, format=output_format)
            except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
                raise ImageRejected(f"the image cannot be decoded: {exc}") from None
    return out.getvalue()


async def thumbnail(
    data: bytes,
    *,
    size: tuple[int, int] = (256, 256),
    max_pixels: int = DEFAULT_MAX_PIXELS,
    formats: Iterable[str] = ALLOWED_FORMATS,
    output_format: str = "PNG",
) -> bytes:
    """``make_thumbnail`` in a worker thread: the event loop is not blocked."""
    work = functools.partial(
        make_thumbnail, data, size=size, max_pixels=max_pixels, formats=tuple(formats),
        output_format=output_format,
    )
    return await anyio.to_thread.run_sync(work)

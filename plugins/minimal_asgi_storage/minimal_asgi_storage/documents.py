"""Document processing: how many pages a PDF has, read off the event loop.

The same rules as images: the work runs in a worker thread, the input is
checked by its bytes (``%PDF-``), not its name, and every parser error
becomes ``DocumentRejected`` (a 422 for the client), never a 500. pypdf reads
only the page tree to count pages, not the page contents.
"""

from __future__ import annotations

import io
import logging

import anyio.to_thread
from pypdf import PdfReader
from pypdf.errors import PyPdfError

__all__ = ["DocumentRejected", "count_pdf_pages", "pdf_page_count"]


class DocumentRejected(ValueError):
    """Not a document this app accepts: not a PDF, broken, or too long."""


def count_pdf_pages(data: bytes, *, max_pages: int = 2000) -> int:
    """The number of pages of the PDF in ``data``. Blocking."""
    if not data.startswith(b"%PDF-"):
        raise DocumentRejected("not a PDF (it does not start with %PDF-)")
    # pypdf logs every repair it makes to a damaged file as a warning; those
    # are the client's problem, reported by the exception, not the server's log.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        pages = len(PdfReader(io.BytesIO(data), strict=False).pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise DocumentRejected(f"the PDF cannot be read: {type(exc).__name__}") from None
    if pages > max_pages:
        raise DocumentRejected(f"the PDF has {pages} pages; at most {max_pages} are accepted")
    return pages


async def pdf_page_count(data: bytes, *, max_pages: int = 2000) -> int:
    """``count_pdf_pages`` in a worker thread."""
    return await anyio.to_thread.run_sync(lambda: count_pdf_pages(data, max_pages=max_pages))

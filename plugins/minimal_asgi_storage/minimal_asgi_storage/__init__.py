"""minimal_asgi_storage: files on local disk or S3, signed links, thumbnails.

``Storage`` is the plugin (plugin.py); the backends implement one small
interface (backends.py): ``LocalStorage`` (local.py) and ``S3Storage``
(s3.py), chosen by ``StorageSettings`` (settings.py). Signed links are
signing.py; image thumbnails images.py; PDF page counts documents.py.
"""

from minimal_asgi_storage.backends import (
    FileNotFound,
    StorageBackend,
    StorageError,
    StorageUnavailable,
    StoredFile,
    StoredReader,
)
from minimal_asgi_storage.content import Content
from minimal_asgi_storage.documents import DocumentRejected, count_pdf_pages, pdf_page_count
from minimal_asgi_storage.images import (
    MEDIA_TYPES,
    ImageRejected,
    image_format,
    make_thumbnail,
    thumbnail,
)
from minimal_asgi_storage.keys import InvalidKey, safe_key
from minimal_asgi_storage.local import LocalStorage
from minimal_asgi_storage.plugin import Storage
from minimal_asgi_storage.s3 import S3Storage
from minimal_asgi_storage.settings import StorageSettings, backend_from_settings
from minimal_asgi_storage.signing import (
    ExpiredSignature,
    InvalidSignature,
    SignatureError,
    URLSigner,
)

__all__ = [
    "MEDIA_TYPES",
    "Content",
    "DocumentRejected",
    "ExpiredSignature",
    "FileNotFound",
    "ImageRejected",
    "InvalidKey",
    "InvalidSignature",
    "LocalStorage",
    "S3Storage",
    "SignatureError",
    "Storage",
    "StorageBackend",
    "StorageError",
    "StorageSettings",
    "StorageUnavailable",
    "StoredFile",
    "StoredReader",
    "URLSigner",
    "backend_from_settings",
    "count_pdf_pages",
    "image_format",
    "make_thumbnail",
    "pdf_page_count",
    "safe_key",
    "thumbnail",
]

"""Which backend, chosen by configuration: ``StorageSettings.from_env(prefix="APP_")``.

============================  ==========================================
variable (prefix ``APP_``)    meaning
============================  ==========================================
``APP_STORAGE_BACKEND``       ``local`` (default) or ``s3``
``APP_STORAGE_ROOT``          local: the directory (default ``storage``)
``APP_STORAGE_SIGNING_KEY``   local: the key signed links are made with
``APP_S3_BUCKET``             s3: the bucket (it must exist)
``APP_S3_ENDPOINT_URL``       s3: a non-AWS service (MinIO, R2, moto)
``APP_S3_REGION``             s3: default ``us-east-1``
``APP_S3_ACCESS_KEY_ID``      s3: or boto3's usual sources
``APP_S3_SECRET_ACCESS_KEY``  s3: likewise
``APP_S3_PREFIX``             s3: a folder inside the bucket
============================  ==========================================
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from minimal_asgi import ConfigurationError, Secret, Settings
from minimal_asgi_storage.backends import StorageBackend
from minimal_asgi_storage.local import LocalStorage
from minimal_asgi_storage.s3 import S3Storage
from minimal_asgi_storage.signing import URLSigner

__all__ = ["StorageSettings", "backend_from_settings"]


class StorageSettings(Settings):
    storage_backend: Literal["local", "s3"] = "local"
    storage_root: str = "storage"
    storage_signing_key: Secret | None = None
    s3_bucket: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: Secret | None = None
    s3_prefix: str = ""


def backend_from_settings(
    settings: StorageSettings,
    *,
    url_prefix: str = "/files",
    clock: Callable[[], float] = time.time,
) -> StorageBackend:
    """The backend the settings describe; ``ConfigurationError`` naming the
    variable if one is missing."""
    if settings.storage_backend == "s3":
        if not settings.s3_bucket:
            raise ConfigurationError("storage backend 's3' needs a bucket: set S3_BUCKET")
        secret = settings.s3_secret_access_key
        return S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            prefix=settings.s3_prefix,
        )
    key = settings.storage_signing_key
    signer = URLSigner(key, clock=clock) if key else None
    return LocalStorage(settings.storage_root, signer=signer, url_prefix=url_prefix)

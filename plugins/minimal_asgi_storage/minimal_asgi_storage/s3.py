"""S3, or anything that speaks its API (MinIO, Ceph, R2, moto): through boto3.

boto3 is a blocking client, so every call runs in a worker thread
(``anyio.to_thread``), never on the event loop. The client is built once, at
construction (it opens no connection until the first call), with short
connect and read timeouts and few retries: a storage service that is down
must turn into a quick 503, not a request that hangs for minutes.

Uploads of unknown length (an async stream) are spooled first - in memory up
to 8 MiB, then to a temporary file - and handed to boto3's ``upload_fileobj``,
which sends large files as a multipart upload in parts. Memory stays flat
whatever the size.

``url`` and ``upload_url`` sign a URL locally (SigV4, no request is sent):
the browser then talks to S3 directly, and the bytes never pass through the
app (docs/28-files-and-storage.md, "Uploading straight to S3").
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from minimal_asgi_storage.backends import (
    FileNotFound,
    StorageError,
    StorageUnavailable,
    StoredFile,
    StoredReader,
)
from minimal_asgi_storage.content import Content, chunks
from minimal_asgi_storage.keys import safe_key
from minimal_asgi_storage.local import guess_type

__all__ = ["S3Storage"]

T = TypeVar("T")
SPOOL_IN_MEMORY = 8 * 1024 * 1024
_UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionError)
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
# Answers that say "not now" rather than "no": S3 asks clients to back off with
# these (SlowDown is its 503), so they are StorageUnavailable (a 503) too.
_TRANSIENT_CODES = frozenset({
    "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling",
    "ThrottlingException", "RequestLimitExceeded", "TooManyRequests",
})


class S3Storage:
    """Files in ``bucket`` (which must exist), each key under ``prefix``.

    ``endpoint_url``: the service's address for anything but AWS
    (``http://127.0.0.1:9000`` for MinIO); keys are then addressed by path
    (``/bucket/key``), which every S3-compatible service understands.
    Credentials: given here, or found by boto3 the usual way (environment,
    ``~/.aws``, an instance role). ``client``: a boto3 S3 client of your own.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
        connect_timeout: float = 3,
        read_timeout: float = 30,
        max_attempts: int = 2,
        client: Any = None,
    ) -> None:
        if not bucket:
            raise ValueError("S3Storage needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
        )
        self.client = client or boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )

    def _name(self, key: str) -> str:
        return self.prefix + safe_key(key)

    async def _call(self, key: str, function: Callable[..., T], /, **params: Any) -> T:
        """``function(**params)`` in a worker thread, its errors translated."""
        try:
            return await anyio.to_thread.run_sync(lambda: function(**params))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code"))
            if code in _MISSING_CODES:
                raise FileNotFound(key) from None
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in _TRANSIENT_CODES or status >= 500:
                raise StorageUnavailable(f"S3 answered {code} (HTTP {status}); try again "
                                         "later") from exc
            # The rest is a mistake in the setup (a missing bucket, wrong keys, a
            # policy that denies): said plainly, for the log, never to the client.
            raise StorageError(f"S3 refused the {function.__name__} of {key!r} in bucket "
                               f"{self.bucket!r}: {code} - {error.get('Message', '')}; check "
                               "the bucket name, the credentials and the bucket's policy") from exc
        except _UNREACHABLE as exc:
            raise StorageUnavailable(f"S3 at {self.client.meta.endpoint_url} did not answer: "
                                     f"{type(exc).__name__}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"S3 call failed: {exc}") from exc

    async def save(
        self, key: str, content: Content, *, content_type: str | None = None
    ) -> StoredFile:
        name = self._name(key)
        content_type = content_type or guess_type(key)
        if isinstance(content, bytes | bytearray | memoryview):
            body = bytes(content)
            await self._call(
                key, self.client.put_object,
                Bucket=self.bucket, Key=name, Body=body, ContentType=content_type,
            )
            return StoredFile(key, len(body), content_type)
        with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as spool:
            size = 0
            async for chunk in chunks(content):
                await anyio.to_thread.run_sync(spool.write, chunk)
                size += len(chunk)
            spool.seek(0)
            await self._call(
                key, self.client.upload_fileobj,
                Fileobj=spool, Bucket=self.bucket, Key=name,
                ExtraArgs={"ContentType": content_type},
            )
        return StoredFile(key, size, content_type)

    async def open(self, key: str) -> StoredReader:
        answer = await self._call(key, self.client.get_object, Bucket=self.bucket,
                                  Key=self._name(key))
        body = answer["Body"]

        async def read(size: int) -> bytes:
            data: bytes = await anyio.to_thread.run_sync(body.read, size)
            return data

        async def close() -> None:
            await anyio.to_thread.run_sync(body.close)

        return StoredReader(
            key, int(answer["ContentLength"]),
            answer.get("ContentType") or guess_type(key), read, close,
        )

    async def exists(self, key: str) -> bool:
        try:
            await self._call(key, self.client.head_object, Bucket=self.bucket, Key=self._name(key))
        except FileNotFound:
            return False
        return True

    async def delete(self, key: str) -> bool:
        # S3's DELETE answers 204 whether or not the key existed: ask first.
        if not await self.exists(key):
            return False
        await self._call(key, self.client.delete_object, Bucket=self.bucket, Key=self._name(key))
        return True

    async def url(self, key: str, *, expires_in: float = 3600) -> str:
        """A presigned GET: anyone holding it can download the file until it expires."""
        return self._presign("get_object", key, expires_in, {})

    async def upload_url(
        self, key: str, *, expires_in: float = 600, content_type: str | None = None
    ) -> str:
        """A presigned PUT: the browser uploads the file straight to S3.
        With ``content_type``, the upload must send exactly that Content-Type."""
        extra = {"ContentType": content_type} if content_type else {}
        return self._presign("put_object", key, expires_in, extra)

    def _presign(self, operation: str, key: str, expires_in: float, extra: dict[str, str]) -> str:
        if not 0 < expires_in <= 7 * 24 * 3600:  # SigV4's own limit: a week
            raise ValueError("expires_in must be between 0 and 604800 seconds (7 days)")
        url: str = self.client.generate_presigned_url(
            operation,
            Params={"Bucket": self.bucket, "Key": self._name(key), **extra},
            ExpiresIn=int(expires_in),
        )
        return url

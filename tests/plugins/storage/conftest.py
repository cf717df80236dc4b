"""Fixtures for the storage tests: a moto S3 server, and one backend per kind.

``moto_s3`` starts moto's S3 server (``python -m moto.server``) on 127.0.0.1,
on a free port, once per session, and stops it at the end. ``backend`` runs a
test twice: on ``LocalStorage`` in a temporary directory, then on
``S3Storage`` in a fresh bucket of that server - the contract suite is written
once for both.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from minimal_asgi_storage import LocalStorage, S3Storage, StorageBackend, URLSigner
from tests.server.servers import free_port

SIGNING_KEY = "k" * 32
CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}
STARTUP_TIMEOUT = 30.0  # seconds for moto to listen: not a performance limit


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """The endpoint URL of a moto S3 server of this test session."""
    import socket

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def bucket(moto_s3: str) -> str:
    name = f"test-{uuid.uuid4().hex[:20]}"
    client = boto3.client(
        "s3", endpoint_url=moto_s3, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_storage(moto_s3: str, bucket: str) -> S3Storage:
    return S3Storage(bucket, endpoint_url=moto_s3, **CREDENTIALS)


@pytest.fixture
def local_storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage", signer=URLSigner(SIGNING_KEY))


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> StorageBackend:
    name = "local_storage" if request.param == "local" else "s3_storage"
    backend: StorageBackend = request.getfixturevalue(name)
    return backend

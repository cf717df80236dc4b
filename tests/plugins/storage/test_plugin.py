"""The plugin in an app: chosen by configuration, injected, and a 503 when S3 is down."""

from __future__ import annotations

from pathlib import Path

import pytest

from minimal_asgi import App, ConfigurationError, Request
from minimal_asgi.testing import TestClient
from minimal_asgi_storage import (
    LocalStorage,
    S3Storage,
    Storage,
    StorageError,
    StorageSettings,
    StorageUnavailable,
    backend_from_settings,
)
from tests.plugins.storage.conftest import CREDENTIALS, SIGNING_KEY
from tests.server.servers import free_port


def _app(storage: Storage) -> App:
    app = App(plugins=[storage])

    @app.put("/files-api/{key:path}")
    async def upload(key: str, request: Request, files: Storage) -> dict[str, object]:
        stored = await files.save(key, request.stream())
        return {"key": stored.key, "size": stored.size, "url": await files.url(key)}

    @app.get("/exists/{key:path}")
    async def exists(key: str, files: Storage) -> dict[str, bool]:
        return {"exists": await files.exists(key)}

    @app.get("/read/{key:path}")
    async def read(key: str, files: Storage) -> bytes:
        async with await files.open(key) as reader:
            return await reader.read()

    return app


def test_settings_choose_the_local_backend(tmp_path: Path) -> None:
    settings = StorageSettings.from_env(
        prefix="APP_",
        environ={"APP_STORAGE_ROOT": str(tmp_path), "APP_STORAGE_SIGNING_KEY": SIGNING_KEY},
    )
    backend = backend_from_settings(settings)
    assert isinstance(backend, LocalStorage)
    assert backend.root == str(tmp_path.resolve())
    assert backend.signer is not None


def test_settings_choose_the_s3_backend(moto_s3: str, bucket: str) -> None:
    settings = StorageSettings.from_env(
        prefix="APP_",
        environ={
            "APP_STORAGE_BACKEND": "s3", "APP_S3_BUCKET": bucket,
            "APP_S3_ENDPOINT_URL": moto_s3, "APP_S3_ACCESS_KEY_ID": "testing",
            "APP_S3_SECRET_ACCESS_KEY": "testing", "APP_S3_PREFIX": "/uploads/",
        },
    )
    backend = backend_from_settings(settings)
    assert isinstance(backend, S3Storage)
    assert backend.bucket == bucket
    assert backend.prefix == "uploads/"


def test_s3_without_a_bucket_names_the_variable() -> None:
    settings = StorageSettings(storage_backend="s3")
    with pytest.raises(ConfigurationError, match="S3_BUCKET"):
        backend_from_settings(settings)


def test_an_unknown_backend_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="APP_STORAGE_BACKEND"):
        StorageSettings.from_env(prefix="APP_", environ={"APP_STORAGE_BACKEND": "ftp"})


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_an_endpoint_stores_a_streamed_body_and_reads_it_back(
    kind: str, request: pytest.FixtureRequest
) -> None:
    backend = request.getfixturevalue(f"{kind}_storage")
    with TestClient(_app(Storage(backend))) as client:
        response = client.put("/files-api/notes/today.txt", content=b"a" * 200_000)
        assert response.status_code == 200
        assert response.json()["size"] == 200_000
        assert client.get("/exists/notes/today.txt").json() == {"exists": True}
        assert client.get("/read/notes/today.txt").content == b"a" * 200_000
        assert client.get("/read/notes/none.txt").status_code == 404
        assert client.get("/read/%2e%2e/x").status_code == 404  # InvalidKey: a 404 problem


def test_s3_down_is_a_503_problem_with_retry_after(tmp_path: Path) -> None:
    # Nothing listens on this port: the connection is refused at once.
    backend = S3Storage(
        "bucket", endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1,
        connect_timeout=2, **CREDENTIALS,
    )
    with TestClient(_app(Storage(backend))) as client:
        response = client.get("/exists/a.txt")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.anyio
async def test_s3_down_raises_storage_unavailable() -> None:
    backend = S3Storage(
        "bucket", endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1, **CREDENTIALS
    )
    with pytest.raises(StorageUnavailable, match="did not answer"):
        await backend.save("a.txt", b"x")


def test_the_plugin_reads_its_settings_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_ROOT", str(tmp_path))
    monkeypatch.setenv("STORAGE_SIGNING_KEY", SIGNING_KEY)
    app = App(plugins=["storage"])  # by its entry-point name
    with TestClient(app) as client:
        assert client.get("/files/x.txt").status_code == 403  # the download route exists
    assert app.url_path_for("storage_download", key="a/b.txt") == "/files/a/b.txt"


def test_no_download_route_without_a_signing_key(tmp_path: Path) -> None:
    app = App(plugins=[Storage(LocalStorage(tmp_path))])
    with TestClient(app) as client:
        assert client.get("/files/x.txt").status_code == 404


def test_the_download_route_follows_url_prefix(tmp_path: Path) -> None:
    from minimal_asgi_storage import URLSigner

    backend = LocalStorage(tmp_path, signer=URLSigner(SIGNING_KEY))
    (tmp_path / "a.txt").write_text("A")
    storage = Storage(backend, url_prefix="/private/")
    with TestClient(App(plugins=[storage])) as client:
        signer = backend.signer
        assert signer is not None
        query = "&".join(f"{k}={v}" for k, v in signer.sign("a.txt", expires_in=9).items())
        assert client.get(f"/private/a.txt?{query}").text == "A"


@pytest.mark.anyio
async def test_a_missing_bucket_is_a_storage_error_that_says_what_to_check(moto_s3: str) -> None:
    backend = S3Storage("no-such-bucket-here", endpoint_url=moto_s3, **CREDENTIALS)
    with pytest.raises(StorageError, match=r"NoSuchBucket.*check the bucket name") as caught:
        await backend.save("a.txt", b"x")
    assert not isinstance(caught.value, StorageUnavailable)  # a mistake, not an outage


@pytest.mark.parametrize(("code", "status"), [("SlowDown", 503), ("InternalError", 500),
                                              ("SomethingNew", 502)])
def test_s3_asking_to_back_off_is_a_503_with_retry_after(code: str, status: int) -> None:
    # moto cannot be made to throttle, so a client that answers as S3 does then.
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]

    class Throttled:
        meta = type("Meta", (), {"endpoint_url": "http://s3.test"})()

        def head_object(self, **params: object) -> None:
            raise ClientError({"Error": {"Code": code, "Message": "slow down"},
                               "ResponseMetadata": {"HTTPStatusCode": status}}, "HeadObject")

    backend = S3Storage("bucket", client=Throttled(), **CREDENTIALS)
    with TestClient(_app(Storage(backend))) as client:
        response = client.get("/exists/a.txt")
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"

"""Signed links: tampered, expired or re-scoped ones are refused with a 403 problem."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from minimal_asgi import App, ConfigurationError, Secret
from minimal_asgi.testing import TestClient
from minimal_asgi_storage import (
    ExpiredSignature,
    InvalidSignature,
    LocalStorage,
    S3Storage,
    Storage,
    URLSigner,
)
from tests.plugins.storage.conftest import SIGNING_KEY


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def storage(tmp_path: Path, clock: Clock) -> LocalStorage:
    backend = LocalStorage(tmp_path, signer=URLSigner(SIGNING_KEY, clock=clock))
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "report.pdf").write_bytes(b"%PDF-1.4 report")
    (tmp_path / "private" / "other.pdf").write_bytes(b"%PDF-1.4 other")
    return backend


def _split(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, dict(parse_qsl(parts.query))


async def _url(
    storage: LocalStorage, key: str = "private/report.pdf", expires_in: float = 60
) -> str:
    return await storage.url(key, expires_in=expires_in)


def _problem(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["reason"] == reason
    assert b"%PDF" not in response.content


@pytest.mark.anyio
async def test_a_signed_link_downloads_the_file(storage: LocalStorage) -> None:
    url = await _url(storage)
    with TestClient(App(plugins=[Storage(storage)])) as client:
        response = client.get(url)
    assert response.status_code == 200
    assert response.content == b"%PDF-1.4 report"
    assert response.headers["content-type"] == "application/pdf"


@pytest.mark.anyio
async def test_an_expired_link_is_403_and_still_valid_one_second_before(
    storage: LocalStorage, clock: Clock
) -> None:
    url = await _url(storage, expires_in=60)
    with TestClient(App(plugins=[Storage(storage)])) as client:
        clock.now += 59
        assert client.get(url).status_code == 200
        clock.now += 1
        _problem(client.get(url), "expired")


@pytest.mark.anyio
async def test_a_later_expiry_written_into_the_link_is_403(storage: LocalStorage) -> None:
    path, params = _split(await _url(storage))
    params["expires"] = str(int(params["expires"]) + 3600)
    with TestClient(App(plugins=[Storage(storage)])) as client:
        _problem(client.get(f"{path}?{urlencode(params)}"), "invalid")


@pytest.mark.anyio
async def test_a_link_used_for_another_file_is_403(storage: LocalStorage) -> None:
    _, params = _split(await _url(storage, "private/report.pdf"))
    with TestClient(App(plugins=[Storage(storage)])) as client:
        _problem(client.get(f"/files/private/other.pdf?{urlencode(params)}"), "invalid")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "change",
    [
        {"signature": ""},
        {"signature": "AAAA"},
        {"signature": "!!!!"},
        {"signature": "é"},
        {"expires": ""},
        {"expires": "-1"},
        {"expires": "1e9"},
        {"expires": "9" * 40},
    ],
)
async def test_a_malformed_or_flipped_signature_is_403(
    storage: LocalStorage, change: dict[str, str]
) -> None:
    path, params = _split(await _url(storage))
    params.update(change)
    with TestClient(App(plugins=[Storage(storage)])) as client:
        _problem(client.get(f"{path}?{urlencode(params)}"), "invalid")


@pytest.mark.anyio
async def test_every_single_character_change_of_the_signature_is_refused(
    storage: LocalStorage,
) -> None:
    signer = storage.signer
    assert signer is not None
    params = signer.sign("k.txt", expires_in=60)
    signature = params["signature"]
    for index in range(len(signature)):
        replacement = "A" if signature[index] != "A" else "B"
        forged = {**params, "signature": signature[:index] + replacement + signature[index + 1 :]}
        with pytest.raises(InvalidSignature):
            signer.verify("k.txt", forged)


def test_a_link_signed_for_get_does_not_authorise_a_put() -> None:
    signer = URLSigner(SIGNING_KEY)
    params = signer.sign("k.txt", expires_in=60, method="GET")
    signer.verify("k.txt", params, method="GET")
    with pytest.raises(InvalidSignature):
        signer.verify("k.txt", params, method="PUT")


def test_a_link_signed_with_another_key_is_refused() -> None:
    params = URLSigner("a" * 32).sign("k.txt", expires_in=60)
    with pytest.raises(InvalidSignature):
        URLSigner("b" * 32).verify("k.txt", params)


def test_the_signature_is_checked_before_the_expiry() -> None:
    clock = Clock()
    signer = URLSigner(SIGNING_KEY, clock=clock)
    params = signer.sign("k.txt", expires_in=1)
    clock.now += 10
    with pytest.raises(ExpiredSignature):
        signer.verify("k.txt", params)
    with pytest.raises(InvalidSignature):  # forged *and* old: still only "invalid"
        signer.verify("k.txt", {**params, "signature": "A" * 43})


@pytest.mark.parametrize("key", ["short", b"x" * 31, Secret("y" * 31)])
def test_a_short_key_is_refused(key: str | bytes | Secret) -> None:
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        URLSigner(key)


def test_a_key_from_a_secret_is_accepted() -> None:
    signer = URLSigner(Secret("z" * 40))
    signer.verify("a", signer.sign("a", expires_in=5))


@pytest.mark.parametrize("expires_in", [0, -5, 10**9])
def test_an_expiry_out_of_range_is_refused(expires_in: float) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        URLSigner(SIGNING_KEY).sign("a", expires_in=expires_in)


def test_a_missing_file_with_a_valid_link_is_404(storage: LocalStorage) -> None:
    signer = storage.signer
    assert signer is not None
    params = signer.sign("private/none.pdf", expires_in=60)
    with TestClient(App(plugins=[Storage(storage)])) as client:
        response = client.get(f"/files/private/none.pdf?{urlencode(params)}")
    assert response.status_code == 404


def test_a_traversal_key_in_the_download_route_is_404(storage: LocalStorage) -> None:
    signer = storage.signer
    assert signer is not None
    # Even correctly signed (which an attacker cannot do), the key is refused.
    params = signer.sign("../secret", expires_in=60)
    with TestClient(App(plugins=[Storage(storage)])) as client:
        response = client.get(f"/files/%2e%2e/secret?{urlencode(params)}")
    assert response.status_code == 404


@pytest.mark.anyio
async def test_local_url_without_a_signer_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="signing key"):
        await LocalStorage(tmp_path).url("a.txt")


# -- S3: presigned URLs ------------------------------------------------------


@pytest.mark.anyio
async def test_a_presigned_put_uploads_straight_to_s3(s3_storage: S3Storage) -> None:
    url = await s3_storage.upload_url("direct/photo.png", expires_in=120, content_type="image/png")
    async with httpx.AsyncClient() as client:
        response = await client.put(
            url, content=b"png bytes", headers={"content-type": "image/png"}
        )
    assert response.status_code == 200
    async with await s3_storage.open("direct/photo.png") as reader:
        assert await reader.read() == b"png bytes"
        assert reader.content_type == "image/png"


@pytest.mark.anyio
async def test_presigned_urls_carry_an_expiry_and_a_signature(s3_storage: S3Storage) -> None:
    url = await s3_storage.url("a.txt", expires_in=300)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["X-Amz-Expires"] == "300"
    assert query["X-Amz-Signature"]
    with pytest.raises(ValueError, match="expires_in"):
        await s3_storage.url("a.txt", expires_in=8 * 24 * 3600)


@pytest.mark.anyio
async def test_upload_url_through_the_plugin_needs_s3(
    s3_storage: S3Storage, storage: LocalStorage
) -> None:
    assert "X-Amz-Signature" in await Storage(s3_storage).upload_url("a.png")
    with pytest.raises(RuntimeError, match="needs the S3 backend"):
        await Storage(storage).upload_url("a.png")

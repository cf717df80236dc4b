"""The storage contract: every backend, local disk and S3 (moto), passes the same tests."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minimal_asgi import App
from minimal_asgi.testing import AsyncTestClient
from minimal_asgi_storage import (
    FileNotFound,
    InvalidKey,
    LocalStorage,
    Storage,
    StorageBackend,
    safe_key,
)

pytestmark = pytest.mark.anyio


async def test_save_then_open_gives_the_bytes_back(backend: StorageBackend) -> None:
    stored = await backend.save("docs/a.txt", b"hello")
    assert (stored.key, stored.size, stored.content_type) == ("docs/a.txt", 5, "text/plain")
    async with await backend.open("docs/a.txt") as reader:
        assert reader.size == 5
        assert reader.content_type == "text/plain"
        assert await reader.read() == b"hello"


async def test_save_takes_a_binary_file(backend: StorageBackend) -> None:
    stored = await backend.save("f.bin", io.BytesIO(b"x" * 3_000_000))
    assert stored.size == 3_000_000
    async with await backend.open("f.bin") as reader:
        assert await reader.read() == b"x" * 3_000_000


async def test_save_takes_an_object_with_an_async_read(backend: StorageBackend) -> None:
    class Upload:  # the shape of an UploadFile
        def __init__(self, data: bytes) -> None:
            self.buffer = io.BytesIO(data)

        async def read(self, size: int = -1) -> bytes:
            return self.buffer.read(size)

    stored = await backend.save("u.bin", Upload(b"uploaded"))
    assert stored.size == 8


async def test_save_streams_an_async_iterator_in_chunks(backend: StorageBackend) -> None:
    async def body() -> AsyncIterator[bytes]:
        for index in range(12):  # 12 MiB: past S3's multipart threshold
            yield bytes([index]) * (1024 * 1024)

    stored = await backend.save("big.bin", body(), content_type="application/x-test")
    assert stored.size == 12 * 1024 * 1024
    assert stored.content_type == "application/x-test"
    seen = 0
    async with await backend.open("big.bin") as reader:
        assert reader.size == stored.size
        async for chunk in reader:
            assert set(chunk) <= set(range(12))
            seen += len(chunk)
    assert seen == stored.size


async def test_save_replaces_an_existing_file(backend: StorageBackend) -> None:
    await backend.save("a.txt", b"first")
    await backend.save("a.txt", b"second")
    async with await backend.open("a.txt") as reader:
        assert await reader.read() == b"second"


async def test_exists_and_delete(backend: StorageBackend) -> None:
    assert not await backend.exists("gone.txt")
    await backend.save("gone.txt", b"x")
    assert await backend.exists("gone.txt")
    assert await backend.delete("gone.txt") is True
    assert not await backend.exists("gone.txt")
    assert await backend.delete("gone.txt") is False


async def test_open_a_missing_key_raises_file_not_found(backend: StorageBackend) -> None:
    with pytest.raises(FileNotFound):
        await backend.open("missing.txt")


async def test_save_refuses_a_wrong_content_type(backend: StorageBackend) -> None:
    with pytest.raises(TypeError, match="save\\(\\) takes bytes"):
        await backend.save("x", 12)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "key",
    ["../escape.txt", "a/../../b", "/etc/passwd", "a//b", "./a", "a\\b", "a\x00b", "", "a/",
     "x" * 256, "a/" * 600 + "b", "\ud800"],
)
async def test_unsafe_keys_are_refused_by_every_call(backend: StorageBackend, key: str) -> None:
    with pytest.raises(InvalidKey):
        await backend.save(key, b"x")
    with pytest.raises(InvalidKey):
        await backend.open(key)
    with pytest.raises(InvalidKey):
        await backend.exists(key)
    with pytest.raises(InvalidKey):
        await backend.delete(key)
    with pytest.raises(InvalidKey):
        await backend.url(key)


async def test_url_downloads_the_file_for_a_plain_http_client(backend: StorageBackend) -> None:
    await backend.save("photos/cat.png", b"\x89PNG-pretend", content_type="image/png")
    url = await backend.url("photos/cat.png", expires_in=60)
    if isinstance(backend, LocalStorage):
        # A local link is served by the plugin's route: go through an app.
        app = App(plugins=[Storage(backend)])
        async with AsyncTestClient(app) as client:
            response = await client.get(url)
            assert response.status_code == 200
            assert response.content == b"\x89PNG-pretend"
            assert response.headers["cache-control"] == "private, no-store"
    else:
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
            assert response.status_code == 200
            assert response.content == b"\x89PNG-pretend"


async def test_a_local_key_through_a_symlink_out_of_the_root_is_refused(
    local_storage: LocalStorage, tmp_path: os.PathLike[str]
) -> None:
    outside = os.path.join(tmp_path, "outside")
    os.mkdir(outside)
    os.symlink(outside, os.path.join(local_storage.root, "link"))
    with pytest.raises(InvalidKey, match="outside the storage directory"):
        await local_storage.save("link/x.txt", b"x")
    assert os.listdir(outside) == []


async def test_a_failed_local_save_leaves_no_file(local_storage: LocalStorage) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"part"
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        await local_storage.save("half.txt", broken())
    assert not await local_storage.exists("half.txt")
    assert os.listdir(local_storage.root) == []  # no .tmp-* left behind


@given(st.text(max_size=40))
def test_a_valid_key_never_climbs_out(key: str) -> None:
    try:
        safe_key(key)
    except InvalidKey:
        return
    joined = os.path.normpath(os.path.join("/root", *key.split("/")))
    assert joined.startswith("/root/")

"""Exercise 04: no key, no answer - over HTTP and over a WebSocket."""

from types import ModuleType

import pytest

from minimal_asgi import WebSocketDisconnect
from minimal_asgi.testing import TestClient

KEY = "k-3f9a"


def test_http_without_the_key_is_401(exercise: ModuleType) -> None:
    with TestClient(exercise.create_app(KEY)) as client:
        missing = client.get("/secret")
        wrong = client.get("/secret", headers={"X-API-Key": "guess"})
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.headers["content-type"] == "application/problem+json"


def test_http_with_the_key_passes(exercise: ModuleType) -> None:
    with TestClient(exercise.create_app(KEY)) as client:
        assert client.get("/secret", headers={"X-API-Key": KEY}).json() == {"secret": 42}


def test_a_websocket_without_the_key_is_refused_before_accept(exercise: ModuleType) -> None:
    with TestClient(exercise.create_app(KEY)) as client:
        for headers in ({}, {"X-API-Key": "guess"}):
            with pytest.raises(WebSocketDisconnect) as refused:
                with client.websocket_connect("/feed", headers=headers) as socket:
                    socket.receive_text()
            assert refused.value.code == 1008


def test_a_websocket_with_the_key_is_served(exercise: ModuleType) -> None:
    with TestClient(exercise.create_app(KEY)) as client:
        with client.websocket_connect("/feed", headers={"X-API-Key": KEY}) as socket:
            assert socket.receive_text() == "the secret feed"

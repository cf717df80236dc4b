"""Exercise 15: answers until 'bye'; 1000 then, 1003 for binary."""

from types import ModuleType

import pytest

from minimal_asgi import WebSocketDisconnect
from minimal_asgi.testing import TestClient


def test_every_message_is_answered(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client, client.websocket_connect("/shout") as socket:
        for text in ("hello", "are you there?", "ünïcode"):
            socket.send_text(text)
            assert socket.receive_text() == text.upper()


def test_bye_closes_with_1000(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client, client.websocket_connect("/shout") as socket:
        socket.send_text("bye")
        assert socket.receive_text() == "BYE"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_text()
    assert (closed.value.code, closed.value.reason) == (1000, "see you")


def test_binary_closes_with_1003(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client, client.websocket_connect("/shout") as socket:
        socket.send_bytes(b"\x00\x01")
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_text()
    assert closed.value.code == 1003


def test_a_client_that_leaves_ends_it_quietly(exercise: ModuleType) -> None:
    with TestClient(exercise.app) as client:
        with client.websocket_connect("/shout") as socket:
            socket.send_text("one")
            assert socket.receive_text() == "ONE"
        # leaving the block closed the connection; the app must have returned cleanly
        with client.websocket_connect("/shout") as socket:
            socket.send_text("two")
            assert socket.receive_text() == "TWO"

"""Open /notes/live, create two notes, and print what the socket receives.

In-process (no server needed): ``python try_live.py`` from this folder.
"""

from app import create_app

from minimal_asgi.testing import TestClient

with TestClient(create_app("sqlite://:memory:")) as client:
    with client.websocket_connect("/notes/live") as socket:
        for title in ("first", "second"):
            client.post("/notes", json={"title": title})
            print("the socket received", socket.receive_json())

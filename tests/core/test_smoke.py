from examples.hello.app import app
from minimal_asgi.testing import TestClient


def test_hello_example_answers_get_root() -> None:
    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == 200
    assert response.json() == {"message": "Hello, world"}

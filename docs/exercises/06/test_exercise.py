"""Exercise 06: every connection goes back to the pool."""

from types import ModuleType

from minimal_asgi.testing import TestClient


def test_many_requests_on_a_small_pool(exercise: ModuleType) -> None:
    pool = exercise.Pool(size=2)
    with TestClient(exercise.create_app(pool)) as client:
        for _ in range(5):
            assert client.get("/notes").status_code == 200
    assert len(pool.free) == pool.size


def test_the_connection_comes_back_when_the_endpoint_raises(exercise: ModuleType) -> None:
    pool = exercise.Pool(size=2)
    with TestClient(exercise.create_app(pool), raise_server_exceptions=False) as client:
        for _ in range(3):
            assert client.get("/boom").status_code == 500
        assert client.get("/notes").status_code == 200
    assert len(pool.free) == pool.size


def test_one_request_shares_one_connection(exercise: ModuleType) -> None:
    pool = exercise.Pool(size=2)
    with TestClient(exercise.create_app(pool)) as client:
        assert client.get("/twice").json() == {"same": True}
        assert client.get("/twice").json() == {"same": True}
    assert len(pool.free) == pool.size

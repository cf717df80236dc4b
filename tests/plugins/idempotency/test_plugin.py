"""The rules of the Idempotency-Key draft, through an app, on both backends."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import pytest

from minimal_asgi import (
    App,
    ConfigurationError,
    HTTPException,
    JSONResponse,
    Router,
    StreamingResponse,
)
from minimal_asgi.testing import AsyncTestClient, TestClient
from minimal_asgi_idempotency import Idempotency, MemoryBackend
from minimal_asgi_idempotency.guard import storage_name
from minimal_asgi_idempotency.records import fingerprint
from tests.plugins.idempotency.conftest import MakeIdempotency

KEY = {"idempotency-key": '"8e03978e-40d5-43e8-bc93-6894a57f9324"'}


@dataclass
class Payment:
    amount: int
    fail: bool = False


def payments_app(idempotency: Idempotency) -> tuple[App, list[Payment]]:
    """POST /payments (key required) and POST /notes (key optional), counting runs."""
    runs: list[Payment] = []
    app = App(plugins=[idempotency])

    @app.post("/payments", idempotency="required", status_code=201)
    async def pay(payment: Payment) -> JSONResponse:
        runs.append(payment)
        if payment.fail:
            raise HTTPException(402, f"card declined (run {len(runs)})")
        response = JSONResponse({"run": len(runs), "amount": payment.amount}, status_code=201)
        response.headers["x-run"] = str(len(runs))
        response.set_cookie("receipt", f"r{len(runs)}")
        return response

    @app.post("/notes", idempotency=True)
    async def note(payment: Payment) -> dict[str, int]:
        runs.append(payment)
        return {"run": len(runs)}

    return app, runs


# -- a retry gets the first answer -------------------------------------------------


def test_a_retry_gets_the_first_response_byte_for_byte(make_idempotency: MakeIdempotency) -> None:
    app, runs = payments_app(make_idempotency())
    with TestClient(app) as client:
        first = client.post("/payments", json={"amount": 10}, headers=KEY)
        again = client.post("/payments", json={"amount": 10}, headers=KEY)
    assert len(runs) == 1
    assert first.status_code == again.status_code == 201
    assert again.headers.raw == first.headers.raw  # cookie and x-run included, in order
    assert again.content == first.content
    assert first.headers["x-run"] == "1" and "receipt=r1" in first.headers["set-cookie"]


def test_an_error_response_is_replayed_too(make_idempotency: MakeIdempotency) -> None:
    app, runs = payments_app(make_idempotency())
    with TestClient(app) as client:
        first = client.post("/payments", json={"amount": 10, "fail": True}, headers=KEY)
        again = client.post("/payments", json={"amount": 10, "fail": True}, headers=KEY)
    assert len(runs) == 1
    assert (first.status_code, again.status_code) == (402, 402)
    assert again.content == first.content and "run 1" in again.json()["detail"]


def test_a_crash_is_answered_500_once_and_replayed(make_idempotency: MakeIdempotency) -> None:
    app = App(plugins=[make_idempotency()])
    runs: list[int] = []

    @app.post("/crash", idempotency=True)
    async def crash() -> None:
        runs.append(1)
        raise RuntimeError("the payment provider exploded")

    with TestClient(app, raise_server_exceptions=False) as client:
        first = client.post("/crash", headers=KEY)
        again = client.post("/crash", headers=KEY)
    assert (first.status_code, again.status_code, len(runs)) == (500, 500, 1)
    assert again.content == first.content


def test_a_crash_still_reaches_the_server(make_idempotency: MakeIdempotency) -> None:
    app = App(plugins=[make_idempotency()])

    @app.post("/crash", idempotency=True)
    async def crash() -> None:
        raise RuntimeError("for the log")

    with TestClient(app) as client, pytest.raises(RuntimeError, match="for the log"):
        client.post("/crash", headers=KEY)


# -- 422, 409, 400 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"json": {"amount": 11}},  # another body
        {"json": {"amount": 10}, "params": {"currency": "eur"}},  # another query
    ],
)
def test_the_same_key_with_another_request_is_422(
    make_idempotency: MakeIdempotency, change: dict[str, object]
) -> None:
    app, runs = payments_app(make_idempotency(docs_url="https://api.example/idempotency"))
    with TestClient(app) as client:
        client.post("/payments", json={"amount": 10}, headers=KEY)
        response = client.post("/payments", headers=KEY, **change)  # type: ignore[arg-type]
    assert response.status_code == 422 and len(runs) == 1
    problem = response.json()
    assert problem["type"] == "https://api.example/idempotency#idempotency-key-reused"
    assert problem["title"] == "Idempotency-Key is already used"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["link"] == '<https://api.example/idempotency>; rel="describedby"'


@pytest.mark.anyio
async def test_a_duplicate_while_the_first_runs_is_409(make_idempotency: MakeIdempotency) -> None:
    app = App(plugins=[make_idempotency()])
    started, finish = anyio.Event(), anyio.Event()
    runs: list[int] = []

    @app.post("/slow", idempotency=True, status_code=201)
    async def slow() -> dict[str, int]:
        runs.append(1)
        started.set()
        await finish.wait()
        return {"runs": len(runs)}

    answers = {}
    async with AsyncTestClient(app) as client:

        async def first() -> None:
            answers["first"] = await client.post("/slow", headers=KEY)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(first)
            await started.wait()
            during = await client.post("/slow", headers=KEY)
            finish.set()
        after = await client.post("/slow", headers=KEY)
    assert during.status_code == 409 and during.headers["retry-after"] == "1"
    assert during.json()["detail"].startswith("a request with this Idempotency-Key is still")
    assert answers["first"].status_code == after.status_code == 201
    assert after.content == answers["first"].content and runs == [1]


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "this operation requires an Idempotency-Key header"),
        ({"idempotency-key": '""'}, "the key is empty"),
        ({"idempotency-key": '"' + "k" * 256 + '"'}, "256 characters long; at most 255"),
        ({"idempotency-key": "unquoted"}, "must be a quoted string"),
        ({"idempotency-key": '"a", "b"'}, "holds a list"),
    ],
)
def test_a_missing_empty_long_or_malformed_key_is_400_and_nothing_runs(
    make_idempotency: MakeIdempotency, headers: dict[str, str], detail: str
) -> None:
    app, runs = payments_app(make_idempotency())
    with TestClient(app) as client:
        response = client.post("/payments", json={"amount": 10}, headers=headers)
    assert response.status_code == 400 and runs == []
    assert detail in response.json()["detail"]


def test_the_missing_key_problem_publishes_the_expiry(make_idempotency: MakeIdempotency) -> None:
    app, _ = payments_app(make_idempotency(ttl=3600))
    with TestClient(app) as client:
        response = client.post("/payments", json={"amount": 10})
    assert "A key is kept for 1 hour after its request completes" in response.json()["detail"]


def test_an_optional_key_may_be_left_out_and_then_nothing_is_kept(
    make_idempotency: MakeIdempotency,
) -> None:
    app, _runs = payments_app(make_idempotency())
    with TestClient(app) as client:
        assert client.post("/notes", json={"amount": 1}).json() == {"run": 1}
        assert client.post("/notes", json={"amount": 1}).json() == {"run": 2}
        keyed = [client.post("/notes", json={"amount": 1}, headers=KEY).json() for _ in "ab"]
    assert keyed == [{"run": 3}, {"run": 3}]


# -- scope: who, which method, which path ---------------------------------------------


def test_the_same_key_from_two_clients_never_shares_an_answer(
    make_idempotency: MakeIdempotency,
) -> None:
    app, _runs = payments_app(make_idempotency())
    with TestClient(app) as client:
        alice = client.post(
            "/payments", json={"amount": 10}, headers={**KEY, "authorization": "Bearer alice"}
        )
        bob = client.post(
            "/payments", json={"amount": 10}, headers={**KEY, "authorization": "Bearer bob"}
        )
        alice_again = client.post(
            "/payments", json={"amount": 10}, headers={**KEY, "authorization": "Bearer alice"}
        )
    assert (alice.json()["run"], bob.json()["run"], alice_again.json()["run"]) == (1, 2, 1)


def test_the_same_key_on_another_path_is_another_request(
    make_idempotency: MakeIdempotency,
) -> None:
    app, runs = payments_app(make_idempotency())
    with TestClient(app) as client:
        client.post("/payments", json={"amount": 10}, headers=KEY)
        note = client.post("/notes", json={"amount": 10}, headers=KEY)
    assert note.status_code == 200 and len(runs) == 2


def test_identity_is_whatever_the_app_says(make_idempotency: MakeIdempotency) -> None:
    """A custom identity: the tenant header (behind a proxy, the address is the proxy's)."""

    def tenant(scope: dict[str, object]) -> str:
        headers = dict(scope["headers"])  # type: ignore[call-overload]
        return headers.get(b"x-tenant", b"").decode()

    app, runs = payments_app(make_idempotency(identity=tenant))
    with TestClient(app) as client:
        for tenant_name in ("a", "b", "a"):
            headers = {**KEY, "x-tenant": tenant_name}
            client.post("/payments", json={"amount": 10}, headers=headers)
    assert len(runs) == 2


# -- the lock and its lease -------------------------------------------------------


@pytest.mark.anyio
async def test_a_lock_left_by_a_dead_process_expires_after_the_lease(
    make_idempotency: MakeIdempotency,
) -> None:
    idempotency = make_idempotency(lease=0.3)
    app, runs = payments_app(idempotency)
    body = b'{"amount":10}'
    headers = {**KEY, "content-type": "application/json"}
    async with AsyncTestClient(app) as client:
        # What a process killed mid-request leaves: its lock, never replaced.
        key = KEY["idempotency-key"].strip('"')
        name = storage_name(idempotency.prefix, "address:testclient", "POST", "/payments", key)
        lock = b"R" + fingerprint("POST", "/payments", b"", body) + b"dead"
        assert await idempotency.backend.claim(name, lock, 0.3) is None
        during = await client.post("/payments", content=body, headers=headers)
        await anyio.sleep(0.8)
        retried = await client.post("/payments", content=body, headers=headers)
    assert during.status_code == 409
    assert retried.status_code == 201 and len(runs) == 1


@pytest.mark.anyio
async def test_a_request_slower_than_the_lease_keeps_its_lock(
    make_idempotency: MakeIdempotency,
) -> None:
    app = App(plugins=[make_idempotency(lease=0.3)])
    started, finish = anyio.Event(), anyio.Event()
    runs: list[int] = []

    @app.post("/slow", idempotency=True)
    async def slow() -> dict[str, int]:
        runs.append(1)
        started.set()
        await finish.wait()
        return {"runs": len(runs)}

    async with AsyncTestClient(app) as client, anyio.create_task_group() as tasks:
        tasks.start_soon(functools.partial(client.post, "/slow", headers=KEY))
        await started.wait()
        await anyio.sleep(1.0)  # three leases: renewed by the running app
        during = await client.post("/slow", headers=KEY)
        finish.set()
    assert during.status_code == 409 and runs == [1]


@pytest.mark.anyio
async def test_a_request_whose_client_left_before_an_answer_frees_its_key(
    make_idempotency: MakeIdempotency,
) -> None:
    """Cancelled before any answer (the server cancels a request whose client is
    gone): nothing was answered, so the key is released and a retry runs."""
    idempotency = make_idempotency()
    app = App(plugins=[idempotency])
    runs: list[int] = []

    @app.post("/hang", idempotency=True)
    async def hang() -> dict[str, int]:
        runs.append(1)
        if len(runs) == 1:
            await anyio.sleep_forever()
        return {"runs": len(runs)}

    async with AsyncTestClient(app) as client:
        with anyio.move_on_after(0.3):
            await client.post("/hang", headers=KEY)
        retried = await client.post("/hang", headers=KEY)
    assert retried.json() == {"runs": 2}


# -- size and streams -----------------------------------------------------------------


def test_an_answer_above_the_limit_is_sent_but_a_retry_gets_422(
    make_idempotency: MakeIdempotency,
) -> None:
    app = App(plugins=[make_idempotency(max_response_bytes=100)])
    runs: list[int] = []

    @app.post("/export", idempotency=True)
    async def export() -> dict[str, str]:
        runs.append(1)
        return {"data": "x" * 500}

    with TestClient(app) as client:
        first = client.post("/export", headers=KEY)
        again = client.post("/export", headers=KEY)
    assert first.status_code == 200 and len(first.json()["data"]) == 500
    assert again.status_code == 422 and runs == [1]
    assert "was processed (status 200), but its response was too large" in again.json()["detail"]


def test_a_stream_is_passed_on_as_it_comes_and_replayed_whole(
    make_idempotency: MakeIdempotency,
) -> None:
    app = App(plugins=[make_idempotency()])
    runs: list[int] = []

    @app.post("/report", idempotency=True)
    async def report() -> StreamingResponse:
        runs.append(1)

        async def lines() -> AsyncIterator[bytes]:
            for n in range(3):
                yield f"line {n}\n".encode()

        return StreamingResponse(lines(), media_type="text/plain")

    with TestClient(app) as client:
        first = client.post("/report", headers=KEY)
        again = client.post("/report", headers=KEY)
    assert first.content == again.content == b"line 0\nline 1\nline 2\n"
    assert again.headers.raw == first.headers.raw and runs == [1]


def test_a_stream_cut_off_midway_cannot_be_replayed(make_idempotency: MakeIdempotency) -> None:
    app = App(plugins=[make_idempotency()])

    @app.post("/report", idempotency=True)
    async def report() -> StreamingResponse:
        async def lines() -> AsyncIterator[bytes]:
            yield b"line 0\n"
            raise RuntimeError("the export failed halfway")

        return StreamingResponse(lines(), media_type="text/plain")

    with TestClient(app, raise_server_exceptions=False) as client:
        client.post("/report", headers=KEY)
        again = client.post("/report", headers=KEY)
    assert again.status_code == 422
    assert "cut off while it was sent" in again.json()["detail"]


# -- which routes -------------------------------------------------------------------


def test_a_router_or_app_default_guards_unsafe_methods_and_a_route_may_opt_out(
    make_idempotency: MakeIdempotency,
) -> None:
    app = App(plugins=[make_idempotency(default="required")])
    router = Router(options={"idempotency": True})

    @app.post("/strict")
    async def strict() -> None: ...

    @app.post("/free", idempotency=False)
    async def free() -> None: ...

    @app.get("/read")
    async def read() -> None: ...

    @router.post("/optional")
    async def optional() -> None: ...

    app.include_router(router, prefix="/v1")
    with TestClient(app) as client:
        statuses = [client.post(p).status_code for p in ("/strict", "/free", "/v1/optional")]
        statuses.append(client.get("/read").status_code)
    assert statuses == [400, 204, 204, 204]


def test_a_route_that_does_not_opt_in_keeps_its_handler() -> None:
    idempotency = Idempotency()
    seen: list[object] = []

    class Route:
        path, methods, name, options = "/x", frozenset({"POST"}), None, {}

        def uses(self, dependency: object) -> bool:
            return False

    async def handler(scope: object, receive: object, send: object) -> None: ...

    idempotency.setup(App())
    seen.append(idempotency._wrap(Route(), handler))  # type: ignore[arg-type]
    assert seen == [handler]


def test_a_wrong_option_fails_at_startup() -> None:
    app = App(plugins=[Idempotency()])

    @app.post("/x", idempotency="always")
    async def x() -> None: ...

    message = "route /x: idempotency= takes True (or 'optional'), 'required' or False, not 'always'"
    with pytest.raises(RuntimeError, match=re.escape(message)), TestClient(app):
        pass


def test_idempotency_on_a_safe_method_only_fails_at_startup() -> None:
    app = App(plugins=[Idempotency()])

    @app.get("/x", idempotency=True)
    async def x() -> None: ...

    with pytest.raises(RuntimeError, match="idempotency= guards POST, PATCH, PUT and DELETE"):
        with TestClient(app):
            pass


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ttl": 0}, "ttl=...\\): a positive number of seconds"),
        ({"lease": float("inf")}, "lease=...\\): a positive number of seconds"),
        ({"backend": "mysql://x"}, "use 'memory', a Redis URL"),
        ({"default": "yes"}, "default=...\\) takes True"),
        ({"max_key_length": 0}, "max_key_length=0"),
    ],
)
def test_a_wrong_setting_fails_when_the_plugin_is_built(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Idempotency(**options)  # type: ignore[arg-type]


# -- the published policy -------------------------------------------------------------


def test_openapi_documents_the_header_and_its_expiry_on_guarded_operations_only() -> None:
    app, _ = payments_app(Idempotency(ttl=48 * 3600))

    @app.get("/payments")
    async def list_payments() -> list[int]:
        return []

    document = app.openapi()
    post = document["paths"]["/payments"]["post"]
    (parameter,) = [p for p in post["parameters"] if p["name"] == "Idempotency-Key"]
    assert parameter["in"] == "header" and parameter["required"] is True
    assert "A key is kept for 2 days after its request completes" in parameter["description"]
    assert {"400", "409", "422"} <= set(post["responses"])
    note = document["paths"]["/notes"]["post"]
    assert [p["required"] for p in note["parameters"] if p["name"] == "Idempotency-Key"] == [
        False
    ]
    assert "parameters" not in document["paths"]["/payments"]["get"]
    # The validation 422 of the body and the key's 422 share the status code.
    assert post["responses"]["422"]["description"].startswith("The input failed validation")
    schema = post["responses"]["422"]["content"]["application/problem+json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ValidationProblem"}


# -- the store is down ----------------------------------------------------------------


@pytest.mark.parametrize("port_fixture", ["closed_port", "silent_port"])
def test_with_redis_down_a_keyed_request_is_503_and_does_not_run(
    port_fixture: str, request: pytest.FixtureRequest
) -> None:
    port = request.getfixturevalue(port_fixture)
    app, runs = payments_app(Idempotency(f"redis://127.0.0.1:{port}/0", timeout=0.3))
    with TestClient(app) as client:
        response = client.post("/payments", json={"amount": 10}, headers=KEY)
        unkeyed = client.post("/notes", json={"amount": 1})
    assert response.status_code == 503 and runs == [Payment(amount=1)]  # the note only
    assert response.headers["retry-after"] == "1"
    assert "retry shortly with the same Idempotency-Key" in response.json()["detail"]
    assert unkeyed.status_code == 200  # no key, nothing to check: the route runs


class _ForgetfulBackend(MemoryBackend):
    """Claims work, then the store goes away before the answer is kept."""

    async def replace(self, key: str, expected: bytes, value: bytes, ttl: float) -> bool:
        from minimal_asgi_idempotency import Unavailable

        raise Unavailable("gone")


def test_a_store_lost_after_the_route_ran_still_answers(caplog: pytest.LogCaptureFixture) -> None:
    app, runs = payments_app(Idempotency(_ForgetfulBackend()))
    with TestClient(app) as client:
        response = client.post("/payments", json={"amount": 10}, headers=KEY)
    assert response.status_code == 201 and len(runs) == 1
    assert "could not store the answer" in caplog.text


def test_the_body_read_for_the_fingerprint_is_limited_like_the_apps() -> None:
    app = App(plugins=[Idempotency()], max_body_size=10)

    @app.post("/x", idempotency=True)
    async def x() -> None: ...

    with TestClient(app) as client:
        response = client.post("/x", content=b"y" * 11, headers=KEY)
    assert response.status_code == 413


def test_the_storage_name_hides_the_key_and_separates_its_parts() -> None:
    one = storage_name("p:", "a", "POST", "/x", "k")
    assert one != storage_name("p:", "a", "POST", "/x", "k2")
    assert one == "p:" + hashlib.sha256(b'["a","POST","/x","k"]').hexdigest()


def test_the_apps_redis_pool_can_be_shared(redis_url: str, redis_prefix: str) -> None:
    from minimal_asgi_redis import RedisConnection

    connection = RedisConnection(redis_url)
    app, runs = payments_app(Idempotency(connection, prefix=redis_prefix))
    app.install(connection)
    with TestClient(app) as client:
        answers = [client.post("/payments", json={"amount": 1}, headers=KEY) for _ in "ab"]
    assert [a.status_code for a in answers] == [201, 201] and len(runs) == 1


def test_a_redis_url_store_used_outside_the_running_app_says_so() -> None:
    idempotency = Idempotency("redis://127.0.0.1:6379/0")
    with pytest.raises(RuntimeError, match="opened at app startup"):
        anyio.run(idempotency.backend.claim, "k", b"v", 1.0)


@pytest.mark.anyio
async def test_a_lease_that_cannot_be_renewed_is_logged_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from minimal_asgi_idempotency import Unavailable
    from minimal_asgi_idempotency.guard import Leases

    class Down(MemoryBackend):
        async def renew(self, key: str, expected: bytes, ttl: float) -> bool:
            raise Unavailable("down")

    leases = Leases(Down(), lease=0.06)
    leases.held["k"] = b"lock"
    with anyio.move_on_after(0.3):
        await leases.keep()
    assert "could not renew the lease of k: down" in caplog.text

"""Response caching, on both backends: what is stored, for whom, and what the
client gets back (Age, ETag, Cache-Control, 304)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread
import pytest

from minimal_asgi import App, Request, Response, StreamingResponse
from minimal_asgi.testing import AsyncTestClient, TestClient
from minimal_asgi_cache import Cache, Cached, MemoryBackend, RedisBackend
from tests.plugins.cache.conftest import MakeCache
from tests.types import ClientFactory


def counting_app(cache: Cache, option: object = 60) -> tuple[App, itertools.count[int]]:
    """An app whose GET /items answers how many times it has run."""
    app = App(plugins=[cache])
    runs = itertools.count(1)

    @app.get("/items", cache=option)
    async def items(request: Request) -> dict[str, object]:
        return {"run": next(runs), "query": sorted(request.query_params.multi_items())}

    return app, runs


def test_a_second_get_is_served_from_the_cache_with_age_etag_and_max_age(
    make_cache: MakeCache, client_for: ClientFactory
) -> None:
    client = client_for(counting_app(make_cache(), Cached(ttl=30))[0])
    first = client.get("/items")
    second = client.get("/items")
    assert first.json()["run"] == second.json()["run"] == 1
    assert first.headers["cache-control"] == second.headers["cache-control"] == "max-age=30"
    assert first.headers["etag"] == second.headers["etag"]
    assert first.headers["etag"].startswith('"')
    assert "age" not in first.headers
    assert int(second.headers["age"]) >= 0


def test_age_counts_the_seconds_since_the_entry_was_stored(client_for: ClientFactory) -> None:
    now = [1000.0]
    client = client_for(counting_app(Cache(clock=lambda: now[0]), 60)[0])
    client.get("/items")
    now[0] += 42.7
    response = client.get("/items")
    assert (response.headers["age"], response.json()["run"]) == ("42", 1)
    now[0] += 20  # 62.7 s: past the 60 s ttl
    assert client.get("/items").json()["run"] == 2


@pytest.mark.parametrize("cached", [False, True], ids=["fresh", "from-cache"])
@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"other", {etag}', '"a,b", W/{etag}', "*"],
)
def test_if_none_match_answers_304_with_the_same_etag_and_cache_control(
    make_cache: MakeCache, client_for: ClientFactory, cached: bool, if_none_match: str
) -> None:
    # The entity tag is the hash of the body: learn it from an app of its own.
    probe = client_for(counting_app(Cache(), 60)[0]).get("/items")
    etag = probe.headers["etag"]
    client = client_for(counting_app(make_cache(), 60)[0])
    if cached:
        client.get("/items")
    response = client.get("/items", headers={"if-none-match": if_none_match.format(etag=etag)})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "max-age=60"
    assert "content-length" not in response.headers or response.headers["content-length"] == "0"


def test_an_if_none_match_for_another_entity_gets_the_full_answer(
    make_cache: MakeCache, client_for: ClientFactory
) -> None:
    client = client_for(counting_app(make_cache(), 60)[0])
    client.get("/items")
    response = client.get("/items", headers={"if-none-match": '"stale-version"'})
    assert (response.status_code, response.json()["run"]) == (200, 1)


def test_no_cache_in_the_request_runs_the_endpoint_and_refreshes_the_entry(
    make_cache: MakeCache, client_for: ClientFactory
) -> None:
    client = client_for(counting_app(make_cache(), 60)[0])
    assert client.get("/items").json()["run"] == 1
    assert client.get("/items", headers={"cache-control": "no-cache"}).json()["run"] == 2
    assert client.get("/items").json()["run"] == 2


def test_no_store_in_the_request_is_neither_served_nor_stored(
    make_cache: MakeCache, client_for: ClientFactory
) -> None:
    client = client_for(counting_app(make_cache(), 60)[0])
    assert client.get("/items", headers={"cache-control": "no-store"}).json()["run"] == 1
    assert client.get("/items").json()["run"] == 2  # the no-store answer was not kept
    assert client.get("/items", headers={"cache-control": "no-store"}).json()["run"] == 3
    assert client.get("/items").json()["run"] == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"set-cookie": "session=abc; HttpOnly"},
        {"cache-control": "private, max-age=60"},
        {"cache-control": "no-store"},
        {"cache-control": "no-cache"},
        {"vary": "*"},
    ],
    ids=["set-cookie", "private", "no-store", "no-cache", "vary-star"],
)
def test_a_response_that_forbids_sharing_is_never_stored(
    make_cache: MakeCache, headers: dict[str, str]
) -> None:
    app = App(plugins=[make_cache()])
    runs = itertools.count(1)

    @app.get("/page", cache=60)
    async def page() -> Response:
        return Response(str(next(runs)), headers=headers)

    with TestClient(app) as client:
        client.cookies.clear()
        assert client.get("/page").text == "1"
        client.cookies.clear()  # the set-cookie case: ask again as the same anonymous client
        assert client.get("/page").text == "2"


@pytest.mark.parametrize(
    ("status", "statuses", "stored"),
    [
        (200, None, True),
        (203, None, True),
        (301, None, True),
        (404, None, False),
        (404, frozenset({200, 404}), True),
        (500, None, False),
        (201, None, False),
    ],
)
def test_only_cacheable_statuses_are_stored(
    make_cache: MakeCache,
    client_for: ClientFactory,
    status: int,
    statuses: frozenset[int] | None,
    stored: bool,
) -> None:
    app = App(plugins=[make_cache()])
    runs = itertools.count(1)
    option = Cached(ttl=60) if statuses is None else Cached(ttl=60, statuses=statuses)

    @app.get("/thing", cache=option)
    async def thing() -> Response:
        return Response(str(next(runs)), status_code=status, headers={"location": "/elsewhere"})

    client = client_for(app, follow_redirects=False)
    client.get("/thing")
    assert client.get("/thing").text == ("1" if stored else "2")


@pytest.mark.parametrize(
    "credentials",
    [{"headers": {"authorization": "Bearer alice"}}, {"cookies": {"session": "alice"}}],
    ids=["authorization", "cookie"],
)
def test_a_personal_request_is_neither_served_nor_stored_on_a_shared_route(
    make_cache: MakeCache, client_for: ClientFactory, credentials: dict[str, dict[str, str]]
) -> None:
    client = client_for(counting_app(make_cache(), 60)[0])
    assert client.get("/items").json()["run"] == 1
    assert client.get("/items", **credentials).json()["run"] == 2  # not served the shared entry
    assert client.get("/items", **credentials).json()["run"] == 3  # and nothing stored for it
    assert client.get("/items").json()["run"] == 1


def test_only_the_configured_session_cookies_make_a_request_personal(
    client_for: ClientFactory,
) -> None:
    client = client_for(counting_app(Cache(session_cookies=["session"]), 60)[0])
    assert client.get("/items", cookies={"theme": "dark"}).json()["run"] == 1
    assert client.get("/items", cookies={"theme": "light"}).json()["run"] == 1
    assert client.get("/items", cookies={"session": "x"}).json()["run"] == 2


def test_user_a_and_user_b_never_see_each_others_me(make_cache: MakeCache) -> None:
    app = App(plugins=[make_cache()])
    runs = itertools.count(1)

    @app.get("/me", cache=Cached(ttl=60, per_user=True))
    async def me(request: Request) -> dict[str, object]:
        user = request.headers.get("authorization") or request.cookies.get("session")
        return {"user": user, "run": next(runs)}

    with TestClient(app) as client:
        answers = [
            client.get("/me", headers={"authorization": f"Bearer {who}"})
            for who in ("alice", "bob", "alice", "bob")
        ]
        by_cookie = [client.get("/me", cookies={"session": who}) for who in ("carol", "dave")]
    users = [r.json()["user"] for r in answers]
    assert users == ["Bearer alice", "Bearer bob", "Bearer alice", "Bearer bob"]
    assert [r.json()["run"] for r in answers] == [1, 2, 1, 2]  # each user's own entry
    assert [r.json()["user"] for r in by_cookie] == ["carol", "dave"]
    assert all(r.headers["cache-control"] == "private, max-age=60" for r in answers)


def test_the_query_is_keyed_sorted_and_parsed_so_a_semicolon_cannot_poison(
    make_cache: MakeCache, client_for: ClientFactory
) -> None:
    client = client_for(counting_app(make_cache(), 60)[0])
    normal = client.get("/items?a=1&b=2").json()
    assert client.get("/items?b=2&a=1").json() == normal  # same parameters, same entry
    poisoned = client.get("/items?a=1;a=2&b=2").json()
    assert poisoned["query"] == [["a", "1;a=2"], ["b", "2"]]  # one value, not two
    assert poisoned["run"] == 2
    assert client.get("/items?a=1&b=2").json() == normal


def test_x_forwarded_host_cannot_change_the_entry_others_get(
    make_cache: MakeCache, client_for: ClientFactory
) -> None:
    app = App(plugins=[make_cache()])

    @app.get("/links", cache=60)
    async def links(request: Request) -> dict[str, str]:
        return {"self": str(request.url)}

    client = client_for(app)
    poisoned = client.get("/links", headers={"x-forwarded-host": "evil.example"}).json()
    normal = client.get("/links").json()
    assert poisoned == normal == {"self": "http://testserver/links"}
    other_host = client.get("/links", headers={"host": "other.example"}).json()
    assert other_host == {"self": "http://other.example/links"}  # the Host is in the key
    assert client.get("/links").json() == normal


def test_declared_vary_headers_choose_the_entry(
    make_cache: MakeCache, client_for: ClientFactory
) -> None:
    app = App(plugins=[make_cache()])
    runs = itertools.count(1)

    @app.get("/greeting", cache=Cached(ttl=60, vary=["Accept-Language"]))
    async def greeting(request: Request) -> Response:
        language = request.headers.get("accept-language", "en")
        text = {"fr": "bonjour", "en": "hello"}.get(language, "hello")
        return Response(f"{text} {next(runs)}", headers={"vary": "Accept-Language"})

    client = client_for(app)
    french = client.get("/greeting", headers={"accept-language": "fr"})
    english = client.get("/greeting", headers={"accept-language": "en"})
    assert (french.text, english.text) == ("bonjour 1", "hello 2")
    assert client.get("/greeting", headers={"accept-language": "fr"}).text == "bonjour 1"
    assert french.headers["vary"] == "Accept-Language"


def test_a_vary_the_key_lacks_is_not_stored_and_is_logged_once(
    make_cache: MakeCache, client_for: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = App(plugins=[make_cache()])
    runs = itertools.count(1)

    @app.get("/greeting", cache=60)
    async def greeting() -> Response:
        return Response(str(next(runs)), headers={"vary": "Accept-Language"})

    client = client_for(app)
    with caplog.at_level(logging.WARNING, logger="minimal_asgi_cache"):
        assert [client.get("/greeting").text for _ in range(3)] == ["1", "2", "3"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "minimal_asgi_cache"]
    assert len(warnings) == 1
    assert "Vary: accept-language" in warnings[0] and "Cached(vary=[...])" in warnings[0]


@pytest.mark.parametrize(("size", "stored"), [(3, True), (30, False)])
def test_a_stream_passes_whole_and_is_stored_only_within_the_size_limit(
    make_cache: MakeCache, client_for: ClientFactory, size: int, stored: bool
) -> None:
    app = App(plugins=[make_cache(max_entry_bytes=100)])
    runs = itertools.count(1)

    @app.get("/export", cache=60)
    async def export() -> StreamingResponse:
        run = next(runs)

        async def chunks() -> AsyncIterator[bytes]:
            for index in range(size):
                yield f"{run}:{index:06d}\n".encode()  # 10 bytes a line

        return StreamingResponse(chunks())

    client = client_for(app)
    first = client.get("/export")
    assert first.text.count("\n") == size  # never truncated
    second = client.get("/export")
    assert second.text == (first.text if stored else first.text.replace("1:", "2:"))
    if stored:
        assert second.headers["etag"] and second.headers["age"]


def test_head_is_answered_from_a_gets_entry_without_a_body(
    make_cache: MakeCache, client_for: ClientFactory
) -> None:
    client = client_for(counting_app(make_cache(), 60)[0])
    assert client.head("/items").content == b""  # a miss: runs, stores nothing
    got = client.get("/items")
    head = client.head("/items")
    assert (got.json()["run"], head.content) == (2, b"")
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["content-length"] == got.headers["content-length"]
    assert "age" in head.headers
    fresh = client.head("/items", headers={"cache-control": "no-cache"})
    assert "age" not in fresh.headers  # ran the endpoint (run 3)
    assert client.get("/items").json()["run"] == 2  # and did not replace the GET's entry


def test_tags_and_paths_invalidate_what_was_cached(
    make_cache: MakeCache, client_for: ClientFactory
) -> None:
    cache = make_cache()
    app = App(plugins=[cache])
    runs = itertools.count(1)

    @app.get("/todos", cache=Cached(ttl=60, tags=["todos"]))
    async def todos() -> dict[str, int]:
        return {"run": next(runs)}

    @app.post("/todos")
    async def add(injected: Cache) -> None:
        await injected.invalidate_tags("todos")

    @app.delete("/cached-pages")
    async def forget(path: str, injected: Cache) -> None:
        await injected.invalidate_path(path)

    client = client_for(app)
    first = [client.get(url).json()["run"] for url in ("/todos", "/todos?page=2")]
    assert [client.get(url).json()["run"] for url in ("/todos", "/todos?page=2")] == first
    client.post("/todos")  # the tag: every entry of the route
    second = [client.get(url).json()["run"] for url in ("/todos", "/todos?page=2")]
    assert second == [3, 4]
    client.delete("/cached-pages?path=/todos")  # the path: every query of it
    assert [client.get(url).json()["run"] for url in ("/todos", "/todos?page=2")] == [5, 6]


def test_a_tag_invalidated_on_one_app_instance_is_seen_by_another(
    redis_url: str, redis_prefix: str, client_for: ClientFactory
) -> None:
    instances = []
    for name in ("first", "second"):
        cache = Cache(redis_url, prefix=redis_prefix)
        app = App(plugins=[cache])
        runs = itertools.count(1)

        @app.get("/todos", cache=Cached(ttl=60, tags=["todos"]))
        async def todos(name: str = name, runs: itertools.count[int] = runs) -> str:
            return f"{name} {next(runs)}"

        @app.post("/todos")
        async def add(injected: Cache) -> None:
            await injected.invalidate_tags("todos")

        instances.append(client_for(app))
    first, second = instances
    assert first.get("/todos").text == "first 1"
    assert second.get("/todos").text == "first 1"  # shared through Redis
    second.post("/todos")
    assert first.get("/todos").text == "first 2"  # the first instance sees the invalidation


async def _hundred_gets(apps: list[App]) -> list[str]:
    answers: list[str] = []
    async with AsyncTestClient(apps[0]) as one, AsyncTestClient(apps[-1]) as other:
        clients = [one, other]

        async def get(index: int) -> None:
            response = await clients[index % len(apps)].get("/slow")
            answers.append(response.text)

        async with anyio.create_task_group() as group:
            for index in range(100):
                group.start_soon(get, index)
    return answers


@pytest.mark.anyio
@pytest.mark.parametrize("instances", [1, 2], ids=["one-app", "two-apps"])
async def test_a_hundred_concurrent_misses_run_the_endpoint_once(
    make_cache: MakeCache, backend: str, instances: int
) -> None:
    if backend == "memory" and instances == 2:
        pytest.skip("two processes share entries only through Redis")
    runs = itertools.count(1)
    apps = []
    for _ in range(instances):
        app = App(plugins=[make_cache()])

        @app.get("/slow", cache=60)
        async def slow() -> str:
            run = next(runs)
            await anyio.sleep(0.2)  # an expensive query: the others arrive meanwhile
            return f"run {run}"

        apps.append(app)
    answers = await _hundred_gets(apps)
    assert answers == ["run 1"] * 100
    assert next(runs) == 2  # the endpoint ran once


class Switchable:
    """A Redis client that can be 'stopped': then it is a client of a port where
    nothing listens."""

    def __init__(self, url: str, dead_url: str) -> None:
        import redis.asyncio as aioredis

        self.live = aioredis.Redis.from_url(url)
        self.dead = aioredis.Redis.from_url(dead_url, socket_connect_timeout=0.1)
        self.up = True

    def __call__(self) -> object:
        return self.live if self.up else self.dead

    async def aclose(self) -> None:
        await self.live.aclose()
        await self.dead.aclose()


@pytest.mark.anyio
async def test_redis_stopped_mid_run_degrades_to_misses_logged_once_then_recovers(
    redis_url: str, redis_prefix: str, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    client = Switchable(redis_url, f"redis://127.0.0.1:{closed_port}/0")
    cache = Cache(RedisBackend(client, prefix=redis_prefix))  # type: ignore[arg-type]
    app, _ = counting_app(cache, 60)
    try:
        async with AsyncTestClient(app) as http:
            with caplog.at_level(logging.INFO, logger="minimal_asgi_cache"):
                runs = [(await http.get("/items")).json()["run"] for _ in range(2)]
                client.up = False
                down = [await http.get("/items") for _ in range(3)]
                client.up = True
                runs += [(await http.get("/items")).json()["run"] for _ in range(2)]
    finally:
        await client.aclose()
    assert [r.status_code for r in down] == [200, 200, 200]
    assert [r.json()["run"] for r in down] == [2, 3, 4]  # the endpoint ran: misses
    assert runs == [1, 1, 1, 1]  # once Redis is back, its entry is served again
    messages = [r.getMessage() for r in caplog.records if r.name == "minimal_asgi_cache"]
    assert len(messages) == 2
    assert messages[0].startswith("cache backend failed (read: ConnectionError")
    assert messages[1] == "cache backend answers again; caching resumed"


def test_redis_down_from_the_start_serves_every_request_uncached(
    closed_port: int, client_for: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = counting_app(Cache(f"redis://127.0.0.1:{closed_port}/0", timeout=0.2), 60)
    with caplog.at_level(logging.WARNING, logger="minimal_asgi_cache"):
        client = client_for(app)  # the app starts: a cache is not worth refusing to serve
        answers = [client.get("/items") for _ in range(3)]
    assert [(r.status_code, r.json()["run"]) for r in answers] == [(200, 1), (200, 2), (200, 3)]
    assert len([r for r in caplog.records if r.name == "minimal_asgi_cache"]) == 1


def test_memory_backend_is_the_default() -> None:
    assert isinstance(Cache().store.backend, MemoryBackend)


@pytest.mark.anyio
async def test_concurrent_requests_never_share_an_answer_that_may_not_be_stored(
    make_cache: MakeCache,
) -> None:
    app = App(plugins=[make_cache()])
    runs = itertools.count(1)

    @app.get("/welcome", cache=60)
    async def welcome() -> Response:
        run = next(runs)
        await anyio.sleep(0.05)  # the others arrive while the first computes
        response = Response(f"visitor {run}")
        response.set_cookie("visitor", str(run))
        return response

    answers: list[tuple[str, str]] = []
    async with AsyncTestClient(app) as client:

        async def visit() -> None:
            response = await client.get("/welcome")
            answers.append((response.text, response.headers["set-cookie"].split(";")[0]))

        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(visit)
    assert len({text for text, _ in answers}) == 10  # each visitor's own answer
    assert all(cookie == f"visitor={text.split()[1]}" for text, cookie in answers)


@pytest.mark.anyio
async def test_with_redis_down_writes_invalidations_and_deletes_are_logged_not_raised(
    redis_url: str, redis_prefix: str, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    client = Switchable(redis_url, f"redis://127.0.0.1:{closed_port}/0")
    cache = Cache(RedisBackend(client, prefix=redis_prefix))  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.WARNING, logger="minimal_asgi_cache"):
            client.up = False
            await cache.invalidate_tags("todos")
            await cache.delete("some-key")
            await cache.store.save("k", [], b"payload", 60)
    finally:
        await client.aclose()
    messages = [r.getMessage() for r in caplog.records if r.name == "minimal_asgi_cache"]
    assert len(messages) == 1  # one outage, one warning
    assert messages[0].startswith("cache backend failed (invalidate tags ['todos']")


@pytest.mark.anyio
async def test_an_entry_not_written_by_the_cache_is_a_miss(
    redis_url: str, redis_prefix: str
) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    cache = Cache(RedisBackend(lambda: client, prefix=redis_prefix))
    app, _ = counting_app(cache, 60)
    try:
        async with AsyncTestClient(app) as http:
            await http.get("/items")
            keys = await client.keys(redis_prefix + "resp:*")
            await client.set(keys[0], b"not an entry\nat all")
            response = await http.get("/items")
            assert (response.status_code, response.json()["run"]) == (200, 2)
            assert (await http.get("/items")).json()["run"] == 2  # stored again
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("cache_control", "kept_for"),
    [
        ("public, max-age=5", 5),
        ("public, max-age=5, s-maxage=20", 20),  # a shared cache reads s-maxage first
        ("public, max-age=600", 60),  # never longer than the route's own ttl
        ("public, max-age=0", 0),  # stale when sent: not stored
    ],
)
def test_the_responses_own_max_age_shortens_how_long_it_is_kept(
    client_for: ClientFactory, cache_control: str, kept_for: int
) -> None:
    now = [1000.0]
    app = App(plugins=[Cache(clock=lambda: now[0])])
    runs = itertools.count(1)

    @app.get("/price", cache=60)
    async def price() -> Response:
        return Response(str(next(runs)), headers={"cache-control": cache_control})

    client = client_for(app)
    assert client.get("/price").text == "1"
    if kept_for:
        now[0] += kept_for - 0.5
        assert client.get("/price").text == "1"
        assert client.get("/price").headers["cache-control"] == cache_control
    now[0] += 1
    assert client.get("/price").text == "2"


@pytest.mark.anyio
async def test_a_stale_answer_is_served_at_once_while_the_route_runs_again_once() -> None:
    now = [1000.0]
    app = App(plugins=[Cache(clock=lambda: now[0])])
    runs = itertools.count(1)

    @app.get("/report", cache=Cached(ttl=10, stale=30))
    async def report() -> dict[str, int]:
        run = next(runs)
        await anyio.sleep(0.05)  # slow: a waiting client would notice
        return {"run": run}

    async with AsyncTestClient(app) as client:
        first = await client.get("/report")
        assert first.headers["cache-control"] == "max-age=10, stale-while-revalidate=30"
        now[0] += 15  # past the ttl, within the stale window
        stale = [await client.get("/report", headers={"if-none-match": '"x"'}) for _ in range(3)]
        assert [r.json()["run"] for r in stale] == [1, 1, 1]
        assert stale[0].headers["age"] == "15"
        with anyio.fail_after(5):
            while (await client.get("/report")).json()["run"] != 2:
                await anyio.sleep(0.01)
        now[0] += 100  # past the stale window too: the client waits for a new answer
        assert (await client.get("/report")).json()["run"] == 3
    assert next(runs) == 4  # three runs: the first, one refresh, one after expiry


def test_a_redis_that_hangs_costs_a_miss_not_a_stuck_request(
    silent_port: int, client_for: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = counting_app(Cache(f"redis://127.0.0.1:{silent_port}/0", timeout=0.1), 60)
    with caplog.at_level(logging.WARNING, logger="minimal_asgi_cache"):
        client = client_for(app)
        answers = [client.get("/items") for _ in range(2)]
    assert [(r.status_code, r.json()["run"]) for r in answers] == [(200, 1), (200, 2)]
    messages = [r.getMessage() for r in caplog.records if r.name == "minimal_asgi_cache"]
    assert len(messages) == 1 and "Timeout" in messages[0]


def test_a_hit_hands_no_work_to_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hit is answered on the event loop: no thread hop, which costs most when
    the process has one CPU (benchmarks/bookshelf_read.py, pinned). The route is
    a plain ``def``, so its miss runs in a worker thread - that one is counted."""
    hops: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__name__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    app = App(plugins=[Cache()])

    @app.get("/items", cache=60)
    def items() -> dict[str, int]:
        return {"items": 3}

    with TestClient(app) as client:
        monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
        miss = client.get("/items")
        misses = len(hops)
        hits = [client.get("/items") for _ in range(3)]
    assert miss.status_code == 200 and "age" not in miss.headers
    assert misses >= 1  # the miss ran the endpoint in a worker thread
    assert all(hit.status_code == 200 and "age" in hit.headers for hit in hits)
    assert len(hops) == misses, f"a hit went through a worker thread: {hops[misses:]}"

"""The JWKS client against a key set served over HTTP on 127.0.0.1 by a real test server."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import pytest

from minimal_asgi import ConfigurationError
from minimal_asgi_auth import jwt
from minimal_asgi_auth.jwks import JWKS, JWKSError, parse_jwks
from minimal_asgi_auth.keys import InvalidKeyError, PrivateKey

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000
SIGNERS = {
    "rsa-2026-01": PrivateKey.generate("RS256"),
    "ec-2026-01": PrivateKey.generate("ES256"),
    "ed-2026-01": PrivateKey.generate("EdDSA"),
}
NEXT = PrivateKey.generate("ES256")  # the key the provider rotates to
ATTACKER = PrivateKey.generate("RS256")
ALGORITHMS = ["RS256", "ES256", "EdDSA"]


def jwks_of(signers: dict[str, PrivateKey]) -> bytes:
    return json.dumps(
        {"keys": [key.public_key().to_jwk(kid) for kid, key in signers.items()]}
    ).encode()


def token(kid: str, key: PrivateKey | None = None, **headers: Any) -> str:
    signer = key or SIGNERS[kid]
    claims = {"sub": "42", "aud": "api", "exp": NOW + 60}
    return jwt.encode(claims, signer, signer.algorithm, headers={"kid": kid, **headers})


class KeyServer:
    """An identity provider's JWKS endpoint: a document that can change, and a request count."""

    def __init__(self, document: bytes) -> None:
        self.document = document
        self.status = 200
        self.location: str | None = None
        self.requests: list[str] = []


@contextlib.contextmanager
def serving(document: bytes) -> Iterator[tuple[KeyServer, str]]:
    state = KeyServer(document)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            self.send_response(state.status)
            if state.location:
                self.send_header("Location", state.location)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.document)))
            self.end_headers()
            self.wfile.write(state.document)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_tokens_verify_with_keys_fetched_once() -> None:
    with serving(jwks_of(SIGNERS)) as (server, url):
        keys = JWKS(url, clock=Clock())
        for kid in SIGNERS:
            claims = await keys.decode(token(kid), ALGORITHMS, audience="api", now=NOW)
            assert claims["sub"] == "42"
        assert len(server.requests) == 1
        assert server.requests == ["/.well-known/jwks.json"]


async def test_rotation_an_unknown_kid_fetches_again_at_most_once_a_minute() -> None:
    clock = Clock()
    with serving(jwks_of(SIGNERS)) as (server, url):
        keys = JWKS(url, clock=clock)
        await keys.decode(token("rsa-2026-01"), ALGORITHMS, audience="api", now=NOW)
        server.document = jwks_of({**SIGNERS, "ec-2026-07": NEXT})  # the provider rotates
        rotated = token("ec-2026-07", NEXT)
        clock.now += 30  # too soon after the first fetch: no new request
        with pytest.raises(jwt.InvalidKeyIdError):
            await keys.decode(rotated, ALGORITHMS, audience="api", now=NOW)
        assert len(server.requests) == 1
        clock.now += 30  # a minute after the first fetch
        assert await keys.decode(rotated, ALGORITHMS, audience="api", now=NOW)
        assert len(server.requests) == 2


async def test_a_flood_of_made_up_kids_costs_one_fetch_a_minute() -> None:
    clock = Clock()
    with serving(jwks_of(SIGNERS)) as (server, url):
        keys = JWKS(url, clock=clock)
        await keys.refresh()
        clock.now += 61
        made_up = [token(f"kid-{n}", ATTACKER) for n in range(50)]
        made_up += [token("../../../../etc/passwd", ATTACKER), token("x' OR '1'='1", ATTACKER)]

        async def attempt(forged: str) -> None:
            with pytest.raises(jwt.InvalidKeyIdError):
                await keys.decode(forged, ALGORITHMS, audience="api", now=NOW)

        async with anyio.create_task_group() as group:
            for forged in made_up:
                group.start_soon(attempt, forged)
        assert len(server.requests) == 2  # the first fetch, and one for all the unknown kids


async def test_the_tokens_own_key_headers_are_never_followed() -> None:
    with (
        serving(jwks_of({"rsa-2026-01": ATTACKER})) as (evil, evil_url),
        serving(jwks_of(SIGNERS)) as (server, url),
    ):
        keys = JWKS(url, clock=Clock())
        attacker_jwk = ATTACKER.public_key().to_jwk("rsa-2026-01")
        for headers in [
            {"jku": evil_url},
            {"x5u": evil_url},
            {"jwk": attacker_jwk},
            {"jku": evil_url, "jwk": attacker_jwk},
        ]:
            forged = token("rsa-2026-01", ATTACKER, **headers)
            with pytest.raises(jwt.InvalidSignatureError):
                await keys.decode(forged, ALGORITHMS, audience="api", now=NOW)
        assert evil.requests == []
        assert len(server.requests) == 1


async def test_only_asymmetric_algorithms_and_the_kids_own_algorithm() -> None:
    with serving(jwks_of(SIGNERS)) as (_, url):
        keys = JWKS(url, clock=Clock())
        with pytest.raises(InvalidKeyError, match="RS256, ES256 and EdDSA only"):
            await keys.decode(token("rsa-2026-01"), ["RS256", "HS256"], now=NOW)
        with pytest.raises(jwt.InvalidAlgorithmError, match="not allowed"):
            await keys.decode(token("rsa-2026-01"), ["ES256"], now=NOW)
        with pytest.raises(jwt.InvalidKeyIdError, match="kid"):
            await keys.decode(
                jwt.encode({"exp": NOW + 5}, SIGNERS["ed-2026-01"], "EdDSA"), ALGORITHMS, now=NOW
            )


async def test_the_provider_down_is_a_jwks_error_and_cached_keys_keep_working(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    with serving(jwks_of(SIGNERS)) as (server, url):
        keys = JWKS(url, clock=clock, max_age=300)
        await keys.refresh()
    # The server is gone now.
    with pytest.raises(JWKSError, match="failed"):
        await JWKS(url, clock=Clock(), timeout=5).refresh()
    clock.now += 301  # the cache is old: a refresh is tried, fails, and the old keys serve
    with caplog.at_level(logging.WARNING, "minimal_asgi_auth.jwks"):
        assert await keys.decode(token("ec-2026-01"), ALGORITHMS, audience="api", now=NOW)
    assert "using the cached keys" in caplog.text
    assert server.requests == ["/.well-known/jwks.json"]


async def test_a_first_fetch_that_fails_is_not_retried_on_every_request() -> None:
    clock = Clock()
    with serving(b"not json") as (server, url):
        keys = JWKS(url, clock=clock)
        with pytest.raises(JWKSError, match="not JSON"):
            await keys.decode(token("rsa-2026-01"), ALGORITHMS, now=NOW)
        with pytest.raises(JWKSError, match="could not be fetched yet"):
            await keys.decode(token("rsa-2026-01"), ALGORITHMS, now=NOW)
        assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "location", "message"),
    [(500, None, "answered 500"), (302, "http://127.0.0.1:9/evil", "answered 302")],
)
async def test_errors_and_redirects_are_refused(
    status: int, location: str | None, message: str
) -> None:
    with serving(jwks_of(SIGNERS)) as (server, url):
        server.status, server.location = status, location
        with pytest.raises(JWKSError, match=message):
            await JWKS(url).refresh()


async def test_an_oversized_document_is_refused_before_parsing() -> None:
    padded = json.dumps({"keys": [], "pad": "x" * 70_000}).encode()
    with serving(padded) as (_, url), pytest.raises(JWKSError, match="larger than"):
        await JWKS(url).refresh()
    with pytest.raises(JWKSError, match="larger than"):
        parse_jwks(padded)


def test_unusable_keys_are_skipped_with_a_reason(caplog: pytest.LogCaptureFixture) -> None:
    good = SIGNERS["ed-2026-01"].public_key().to_jwk("good")
    rsa_jwk = SIGNERS["rsa-2026-01"].public_key().to_jwk("rsa")
    document = {
        "keys": [
            good,
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"},
            {**good, "kid": "private", "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"},
            {**good, "kid": "encryption", "use": "enc"},
            {**rsa_jwk, "alg": "HS256"},
            {**good, "kid": "twice"},
            {**good, "kid": "twice"},
            {k: v for k, v in good.items() if k != "kid"},
            "not an object",
        ]
    }
    with caplog.at_level(logging.WARNING, "minimal_asgi_auth.jwks"):
        keys = parse_jwks(json.dumps(document).encode())
    assert list(keys) == ["good"]
    for reason in [
        "symmetric",
        "private key",
        "'use'",
        "'alg' 'HS256'",
        "appears twice",
        "no 'kid' string",
    ]:
        assert reason in caplog.text
    with pytest.raises(JWKSError, match='"keys" list'):
        parse_jwks(b'{"keys": {}}')


@pytest.mark.parametrize(
    "url",
    ["http://idp.example/jwks.json", "ftp://127.0.0.1/jwks", "https:///jwks", "file:///etc/jwks"],
)
def test_only_https_or_loopback_http_urls(url: str) -> None:
    with pytest.raises(ConfigurationError, match="https://"):
        JWKS(url)


def test_loopback_and_https_urls_are_accepted() -> None:
    for url in [
        "https://idp.example/jwks.json",
        "http://127.0.0.1:8080/j",
        "http://[::1]/j",
        "http://localhost/j",
    ]:
        assert JWKS(url).url == url

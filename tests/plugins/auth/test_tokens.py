"""Access and refresh tokens: the Tokens service, on both stores."""

from __future__ import annotations

import anyio
import pytest

from minimal_asgi_auth import InvalidRefreshToken, Tokens, jwt
from minimal_asgi_auth.tokens import RefreshStore

from .conftest import SECRET

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_tokens(store: RefreshStore | str = "memory", **options: object) -> Tokens:
    return Tokens(SECRET, store=store, **options)  # type: ignore[arg-type]


async def test_a_login_gives_an_access_token_that_verifies(refresh_store: RefreshStore) -> None:
    tokens = make_tokens(refresh_store)
    pair = await tokens.issue("ada", roles=["admin"], scopes=["todos:write"])
    claims = tokens.verify_access(pair.access_token)
    assert (claims["sub"], claims["roles"], claims["scope"]) == ("ada", ["admin"], "todos:write")
    assert claims["exp"] - claims["iat"] == 300
    assert jwt.unverified_header(pair.access_token)["typ"] == "at+jwt"
    assert pair.as_json()["token_type"] == "Bearer" and pair.expires_in == 300


async def test_refresh_rotates_and_the_old_token_is_spent(refresh_store: RefreshStore) -> None:
    tokens = make_tokens(refresh_store)
    first = await tokens.issue("ada", roles=["admin"])
    second = await tokens.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert tokens.verify_access(second.access_token)["roles"] == ["admin"]  # the grant carries on
    third = await tokens.refresh(second.refresh_token)
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)


async def test_reuse_of_a_refresh_token_revokes_the_whole_family(
    refresh_store: RefreshStore,
) -> None:
    tokens = make_tokens(refresh_store)
    stolen = await tokens.issue("ada")
    users = await tokens.refresh(stolen.refresh_token)  # the user refreshes first
    with pytest.raises(InvalidRefreshToken) as info:
        await tokens.refresh(stolen.refresh_token)  # then the thief
    assert info.value.reason == "reused"
    with pytest.raises(InvalidRefreshToken) as info:
        await tokens.refresh(users.refresh_token)
    assert info.value.reason == "revoked"


async def test_ten_concurrent_refreshes_exactly_one_succeeds_and_the_family_is_revoked(
    refresh_store: RefreshStore,
) -> None:
    tokens = make_tokens(refresh_store)
    pair = await tokens.issue("ada")
    won: list[str] = []
    refused: list[str] = []

    async def use() -> None:
        try:
            won.append((await tokens.refresh(pair.refresh_token)).refresh_token)
        except InvalidRefreshToken as exc:
            refused.append(exc.reason)

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(use)
    assert len(won) == 1 and len(refused) == 9
    assert "reused" in refused
    with pytest.raises(InvalidRefreshToken):
        await tokens.refresh(won[0])


async def test_logout_revokes_the_family(refresh_store: RefreshStore) -> None:
    tokens = make_tokens(refresh_store)
    pair = await tokens.issue("ada")
    assert await tokens.revoke(pair.refresh_token) is True
    with pytest.raises(InvalidRefreshToken) as info:
        await tokens.refresh(pair.refresh_token)
    assert info.value.reason == "revoked"
    assert await tokens.revoke("garbage") is False


async def test_logout_everywhere_revokes_every_login_of_the_user(
    refresh_store: RefreshStore,
) -> None:
    tokens = make_tokens(refresh_store)
    laptop, phone, other = [await tokens.issue(s) for s in ("ada", "ada", "bob")]
    assert await tokens.revoke_subject("ada") == 2
    for pair in (laptop, phone):
        with pytest.raises(InvalidRefreshToken):
            await tokens.refresh(pair.refresh_token)
    await tokens.refresh(other.refresh_token)


@pytest.mark.parametrize("garbage", ["", "no-dot", ".x", "x.", "a" * 300, "fam.secret"])
async def test_malformed_refresh_tokens_are_unknown(garbage: str) -> None:
    with pytest.raises(InvalidRefreshToken) as info:
        await make_tokens().refresh(garbage)
    assert info.value.reason in ("unknown", "revoked")


async def test_the_store_never_holds_a_usable_refresh_token(
    refresh_store: RefreshStore, backend: str, request: pytest.FixtureRequest
) -> None:
    tokens = make_tokens(refresh_store)
    pair = await tokens.issue("ada")
    secret = pair.refresh_token.split(".")[1]
    if backend == "memory":
        held = repr(vars(vars(refresh_store)["_tokens"]))
    else:
        import redis

        client = redis.Redis.from_url(str(request.getfixturevalue("redis_url")))
        prefix = str(request.getfixturevalue("redis_prefix"))
        held = repr([(k, client.dump(k)) for k in client.scan_iter(match=prefix + "*")])
        client.close()
    import hashlib

    assert hashlib.sha256(secret.encode()).hexdigest() in held  # what is kept instead
    assert secret not in held


# -- ASVS 5.0 V9: self-contained tokens ---------------------------------------------


def test_asvs_9_1_1_a_token_is_verified_before_its_contents_are_used() -> None:
    tokens = make_tokens()
    forged = jwt.encode({"sub": "ada", "iat": 1, "exp": 2**40, "roles": ["admin"]}, b"x" * 32,
                        headers={"typ": "at+jwt"})
    with pytest.raises(jwt.InvalidSignatureError):
        tokens.verify_access(forged)


def test_asvs_9_1_2_only_the_configured_algorithm_is_accepted() -> None:
    hs256 = make_tokens()
    hs512 = Tokens(b"k" * 64, algorithm="HS512")
    token = Tokens(b"k" * 64).access_token("ada")  # HS256 with a key HS512 would accept
    with pytest.raises(jwt.InvalidAlgorithmError):
        hs512.verify_access(token)
    unsecured = token.rsplit(".", 1)[0] + "."
    with pytest.raises(jwt.InvalidTokenError):
        hs256.verify_access(unsecured)


def test_asvs_9_1_3_key_headers_in_the_token_are_never_trusted() -> None:
    attacker_key = b"a" * 32
    claims = {"sub": "ada", "iat": 1, "exp": 2**40}
    for header in ({"jwk": {"kty": "oct", "k": "YWFh"}}, {"jku": "https://evil.example/jwks"},
                   {"x5u": "https://evil.example/cert"}, {"kid": "../../dev/null"}):
        token = jwt.encode(claims, attacker_key, headers={"typ": "at+jwt", **header})
        with pytest.raises(jwt.InvalidTokenError):
            make_tokens().verify_access(token)


def test_asvs_9_2_1_exp_and_nbf_are_checked() -> None:
    clock = Clock()
    tokens = make_tokens(clock=clock)
    token = tokens.access_token("ada")
    clock.now = NOW + 301
    with pytest.raises(jwt.ExpiredTokenError):
        tokens.verify_access(token)
    early = jwt.encode({"sub": "ada", "iat": NOW, "exp": NOW + 300, "nbf": NOW + 60}, SECRET,
                       headers={"typ": "at+jwt"})
    clock.now = NOW
    with pytest.raises(jwt.ImmatureTokenError):
        tokens.verify_access(early)


async def test_asvs_9_2_2_only_an_access_token_passes_as_one() -> None:
    tokens = make_tokens()
    claims = {"sub": "ada", "iat": int(tokens.clock()), "exp": int(tokens.clock()) + 60}
    for typ in ("JWT", "refresh+jwt", "id_token"):
        other = jwt.encode(claims, SECRET, headers={"typ": typ})
        with pytest.raises(jwt.InvalidTypeError):
            tokens.verify_access(other)
    pair = await tokens.issue("ada")
    with pytest.raises(jwt.InvalidTokenError):  # an opaque refresh token is no access token
        tokens.verify_access(pair.refresh_token)


def test_asvs_9_2_3_a_token_for_another_audience_is_refused() -> None:
    ours = make_tokens(audience="https://api.example", issuer="https://auth.example")
    theirs = make_tokens(audience="https://billing.example", issuer="https://auth.example")
    assert ours.verify_access(ours.access_token("ada"))["aud"] == "https://api.example"
    with pytest.raises(jwt.InvalidAudienceError):
        ours.verify_access(theirs.access_token("ada"))
    no_audience = make_tokens(issuer="https://auth.example")
    with pytest.raises(jwt.InvalidAudienceError):
        ours.verify_access(no_audience.access_token("ada"))


def test_asvs_9_2_4_one_key_many_audiences_each_token_names_its_own() -> None:
    # The same key signs for two services: each token names its audience, so
    # neither service accepts the other's.
    api = make_tokens(audience="api")
    billing = make_tokens(audience="billing")
    with pytest.raises(jwt.InvalidAudienceError):
        billing.verify_access(api.access_token("ada"))
    with pytest.raises(jwt.InvalidAudienceError):
        api.verify_access(billing.access_token("ada"))


def test_a_short_key_fails_at_construction_not_at_the_first_login() -> None:
    with pytest.raises(jwt.InvalidKeyError):
        Tokens(b"short")


def test_the_token_pair_repr_hides_the_tokens() -> None:
    from minimal_asgi_auth import TokenPair

    assert "secret-value" not in repr(TokenPair("secret-value", "secret-value", 300))

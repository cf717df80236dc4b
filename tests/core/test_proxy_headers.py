"""ProxyHeadersMiddleware and TrustedProxies: the client's view of a request,
believed only from trusted proxies."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minimal_asgi import (
    App,
    ConfigurationError,
    ProxyHeadersMiddleware,
    RedirectResponse,
    Request,
    TrustedProxies,
    WebSocket,
)
from minimal_asgi.proxy_headers import forwarding_hops, parse_forwarded
from minimal_asgi.testing import TestClient
from tests.types import ClientFactory


def make_app(trusted: list[str], header: str = "x-forwarded") -> App:
    app = App()
    app.add_middleware(ProxyHeadersMiddleware, trusted=trusted, header=header)

    @app.get("/whoami", name="whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        client = request.client
        return {
            "client": client.host if client else None,
            "url": str(request.url),
            "link": str(request.url_for("whoami")),
        }

    @app.get("/old")
    async def old(request: Request) -> RedirectResponse:
        return RedirectResponse(str(request.url_for("whoami")))

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        client = websocket.client
        await websocket.send_json({"client": client.host if client else None,
                                   "url": str(websocket.url)})
        await websocket.close()

    return app


def whoami(client: TestClient, **headers: str) -> dict[str, Any]:
    response = client.get("/whoami", headers=headers)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def test_headers_are_ignored_by_default(client_for: ClientFactory) -> None:
    client = client_for(make_app([]), client=("10.0.0.2", 5000))
    seen = whoami(client, **{"x-forwarded-for": "198.51.100.7", "x-forwarded-proto": "https"})
    assert seen["client"] == "10.0.0.2"
    assert seen["url"].startswith("http://testserver/")


def test_a_trusted_proxy_sets_client_scheme_and_host(client_for: ClientFactory) -> None:
    client = client_for(make_app(["10.0.0.0/8"]), client=("10.0.0.2", 5000))
    seen = whoami(client, **{
        "x-forwarded-for": "198.51.100.7",
        "x-forwarded-proto": "https",
        "x-forwarded-host": "api.example.com",
    })  # fmt: skip
    assert seen == {
        "client": "198.51.100.7",
        "url": "https://api.example.com/whoami",
        "link": "https://api.example.com/whoami",
    }


def test_an_untrusted_peer_cannot_spoof_its_address(client_for: ClientFactory) -> None:
    client = client_for(make_app(["10.0.0.0/8"]), client=("203.0.113.5", 5000))
    seen = whoami(client, **{"x-forwarded-for": "1.1.1.1", "x-forwarded-host": "evil.example"})
    assert seen["client"] == "203.0.113.5"
    assert seen["url"] == "http://testserver/whoami"


def test_addresses_forged_left_of_the_proxy_chain_are_ignored(client_for: ClientFactory) -> None:
    # The client sent "X-Forwarded-For: 1.2.3.4"; the CDN appended what it saw,
    # then nginx (10.0.0.2, our peer) appended the CDN's address.
    client = client_for(make_app(["10.0.0.0/8", "192.0.2.0/24"]), client=("10.0.0.2", 5000))
    seen = whoami(client, **{"x-forwarded-for": "1.2.3.4, 198.51.100.7, 192.0.2.10"})
    assert seen["client"] == "198.51.100.7"


def test_the_standard_forwarded_header_when_the_proxy_writes_it(
    client_for: ClientFactory,
) -> None:
    client = client_for(make_app(["127.0.0.1"], "forwarded"), client=("127.0.0.1", 5000))
    seen = whoami(client, **{
        "forwarded": 'for="[2001:db8::7]:4711";proto=https;host=shop.example',
        "x-forwarded-for": "198.51.100.99",
    })  # fmt: skip
    assert seen["client"] == "2001:db8::7"
    assert seen["url"] == "https://shop.example/whoami"


def test_only_the_header_family_the_proxy_writes_is_read(client_for: ClientFactory) -> None:
    # nginx appends to X-Forwarded-For and passes a client's Forwarded header
    # through untouched: believing "whichever is present" would let it spoof.
    client = client_for(make_app(["127.0.0.1"]), client=("127.0.0.1", 5000))
    seen = whoami(client, **{"forwarded": "for=1.2.3.4;proto=https",
                             "x-forwarded-for": "1.2.3.4, 198.51.100.7"})
    assert seen["client"] == "198.51.100.7"
    assert seen["url"].startswith("http://")


def test_an_unknown_header_family_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="whichever your proxy sets"):
        TrustedProxies(["10.0.0.1"], header="x-real-ip")


def test_redirects_keep_the_clients_scheme_and_host(client_for: ClientFactory) -> None:
    client = client_for(make_app(["10.0.0.2"]), client=("10.0.0.2", 5000))
    response = client.get("/old", headers={
        "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com",
        "x-forwarded-for": "198.51.100.7",
    }, follow_redirects=False)  # fmt: skip
    assert response.status_code == 307
    assert response.headers["location"] == "https://api.example.com/whoami"


def test_a_host_that_is_not_a_host_is_ignored(client_for: ClientFactory) -> None:
    client = client_for(make_app(["10.0.0.2"]), client=("10.0.0.2", 5000))
    seen = whoami(client, **{"x-forwarded-host": "evil.example/p?x", "x-forwarded-for": "1.2.3.4"})
    assert seen["url"] == "http://testserver/whoami"


def test_an_unknown_scheme_is_ignored(client_for: ClientFactory) -> None:
    client = client_for(make_app(["10.0.0.2"]), client=("10.0.0.2", 5000))
    seen = whoami(client, **{"x-forwarded-proto": "gopher", "x-forwarded-for": "1.2.3.4"})
    assert seen["url"].startswith("http://")


def test_websockets_get_ws_or_wss(client_for: ClientFactory) -> None:
    client = client_for(make_app(["10.0.0.2"]), client=("10.0.0.2", 5000))
    headers = {"x-forwarded-proto": "https", "x-forwarded-for": "198.51.100.7"}
    with client.websocket_connect("/ws", headers=headers) as ws:
        seen = ws.receive_json()
    assert seen == {"client": "198.51.100.7", "url": "wss://testserver/ws"}


@pytest.mark.parametrize("bad", ["10.0.0.300", "not-an-ip", "10.0.0.0/33"])
def test_a_bad_trusted_entry_fails_at_startup(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="is not an IP address or network"):
        TrustedProxies([bad])


def test_a_string_instead_of_a_list_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="take a list"):
        TrustedProxies("10.0.0.1")


def test_the_server_scope_is_not_modified() -> None:
    scope: dict[str, Any] = {
        "type": "http", "client": ("10.0.0.2", 1), "headers": [(b"x-forwarded-for", b"1.2.3.4")],
    }  # fmt: skip
    seen: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    import anyio

    anyio.run(ProxyHeadersMiddleware(inner, trusted=["10.0.0.2"]), scope, None, None)
    assert seen[0]["client"] == ("1.2.3.4", 0)
    assert scope["client"] == ("10.0.0.2", 1)


def test_parse_forwarded_reads_quoted_values_with_separators() -> None:
    hops = parse_forwarded('for="[2001:db8::1]:80";host="a.example,b";proto=https, for=_hidden')
    assert [(h.address, h.port, h.proto, h.host) for h in hops] == [
        ("2001:db8::1", 80, "https", "a.example,b"),
        ("_hidden", 0, None, None),
    ]


def test_one_x_forwarded_proto_for_a_chain_applies_to_the_client() -> None:
    hops = forwarding_hops([(b"x-forwarded-for", b"1.1.1.1, 2.2.2.2"),
                            (b"x-forwarded-proto", b"https")], standard=False)
    assert [h.proto for h in hops] == ["https", "https"]


# -- properties ------------------------------------------------------------------------

ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
header_text = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=80
)


@given(peer=ipv4, values=st.lists(st.tuples(
    st.sampled_from([b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"]),
    header_text), max_size=4))
def test_parsing_never_fails_on_any_header(peer: str, values: list[tuple[bytes, str]]) -> None:
    scope = {"type": "http", "client": (peer, 1),
             "headers": [(name, value.encode("latin-1")) for name, value in values]}
    for header in ("x-forwarded", "forwarded"):
        proxies = TrustedProxies(["0.0.0.0/0"], header=header)
        forwarded = proxies.resolve(scope)
        host = proxies.client_host(scope)
        assert isinstance(host, str)
        if forwarded is not None:
            assert forwarded.client[0] == host


@given(client=st.one_of(ipv4, ipv6), forged=st.lists(ipv4, max_size=3),
       chain=st.lists(st.sampled_from(["10.0.0.1", "10.1.2.3", "192.0.2.9"]), max_size=3),
       standard=st.booleans())
def test_the_client_is_found_whatever_it_forged(
    client: str, forged: list[str], chain: list[str], standard: bool
) -> None:
    """A client (not a proxy) sends forged addresses; each trusted proxy appends
    the address it received from. The result is always the real client."""
    if ipaddress.ip_address(client) in ipaddress.ip_network("10.0.0.0/8"):
        return  # a client inside the trusted network is a proxy, by configuration
    if client.startswith("192.0.2."):
        return
    addresses = [*forged, client, *chain[:-1]] if chain else [*forged, client]
    peer = chain[-1] if chain else "10.0.0.1"
    if standard:
        value = ", ".join(f'for="[{a}]"' if ":" in a else f"for={a}" for a in addresses)
        headers = [(b"forwarded", value.encode())]
    else:
        headers = [(b"x-forwarded-for", ", ".join(addresses).encode())]
    scope = {"type": "http", "client": (peer, 1), "headers": headers}
    proxies = TrustedProxies(["10.0.0.0/8", "192.0.2.0/24"],
                             header="forwarded" if standard else "x-forwarded")
    assert proxies.client_host(scope) == client


@given(peer=ipv4, header=header_text)
def test_an_untrusted_peer_is_always_itself(peer: str, header: str) -> None:
    scope = {"type": "http", "client": (peer, 1),
             "headers": [(b"x-forwarded-for", header.encode("latin-1")),
                         (b"forwarded", header.encode("latin-1"))]}
    for header in ("x-forwarded", "forwarded"):
        assert TrustedProxies([], header=header).client_host(scope) == peer
        assert TrustedProxies([], header=header).resolve(scope) is None

"""Exercise 29: X-Forwarded-For, trusted only as far as our own proxies."""

from types import ModuleType

import pytest

NGINX = "10.0.0.2"


@pytest.mark.parametrize(
    ("forwarded_for", "peer", "hops", "client"),
    [
        # one proxy (nginx): it appended the client's address
        ("203.0.113.7", NGINX, 1, "203.0.113.7"),
        # the client wrote its own X-Forwarded-For; nginx appended the truth
        ("1.2.3.4, 203.0.113.7", NGINX, 1, "203.0.113.7"),
        ("1.2.3.4,   5.6.7.8 ,203.0.113.7", NGINX, 1, "203.0.113.7"),
        # two proxies: a CDN, then nginx
        ("1.2.3.4, 203.0.113.7, 198.51.100.9", NGINX, 2, "203.0.113.7"),
        # IPv6
        ("2001:db8::1", NGINX, 1, "2001:db8::1"),
        # no proxy of ours: the header is whatever the client sent
        ("1.2.3.4", "203.0.113.7", 0, "203.0.113.7"),
        (None, "203.0.113.7", 0, "203.0.113.7"),
        # too short for our proxies, or not an address: not to be believed
        (None, NGINX, 1, NGINX),
        ("203.0.113.7", NGINX, 2, NGINX),
        ("not-an-ip", NGINX, 1, NGINX),
        ("1.2.3.4, , 203.0.113.7", NGINX, 1, "203.0.113.7"),
    ],
)
def test_client_ip(
    exercise: ModuleType, forwarded_for: str | None, peer: str, hops: int, client: str
) -> None:
    assert exercise.client_ip(forwarded_for, peer, hops) == client

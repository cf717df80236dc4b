"""Exercise 29, solved: the client's address from X-Forwarded-For, read from the right."""

import ipaddress


def client_ip(forwarded_for: str | None, peer: str, trusted_hops: int) -> str:
    # Each proxy appends the address it saw, so only the right end is written by
    # proxies we run; everything further left came from the client.
    chain = [entry.strip() for entry in (forwarded_for or "").split(",") if entry.strip()]
    chain.append(peer)
    if trusted_hops <= 0 or len(chain) <= trusted_hops:
        return peer  # no proxies of ours, or the header is shorter than our proxies make it
    candidate = chain[-(trusted_hops + 1)]
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return peer
    return candidate

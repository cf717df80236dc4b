"""Exercise 29: the client's address from X-Forwarded-For, read from the right. See README.md."""


def client_ip(forwarded_for: str | None, peer: str, trusted_hops: int) -> str:
    if forwarded_for:
        return forwarded_for.split(",")[0].strip()  # TODO: the client wrote this part
    return peer

"""What a client is told: the RateLimit header fields and the 429.

The header fields follow draft-ietf-httpapi-ratelimit-headers (revision 11),
written as HTTP Structured Fields (RFC 9651) - lists of items whose value is
the policy's name and whose parameters carry the numbers:

    RateLimit-Policy: "10/minute";q=10;w=60          (the quota: q hits per w seconds)
    RateLimit: "10/minute";r=3;t=42                  (r left; replenished in t seconds)

not the legacy, unstandardised ``X-RateLimit-Limit/Remaining/Reset`` trio. A
refused request gets a 429 problem-details response (RFC 9457) of the draft's
``quota-exceeded`` type, naming the violated policies, with ``Retry-After``.
"""

from __future__ import annotations

from minimal_asgi import ProblemResponse
from minimal_asgi_ratelimit.algorithms import Decision
from minimal_asgi_ratelimit.limits import Limit

__all__ = ["QUOTA_EXCEEDED", "policy_header", "quota_exceeded", "ratelimit_header"]

QUOTA_EXCEEDED = "https://iana.org/assignments/http-problem-types#quota-exceeded"


def policy_header(limits: tuple[Limit, ...]) -> bytes:
    """``RateLimit-Policy``: the same for every response of a route, built once."""
    return b", ".join(b"%s;q=%d;w=%d" % (lim.sf_name, lim.amount, lim.window) for lim in limits)


def ratelimit_header(decision: Decision) -> bytes:
    """``RateLimit``: what is left of each quota, and when it is replenished.
    ``r`` is never below 0 and ``t`` never beyond the window."""
    if len(decision.outcomes) == 1:
        # PERF: the common case, on every limited response: no generator, and
        # comparisons instead of min()/max() calls, which cost more than the rest.
        o = decision.outcomes[0]
        left = o.remaining if o.remaining > 0 else 0
        seconds = -(-o.reset_ms // 1000)  # whole seconds, rounded up
        window = o.limit.window
        seconds = window if seconds > window else seconds if seconds > 0 else 0
        return o.limit.sf_name + f";r={left};t={seconds}".encode()
    return b", ".join(
        b"%s;r=%d;t=%d" % (
            o.limit.sf_name,
            max(0, o.remaining),
            min(o.limit.window, max(0, -(-o.reset_ms // 1000))),  # whole seconds, rounded up
        )
        for o in decision.outcomes
    )


def quota_exceeded(decision: Decision, policy: bytes) -> ProblemResponse:
    names = [limit.name for limit in decision.violated]
    seconds = decision.retry_after
    return ProblemResponse(
        429,
        f"rate limit {', '.join(names)} exceeded; retry in {seconds} s",
        headers={
            "retry-after": str(seconds),
            "ratelimit-policy": policy.decode("ascii"),
            "ratelimit": ratelimit_header(decision).decode("ascii"),
        },
        type=QUOTA_EXCEEDED,
        title="Request quota exceeded",
        **{"violated-policies": names},
    )

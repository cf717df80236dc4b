"""A limit as a dependency: when the key needs the app's dependencies.

``rate_limit="5/minute"`` on a route decides *before* the endpoint's
dependencies are resolved, so its key can only read the request. Some keys
need more: the authenticated user (who is known only once a ``current_user``
dependency has checked the token), a tenant looked up in the database, an
API key's owner. ``limiter.limit("5/minute", key=by_user)`` turns the limit
into a dependency: ``key`` is resolved like any other dependency - sync or
async, with ``Depends(...)`` parameters of its own, sharing their values with
the endpoint (``current_user`` runs once) - and then one hit is counted::

    async def by_user(user: User = Depends(current_user)) -> str:
        return f"user:{user.id}"

    @app.post("/todos", dependencies=[limiter.limit("30/minute", key=by_user)])
    async def create(...): ...

A refused hit raises a 429 ``HTTPException`` with the same problem body and
headers as the route option's; an allowed one leaves its decision in the
scope, and the plugin's route wrapper - on the routes that use such a
dependency, and only on them - adds the ``RateLimit`` headers to the response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from minimal_asgi import Depends, HTTPException, Message, Request, Scope, Send
from minimal_asgi_ratelimit.algorithms import Decision
from minimal_asgi_ratelimit.headers import QUOTA_EXCEEDED, policy_header, ratelimit_header
from minimal_asgi_ratelimit.limits import Limit

if TYPE_CHECKING:
    from minimal_asgi_ratelimit.plugin import RateLimit

__all__ = ["DECISIONS", "LimitDependency", "add_decision_headers", "make_dependency"]

# Where an allowed decision waits for the response: in the request's state
# (scope["state"], which every layer of one request shares).
DECISIONS = "minimal_asgi_ratelimit.decisions"

LimitDependency = Callable[..., Any]


def make_dependency(
    limiter: RateLimit,
    limits: tuple[Limit, ...],
    key: Callable[..., Any] | None,
    name: str,
) -> LimitDependency:
    """The dependency ``RateLimit.limit`` returns (see the module docstring)."""
    policy = policy_header(limits)
    # The key's own dependencies are resolved by the app's DI, once per request.
    key_dependency = key if key is not None else limiter.client_key

    async def enforce(request: Request, who: Any = Depends(key_dependency)) -> Decision:
        decision = await limiter._decide(f"{name}:{who}", limits)
        if decision is None:  # the backend is down: the configured policy
            if limiter.fail_open:
                return Decision(True, ())
            raise HTTPException(
                503, "rate limiting is unavailable; retry shortly", {"retry-after": "1"}
            )
        if not decision.allowed:
            raise _quota_exceeded(decision, policy)
        state = request.scope.setdefault("state", {})
        state.setdefault(DECISIONS, []).append((policy, decision))
        return decision

    enforce.__name__ = enforce.__qualname__ = f"rate_limit[{name}]"
    return enforce


def _quota_exceeded(decision: Decision, policy: bytes) -> HTTPException:
    names = [limit.name for limit in decision.violated]
    seconds = decision.retry_after
    return HTTPException(
        429,
        f"rate limit {', '.join(names)} exceeded; retry in {seconds} s",
        {
            "retry-after": str(seconds),
            "ratelimit-policy": policy.decode("ascii"),
            "ratelimit": ratelimit_header(decision).decode("ascii"),
        },
        title="Request quota exceeded",
        type=QUOTA_EXCEEDED,
        extra={"violated-policies": names},
    )


def add_decision_headers(scope: Scope, send: Send) -> Send:
    """``send``, adding the ``RateLimit`` headers of the decisions the
    request's limit dependencies left in its state (none: nothing added)."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            decisions = scope.get("state", {}).get(DECISIONS)
            if decisions:
                headers = [*message.get("headers", ())]
                for policy, decision in decisions:
                    if decision.outcomes:  # none while the backend was down
                        headers.append((b"ratelimit-policy", policy))
                        headers.append((b"ratelimit", ratelimit_header(decision)))
                message = {**message, "headers": headers}
        await send(message)

    return send_with_headers

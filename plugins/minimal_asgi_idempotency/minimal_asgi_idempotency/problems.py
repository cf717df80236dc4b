"""The answers of the idempotency layer itself, as RFC 9457 problem details.

The draft (section 2.7) gives each error a status, a title and a link to the
API's documentation, in the body or in a ``Link: <...>; rel="describedby"``
header; it registers no problem type URIs of its own. So each ``type`` here is
the API's documentation URL (``Idempotency(docs_url=...)``) with a fragment
naming the problem, and the same URL goes in ``Link``; without a docs URL the
type is ``about:blank`` and the title is the status phrase, as RFC 9457 asks.
"""

from __future__ import annotations

from minimal_asgi import ProblemResponse

__all__ = ["Problems"]


class Problems:
    """Builds each problem response; ``docs_url`` is where the API documents its
    idempotency policy (the expiry, the key format)."""

    def __init__(self, docs_url: str | None, policy: str) -> None:
        self.docs_url = docs_url
        self.policy = policy

    def _problem(
        self,
        status: int,
        name: str,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
    ) -> ProblemResponse:
        if self.docs_url is None:
            return ProblemResponse(status, detail, headers=headers)
        link = {"link": f'<{self.docs_url}>; rel="describedby"'}
        return ProblemResponse(
            status,
            detail,
            headers={**link, **(headers or {})},
            type=f"{self.docs_url}#{name}",
            title=title,
        )

    def missing(self) -> ProblemResponse:
        return self._problem(
            400,
            "idempotency-key-missing",
            "Idempotency-Key is missing",
            "this operation requires an Idempotency-Key header: send a unique key, "
            f'Idempotency-Key: "<a UUID>", and the same key when you retry. {self.policy}',
        )

    def invalid(self, why: str) -> ProblemResponse:
        return self._problem(
            400,
            "idempotency-key-invalid",
            "Idempotency-Key is not valid",
            f"the Idempotency-Key header is not valid: {why}",
        )

    def reused(self) -> ProblemResponse:
        return self._problem(
            422,
            "idempotency-key-reused",
            "Idempotency-Key is already used",
            "this Idempotency-Key was already used with a different request (method, path, "
            "query or body); send a new key for a new request",
        )

    def in_flight(self) -> ProblemResponse:
        return self._problem(
            409,
            "idempotency-key-in-flight",
            "A request is outstanding for this Idempotency-Key",
            "a request with this Idempotency-Key is still being processed; retry after it "
            "has finished to get its answer",
            headers={"retry-after": "1"},
        )

    def not_kept(self, status: str) -> ProblemResponse:
        return self._problem(
            422,
            "idempotency-key-answer-not-kept",
            "The answer to this Idempotency-Key was not kept",
            f"the request with this Idempotency-Key was processed (status {status}), but its "
            "response was too large to keep, or was cut off while it was sent, so it cannot "
            "be sent again; read the resource's current state instead of retrying",
        )

    def unavailable(self) -> ProblemResponse:
        return ProblemResponse(
            503,
            "idempotency keys cannot be checked right now, so the request was not processed; "
            "retry shortly with the same Idempotency-Key",
            headers={"retry-after": "1"},
        )

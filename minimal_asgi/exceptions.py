"""Errors, and how they become HTTP answers.

Two kinds of error live here. ``HTTPException`` is raised on purpose while a
request is handled ("this item does not exist": 404); the app turns it into a
*problem details* response (RFC 9457). ``ConfigurationError`` is raised at
startup, before any request, when the app is assembled wrongly; its message
names the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

__all__ = [
    "ConfigurationError",
    "HTTPException",
    "MinimalASGIError",
    "problem_details",
]


class MinimalASGIError(Exception):
    """The root of every exception this framework raises."""


class ConfigurationError(MinimalASGIError):
    """The app was put together wrongly; raised at startup, never per request."""


class HTTPException(MinimalASGIError):
    """Stop handling this request and answer with ``status_code``.

    ``detail`` is a human-readable explanation for the client. ``headers`` are
    added to the error response (``Allow`` on a 405, ``Retry-After`` on a 429).
    ``extra`` members are merged into the problem-details body (RFC 9457 allows
    extension members, e.g. ``errors`` on a 422).
    """

    def __init__(
        self,
        status_code: int,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        title: str | None = None,
        type: str = "about:blank",
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.status_code = status_code
        self.title = title or _reason(status_code)
        self.detail = detail if detail is not None else self.title
        self.headers = dict(headers or {})
        self.type = type
        self.extra = dict(extra or {})
        super().__init__(status_code, self.detail)

    def __str__(self) -> str:
        return f"{self.status_code} {self.title}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


# RFC 9110's reason phrases where Python's http.HTTPStatus (3.11) still has the
# older RFC 7231 wording, so a problem's title does not change with the Python
# version (3.13 adopted these).
_RFC_9110_PHRASES = {
    413: "Content Too Large",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}


def _reason(status_code: int) -> str:
    if status_code in _RFC_9110_PHRASES:
        return _RFC_9110_PHRASES[status_code]
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def problem_details(
    status_code: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    type: str = "about:blank",
    instance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON body of an RFC 9457 problem-details response."""
    body: dict[str, Any] = {
        "type": type,
        "title": title or _reason(status_code),
        "status": status_code,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    body.update(extra)
    return body

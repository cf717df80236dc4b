"""Errors become RFC 9457 problem-details responses, chosen by the exception's MRO."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from minimal_asgi import (
    App,
    ConfigurationError,
    HTTPException,
    JSONResponse,
    MinimalASGIError,
    PlainTextResponse,
    ProblemResponse,
    Request,
    Response,
    StreamingResponse,
)
from minimal_asgi.testing import TestClient


class PaymentError(Exception):
    pass


class CardDeclined(PaymentError):
    pass


def raising(exc: BaseException, **options: Any) -> App:
    app = App(**options)

    @app.get("/")
    async def endpoint() -> None:
        raise exc

    return app


# -- HTTPException ---------------------------------------------------------------------
def test_an_http_exception_becomes_a_problem_details_response() -> None:
    with TestClient(raising(HTTPException(404, "Item 3 does not exist"))) as client:
        response = client.get("/")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Item 3 does not exist",
    }


def test_an_http_exception_without_detail_uses_the_reason_phrase() -> None:
    with TestClient(raising(HTTPException(429))) as client:
        assert client.get("/").json()["detail"] == "Too Many Requests"


def test_an_http_exception_carries_its_headers() -> None:
    exc = HTTPException(429, "slow down", headers={"Retry-After": "30"})
    with TestClient(raising(exc)) as client:
        response = client.get("/")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"


def test_an_http_exception_carries_title_type_and_extension_members() -> None:
    exc = HTTPException(
        403,
        "not your account",
        title="Forbidden account",
        type="https://example.com/probs/account",
        extra={"account": 12},
    )
    with TestClient(raising(exc)) as client:
        assert client.get("/").json() == {
            "type": "https://example.com/probs/account",
            "title": "Forbidden account",
            "status": 403,
            "detail": "not your account",
            "account": 12,
        }


def test_an_unknown_status_gets_a_generic_title() -> None:
    assert HTTPException(599).title == "Error"


def test_http_exception_is_a_minimal_asgi_error() -> None:
    assert issubclass(HTTPException, MinimalASGIError)
    assert issubclass(ConfigurationError, MinimalASGIError)


def test_an_http_exception_describes_itself() -> None:
    exc = HTTPException(404, "gone")
    assert str(exc) == "404 Not Found: gone"
    assert repr(exc) == "HTTPException(status_code=404, detail='gone')"


def test_problem_response_builds_a_problem_body() -> None:
    response = ProblemResponse(409, "taken", errors=[{"loc": ["name"]}])
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.body == (
        b'{"type":"about:blank","title":"Conflict","status":409,"detail":"taken",'
        b'"errors":[{"loc":["name"]}]}'
    )


# -- exception handlers ---------------------------------------------------------------
def test_a_handler_for_a_base_class_catches_a_subclass() -> None:
    app = raising(CardDeclined("insufficient funds"))

    @app.exception_handler(PaymentError)
    async def payment(request: Request, exc: PaymentError) -> Response:
        return JSONResponse({"handled_by": "PaymentError", "error": str(exc)}, status_code=402)

    with TestClient(app) as client:
        response = client.get("/")
    assert response.status_code == 402
    assert response.json() == {"handled_by": "PaymentError", "error": "insufficient funds"}


def test_a_handler_for_the_subclass_wins_over_the_base_class() -> None:
    app = raising(CardDeclined())

    @app.exception_handler(PaymentError)
    async def payment(request: Request, exc: PaymentError) -> Response:
        return PlainTextResponse("PaymentError", status_code=402)

    @app.exception_handler(CardDeclined)
    async def declined(request: Request, exc: CardDeclined) -> Response:
        return PlainTextResponse("CardDeclined", status_code=402)

    with TestClient(app) as client:
        assert client.get("/").text == "CardDeclined"


def test_the_subclass_handler_wins_whatever_the_registration_order() -> None:
    app = raising(CardDeclined())

    @app.exception_handler(CardDeclined)
    async def declined(request: Request, exc: CardDeclined) -> Response:
        return PlainTextResponse("CardDeclined")

    @app.exception_handler(PaymentError)
    async def payment(request: Request, exc: PaymentError) -> Response:
        return PlainTextResponse("PaymentError")

    with TestClient(app) as client:
        assert client.get("/").text == "CardDeclined"


def test_a_sync_exception_handler_works() -> None:
    app = raising(PaymentError("no card"))

    @app.exception_handler(PaymentError)
    def payment(request: Request, exc: PaymentError) -> Response:
        return PlainTextResponse(f"sync: {exc}", status_code=402)

    with TestClient(app) as client:
        response = client.get("/")
    assert (response.status_code, response.text) == (402, "sync: no card")


def test_exception_handlers_can_be_given_to_the_constructor() -> None:
    async def payment(request: Request, exc: PaymentError) -> Response:
        return PlainTextResponse("handled", status_code=402)

    app = raising(PaymentError(), exception_handlers={PaymentError: payment})
    with TestClient(app) as client:
        assert client.get("/").status_code == 402


def test_an_exception_handler_receives_the_request() -> None:
    app = raising(PaymentError())

    @app.exception_handler(PaymentError)
    async def payment(request: Request, exc: PaymentError) -> Response:
        return PlainTextResponse(f"{request.method} {request.url.path}")

    with TestClient(app) as client:
        assert client.get("/").text == "GET /"


def test_a_user_handler_for_http_exception_replaces_the_default() -> None:
    app = raising(HTTPException(404))

    @app.exception_handler(HTTPException)
    async def plain(request: Request, exc: HTTPException) -> Response:
        return PlainTextResponse(f"custom {exc.status_code}", status_code=exc.status_code)

    with TestClient(app) as client:
        response = client.get("/")
    assert (response.status_code, response.text) == (404, "custom 404")


def test_a_handler_for_exception_does_not_take_over_http_exceptions() -> None:
    app = raising(HTTPException(404))

    @app.exception_handler(Exception)
    async def everything(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("caught", status_code=500)

    with TestClient(app) as client:
        assert client.get("/").status_code == 404


def test_a_handled_exception_is_not_raised_by_the_test_client() -> None:
    app = raising(PaymentError())
    app.add_exception_handler(PaymentError, lambda request, exc: PlainTextResponse("ok"))
    with TestClient(app) as client:
        assert client.get("/").text == "ok"


def test_registering_a_handler_for_a_non_exception_raises() -> None:
    with pytest.raises(ConfigurationError, match="not an exception class"):
        App().add_exception_handler(int, lambda request, exc: None)  # type: ignore[arg-type]


def test_registering_a_handler_after_startup_raises() -> None:
    app = App()
    with TestClient(app), pytest.raises(ConfigurationError):
        app.add_exception_handler(PaymentError, lambda request, exc: None)


# -- unhandled exceptions ------------------------------------------------------------
def test_an_unhandled_exception_is_a_500_without_internals() -> None:
    app = raising(RuntimeError("password=hunter2 in /srv/app/db.py"))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "The server could not complete the request.",
    }
    assert b"hunter2" not in response.content
    assert b"RuntimeError" not in response.content


def test_in_debug_mode_a_500_shows_the_exception_and_traceback() -> None:
    app = raising(RuntimeError("boom"), debug=True)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/")
    problem = response.json()
    assert response.status_code == 500
    assert problem["detail"] == "RuntimeError: boom"
    assert problem["traceback"][0] == "Traceback (most recent call last):"
    assert any("raise exc" in line for line in problem["traceback"])


def test_the_test_client_reraises_an_unhandled_exception_by_default() -> None:
    app = raising(RuntimeError("boom"))
    with TestClient(app) as client, pytest.raises(RuntimeError, match="boom"):
        client.get("/")


def test_an_error_after_a_stream_started_reraises_the_original_exception() -> None:
    app = App()

    @app.get("/")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"partial"
            raise ValueError("disk gone")

        return StreamingResponse(chunks())

    with TestClient(app) as client, pytest.raises(ValueError, match="disk gone"):
        client.get("/")


def test_an_error_after_a_stream_started_keeps_the_started_response() -> None:
    app = App()

    @app.get("/")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"partial"
            raise ValueError("disk gone")

        return StreamingResponse(chunks())

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/")
    assert (response.status_code, response.content) == (200, b"partial")

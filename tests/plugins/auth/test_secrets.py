"""Secrets: from the environment, refused in production when weak, and never shown."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from minimal_asgi import App, ConfigurationError
from minimal_asgi.testing import TestClient
from minimal_asgi_auth import jwt
from minimal_asgi_auth.csrf import CSRFMiddleware, CSRFTokens, OAuthState
from minimal_asgi_auth.keys import PrivateKey
from minimal_asgi_auth.settings import AuthSettings

REPO = Path(__file__).resolve().parents[3]
STRONG_JWT = "Zr6Q1nH0pV8yW3kT5mJ2cX9bL4dF7gA1sE0uI6oP3qR"
STRONG_CSRF = "b7Kf2Lq9Xw4Rz1Tn8Vm3Yc6Hp0Gd5Js2Ue7Ia4Ob9Nk"
PRODUCTION = {"AUTH_ENVIRONMENT": "production"}


def strong() -> dict[str, str]:
    return {**PRODUCTION, "AUTH_JWT_SECRET": STRONG_JWT, "AUTH_CSRF_SECRET": STRONG_CSRF}


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"AUTH_CSRF_SECRET": STRONG_CSRF}, "AUTH_JWT_SECRET is not set; in production"),
        (
            {"AUTH_JWT_SECRET": "changeme", "AUTH_CSRF_SECRET": STRONG_CSRF},
            "AUTH_JWT_SECRET is a well-known placeholder",
        ),
        (
            {"AUTH_JWT_SECRET": "s3cr3t-but-short-8f2a", "AUTH_CSRF_SECRET": STRONG_CSRF},
            "AUTH_JWT_SECRET is too short for production",
        ),
    ],
)
def test_production_refuses_a_missing_default_placeholder_or_short_key(
    variables: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        AuthSettings.load(environ={**PRODUCTION, **variables})
    assert message in str(refused.value)
    assert "secrets.token_urlsafe(32)" in str(refused.value)  # says how to fix it
    assert "s3cr3t-but-short-8f2a" not in str(refused.value)


def test_production_accepts_strong_keys_and_development_makes_random_ones() -> None:
    production = AuthSettings.load(environ=strong())
    assert production.jwt_secret.get_secret_value() == STRONG_JWT
    assert production.jwt_key().sign("HS256", b"x") != production.csrf_key().sign("HS256", b"x")
    development = AuthSettings.load(environ={})
    assert len(development.jwt_secret.get_secret_value()) >= 43


def test_development_says_which_keys_it_made_up_and_never_shows_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="minimal_asgi_auth.settings"):
        made_up = AuthSettings.load(environ={"AUTH_JWT_SECRET": STRONG_JWT})
    assert "AUTH_CSRF_SECRET is not set: using a random key" in caplog.text
    assert "AUTH_JWT_SECRET" not in caplog.text  # it was set
    assert made_up.csrf_secret.get_secret_value() not in caplog.text
    assert STRONG_JWT not in caplog.text


def run_app(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AUTH_")}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.plugins.auth.secrets_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
    ]
    return subprocess.run(
        command,
        cwd=REPO,
        env={**clean, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_production_app_with_a_short_key_refuses_to_start() -> None:
    weak = {**strong(), "AUTH_JWT_SECRET": "s3cr3t-but-short-8f2a"}
    finished = run_app(weak)
    assert finished.returncode != 0
    output = finished.stdout + finished.stderr
    assert "AUTH_JWT_SECRET is too short for production" in output
    assert "s3cr3t-but-short-8f2a" not in output
    assert STRONG_CSRF not in output


def test_the_same_app_imports_with_strong_keys() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AUTH_")}
    finished = subprocess.run(
        [sys.executable, "-c", "import tests.plugins.auth.secrets_app as m; print(m.settings)"],
        cwd=REPO,
        env={**clean, **strong()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    assert "environment='production'" in finished.stdout
    assert STRONG_JWT not in finished.stdout and STRONG_CSRF not in finished.stdout


def test_a_key_checked_at_startup_stops_the_lifespan() -> None:
    app = App()

    def load_keys() -> None:
        AuthSettings.load(environ={**PRODUCTION})

    app.on_startup(load_keys)
    refused = "lifespan startup failed: ConfigurationError: 2 settings are wrong"
    with pytest.raises(RuntimeError, match=refused), TestClient(app):
        pass


def test_reprs_and_strs_never_show_a_secret() -> None:
    settings = AuthSettings.load(environ=strong())
    private = PrivateKey.generate("EdDSA")
    shown = [
        repr(settings),
        str(settings),
        str(settings.jwt_secret),
        repr(settings.jwt_key()),
        repr(CSRFTokens(settings.csrf_key())),
        repr(OAuthState(settings.csrf_key())),
        repr(private),
        str(private),
        f"{settings.jwt_key()}",
    ]
    for text in shown:
        assert STRONG_JWT not in text and STRONG_CSRF not in text
        assert STRONG_JWT.encode().hex()[:16] not in text
    assert "**********" in repr(settings)


def test_logging_never_shows_a_secret(caplog: pytest.LogCaptureFixture) -> None:
    settings = AuthSettings.load(environ=strong())
    logger = logging.getLogger("tests.auth.secrets")
    with caplog.at_level(logging.DEBUG):
        logger.info("settings: %s", settings)
        logger.info("keys: %r %r", settings.jwt_key(), settings.csrf_secret)
        try:
            jwt.encode({}, settings.jwt_key(), algorithm="RS256")
        except jwt.InvalidKeyError:
            logger.exception("signing failed with %r", settings.jwt_key())
    assert caplog.text
    assert STRONG_JWT not in caplog.text and STRONG_CSRF not in caplog.text


def test_csrf_refusals_log_no_token(caplog: pytest.LogCaptureFixture) -> None:
    tokens = CSRFTokens(AuthSettings.load(environ=strong()).csrf_key())
    token = tokens.issue("session-1")
    app = App()

    @app.post("/x")
    async def x() -> None:
        return None

    app.add_middleware(CSRFMiddleware, tokens=tokens, session_cookie="session")
    with caplog.at_level(logging.WARNING), TestClient(app) as client:
        cookies = {"session": "session-1", "__Host-csrf": token}
        response = client.post("/x", headers={"x-csrf-token": token + "x"}, cookies=cookies)
    assert response.status_code == 403
    assert "refused POST /x" in caplog.text
    assert token not in caplog.text and "session-1" not in caplog.text


def test_the_debug_error_page_never_shows_a_secret() -> None:
    settings = AuthSettings.load(environ=strong())
    app = App(debug=True)

    @app.get("/boom")
    async def boom() -> None:
        key = settings.jwt_key()
        raise RuntimeError(f"could not sign with {key!r}, settings {settings!r}")

    @app.get("/misconfigured")
    async def misconfigured() -> None:
        jwt.encode({}, settings.jwt_key(), algorithm="ES256")

    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ["/boom", "/misconfigured"]:
            page = client.get(path)
            assert page.status_code == 500
            assert "traceback" in page.json()  # the debug page, with everything it shows
            assert STRONG_JWT not in page.text and STRONG_CSRF not in page.text

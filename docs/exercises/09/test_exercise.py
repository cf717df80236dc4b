"""Exercise 09: settings converted, checked, and the secret masked."""

from types import ModuleType

import pytest

from minimal_asgi import ConfigurationError

SECRET = "Zq3mX0v8yUo1b6Wc2pTn5sLr9kHd4gAe7jFi0xNu"  # 40 characters: enough for production


def test_values_are_converted_to_their_types(exercise: ModuleType) -> None:
    settings = exercise.load(
        {
            "NOTES_PORT": "9000",
            "NOTES_DEBUG": "yes",
            "NOTES_ALLOWED_HOSTS": "a.example, b.example",
            "NOTES_SECRET_KEY": SECRET,
        }
    )
    assert settings.port == 9000
    assert settings.debug is True
    assert settings.environment == "development"
    assert settings.allowed_hosts == ["a.example", "b.example"]
    assert settings.secret_key.get_secret_value() == SECRET


def test_production_with_a_strong_secret_starts(exercise: ModuleType) -> None:
    settings = exercise.load({"NOTES_SECRET_KEY": SECRET, "NOTES_ENVIRONMENT": "production"})
    assert settings.environment == "production"


def test_defaults(exercise: ModuleType) -> None:
    settings = exercise.load({"NOTES_SECRET_KEY": SECRET})
    assert (settings.port, settings.debug, settings.environment) == (8000, False, "development")
    assert settings.allowed_hosts == []


def test_the_secret_never_prints(exercise: ModuleType) -> None:
    settings = exercise.load({"NOTES_SECRET_KEY": SECRET})
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)


@pytest.mark.parametrize(
    "environ",
    [
        {},  # the secret is required
        {"NOTES_SECRET_KEY": SECRET, "NOTES_PORT": "eighty"},
        {"NOTES_SECRET_KEY": SECRET, "NOTES_DEBUG": "maybe"},
        {"NOTES_SECRET_KEY": SECRET, "NOTES_ENVIRONMENT": "staging"},
        # production refuses what would be tolerable on a laptop:
        {"NOTES_SECRET_KEY": SECRET, "NOTES_ENVIRONMENT": "production", "NOTES_DEBUG": "on"},
        {"NOTES_SECRET_KEY": "short", "NOTES_ENVIRONMENT": "production"},
    ],
)
def test_bad_settings_are_refused_when_read(exercise: ModuleType, environ: dict) -> None:
    with pytest.raises(ConfigurationError):
        exercise.load(environ)

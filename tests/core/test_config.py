"""minimal_asgi.config: typed settings from the environment and a .env file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import pytest

from minimal_asgi.config import Secret, Settings, env, parse_env_file, read_env_file
from minimal_asgi.exceptions import ConfigurationError

STRONG = "k" * 16 + "Vq3-x9Zr_2mT8wLp"  # 32 characters, not a placeholder


class AppSettings(Settings):
    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite://:memory:"
    debug: bool = False
    port: int = 8000
    ratio: float = 0.5
    allowed_hosts: list[str] = []
    secret_key: Secret


class Limits(Settings):
    timeout: int | None = None
    api_key: Secret | None = None


def load(environ: dict[str, str]) -> AppSettings:
    return AppSettings.from_env(prefix="APP_", environ=environ)


# -- reading and converting -------------------------------------------------------


def test_each_field_is_read_from_prefix_plus_upper_case_name() -> None:
    settings = AppSettings.from_env(
        prefix="APP_",
        environ={"APP_DATABASE_URL": "postgresql://db/app", "APP_SECRET_KEY": "s"},
    )
    assert settings.database_url == "postgresql://db/app"


def test_unset_variables_take_the_default() -> None:
    settings = AppSettings.from_env(prefix="APP_", environ={"APP_SECRET_KEY": "s"})
    assert (settings.port, settings.debug, settings.allowed_hosts) == (8000, False, [])


def test_os_environ_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_SECRET_KEY", "s")
    monkeypatch.setenv("APP_PORT", "9000")
    assert AppSettings.from_env(prefix="APP_").port == 9000


def test_int_and_float_are_converted() -> None:
    settings = AppSettings.from_env(
        prefix="APP_", environ={"APP_SECRET_KEY": "s", "APP_PORT": " 8080 ", "APP_RATIO": "2.5"}
    )
    assert (settings.port, settings.ratio) == (8080, 2.5)


@pytest.mark.parametrize("text", ["true", "TRUE", "1", "yes", "On"])
def test_bool_accepts_the_usual_words_for_true(text: str) -> None:
    assert AppSettings.from_env(environ={"SECRET_KEY": "s", "DEBUG": text}).debug is True


@pytest.mark.parametrize("text", ["false", "False", "0", "no", "OFF"])
def test_bool_accepts_the_usual_words_for_false(text: str) -> None:
    assert AppSettings.from_env(environ={"SECRET_KEY": "s", "DEBUG": text}).debug is False


def test_bool_refuses_anything_else() -> None:
    with pytest.raises(ConfigurationError, match=r"DEBUG='maybe' is not a bool"):
        AppSettings.from_env(environ={"SECRET_KEY": "s", "DEBUG": "maybe"})


def test_list_is_comma_separated_and_trimmed() -> None:
    settings = load({"APP_SECRET_KEY": "s", "APP_ALLOWED_HOSTS": "example.com, api.example.com,"})
    assert settings.allowed_hosts == ["example.com", "api.example.com"]


def test_list_items_are_converted_to_the_item_type() -> None:
    class Ports(Settings):
        ports: list[int] = []

    assert Ports.from_env(environ={"PORTS": "80,443"}).ports == [80, 443]


def test_a_list_default_is_not_shared_between_instances() -> None:
    first = load({"APP_SECRET_KEY": "s"})
    first.allowed_hosts.append("evil.example")
    assert load({"APP_SECRET_KEY": "s"}).allowed_hosts == []


def test_literal_accepts_one_of_its_choices() -> None:
    settings = load({"APP_SECRET_KEY": STRONG, "APP_ENVIRONMENT": "production"})
    assert settings.environment == "production"


def test_literal_refuses_other_values_and_lists_the_choices() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load({"APP_SECRET_KEY": "s", "APP_ENVIRONMENT": "prod"})
    assert str(caught.value) == ("APP_ENVIRONMENT='prod' is not one of 'development', 'production'")


def test_optional_field_reads_a_value() -> None:
    assert Limits.from_env(environ={"TIMEOUT": "5"}).timeout == 5


def test_optional_field_is_none_when_the_variable_is_empty() -> None:
    assert Limits.from_env(environ={"TIMEOUT": ""}).timeout is None


def test_env_names_the_exact_variable_without_prefix() -> None:
    class Platform(Settings):
        database_url: str = env("DATABASE_URL", default="sqlite://:memory:")

    settings = Platform.from_env(prefix="APP_", environ={"DATABASE_URL": "postgresql://x"})
    assert settings.database_url == "postgresql://x"


def test_env_default_factory_gives_each_instance_a_new_value() -> None:
    class Hosts(Settings):
        hosts: list[str] = env(default_factory=lambda: ["localhost"])

    assert Hosts.from_env(environ={}).hosts == ["localhost"]


def test_an_unsupported_annotation_is_a_configuration_error() -> None:
    class Bad(Settings):
        where: Path = Path(".")

    with pytest.raises(ConfigurationError, match=r"Bad\.where: .*is not supported"):
        Bad.from_env(environ={})


# -- errors ---------------------------------------------------------------------------


def test_malformed_value_names_the_variable_and_the_type() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load({"APP_SECRET_KEY": "s", "APP_PORT": "eighty"})
    assert str(caught.value) == "APP_PORT='eighty' is not an int"


def test_missing_required_variable_is_named() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load({})
    assert str(caught.value) == "APP_SECRET_KEY is required but not set"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load({"APP_PORT": "eighty", "APP_RATIO": "half"})
    message = str(caught.value)
    assert message.startswith("3 settings are wrong:")
    assert "APP_PORT='eighty' is not an int" in message
    assert "APP_RATIO='half' is not a float" in message
    assert "APP_SECRET_KEY is required but not set" in message


def test_a_long_malformed_value_is_shortened_in_the_message() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load({"APP_SECRET_KEY": "s", "APP_PORT": "9" * 30 + "x" * 100})
    assert "x" * 50 not in str(caught.value)


# -- secrets ----------------------------------------------------------------------------


def test_secret_value_is_read_explicitly() -> None:
    assert Secret("hunter2").get_secret_value() == "hunter2"


def test_secret_str_and_repr_are_masked() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in str(secret)
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in f"{secret}"


def test_settings_repr_masks_secrets_and_shows_the_rest() -> None:
    settings = load({"APP_SECRET_KEY": "hunter2", "APP_PORT": "9000"})
    assert "hunter2" not in repr(settings)
    assert "port=9000" in repr(settings)
    assert "secret_key=Secret('**********')" in repr(settings)


def test_secrets_compare_by_value() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")


# -- production checks -------------------------------------------------------------------


def production(**variables: str) -> dict[str, str]:
    return {"APP_ENVIRONMENT": "production", **variables}


def test_production_accepts_a_long_random_secret() -> None:
    assert load(production(APP_SECRET_KEY=STRONG)).is_production


def test_production_refuses_a_short_secret_and_says_how_to_generate_one() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load(production(APP_SECRET_KEY="short-but-random-9f2"))
    message = str(caught.value)
    assert message.startswith("APP_SECRET_KEY is too short for production")
    assert 'python -c "import secrets; print(secrets.token_urlsafe(32))"' in message


def test_production_refuses_a_placeholder_secret() -> None:
    with pytest.raises(ConfigurationError, match="APP_SECRET_KEY is a well-known placeholder"):
        load(production(APP_SECRET_KEY="changeme"))


def test_production_refuses_a_secret_left_at_its_default_in_code() -> None:
    class WithDefault(Settings):
        environment: str = "development"
        session_key: Secret = Secret("x" * 40)

    with pytest.raises(ConfigurationError, match="SESSION_KEY is not set; in production"):
        WithDefault.from_env(environ={"ENVIRONMENT": "production"})


def test_production_refuses_a_missing_required_secret() -> None:
    with pytest.raises(ConfigurationError, match="APP_SECRET_KEY is required but not set"):
        load(production())


def test_production_refuses_debug_mode() -> None:
    with pytest.raises(ConfigurationError, match="APP_DEBUG is on in production"):
        load(production(APP_SECRET_KEY=STRONG, APP_DEBUG="true"))


def test_production_error_messages_never_contain_the_secret() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load(production(APP_SECRET_KEY="hunter2", APP_PORT="eighty"))
    assert "hunter2" not in str(caught.value)


def test_production_problems_are_reported_with_the_other_errors() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load(production(APP_SECRET_KEY="changeme", APP_PORT="eighty"))
    assert "APP_PORT='eighty'" in str(caught.value)
    assert "APP_SECRET_KEY is a well-known placeholder" in str(caught.value)


def test_an_unset_optional_secret_is_fine_in_production() -> None:
    class Monitoring(Settings):
        environment: str = "development"
        sentry_token: Secret | None = None

    assert Monitoring.from_env(environ={"ENVIRONMENT": "production"}).sentry_token is None


def test_min_length_can_be_set_per_secret() -> None:
    class ShortKey(Settings):
        environment: str = "production"
        pin: Secret = env(min_length=6)

    assert ShortKey.from_env(environ={"PIN": "9f3k2q"}).pin == Secret("9f3k2q")


def test_development_accepts_a_weak_secret() -> None:
    assert load({"APP_SECRET_KEY": "dev"}).secret_key == Secret("dev")


# -- the settings object ---------------------------------------------------------------


def test_settings_are_read_only() -> None:
    settings = load({"APP_SECRET_KEY": "s"})
    with pytest.raises(AttributeError, match="read-only"):
        settings.port = 1  # type: ignore[misc]


def test_replace_returns_a_changed_copy() -> None:
    settings = AppSettings(secret_key=Secret("s"))
    changed = settings.replace(port=1)
    assert (settings.port, changed.port) == (8000, 1)


def test_constructor_requires_the_fields_without_defaults() -> None:
    with pytest.raises(ConfigurationError, match="needs a value for secret_key"):
        AppSettings()  # type: ignore[call-arg]


def test_constructor_refuses_unknown_settings() -> None:
    with pytest.raises(ConfigurationError, match="has no setting"):
        AppSettings(secret_key=Secret("s"), prot=1)  # type: ignore[call-arg]


def test_subclass_adds_fields_to_its_parent() -> None:
    class Extended(AppSettings):
        workers: int = 1

    settings = Extended.from_env(environ={"SECRET_KEY": "s", "WORKERS": "4"})
    assert (settings.workers, settings.port) == (4, 8000)


# -- .env files ----------------------------------------------------------------------------


def test_env_file_values_are_used(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("APP_SECRET_KEY=from-file\nAPP_PORT=7000\n")
    settings = AppSettings.from_env(prefix="APP_", env_file=path, environ={})
    assert settings.port == 7000


def test_real_environment_wins_over_env_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("APP_SECRET_KEY=s\nAPP_PORT=7000\n")
    settings = AppSettings.from_env(prefix="APP_", env_file=path, environ={"APP_PORT": "9000"})
    assert settings.port == 9000


def test_missing_env_file_is_skipped(tmp_path: Path) -> None:
    settings = AppSettings.from_env(
        prefix="APP_", env_file=tmp_path / "absent.env", environ={"APP_SECRET_KEY": "s"}
    )
    assert settings.port == 8000


def test_env_file_does_not_change_os_environ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_PORT", raising=False)
    monkeypatch.setenv("APP_SECRET_KEY", "s")
    path = tmp_path / ".env"
    path.write_text("APP_PORT=7000\n")
    AppSettings.from_env(prefix="APP_", env_file=path)
    assert "APP_PORT" not in os.environ


def test_read_env_file_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("A=1\n", encoding="utf-8")
    assert read_env_file(path) == {"A": "1"}


def test_parser_skips_blank_lines_and_comments() -> None:
    assert parse_env_file("\n# a comment\n   # indented comment\nA=1\n\n") == {"A": "1"}


def test_parser_accepts_the_export_prefix() -> None:
    assert parse_env_file("export A=1") == {"A": "1"}


def test_parser_trims_spaces_around_key_and_value() -> None:
    assert parse_env_file("  A =  one two  ") == {"A": "one two"}


def test_parser_drops_an_inline_comment_after_an_unquoted_value() -> None:
    assert parse_env_file("A=1 # the answer") == {"A": "1"}


def test_parser_keeps_a_hash_inside_an_unquoted_value() -> None:
    assert parse_env_file("COLOR=#fff\nURL=http://x/#top") == {
        "COLOR": "#fff",
        "URL": "http://x/#top",
    }


def test_parser_allows_an_empty_value() -> None:
    assert parse_env_file("A=") == {"A": ""}


def test_parser_keeps_single_quoted_values_literally() -> None:
    assert parse_env_file(r"A='a # b \n $HOME'") == {"A": r"a # b \n $HOME"}


def test_parser_understands_escapes_in_double_quotes() -> None:
    assert parse_env_file(r'A="line1\nline2 \"quoted\" back\\slash"') == {
        "A": 'line1\nline2 "quoted" back\\slash'
    }


def test_parser_allows_a_comment_after_a_quoted_value() -> None:
    assert parse_env_file('A="x y" # note') == {"A": "x y"}


def test_parser_reads_a_quoted_value_over_several_lines() -> None:
    text = 'KEY="-----BEGIN KEY-----\nabc\n-----END KEY-----"\nNEXT=1'
    assert parse_env_file(text) == {
        "KEY": "-----BEGIN KEY-----\nabc\n-----END KEY-----",
        "NEXT": "1",
    }


def test_parser_does_not_expand_variables() -> None:
    assert parse_env_file("A=$HOME/x") == {"A": "$HOME/x"}


def test_parser_last_assignment_wins() -> None:
    assert parse_env_file("A=1\nA=2") == {"A": "2"}


def test_parser_error_names_file_and_line_but_not_the_content() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_env_file("A=1\nthis is hunter2\n", source="prod.env")
    assert str(caught.value) == "prod.env, line 2: expected KEY=VALUE"


def test_parser_refuses_an_invalid_key() -> None:
    with pytest.raises(ConfigurationError, match="line 1: expected KEY=VALUE"):
        parse_env_file("1A=x")


def test_parser_refuses_an_unclosed_quote() -> None:
    with pytest.raises(ConfigurationError, match='line 1: " is never closed'):
        parse_env_file('A="open\nB=2')


def test_parser_refuses_text_after_a_closing_quote() -> None:
    with pytest.raises(ConfigurationError, match="unexpected text after the closing"):
        parse_env_file("A='x' y")


# -- settings a laptop may default but production must set, and describe() -------------


class Deployed(Settings):
    environment: Literal["development", "production"] = "development"
    allowed_hosts: list[str] = env(
        default=["localhost", "127.0.0.1"],
        required_in_production=True,
        description="host names this API answers for",
    )
    redis_url: str | None = env("REDIS_URL", default=None)
    workers: int = 1
    api_key: Secret = env(default=Secret("dev-only"))
    signing_key: Secret


def test_a_setting_required_in_production_may_default_in_development() -> None:
    settings = Deployed.from_env(prefix="APP_", environ={"APP_SIGNING_KEY": STRONG})
    assert settings.allowed_hosts == ["localhost", "127.0.0.1"]


def test_production_refuses_a_setting_left_at_its_development_default() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Deployed.from_env(
            prefix="APP_",
            environ={"APP_ENVIRONMENT": "production", "APP_SIGNING_KEY": STRONG,
                     "APP_API_KEY": STRONG[::-1]},
        )
    assert str(caught.value) == (
        "APP_ALLOWED_HOSTS is not set; its default is for development, and production "
        "needs a real value"
    )


def test_production_accepts_the_setting_once_it_is_set() -> None:
    settings = Deployed.from_env(
        prefix="APP_",
        environ={"APP_ENVIRONMENT": "production", "APP_SIGNING_KEY": STRONG,
                 "APP_API_KEY": STRONG[::-1], "APP_ALLOWED_HOSTS": "api.example.com"},
    )
    assert settings.allowed_hosts == ["api.example.com"]


def test_describe_lists_each_variable_with_type_default_and_production_need() -> None:
    rows = {info.variable: info for info in Deployed.describe(prefix="APP_")}
    assert list(rows) == [
        "APP_ENVIRONMENT", "APP_ALLOWED_HOSTS", "REDIS_URL", "APP_WORKERS", "APP_API_KEY",
        "APP_SIGNING_KEY",
    ]
    hosts = rows["APP_ALLOWED_HOSTS"]
    assert (hosts.field, hosts.type, hosts.default) == (
        "allowed_hosts", "list[str]", "localhost,127.0.0.1"
    )
    assert hosts.required_in_production and not hosts.required
    assert hosts.description == "host names this API answers for"
    assert rows["APP_ENVIRONMENT"].type == "'development' | 'production'"
    assert (rows["REDIS_URL"].type, rows["REDIS_URL"].default) == ("str | None", "")
    assert (rows["APP_WORKERS"].default, rows["APP_WORKERS"].required_in_production) == (
        "1", False
    )


def test_describe_never_shows_a_secrets_default_and_requires_it_in_production() -> None:
    rows = {info.field: info for info in Deployed.describe()}
    assert rows["api_key"].default == ""  # "dev-only" stays in the code
    assert rows["api_key"].secret and rows["api_key"].required_in_production
    assert rows["signing_key"].required and rows["signing_key"].default is None


def test_an_optional_secret_may_stay_unset_in_production_and_describe_agrees() -> None:
    (api_key,) = [info for info in Limits.describe() if info.field == "api_key"]
    assert api_key.secret and not api_key.required_in_production
    assert (api_key.type, api_key.default) == ("Secret | None", "")


def test_a_described_default_reads_back_as_the_same_value() -> None:
    environ = {
        info.variable: info.default
        for info in Deployed.describe(prefix="APP_")
        if info.default is not None and not info.secret
    }
    loaded = Deployed.from_env(prefix="APP_", environ={**environ, "APP_SIGNING_KEY": STRONG})
    assert loaded.allowed_hosts == ["localhost", "127.0.0.1"]
    assert loaded.redis_url is None and loaded.workers == 1

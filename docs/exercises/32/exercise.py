"""Exercise 32: errors that say what to do. See README.md."""

import re

UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
SHAPE = re.compile(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?")


def parse_duration(text: str) -> float:
    match = SHAPE.fullmatch(text)
    if match is None or not any(match.groups()):
        raise ValueError("invalid")  # TODO: say what is wrong, and what would do
    hours, minutes, seconds, millis = (int(part or 0) for part in match.groups())
    return hours * 3600.0 + minutes * 60.0 + seconds + millis / 1000

"""Exercise 32, solved: errors that quote the input, say what is wrong, and show what works."""

import re

UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
ORDER = ["h", "m", "s", "ms"]
SHAPE = re.compile(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?")
EXAMPLES = "write e.g. '90s', '15m', '1h30m' or '250ms'"


def _refuse(text: str, problem: str) -> ValueError:
    return ValueError(f"{text!r} is not a duration: {problem}; {EXAMPLES}")


def parse_duration(text: str) -> float:
    match = SHAPE.fullmatch(text)
    if match is not None and any(match.groups()):
        hours, minutes, seconds, millis = (int(part or 0) for part in match.groups())
        return hours * 3600.0 + minutes * 60.0 + seconds + millis / 1000
    raise _why(text)


def _why(text: str) -> ValueError:
    """Only on the error path: look closer, to say what exactly is wrong."""
    if not text.strip():
        return _refuse(text, "it is empty")
    parts = re.findall(r"\d+|\D+", text)
    units = parts[1::2] if parts[0].isdigit() else parts[0::2]
    for unit in units:
        if unit not in UNITS:
            return _refuse(text, f"{unit!r} is not a unit (use h, m, s or ms, with no spaces)")
    if parts[-1].isdigit():
        return _refuse(text, f"the number {parts[-1]} has no unit")
    if len(set(units)) != len(units) or units != sorted(units, key=ORDER.index):
        return _refuse(text, "each unit once, largest first")
    return _refuse(text, "it does not read as numbers followed by units")

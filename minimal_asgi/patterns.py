"""A ``Pattern`` means what the OpenAPI document says it means.

``Pattern(r"[^@\\s]+@[^@\\s]+")`` is checked by the validator (validation.py)
and published as a JSON Schema ``pattern`` (openapi.py). JSON Schema reads a
pattern as an ECMA-262 regular expression; Python's ``re`` gives some of the
same spellings other meanings: its ``\\s`` matches ``"\\x1f"`` (ECMA's does not)
and misses ``"\\ufeff"`` (ECMA's matches it), its ``\\d`` matches ``"٣"``, its
``.`` matches ``"\\r"``. A client that trusts the document would then be
refused for a value the document allows, or the reverse.

So before compiling, the validator spells these out as the character sets
ECMA-262 defines. It runs once per ``Pattern``, at startup.
"""

from __future__ import annotations

from minimal_asgi.exceptions import ConfigurationError

__all__ = ["ecma_regex"]

# ECMA-262, 22.2.2.9 (CharacterClassEscape) with WhiteSpace and LineTerminator (12.2, 12.3).
_SPACE = "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_CLASSES = {"d": "0-9", "w": "A-Za-z0-9_", "s": _SPACE}
# ``.`` matches anything but a line terminator.
_DOT = "[^\\n\\r\\u2028\\u2029]"


def ecma_regex(regex: str) -> str:
    """``regex`` with ``\\d \\w \\s``, their negations and ``.`` written as the sets
    ECMA-262 gives them, for Python's ``re``; everything else is left as it is."""
    out: list[str] = []
    in_set = False  # inside [...]
    i = 0
    while i < len(regex):
        char = regex[i]
        if char == "\\" and i + 1 < len(regex):
            escape = regex[i + 1]
            members = _CLASSES.get(escape.lower())
            if members is None:
                out.append(regex[i : i + 2])  # any other escape, \\ included
            elif escape.islower():
                out.append(members if in_set else f"[{members}]")
            elif not in_set:
                out.append(f"[^{members}]")
            else:
                # [^\S] has no plain spelling as a set of characters.
                raise ConfigurationError(
                    f"Pattern({regex!r}): \\{escape} inside [...] cannot be given its JSON "
                    f"Schema meaning; write \\{escape} outside the brackets, or list the characters"
                )
            i += 2
            continue
        if char == "[" and not in_set:
            in_set = True
            out.append(char)
            # A "]" first in the set ("[]a]", "[^]a]") is a character, not its end.
            for lead in ("^", "]"):
                if regex.startswith(lead, i + 1):
                    out.append(lead)
                    i += 1
        elif char == "]" and in_set:
            in_set = False
            out.append(char)
        elif char == "." and not in_set:
            out.append(_DOT)
        else:
            out.append(char)
        i += 1
    return "".join(out)

"""Dataclass validators compiled to straight-line Python at startup.

validation.py builds a dataclass's validator as a loop over a plan: for each
field, a tuple unpacked, a ``(*loc, name)`` tuple built, a validator called
through a function pointer, the result stored in a ``kwargs`` dict, and at the
end ``cls(**kwargs)``. All of that is decided by the class, which never
changes - so this module writes the loop out, once per class, as the source
of one function, and compiles it with ``exec``. For ``Item(name: str,
price: float, quantity: int)`` the function reads::

    def validate_Item(value, loc, errors, depth):
        if type(value) is not dict or depth >= MAX_DEPTH:
            return generic(value, loc, errors, depth)   # the error path, unchanged
        before = len(errors)
        if 'name' in value:
            v = value['name']
            if type(v) is str:
                f0 = v
            else:
                f0 = check_0(v, (*loc, 'name'), errors, depth + 1)
        else:
            errors.append(error((*loc, 'name'), 'field required', 'missing'))
        ...
        if len(value) != present:            # only when extra keys are forbidden
            report_extra(value, loc, errors)
        if len(errors) > before:
            return INVALID
        try:
            return cls(name=f0, price=f1, quantity=f2)
        ...

The common case - every field present and of the right JSON type - takes the
``if`` of each field and builds no location tuple, no dict, calls no
validator. Anything else (a wrong type, a constraint, a nested dataclass, a
list) goes to the *same* field validator the interpreted version uses, with
the same location, so each error is the one validation.py would report, in
the same order. tests/core/test_straight_line.py checks that on arbitrary
input (hypothesis), against the interpreted validator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from minimal_asgi.validation import (
    INVALID,
    MAX_DEPTH,
    Errors,
    JsonValidator,
    Loc,
    error,
    json_scalar_validator,
)

__all__ = ["compile_dataclass"]

# A field whose validator is one of these gets an inline test for the value
# that needs no work; any other value goes to the validator itself.
_INLINE = {
    bool: "type(v) is bool",
    int: "type(v) is int",
    str: "type(v) is str",
}


def compile_dataclass(
    cls: type,
    fields: list[tuple[str, JsonValidator, Any, Any]],
    known: frozenset[str],
    forbid_extra: bool,
    generic: JsonValidator,
) -> JsonValidator:
    """The straight-line validator of ``cls``. ``fields`` is the interpreted
    validator's plan (name, field validator, default, default factory) and
    ``generic`` the interpreted validator, used for a value that is not an
    object or is nested too deep (the errors it reports are unchanged)."""
    namespace: dict[str, Any] = {
        "INVALID": INVALID,
        "MAX_DEPTH": MAX_DEPTH,
        "MISSING": dataclasses.MISSING,
        "cls": cls,
        "error": error,
        "generic": generic,
        "report_extra": _extra_reporter(known),
    }
    lines = [
        "def validate(value, loc, errors, depth):",
        "    if type(value) is not dict or depth >= MAX_DEPTH:",
        "        return generic(value, loc, errors, depth)",
        "    before = len(errors)",
    ]
    if forbid_extra:
        lines.append("    present = 0")
    arguments = []
    for index, (name, validator, default, factory) in enumerate(fields):
        local, check = f"f{index}", f"check_{index}"
        namespace[check] = validator
        key = repr(name)
        lines.append(f"    if {key} in value:")
        if forbid_extra:
            lines.append("        present += 1")
        lines.append(f"        v = value[{key}]")
        lines += _field_lines(local, check, key, validator)
        lines.append("    else:")
        if default is not dataclasses.MISSING:
            namespace[f"default_{index}"] = default
            lines.append(f"        {local} = default_{index}")
        elif factory is not dataclasses.MISSING:
            namespace[f"factory_{index}"] = factory
            lines.append(f"        {local} = factory_{index}()")
        else:
            lines.append(
                f"        errors.append(error((*loc, {key}), 'field required', 'missing'))"
            )
        arguments.append(f"{name}={local}")
    if forbid_extra:
        # Every key is either a known field (counted above) or an extra one.
        lines += ["    if len(value) != present:", "        report_extra(value, loc, errors)"]
    lines += [
        "    if len(errors) > before:",
        "        return INVALID",
        "    try:",
        f"        return cls({', '.join(arguments)})",
        "    except (ValueError, TypeError) as exc:",
        # A check in the dataclass's own __post_init__ is validation too.
        "        errors.append(error(loc, str(exc) or type(exc).__name__, 'value'))",
        "        return INVALID",
    ]
    source = "\n".join(lines)
    code = compile(source + "\n", f"<validator of {cls.__qualname__}>", "exec")
    exec(code, namespace)  # our own source, built from field names above
    validate: JsonValidator = namespace["validate"]
    validate.__qualname__ = validate.__name__ = f"validate_{cls.__name__}"
    validate.source = source  # type: ignore[attr-defined]  # for a curious reader
    return validate


def _field_lines(local: str, check: str, key: str, validator: JsonValidator) -> list[str]:
    """Assign the field's value to ``local``: inline when it needs no work."""
    slow = f"{check}(v, (*loc, {key}), errors, depth + 1)"
    scalar = json_scalar_validator(validator)
    if scalar in _INLINE:
        return [
            f"        if {_INLINE[scalar]}:",
            f"            {local} = v",
            "        else:",
            f"            {local} = {slow}",
        ]
    if scalar is float:
        # An int is accepted for a float, and made one; NaN and infinities are not.
        return [
            # PERF: v - v is 0.0 for a finite float, NaN for NaN and the
            # infinities: math.isfinite without a call.
            "        if type(v) is float and v - v == 0.0:",
            f"            {local} = v",
            "        elif type(v) is int:",
            f"            {local} = float(v)",
            "        else:",
            f"            {local} = {slow}",
        ]
    if scalar is Any:
        return [f"        {local} = v"]
    return [f"        {local} = {slow}"]


def _extra_reporter(known: frozenset[str]) -> Callable[[dict[str, Any], Loc, Errors], None]:
    def report_extra(value: dict[str, Any], loc: Loc, errors: Errors) -> None:
        for name in value:
            if name not in known:
                errors.append(error((*loc, name), "unknown field", "extra"))

    return report_extra

"""Straight-line dataclass validators (minimal_asgi/straight_line.py) agree with
the interpreted ones of validation.py on any input: the same value, or the same
errors at the same locations in the same order."""

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minimal_asgi import Ge, MaxLen
from minimal_asgi import validation as validation_module
from minimal_asgi.validation import INVALID, MAX_DEPTH, JsonValidator, compile_json
from tests.core.test_validation import Product, bodies, json_values


@dataclass
class Flat:
    name: str
    price: float
    quantity: int
    active: bool = True
    note: Any = None
    tags: list[str] = field(default_factory=list)


@dataclass
class Checked:
    code: Annotated[str, MaxLen(3)]
    count: Annotated[int, Ge(0)]
    kind: Literal["a", "b"] | None = None

    def __post_init__(self) -> None:
        if self.code == "bad":
            raise ValueError("code may not be 'bad'")


@dataclass
class Node:
    label: str
    children: "list[Node]" = field(default_factory=list)


@dataclass
class Holder:
    flat: Flat
    checked: list[Checked]
    node: Node | None = None


TYPES = [Flat, Checked, Node, Holder, Product, list[Flat]]


def both(annotation: Any, forbid_extra: bool) -> tuple[JsonValidator, JsonValidator]:
    """The straight-line validator and the interpreted one, for one type."""
    compiled = compile_json(annotation, forbid_extra=forbid_extra)
    validation_module.STRAIGHT_LINE = False
    try:
        reference = compile_json(annotation, forbid_extra=forbid_extra)
    finally:
        validation_module.STRAIGHT_LINE = True
    return compiled, reference


def outcome(validator: JsonValidator, value: Any, depth: int = 0) -> tuple[Any, list[Any]]:
    errors: list[dict[str, Any]] = []
    result = validator(value, ("body",), errors, depth)
    return ("INVALID" if result is INVALID else result), errors


def test_the_compiled_validator_is_straight_line_code() -> None:
    compiled, reference = both(Flat, True)
    assert compiled is not reference
    source = compiled.source  # type: ignore[attr-defined]
    assert "for " not in source  # no loop over the fields: one block per field
    assert "cls(name=f0, price=f1, quantity=f2" in source
    assert compiled.__name__ == "validate_Flat"


def test_a_valid_body_gives_the_same_dataclass() -> None:
    compiled, reference = both(Flat, True)
    body = {"name": "widget", "price": 2, "quantity": 4}
    assert outcome(compiled, body) == outcome(reference, body)
    result, _ = outcome(compiled, body)
    assert result == Flat("widget", 2.0, 4) and type(result.price) is float


@pytest.mark.parametrize(
    "body",
    [
        {"name": 1, "price": "x", "quantity": True, "extra": 1, "more": 2},
        {"price": math.inf},
        {"name": "w", "price": math.nan, "quantity": 1.5},
        [],
        None,
    ],
)
def test_wrong_bodies_give_the_same_errors(body: Any) -> None:
    compiled, reference = both(Flat, True)
    result, errors = outcome(compiled, body)
    assert result == "INVALID" and errors
    assert (result, errors) == outcome(reference, body)


def test_post_init_errors_and_constraints_are_reported_alike() -> None:
    compiled, reference = both(Checked, True)
    for body in ({"code": "bad", "count": 1}, {"code": "long", "count": -1, "kind": "c"}):
        assert outcome(compiled, body) == outcome(reference, body)
        assert outcome(compiled, body)[0] == "INVALID"


def test_too_deep_is_refused_alike() -> None:
    compiled, reference = both(Flat, True)
    body = {"name": "w", "price": 1.0, "quantity": 1}
    assert outcome(compiled, body, MAX_DEPTH) == outcome(reference, body, MAX_DEPTH)
    assert outcome(compiled, body, MAX_DEPTH)[1][0]["type"] == "depth"


def test_a_recursive_dataclass_compiles_and_validates() -> None:
    compiled, reference = both(Node, True)
    body: Any = {"label": "root", "children": [{"label": "a", "children": [{"label": 3}]}]}
    assert outcome(compiled, body) == outcome(reference, body)
    assert outcome(compiled, body)[1][0]["loc"] == ["body", "children", 0, "children", 0,
                                                    "label"]
    deep: Any = {"label": "x"}
    for _ in range(MAX_DEPTH):
        deep = {"label": "x", "children": [deep]}
    assert outcome(compiled, deep) == outcome(reference, deep)


def flat_like() -> st.SearchStrategy[dict[str, Any]]:
    """Objects near Flat's shape: each field present or not, of any JSON type."""
    names = [f.name for f in dataclasses.fields(Flat)] + ["extra"]
    return st.dictionaries(st.sampled_from(names) | st.text(max_size=4), json_values,
                           max_size=8)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    annotation=st.sampled_from(TYPES),
    forbid_extra=st.booleans(),
    body=bodies | flat_like() | st.lists(flat_like(), max_size=3)
    | st.fixed_dictionaries({"flat": flat_like(), "checked": st.lists(
        st.dictionaries(st.sampled_from(["code", "count", "kind"]), json_values),
        max_size=3)}),
)
def test_compiled_and_interpreted_agree_on_any_input(
    annotation: Any, forbid_extra: bool, body: Any
) -> None:
    compiled, reference = both(annotation, forbid_extra)
    assert outcome(compiled, body) == outcome(reference, body)

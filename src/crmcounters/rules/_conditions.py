"""Conditions on item fields (R2) and filters on task fields (R5): AND/OR groups of comparisons.

A condition is data (`Comparison`, `AllOf`, `AnyOf`); `check_condition`
lists what is wrong with it against a schema of field types, and
`compile_condition` turns a valid one into a plain function for the hot loop.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from .. import _validate as v
from .._errors import ValidationError
from .._items import Item
from .._limits import shown
from .._tasks import Task

__all__ = [
    "ITEM_FIELDS",
    "TASK_FIELDS",
    "AllOf",
    "AnyOf",
    "Comparison",
    "Condition",
    "FieldType",
    "Operator",
    "check_condition",
    "compile_condition",
    "compile_item_condition",
    "compile_task_condition",
    "item_getter",
]


class FieldType(enum.StrEnum):
    """The type of a field a condition may test."""

    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"


class Operator(enum.StrEnum):
    """A comparison operator (R2)."""

    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    IN = "in"
    NOT_IN = "not_in"
    EMPTY = "empty"
    NOT_EMPTY = "not_empty"


#: The item fields a condition may name; custom fields are written ``field:NAME``.
ITEM_FIELDS: Mapping[str, FieldType] = {
    "title": FieldType.STRING,
    "amount": FieldType.NUMBER,
    "currency": FieldType.STRING,
    "client": FieldType.STRING,
    "responsible_id": FieldType.STRING,
    "stage_id": FieldType.STRING,
}
#: The task fields a trigger's filter may name (R5).
TASK_FIELDS: Mapping[str, FieldType] = {
    "title": FieldType.STRING,
    "description": FieldType.STRING,
    "responsible_id": FieldType.STRING,
    "rule_id": FieldType.STRING,
}
CUSTOM_PREFIX = "field:"

_ORDERING = frozenset({Operator.GT, Operator.GE, Operator.LT, Operator.LE})
_TEXT = frozenset({Operator.CONTAINS, Operator.NOT_CONTAINS})
_LISTS = frozenset({Operator.IN, Operator.NOT_IN})
_UNARY = frozenset({Operator.EMPTY, Operator.NOT_EMPTY})

_Scalar = str | int | float | bool


def _value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return v.check_collection("value", value, "values")
    if isinstance(value, str):
        v.check_text("value", value)
    return value


def _operator(value: Operator | str) -> Operator:
    return v.check_choice("op", Operator, value)


@attrs.frozen(kw_only=True)
class Comparison:
    """``field op value``: e.g. amount gt 1000, title contains "invoice", client empty.

    `value` is a string, number or true/false; a tuple of them for in/not_in;
    None for empty/not_empty. String tests (eq, contains, in) ignore case.
    """

    field: str
    op: Operator = attrs.field(converter=_operator)
    value: _Scalar | tuple[_Scalar, ...] | None = attrs.field(default=None, converter=_value)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.field, str) or not self.field.strip():
            raise ValidationError("field", f"expected a field name, got {shown(self.field)}")
        v.check_id("field", self.field)
        problem = _shape_problem(self.op, self.value)
        if problem:
            raise ValidationError("value", problem)


def _shape_problem(op: Operator, value: object) -> str | None:
    """What is wrong with `value` for `op`, regardless of the field's type."""
    if op in _UNARY:
        return None if value is None else f"{op.value} takes no value"
    if op in _LISTS:
        if not isinstance(value, tuple) or not value:
            return f"{op.value} needs a non-empty list of values"
        for one in value:
            if not _is_scalar(one):
                return f"{op.value} values are strings, numbers or true/false, got {one!r}"
        return None
    if not _is_scalar(value):
        return f"{op.value} needs one string, number or true/false, got {value!r}"
    return None


def _is_scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int | bool)


def _conditions(values: Iterable[Condition]) -> tuple[Condition, ...]:
    result = v.check_collection("conditions", values, "conditions")
    if not result:
        raise ValidationError("conditions", "a group needs at least one condition")
    for index, one in enumerate(result):
        if not isinstance(one, Comparison | AllOf | AnyOf):
            raise ValidationError(f"conditions[{index}]", f"not a condition: {one!r}")
    return result


@attrs.frozen(kw_only=True)
class AllOf:
    """AND: holds when every condition holds."""

    conditions: tuple[Condition, ...] = attrs.field(converter=_conditions)


@attrs.frozen(kw_only=True)
class AnyOf:
    """OR: holds when at least one condition holds."""

    conditions: tuple[Condition, ...] = attrs.field(converter=_conditions)


#: A condition: one comparison, or an AND/OR group of conditions.
Condition = Comparison | AllOf | AnyOf


def _type_of(value: object) -> FieldType:
    if isinstance(value, bool):
        return FieldType.BOOLEAN
    if isinstance(value, int | float):
        return FieldType.NUMBER
    return FieldType.STRING


def field_type(
    name: str, schema: Mapping[str, FieldType], custom: Mapping[str, FieldType]
) -> FieldType | None:
    """The type of field `name` (built-in or ``field:NAME``), or None when unknown."""
    if name.startswith(CUSTOM_PREFIX):
        return custom.get(name[len(CUSTOM_PREFIX) :])
    return schema.get(name)


def check_condition(
    condition: Condition,
    path: str,
    schema: Mapping[str, FieldType],
    custom: Mapping[str, FieldType],
) -> list[tuple[str, str]]:
    """Every (path, problem) of `condition`: unknown fields and type mismatches (R7)."""
    if isinstance(condition, AllOf | AnyOf):
        key = "all" if isinstance(condition, AllOf) else "any"
        problems: list[tuple[str, str]] = []
        for index, one in enumerate(condition.conditions):
            problems += check_condition(one, f"{path}.{key}[{index}]", schema, custom)
        return problems
    kind = field_type(condition.field, schema, custom)
    if kind is None:
        known = sorted(schema) + [f"{CUSTOM_PREFIX}{name}" for name in sorted(custom)]
        return [
            (
                f"{path}.field",
                f"unknown field {condition.field!r}; known fields: {', '.join(known)} "
                '(declare custom fields in the rule set\'s "fields")',
            )
        ]
    op = condition.op
    if op in _ORDERING and kind is not FieldType.NUMBER:
        return [(f"{path}.op", f"{op.value} compares numbers, but {condition.field} is a {kind}")]
    if op in _TEXT and kind is not FieldType.STRING:
        return [(f"{path}.op", f"{op.value} tests text, but {condition.field} is a {kind}")]
    if op in _UNARY:
        return []
    values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
    for value in values:
        if _type_of(value) is not kind:
            return [
                (
                    f"{path}.value",
                    f"type mismatch: {condition.field} is a {kind}, "
                    f"but the value {value!r} is a {_type_of(value)}",
                )
            ]
    return []


# -- evaluation ----------------------------------------------------------------

_Getter = Callable[[Any], Any]
_Test = Callable[[Any], bool]


def _norm(value: object) -> object:
    """Values as compared: text casefolded, numbers as Decimal, None for empty."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.casefold() if value else None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    return value  # pragma: no cover - field values are str/int/float/bool/None


def _leaf(condition: Comparison, get: _Getter) -> _Test:
    op = condition.op
    if op is Operator.EMPTY:
        return lambda obj: _norm(get(obj)) is None
    if op is Operator.NOT_EMPTY:
        return lambda obj: _norm(get(obj)) is not None
    if op in _LISTS:
        raw = condition.value if isinstance(condition.value, tuple) else ()
        options = frozenset(_norm(one) for one in raw)
        if op is Operator.IN:
            return lambda obj: _hashable_in(_norm(get(obj)), options)
        return lambda obj: not _hashable_in(_norm(get(obj)), options)
    target = _norm(condition.value)
    if op is Operator.EQ:
        return lambda obj: _same(_norm(get(obj)), target)
    if op is Operator.NE:
        return lambda obj: not _same(_norm(get(obj)), target)
    if op in _TEXT:
        needle = target if isinstance(target, str) else ""
        if op is Operator.CONTAINS:
            return lambda obj: _contains(_norm(get(obj)), needle)
        return lambda obj: not _contains(_norm(get(obj)), needle)
    compare = _COMPARE[op]
    return lambda obj: _ordered(_norm(get(obj)), target, compare)


def _same(left: object, right: object) -> bool:
    if type(left) is not type(right):  # a bool is never equal to the number 1
        return False
    return left == right


def _hashable_in(value: object, options: frozenset[object]) -> bool:
    return any(_same(value, one) for one in options) if value is not None else False


def _contains(value: object, needle: str) -> bool:
    return isinstance(value, str) and needle in value


def _ordered(left: object, right: object, compare: Callable[[Decimal, Decimal], bool]) -> bool:
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return compare(left, right)
    return False


_COMPARE: dict[Operator, Callable[[Decimal, Decimal], bool]] = {
    Operator.GT: lambda a, b: a > b,
    Operator.GE: lambda a, b: a >= b,
    Operator.LT: lambda a, b: a < b,
    Operator.LE: lambda a, b: a <= b,
}


def compile_condition(condition: Condition, getter: Callable[[str], _Getter]) -> _Test:
    """A fast test of a checked condition, reading each field with `getter(name)`."""
    if isinstance(condition, Comparison):
        return _leaf(condition, getter(condition.field))
    tests = tuple(compile_condition(one, getter) for one in condition.conditions)
    if isinstance(condition, AllOf):
        return lambda obj: all(test(obj) for test in tests)
    return lambda obj: any(test(obj) for test in tests)


def item_getter(name: str) -> _Getter:
    """How to read field `name` (built-in, or ``field:NAME``) of an item."""
    if name.startswith(CUSTOM_PREFIX):
        key = name[len(CUSTOM_PREFIX) :]
        return lambda item: item.fields.get(key)
    return _ITEM_GETTERS[name]


_ITEM_GETTERS: dict[str, _Getter] = {
    "title": lambda item: item.title,
    "amount": lambda item: item.amount,
    "currency": lambda item: item.currency,
    "client": lambda item: item.client,
    "responsible_id": lambda item: item.responsible_id,
    "stage_id": lambda item: item.stage_id,
}
_TASK_GETTERS: dict[str, _Getter] = {
    "title": lambda task: task.title,
    "description": lambda task: task.description,
    "responsible_id": lambda task: task.responsible_id,
    "rule_id": lambda task: task.rule_id,
}


def compile_item_condition(condition: Condition | None) -> Callable[[Item], bool]:
    """A fast test of a checked condition on an item; None always holds."""
    if condition is None:
        return lambda _item: True
    return compile_condition(condition, item_getter)


def compile_task_condition(condition: Condition | None) -> Callable[[Task], bool]:
    """A fast test of a checked filter on a task; None always holds."""
    if condition is None:
        return lambda _task: True
    return compile_condition(condition, _TASK_GETTERS.__getitem__)

"""R2 and R5: conditions on item fields and filters on task fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from _build_rules import MONDAY, deal
from crmcounters import Task
from crmcounters.rules import AllOf, AnyOf, Comparison
from crmcounters.rules._conditions import compile_item_condition, compile_task_condition

ITEM = deal(amount="4200", source="web", priority=3, vip=True, note="")


def holds(field: str, op: str, value: Any = None) -> bool:
    return compile_item_condition(Comparison(field=field, op=op, value=value))(ITEM)


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("amount", "eq", 4200, True),
        ("amount", "eq", 4200.0, True),
        ("amount", "ne", 4200, False),
        ("amount", "gt", 4199.99, True),
        ("amount", "ge", 4200, True),
        ("amount", "lt", 4200, False),
        ("amount", "le", 4200, True),
        ("title", "eq", "website FOR deal-1", True),
        ("title", "contains", "WEBSITE", True),
        ("title", "not_contains", "website", False),
        ("client", "in", ["acme", "boulangerie dupont"], True),
        ("client", "not_in", ["acme"], True),
        ("field:source", "in", ["web", "ads"], True),
        ("field:priority", "gt", 2, True),
        ("field:priority", "in", [1, 2], False),
        ("field:vip", "eq", True, True),
        ("field:vip", "eq", 1, False),  # true is not the number 1
        ("field:priority", "eq", True, False),
        ("field:note", "empty", None, True),  # an empty string is empty
        ("field:missing", "empty", None, True),
        ("field:missing", "not_empty", None, False),
        ("field:missing", "ne", "x", True),
        ("field:missing", "gt", 1, False),
        ("field:missing", "in", ["x"], False),
        ("field:missing", "not_in", ["x"], True),
        ("field:source", "gt", 1, False),  # a stored value of another type never matches
        ("stage_id", "eq", "new", True),
        ("responsible_id", "eq", "u-piotr", True),
    ],
)
def test_r2_operators(field: str, op: str, value: Any, expected: bool) -> None:
    assert holds(field, op, value) is expected


def test_r2_groups_are_and_or() -> None:
    yes = Comparison(field="amount", op="gt", value=1)
    no = Comparison(field="amount", op="lt", value=1)
    assert compile_item_condition(AllOf(conditions=[yes, yes]))(ITEM)
    assert not compile_item_condition(AllOf(conditions=[yes, no]))(ITEM)
    assert compile_item_condition(AnyOf(conditions=[no, yes]))(ITEM)
    assert not compile_item_condition(AnyOf(conditions=[no, AllOf(conditions=[no])]))(ITEM)
    assert compile_item_condition(None)(ITEM)


def test_r2_amount_without_a_value_is_empty() -> None:
    item = deal(amount=None)
    assert compile_item_condition(Comparison(field="amount", op="empty"))(item)
    assert not compile_item_condition(Comparison(field="amount", op="le", value=0))(item)


def test_r5_task_filters_read_task_fields() -> None:
    task = Task(
        id="t-1",
        item_id="deal-1",
        title="Prepare the Invoice",
        responsible_id="u-anna",
        created_at=MONDAY,
        description="",
    )
    test = compile_task_condition(
        AllOf(
            conditions=[
                Comparison(field="title", op="contains", value="invoice"),
                Comparison(field="responsible_id", op="eq", value="u-anna"),
                Comparison(field="description", op="empty"),
                Comparison(field="rule_id", op="empty"),
            ]
        )
    )
    assert test(task)
    assert compile_task_condition(None)(task)


def test_r2_values_must_be_scalars() -> None:
    with pytest.raises(ValueError, match="one string"):
        Comparison(field="amount", op="eq", value=datetime(2026, 1, 1))  # type: ignore[arg-type]

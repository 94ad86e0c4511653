"""Small builders for foundation tests: a tiny valid portal and records to add to it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from crmcounters import (
    Activity,
    Department,
    InMemoryStorage,
    Item,
    Pipeline,
    Stage,
    StageSemantics,
    User,
)

WARSAW = ZoneInfo("Europe/Warsaw")
T0 = datetime(2026, 12, 14, 9, 0, tzinfo=WARSAW)


def small_storage() -> InMemoryStorage:
    """Two departments (HQ > Sales), three users, one deal pipeline, two deals."""
    storage = InMemoryStorage()
    storage.add(
        User(id="boss", name="Boss", time_zone="Europe/Warsaw", department_id="hq"),
        User(id="lead", name="Lead", time_zone="Europe/Warsaw", department_id="sales"),
        User(id="rep", name="Rep", time_zone="America/Los_Angeles", department_id="sales"),
        Department(id="hq", name="HQ", head_id="boss"),
        Department(id="sales", name="Sales", head_id="lead", parent_id="hq"),
    )
    storage.add(
        Pipeline(
            id="p",
            entity_type="deal",
            stages=(
                Stage(id="new", name="New"),
                Stage(id="won", name="Won", semantics=StageSemantics.SUCCESS),
            ),
        )
    )
    storage.add(deal("d1", "rep"), deal("d2", "lead"))
    return storage


def deal(item_id: str, responsible: str, **changes: Any) -> Item:
    """A deal in pipeline p, stage new."""
    values: dict[str, Any] = {
        "id": item_id,
        "entity_type": "deal",
        "pipeline_id": "p",
        "stage_id": "new",
        "responsible_id": responsible,
        "created_at": T0,
        "title": f"Deal {item_id}",
    }
    values.update(changes)
    return Item(**values)


def todo(activity_id: str, *item_ids: str, **changes: Any) -> Activity:
    """An open to-do of `rep` bound to `item_ids`."""
    values: dict[str, Any] = {
        "id": activity_id,
        "item_ids": item_ids,
        "kind": "todo",
        "responsible_id": "rep",
        "created_at": T0,
    }
    values.update(changes)
    return Activity(**values)

"""Small portals for the smart-activity tests (S1-S4)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from crmcounters import (
    Activity,
    ActivityKind,
    BusinessCalendar,
    CalendarSettings,
    InMemoryStorage,
    Item,
    Pipeline,
    Settings,
    Stage,
    StageSemantics,
    User,
)

WARSAW = ZoneInfo("Europe/Warsaw")
#: Polish public holidays, built once per test session (the `holidays` cache is per country).
PL = BusinessCalendar.for_country("PL")
PL_SETTINGS = Settings(calendar=CalendarSettings(country="PL"))
CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=WARSAW)

#: (pipeline id, entity type) -> stages: an open one, a won one and a lost one.
PIPELINES = {
    "deals": "deal",
    "leads": "lead",
    "invoices": "invoice",
    "smart128": "smart:128",
}


def pipelines() -> list[Pipeline]:
    """One pipeline per entity type, each with stages new (in progress), won and lost."""
    return [
        Pipeline(
            id=pipeline_id,
            entity_type=entity_type,
            stages=(
                Stage(id=f"{pipeline_id}-new", name="New"),
                Stage(id=f"{pipeline_id}-won", name="Won", semantics=StageSemantics.SUCCESS),
                Stage(id=f"{pipeline_id}-lost", name="Lost", semantics=StageSemantics.FAILURE),
            ),
        )
        for pipeline_id, entity_type in PIPELINES.items()
    ]


def portal(
    *, settings: Settings = PL_SETTINGS, time_zone: str = "Europe/Warsaw"
) -> InMemoryStorage:
    """Users u1 (in `time_zone`) and u2 (Warsaw), the four pipelines, no items yet."""
    storage = InMemoryStorage(settings)
    storage.add(
        User(id="u1", name="Anna", time_zone=time_zone),
        User(id="u2", name="Bartek", time_zone="Europe/Warsaw"),
        *pipelines(),
    )
    return storage


def add_item(
    storage: InMemoryStorage,
    item_id: str = "i1",
    *,
    entity_type: str = "deal",
    stage: str = "new",
    responsible_id: str = "u1",
) -> Item:
    """An item of `entity_type` in its pipeline's `stage` (new, won or lost)."""
    pipeline_id = next(p for p, t in PIPELINES.items() if t == entity_type)
    item = Item(
        id=item_id,
        entity_type=entity_type,
        pipeline_id=pipeline_id,
        stage_id=f"{pipeline_id}-{stage}",
        responsible_id=responsible_id,
        created_at=CREATED,
        title=f"Item {item_id}",
    )
    storage.add(item)
    return item


def add_activity(
    storage: InMemoryStorage,
    activity_id: str,
    item_id: str = "i1",
    *,
    responsible_id: str = "u1",
    completed: bool = False,
) -> Activity:
    """A to-do on the item, open unless `completed`."""
    activity = Activity(
        id=activity_id,
        item_ids=(item_id,),
        kind=ActivityKind.TODO,
        responsible_id=responsible_id,
        created_at=CREATED,
        deadline=datetime(2026, 1, 9, 12, 0, tzinfo=WARSAW),
        completed_at=CREATED if completed else None,
    )
    storage.add(activity)
    return activity

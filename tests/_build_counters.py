"""Small portals for the counter, view and index tests: a few lines per scenario."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import attrs

from crmcounters import (
    Activity,
    ActivityKind,
    Department,
    Direction,
    InMemoryStorage,
    Item,
    Pipeline,
    Settings,
    Stage,
    User,
)

UTC = ZoneInfo("UTC")
WARSAW = ZoneInfo("Europe/Warsaw")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
HONOLULU = ZoneInfo("Pacific/Honolulu")  # UTC-10
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14

#: Monday 2026-12-14 10:00 in Warsaw, the sample portal's `as_of`.
MONDAY = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)
CREATED = datetime(2026, 1, 1, tzinfo=UTC)

_ids = itertools.count(1)


def pipeline() -> Pipeline:
    """One deal pipeline with a single in-progress stage."""
    return Pipeline(id="p-deal", entity_type="deal", stages=(Stage(id="new", name="New"),))


def portal(
    *users: tuple[str, str] | tuple[str, str, str | None],
    settings: Settings | None = None,
    departments: Iterable[Department] = (),
) -> InMemoryStorage:
    """A storage with users given as (id, IANA zone[, department id]) and one pipeline."""
    storage = InMemoryStorage(settings)
    records: list[object] = [pipeline(), *departments]
    for spec in users:
        user_id, zone = spec[0], spec[1]
        department = spec[2] if len(spec) > 2 else None
        records.append(User(id=user_id, name=user_id, time_zone=zone, department_id=department))
    storage.add(*records)  # type: ignore[arg-type]
    return storage


def item(
    storage: InMemoryStorage,
    responsible: str,
    item_id: str | None = None,
    *,
    entity_type: str = "deal",
    pipeline_id: str | None = "p-deal",
) -> str:
    """Add an item owned by `responsible` (a deal in p-deal unless told); return its id.

    A pipeline other than p-deal is added on first use, with one stage "new";
    contacts and companies get none.
    """
    new_id = item_id or f"{entity_type.replace(':', '-')}-{next(_ids):06d}"
    if entity_type in ("contact", "company"):
        pipeline_id = None
    elif pipeline_id is not None and pipeline_id not in {p.id for p in storage.pipelines()}:
        storage.add(
            Pipeline(id=pipeline_id, entity_type=entity_type, stages=(Stage(id="new", name="New"),))
        )
    storage.add(
        Item(
            id=new_id,
            entity_type=entity_type,
            pipeline_id=pipeline_id,
            stage_id=None if pipeline_id is None else "new",
            responsible_id=responsible,
            created_at=CREATED,
        )
    )
    return new_id


def planned(
    storage: InMemoryStorage,
    item_ids: str | tuple[str, ...],
    deadline: datetime | None,
    *,
    responsible: str | None = None,
    offsets: tuple[int, ...] | None = None,
    activity_id: str | None = None,
) -> Activity:
    """Add an open planned (non-incoming) call; its responsible defaults to the item's."""
    bound = (item_ids,) if isinstance(item_ids, str) else item_ids
    activity = Activity(
        id=activity_id or f"act-{next(_ids):06d}",
        item_ids=bound,
        kind=ActivityKind.CALL,
        direction=Direction.OUTGOING,
        responsible_id=responsible or storage.item(bound[0]).responsible_id,
        created_at=CREATED,
        deadline=deadline,
        reminder_offsets=offsets,
    )
    storage.add(activity)
    return activity


def incoming(
    storage: InMemoryStorage,
    item_ids: str | tuple[str, ...],
    *,
    kind: ActivityKind = ActivityKind.EMAIL,
    responsible: str | None = None,
) -> Activity:
    """Add an open incoming-channel activity (C3)."""
    bound = (item_ids,) if isinstance(item_ids, str) else item_ids
    activity = Activity(
        id=f"act-{next(_ids):06d}",
        item_ids=bound,
        kind=kind,
        direction=Direction.INCOMING,
        responsible_id=responsible or storage.item(bound[0]).responsible_id,
        created_at=CREATED,
        incoming=True,
    )
    storage.add(activity)
    return activity


def complete(storage: InMemoryStorage, activity: Activity, at: datetime) -> Activity:
    """Mark `activity` completed at `at` in storage; return the new value."""
    done = attrs.evolve(activity, completed_at=at)
    storage.replace(done)
    return done


def minutes(n: float) -> timedelta:
    """A timedelta of `n` minutes."""
    return timedelta(minutes=n)

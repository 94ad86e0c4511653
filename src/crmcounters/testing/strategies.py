"""Hypothesis strategies for hosts' own property tests (needs the `test` extra).

`portals()` draws whole, valid portals: users in zones from UTC-10 to UTC+14,
a department tree, pipelines, items of every section (contacts and companies
too), settings of either counter mode and Planned rule, activities of every kind (open,
completed, overdue, future, incoming, without deadline), tasks and events.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from .._activities import Activity, ActivityKind, Direction
from .._events import (
    CommentAdded,
    HistoryEntryAdded,
    IncomingChannel,
    IncomingMessage,
    ItemViewed,
    StageChanged,
)
from .._items import Item
from .._memory import InMemoryStorage, Record
from .._pipelines import ENTITY_TYPES_WITHOUT_PIPELINE, Pipeline, Stage, StageSemantics
from .._portal import Portal
from .._settings import CalendarSettings, CounterMode, PlannedRule, Settings
from .._tasks import Task, TaskStatus
from .._users import Department, User

__all__ = ["ZONES", "aware_datetimes", "portals", "zones"]

#: Zones that stress "today": DST in both hemispheres, UTC-10, UTC+14, half hours.
ZONES = (
    "UTC",
    "Europe/Warsaw",
    "Europe/London",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Pacific/Honolulu",
    "Pacific/Kiritimati",
    "Asia/Ho_Chi_Minh",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
)

#: The window generated instants fall in: two years around the sample portal.
WINDOW_START = datetime(2025, 12, 1, tzinfo=ZoneInfo("UTC"))
WINDOW_END = datetime(2027, 12, 1, tzinfo=ZoneInfo("UTC"))


def zones() -> st.SearchStrategy[str]:
    """IANA zone names from `ZONES`."""
    return st.sampled_from(ZONES)


def aware_datetimes(
    start: datetime = WINDOW_START, end: datetime = WINDOW_END
) -> st.SearchStrategy[datetime]:
    """Aware instants between `start` and `end`, expressed in one of `ZONES`.

    Drawn as a minute offset from `start`, so DST gaps and folds are reached
    through real instants, never through invalid wall-clock times.
    """
    total_minutes = int((end - start).total_seconds() // 60)
    return st.builds(
        lambda minutes, zone: (start + timedelta(minutes=minutes)).astimezone(ZoneInfo(zone)),
        st.integers(0, total_minutes),
        zones(),
    )


_ID = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=6)


@st.composite
def portals(
    draw: st.DrawFn,
    *,
    max_users: int = 5,
    max_items: int = 12,
    max_activities: int = 30,
    instants: st.SearchStrategy[datetime] | None = None,
) -> Portal:
    """A valid portal; every reference resolves and every record validates.

    `instants` draws its datetimes (default `aware_datetimes()`): pass one that
    clusters around a DST change to stress "today" and the repeated hour.
    """
    when = aware_datetimes() if instants is None else instants
    settings = Settings(
        urgency_offset_minutes=draw(st.sampled_from([0, 15, 30, 60])),
        counter_mode=draw(st.sampled_from(list(CounterMode))),
        planned_rule=draw(st.sampled_from(list(PlannedRule))),
        week_start=draw(st.integers(0, 6)),
        calendar=CalendarSettings(country=draw(st.sampled_from([None, "PL", "US", "IL"]))),
    )
    storage = InMemoryStorage(settings)
    n_departments = draw(st.integers(1, 3))
    department_ids = [f"d{i}" for i in range(n_departments)]
    n_users = draw(st.integers(1, max_users))
    users = [
        User(
            id=f"u{i}",
            name=draw(st.text(max_size=8)),
            time_zone=draw(zones()),
            department_id=draw(st.sampled_from(department_ids)),
        )
        for i in range(n_users)
    ]
    user_ids = [u.id for u in users]
    departments = [
        Department(
            id=department_id,
            name=f"Department {index}",
            head_id=draw(st.none() | st.sampled_from(user_ids)),
            parent_id=None if index == 0 else department_ids[draw(st.integers(0, index - 1))],
        )
        for index, department_id in enumerate(department_ids)
    ]
    storage.add(*users, *departments)
    pipelines = [
        Pipeline(
            id="deals",
            entity_type="deal",
            stages=(
                Stage(id="new", name="New"),
                Stage(id="work", name="In work"),
                Stage(id="won", name="Won", semantics=StageSemantics.SUCCESS),
                Stage(id="lost", name="Lost", semantics=StageSemantics.FAILURE),
            ),
        ),
        Pipeline(id="vip", entity_type="deal", stages=(Stage(id="new", name="New"),)),
        Pipeline(id="leads", entity_type="lead", stages=(Stage(id="new", name="New"),)),
        Pipeline(id="quotes", entity_type="quote", stages=(Stage(id="new", name="New"),)),
        Pipeline(id="projects", entity_type="smart:128", stages=(Stage(id="s1", name="Brief"),)),
    ]
    storage.add(*pipelines)
    items = []
    for index in range(draw(st.integers(0, max_items))):
        pipeline = draw(st.sampled_from([*pipelines, None, None]))  # None: a contact or company
        items.append(
            Item(
                id=f"i{index}",
                entity_type=(
                    draw(st.sampled_from(ENTITY_TYPES_WITHOUT_PIPELINE))
                    if pipeline is None
                    else pipeline.entity_type
                ),
                pipeline_id=None if pipeline is None else pipeline.id,
                stage_id=None
                if pipeline is None
                else draw(st.sampled_from([s.id for s in pipeline.stages])),
                responsible_id=draw(st.sampled_from(user_ids)),
                created_at=draw(when),
                title=draw(st.text(max_size=10)),
                amount=draw(st.none() | st.integers(0, 10**6).map(str)),
                currency=draw(st.sampled_from(["", "PLN", "EUR"])),
                client=draw(st.text(max_size=8)),
                fields=draw(
                    st.dictionaries(
                        _ID,
                        st.none() | st.booleans() | st.integers(-100, 100) | st.text(max_size=5),
                        max_size=3,
                    )
                ),
            )
        )
    storage.add(*items)
    records: list[Record] = []
    if items:
        item_ids = [i.id for i in items]
        by_id = {p.id: p for p in pipelines}
        stages_of = {  # a stage change names stages of its item's pipeline (G5)
            i.id: tuple(s.id for s in by_id[i.pipeline_id].stages) if i.pipeline_id else ()
            for i in items
        }
        for index in range(draw(st.integers(0, max_activities))):
            records.append(draw(_activities(f"a{index}", item_ids, user_ids, when)))
        for index in range(draw(st.integers(0, 4))):
            records.append(
                Task(
                    id=f"t{index}",
                    item_id=draw(st.sampled_from(item_ids)),
                    title=draw(st.text(max_size=10)),
                    responsible_id=draw(st.sampled_from(user_ids)),
                    created_at=draw(when),
                    status=draw(st.sampled_from(list(TaskStatus))),
                    observer_ids=tuple(draw(st.sets(st.sampled_from(user_ids), max_size=2))),
                    deadline=draw(st.none() | when),
                )
            )
        for index in range(draw(st.integers(0, 6))):
            records.append(draw(_events(f"e{index}", stages_of, user_ids, when)))
    storage.add_all(records)
    return Portal(storage=storage, description=draw(st.text(max_size=20)))


@st.composite
def _activities(
    draw: st.DrawFn,
    activity_id: str,
    item_ids: list[str],
    user_ids: list[str],
    when: st.SearchStrategy[datetime],
) -> Activity:
    created = draw(when)
    incoming = draw(st.booleans())
    bound = draw(st.lists(st.sampled_from(item_ids), min_size=1, max_size=2, unique=True))
    # Elapsed time is added in UTC: local arithmetic would move the wall clock (G4).
    completed = draw(
        st.none()
        | st.integers(0, 60 * 24 * 30).map(lambda m: created.astimezone(UTC) + timedelta(minutes=m))
    )
    return Activity(
        id=activity_id,
        item_ids=tuple(bound),
        kind=draw(st.sampled_from(list(ActivityKind))),
        direction=Direction.INCOMING if incoming else draw(st.sampled_from(list(Direction))),
        responsible_id=draw(st.sampled_from(user_ids)),
        author_id=draw(st.none() | st.sampled_from(user_ids)),
        created_at=created,
        deadline=None if incoming else draw(st.none() | when),
        completed_at=completed,
        reminder_offsets=draw(
            st.none() | st.lists(st.sampled_from([0, 15, 30, 60, 1440]), max_size=3)
        ),
        incoming=incoming,
        reminded_at=None if incoming else draw(st.none() | when),
    )


@st.composite
def _events(
    draw: st.DrawFn,
    event_id: str,
    stages_of: dict[str, tuple[str, ...]],
    user_ids: list[str],
    when: st.SearchStrategy[datetime],
) -> Record:
    item_id = draw(st.sampled_from(sorted(stages_of)))
    at = draw(when)
    kind = draw(st.sampled_from(["comment", "incoming", "stage", "viewed", "history"]))
    if kind == "comment":
        return CommentAdded(
            id=event_id, item_id=item_id, at=at, author_id=draw(st.sampled_from(user_ids))
        )
    if kind == "history":
        return HistoryEntryAdded(
            id=event_id,
            item_id=item_id,
            at=at,
            author_id=draw(st.sampled_from(user_ids)),
            text=draw(st.text(max_size=10)),
            rule_id=draw(st.none() | st.just("r-1")),
        )
    if kind == "incoming":
        return IncomingMessage(
            id=event_id,
            item_id=item_id,
            at=at,
            channel=draw(st.sampled_from(list(IncomingChannel))),
        )
    if kind == "stage" and stages_of[item_id]:
        return StageChanged(
            id=event_id,
            item_id=item_id,
            at=at,
            by_user_id=draw(st.sampled_from(user_ids)),
            to_stage_id=draw(st.sampled_from(stages_of[item_id])),
        )
    return ItemViewed(id=event_id, item_id=item_id, at=at, user_id=draw(st.sampled_from(user_ids)))

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

# Strategies built once, not at each draw: hypothesis checks a strategy object the first time
# it is drawn from, and a portal makes hundreds of draws, so fresh objects cost more than the
# drawing itself. What is drawn is the same.
_TEXT_5 = st.text(max_size=5)
_TEXT_8 = st.text(max_size=8)
_TEXT_10 = st.text(max_size=10)
_TEXT_20 = st.text(max_size=20)
_BOOLEANS = st.booleans()
_OFFSET_MINUTES = st.sampled_from([0, 15, 30, 60])
_COUNTER_MODES = st.sampled_from(list(CounterMode))
_PLANNED_RULES = st.sampled_from(list(PlannedRule))
_WEEK_STARTS = st.integers(0, 6)
_COUNTRIES = st.sampled_from([None, "PL", "US", "IL"])
_DEPARTMENT_COUNTS = st.integers(1, 3)
_WITHOUT_PIPELINE = st.sampled_from(ENTITY_TYPES_WITHOUT_PIPELINE)
_AMOUNTS = st.none() | st.integers(0, 10**6).map(str)
_CURRENCIES = st.sampled_from(["", "PLN", "EUR"])
_FIELDS = st.dictionaries(
    _ID, st.none() | st.booleans() | st.integers(-100, 100) | _TEXT_5, max_size=3
)
_TASK_COUNTS = st.integers(0, 4)
_EVENT_COUNTS = st.integers(0, 6)
_TASK_STATUSES = st.sampled_from(list(TaskStatus))
_KINDS = st.sampled_from(list(ActivityKind))
_DIRECTIONS = st.sampled_from(list(Direction))
_COMPLETED_AFTER_MINUTES = st.none() | st.integers(0, 60 * 24 * 30)
_REMINDER_OFFSETS = st.none() | st.lists(st.sampled_from([0, 15, 30, 60, 1440]), max_size=3)
_EVENT_KINDS = st.sampled_from(["comment", "incoming", "stage", "viewed", "history"])
_RULE_IDS = st.none() | st.just("r-1")
_CHANNELS = st.sampled_from(list(IncomingChannel))
_DEFAULT_INSTANTS = aware_datetimes()
_ZONES = zones()


class _Drawn:
    """The strategies one portal draws its references from: its users, items, instants."""

    def __init__(
        self, user_ids: list[str], item_ids: list[str], when: st.SearchStrategy[datetime]
    ) -> None:
        self.user = st.sampled_from(user_ids)
        self.user_or_none = st.none() | self.user
        self.observers = st.sets(self.user, max_size=2)
        self.item = st.sampled_from(item_ids)
        self.event_item = st.sampled_from(sorted(item_ids))
        self.bound = st.lists(self.item, min_size=1, max_size=2, unique=True)
        self.when = when
        self.when_or_none = st.none() | when


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
    when = _DEFAULT_INSTANTS if instants is None else instants
    settings = Settings(
        urgency_offset_minutes=draw(_OFFSET_MINUTES),
        counter_mode=draw(_COUNTER_MODES),
        planned_rule=draw(_PLANNED_RULES),
        week_start=draw(_WEEK_STARTS),
        calendar=CalendarSettings(country=draw(_COUNTRIES)),
    )
    storage = InMemoryStorage(settings)
    n_departments = draw(_DEPARTMENT_COUNTS)
    department_ids = [f"d{i}" for i in range(n_departments)]
    n_users = draw(st.integers(1, max_users))
    departments_drawn = st.sampled_from(department_ids)
    users = [
        User(
            id=f"u{i}",
            name=draw(_TEXT_8),
            time_zone=draw(_ZONES),
            department_id=draw(departments_drawn),
        )
        for i in range(n_users)
    ]
    user_ids = [u.id for u in users]
    heads = st.none() | st.sampled_from(user_ids)
    departments = [
        Department(
            id=department_id,
            name=f"Department {index}",
            head_id=draw(heads),
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
    pipelines_drawn = st.sampled_from([*pipelines, None, None])  # None: a contact or company
    stages_drawn = {p.id: st.sampled_from([s.id for s in p.stages]) for p in pipelines}
    users_drawn = st.sampled_from(user_ids)
    items = []
    for index in range(draw(st.integers(0, max_items))):
        pipeline = draw(pipelines_drawn)
        items.append(
            Item(
                id=f"i{index}",
                entity_type=(draw(_WITHOUT_PIPELINE) if pipeline is None else pipeline.entity_type),
                pipeline_id=None if pipeline is None else pipeline.id,
                stage_id=None if pipeline is None else draw(stages_drawn[pipeline.id]),
                responsible_id=draw(users_drawn),
                created_at=draw(when),
                title=draw(_TEXT_10),
                amount=draw(_AMOUNTS),
                currency=draw(_CURRENCIES),
                client=draw(_TEXT_8),
                fields=draw(_FIELDS),
            )
        )
    storage.add(*items)
    records: list[Record] = []
    if items:
        ref = _Drawn(user_ids, [i.id for i in items], when)
        # a stage change names a stage of its item's pipeline (G5); None: the item has none
        stage_of_item = {
            i.id: None if i.pipeline_id is None else stages_drawn[i.pipeline_id] for i in items
        }
        for index in range(draw(st.integers(0, max_activities))):
            records.append(_activity(draw, f"a{index}", ref))
        for index in range(draw(_TASK_COUNTS)):
            records.append(
                Task(
                    id=f"t{index}",
                    item_id=draw(ref.item),
                    title=draw(_TEXT_10),
                    responsible_id=draw(ref.user),
                    created_at=draw(when),
                    status=draw(_TASK_STATUSES),
                    observer_ids=tuple(draw(ref.observers)),
                    deadline=draw(ref.when_or_none),
                )
            )
        for index in range(draw(_EVENT_COUNTS)):
            records.append(_event(draw, f"e{index}", ref, stage_of_item))
    storage.add_all(records)
    return Portal(storage=storage, description=draw(_TEXT_20))


def _activity(draw: st.DrawFn, activity_id: str, ref: _Drawn) -> Activity:
    created = draw(ref.when)
    incoming = draw(_BOOLEANS)
    bound = draw(ref.bound)
    # Elapsed time is added in UTC: local arithmetic would move the wall clock (G4).
    minutes = draw(_COMPLETED_AFTER_MINUTES)
    completed = None if minutes is None else created.astimezone(UTC) + timedelta(minutes=minutes)
    return Activity(
        id=activity_id,
        item_ids=tuple(bound),
        kind=draw(_KINDS),
        direction=Direction.INCOMING if incoming else draw(_DIRECTIONS),
        responsible_id=draw(ref.user),
        author_id=draw(ref.user_or_none),
        created_at=created,
        deadline=None if incoming else draw(ref.when_or_none),
        completed_at=completed,
        reminder_offsets=draw(_REMINDER_OFFSETS),
        incoming=incoming,
        reminded_at=None if incoming else draw(ref.when_or_none),
    )


def _event(
    draw: st.DrawFn,
    event_id: str,
    ref: _Drawn,
    stage_of_item: dict[str, st.SearchStrategy[str] | None],
) -> Record:
    item_id = draw(ref.event_item)
    at = draw(ref.when)
    kind = draw(_EVENT_KINDS)
    if kind == "comment":
        return CommentAdded(id=event_id, item_id=item_id, at=at, author_id=draw(ref.user))
    if kind == "history":
        return HistoryEntryAdded(
            id=event_id,
            item_id=item_id,
            at=at,
            author_id=draw(ref.user),
            text=draw(_TEXT_10),
            rule_id=draw(_RULE_IDS),
        )
    if kind == "incoming":
        return IncomingMessage(id=event_id, item_id=item_id, at=at, channel=draw(_CHANNELS))
    stages = stage_of_item[item_id]
    if kind == "stage" and stages is not None:
        return StageChanged(
            id=event_id,
            item_id=item_id,
            at=at,
            by_user_id=draw(ref.user),
            to_stage_id=draw(stages),
        )
    return ItemViewed(id=event_id, item_id=item_id, at=at, user_id=draw(ref.user))

"""Embedding crmcounters in a host: your own `Storage` over your own data (SPEC G1).

The library never owns your data. Every function reads through the `Storage`
protocol (`crmcounters.Storage`): a handful of read queries by id, by
responsible and by item. What it teaches:

- the whole protocol, implemented over plain dicts in under a hundred lines:
  a Django or SQLAlchemy host writes the same methods over its own tables
  (with an index on the item's responsible and on the activity's items);
- `isinstance(storage, Storage)` checks the shape at run time;
- a good test of your storage: the same records in the reference
  `InMemoryStorage` give the same answers;
- with nothing else, the core answers: `counters_of` (C1-C9),
  `activities_view` (V1, V2) and `suggest_smart_activity` (S1-S4) run on it
  unchanged, and the host decides what to do with the answers (G1).

Run: python examples/own_storage.py
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from crmcounters import (
    Activity,
    ActivityKind,
    CalendarSettings,
    Department,
    InMemoryStorage,
    Item,
    NoSuggestion,
    Pipeline,
    Settings,
    SmartActivityDraft,
    Stage,
    Storage,
    Task,
    TimelineEvent,
    UnknownIdError,
    User,
    activities_view,
    counters_of,
    suggest_smart_activity,
)

WARSAW = ZoneInfo("Europe/Warsaw")
NOW = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)  # Monday, a fixed instant
T = TypeVar("T")


def _get(table: Mapping[str, T], kind: str, record_id: str) -> T:
    """A record by id, or the library's `UnknownIdError` (what the protocol asks)."""
    try:
        return table[record_id]
    except KeyError:
        raise UnknownIdError(kind, record_id) from None


class DictStorage:
    """Every method of the `Storage` protocol, over dicts keyed by id.

    Reads only: the host writes to its dicts (or its database) itself.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        users: Iterable[User],
        departments: Iterable[Department],
        pipelines: Iterable[Pipeline],
        items: Iterable[Item],
        activities: Iterable[Activity],
        tasks: Iterable[Task] = (),
        events: Iterable[TimelineEvent] = (),
    ) -> None:
        self._settings = settings
        self._users = {user.id: user for user in users}
        self._departments = {department.id: department for department in departments}
        self._pipelines = {pipeline.id: pipeline for pipeline in pipelines}
        self._items = {item.id: item for item in items}
        self._activities = {activity.id: activity for activity in activities}
        self._tasks = {task.id: task for task in tasks}
        self._events = sorted(events, key=lambda event: event.at)

    @property
    def settings(self) -> Settings:
        return self._settings

    def user(self, user_id: str) -> User:
        return _get(self._users, "user", user_id)

    def users(self) -> Collection[User]:
        return self._users.values()

    def department(self, department_id: str) -> Department:
        return _get(self._departments, "department", department_id)

    def departments(self) -> Collection[Department]:
        return self._departments.values()

    def supervisor_of(self, user_id: str) -> User | None:
        """The head of the user's department; for the head, the next head up (SPEC section 1)."""
        user = self.user(user_id)
        department_id = user.department_id
        while department_id is not None:
            department = self.department(department_id)
            if department.head_id is not None and department.head_id != user.id:
                return self.user(department.head_id)
            department_id = department.parent_id
        return None

    def pipeline(self, pipeline_id: str) -> Pipeline:
        return _get(self._pipelines, "pipeline", pipeline_id)

    def pipelines(self) -> Collection[Pipeline]:
        return self._pipelines.values()

    def item(self, item_id: str) -> Item:
        return _get(self._items, "item", item_id)

    def items(self) -> Collection[Item]:
        return self._items.values()

    def items_of(self, responsible_id: str) -> Collection[Item]:
        return [item for item in self._items.values() if item.responsible_id == responsible_id]

    def activity(self, activity_id: str) -> Activity:
        return _get(self._activities, "activity", activity_id)

    def activities(self) -> Collection[Activity]:
        """Every activity (not part of the protocol; used below to copy the data)."""
        return self._activities.values()

    def activities_of_item(self, item_id: str) -> Collection[Activity]:
        return [a for a in self._activities.values() if item_id in a.item_ids]

    def open_activities_of_item(self, item_id: str) -> Collection[Activity]:
        return [a for a in self.activities_of_item(item_id) if a.is_open]

    def open_activities_of_user(self, user_id: str) -> Collection[Activity]:
        return [a for a in self._activities.values() if a.responsible_id == user_id and a.is_open]

    def task(self, task_id: str) -> Task:
        return _get(self._tasks, "task", task_id)

    def tasks_of_item(self, item_id: str) -> Collection[Task]:
        return [task for task in self._tasks.values() if task.item_id == item_id]

    def events_of_item(self, item_id: str) -> Collection[TimelineEvent]:
        return [event for event in self._events if event.item_id == item_id]  # oldest first


def host_storage() -> DictStorage:
    """What the host's database holds: Anna's four deals and their activities."""
    items = [
        Item(
            id=f"deal-{number}",
            entity_type="deal",
            pipeline_id="deals",
            stage_id="new",
            responsible_id="anna",
            created_at=NOW - timedelta(days=10 - number),
            title=f"Deal {number}",
        )
        for number in range(1, 5)
    ]
    activities = [
        Activity(  # a client's chat message, not answered yet: Incoming
            id="chat",
            item_ids=["deal-1"],
            kind=ActivityKind.CHAT,
            responsible_id="anna",
            created_at=NOW - timedelta(minutes=20),
            incoming=True,
        ),
        Activity(  # a call due this morning, not made: Planned, and Today in the view
            id="call",
            item_ids=["deal-2"],
            kind=ActivityKind.CALL,
            responsible_id="anna",
            created_at=NOW - timedelta(days=2),
            deadline=NOW - timedelta(hours=1),
        ),
        Activity(  # a meeting on Thursday: This week, not lit yet
            id="meeting",
            item_ids=["deal-3"],
            kind=ActivityKind.MEETING,
            responsible_id="anna",
            created_at=NOW - timedelta(days=1),
            deadline=NOW + timedelta(days=3),
        ),
    ]  # deal-4 has nothing planned: closing its form suggests a smart activity
    return DictStorage(
        Settings(calendar=CalendarSettings(country="PL")),  # Polish holidays for S2
        users=[
            User(id="marek", name="Marek", time_zone="Europe/Warsaw", department_id="sales"),
            User(id="anna", name="Anna", time_zone="Europe/Warsaw", department_id="sales"),
        ],
        departments=[Department(id="sales", name="Sales", head_id="marek")],
        pipelines=[
            Pipeline(
                id="deals",
                entity_type="deal",
                stages=[
                    Stage(id="new", name="New"),
                    Stage(id="won", name="Won", semantics="success"),
                ],
            )
        ],
        items=items,
        activities=activities,
    )


def main() -> None:
    """Answer the three questions a CRM page asks, on the host's own storage."""
    storage = host_storage()
    assert isinstance(storage, Storage)  # the protocol is runtime-checkable
    print("DictStorage implements crmcounters.Storage:", isinstance(storage, Storage))

    counters = counters_of(storage, "anna", NOW)
    print(
        f"Anna's counters: Incoming {counters.incoming}, Planned {counters.planned}, "
        f"valid until {counters.valid_until.astimezone(WARSAW):%a %d %b %H:%M}"
    )

    view = activities_view(storage, "anna", NOW)
    for column, item_ids in view.columns.items():
        if item_ids:
            print(f"  {column.value:<13} {', '.join(item_ids)}")

    answer = suggest_smart_activity(storage, "deal-4", "anna", NOW)
    assert isinstance(answer, SmartActivityDraft)
    due = answer.deadline.astimezone(WARSAW)  # held in UTC: shown in Anna's zone
    print(f"Closing deal-4 suggests: {answer.text!r} due {due.isoformat()}")
    busy = suggest_smart_activity(storage, "deal-3", "anna", NOW)
    assert isinstance(busy, NoSuggestion)
    print(f"Closing deal-3 suggests nothing: {busy.reason.value} ({busy.detail})")

    # Test your storage against the reference one: same records, same answers.
    reference = InMemoryStorage(storage.settings)
    reference.add(*storage.departments(), *storage.users(), *storage.pipelines())
    reference.add(*storage.items(), *storage.activities())
    assert counters_of(reference, "anna", NOW) == counters
    assert activities_view(reference, "anna", NOW).columns == view.columns
    print("Same answers as InMemoryStorage: True")


if __name__ == "__main__":
    main()

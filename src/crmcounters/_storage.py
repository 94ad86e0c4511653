"""The storage protocol: the read queries the core needs, and nothing more (G1)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Protocol, runtime_checkable

from ._activities import Activity
from ._batch import Record
from ._errors import UnknownIdError
from ._events import TimelineEvent
from ._items import Item
from ._pipelines import Pipeline, Stage
from ._settings import Settings
from ._tasks import Task
from ._users import Department, User

__all__ = ["PortalStorage", "Storage", "WritableStorage", "find_supervisor", "stage_of"]


@runtime_checkable
class Storage(Protocol):
    """Read access to one portal's data; hosts implement it over their own database.

    Lookups by id raise `UnknownIdError` for a missing id. Collections may be
    any sized iterable (a tuple, a list, a dict view); callers never mutate them.
    """

    @property
    def settings(self) -> Settings:
        """The portal's settings."""
        ...

    def user(self, user_id: str) -> User:
        """The user with that id."""
        ...

    def users(self) -> Collection[User]:
        """Every user."""
        ...

    def department(self, department_id: str) -> Department:
        """The department with that id."""
        ...

    def departments(self) -> Collection[Department]:
        """Every department."""
        ...

    def supervisor_of(self, user_id: str) -> User | None:
        """The head of the user's department; for a head, the next head up; None at the root."""
        ...

    def pipeline(self, pipeline_id: str) -> Pipeline:
        """The pipeline with that id."""
        ...

    def pipelines(self) -> Collection[Pipeline]:
        """Every pipeline."""
        ...

    def item(self, item_id: str) -> Item:
        """The item with that id."""
        ...

    def items(self) -> Collection[Item]:
        """Every item."""
        ...

    def items_of(self, responsible_id: str) -> Collection[Item]:
        """The items whose responsible is that user (C2)."""
        ...

    def activity(self, activity_id: str) -> Activity:
        """The activity with that id (open or completed)."""
        ...

    def activities_of_item(self, item_id: str) -> Collection[Activity]:
        """Every activity bound to the item, open or completed (F2 needs both)."""
        ...

    def open_activities_of_item(self, item_id: str) -> Collection[Activity]:
        """The open activities bound to the item."""
        ...

    def open_activities_of_user(self, user_id: str) -> Collection[Activity]:
        """The open activities whose own responsible is that user (C2 counter mode, C8)."""
        ...

    def task(self, task_id: str) -> Task:
        """The task with that id."""
        ...

    def tasks_of_item(self, item_id: str) -> Collection[Task]:
        """The tasks linked to the item."""
        ...

    def events_of_item(self, item_id: str) -> Collection[TimelineEvent]:
        """The item's timeline events, oldest first."""
        ...


@runtime_checkable
class PortalStorage(Storage, Protocol):
    """A `Storage` that also lists every activity, task and event, in the order stored.

    What saving, copying or simulating a whole portal reads; `InMemoryStorage`
    and `crmcounters.sql.SqlStorage` are both one. The core's queries need
    only `Storage`.
    """

    def activities(self) -> Collection[Activity]:
        """Every activity, open or completed."""
        ...

    def tasks(self) -> Collection[Task]:
        """Every task."""
        ...

    def events(self) -> Collection[TimelineEvent]:
        """Every timeline event."""
        ...


@runtime_checkable
class WritableStorage(Storage, Protocol):
    """A `Storage` a host writes through: the reads plus all-or-nothing writes.

    `InMemoryStorage` and `crmcounters.sql.SqlStorage` have them; each write
    either stores all of its records or raises and stores nothing (G5).
    `apply_outcome`, `RuleHost` and `crmcounters.testing.RuleRuntime` need it.
    """

    def add(self, *records: Record) -> None:
        """Store new records."""
        ...

    def replace(self, *records: Record) -> None:
        """Replace stored records with the same ids."""
        ...

    def write(self, *, add: Iterable[Record] = (), replace: Iterable[Record] = ()) -> None:
        """Add new records and replace stored ones together."""
        ...


def find_supervisor(
    user: User, users: Mapping[str, User], departments: Mapping[str, Department]
) -> User | None:
    """The supervisor of `user` (SPEC section 1), climbing the department tree.

    The head of the user's department; when the user is that head (or the
    department has none), the head of the next department up; None at the root.
    """
    department_id = user.department_id
    seen: set[str] = set()
    while department_id is not None and department_id not in seen:
        seen.add(department_id)
        department = departments.get(department_id)
        if department is None:
            raise UnknownIdError("department", department_id)
        if department.head_id is not None and department.head_id != user.id:
            head = users.get(department.head_id)
            if head is None:
                raise UnknownIdError("user", department.head_id)
            return head
        department_id = department.parent_id
    return None


def stage_of(storage: Storage, item: Item) -> Stage | None:
    """The stage the item sits in; None for a contact or company, which have none."""
    if item.pipeline_id is None or item.stage_id is None:
        return None
    return storage.pipeline(item.pipeline_id).stage(item.stage_id)

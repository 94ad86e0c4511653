"""`InMemoryStorage`: the reference `Storage`, indexed for per-user and per-item queries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sized
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ._activities import Activity
from ._batch import Record, check_write, records_of
from ._errors import UnknownIdError, ValidationError
from ._events import TimelineEvent
from ._items import Item
from ._pipelines import Pipeline
from ._records import ItemRecords
from ._reminder_index import ReminderIndex
from ._reminders import Reminder, from_us, utc_us, window
from ._sections import SectionKey
from ._settings import Settings, check_types_in_use
from ._storage import PortalStorage, find_supervisor
from ._tasks import Task
from ._users import Department, User
from ._validate import instant as v_instant

if TYPE_CHECKING:
    from ._live_pages import LivePages
    from ._view import Column
    from .focus._pages import FocusKey, FocusPage

__all__ = ["InMemoryStorage", "Record", "in_memory"]

_V = TypeVar("_V")

#: An index: key (a user or item id) -> {record id: record}, in the order added.
#: Holding the records themselves makes a read one `list(bucket.values())`.
_Index = dict[str, dict[str, _V]]
_NO_BUCKET: Mapping[str, Any] = MappingProxyType({})


def _ordered_add(index: _Index[_V], key: str, record_id: str, record: _V) -> None:
    index.setdefault(key, {})[record_id] = record


def _ordered_discard(index: _Index[_V], key: str, record_id: str) -> None:
    bucket = index.get(key)
    if bucket is not None:
        bucket.pop(record_id, None)
        if not bucket:
            del index[key]


def _file(
    by_user: dict[str, dict[SectionKey, _Index[Activity]]],
    item: Item,
    bucket: dict[str, Activity],
) -> None:
    """File `item`'s open-activity bucket under its responsible and section (C2, C10)."""
    section = (item.entity_type, item.pipeline_id)
    by_user.setdefault(item.responsible_id, {}).setdefault(section, {})[item.id] = bucket


def _bucket(index: _Index[_V], key: str) -> list[_V]:
    """The records filed under `key`, in the order added, as a new list."""
    return list(index.get(key, _NO_BUCKET).values())


def in_memory(storage: PortalStorage) -> InMemoryStorage:
    """`storage` itself when it is held in memory, else an in-memory copy (simulations write)."""
    return storage if isinstance(storage, InMemoryStorage) else InMemoryStorage.copy_of(storage)


class InMemoryStorage:
    """A portal held in memory, with indexes by responsible and by item.

    Writes are batches: `add(*records)`, `replace(*records)` and
    `write(add=..., replace=...)` (both at once) validate the whole batch
    against what is stored plus the batch itself (duplicate ids, dangling
    references, unknown users) and either apply all of it or raise and change
    nothing (G5).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings if settings is not None else Settings()
        self._users: dict[str, User] = {}
        self._departments: dict[str, Department] = {}
        self._pipelines: dict[str, Pipeline] = {}
        self._items: dict[str, Item] = {}
        self._activities: dict[str, Activity] = {}
        self._tasks: dict[str, Task] = {}
        self._events: dict[str, TimelineEvent] = {}
        # Indexes hold the stored records; every write keeps them in step with the tables.
        self._items_by_responsible: _Index[Item] = {}
        self._activities_by_item: _Index[Activity] = {}
        self._open_by_item: _Index[Activity] = {}  # a bucket per stored item, kept while it is
        self._open_by_user: _Index[Activity] = {}
        # C2, C10: each user's items by section, with their open-activity buckets (the same
        # dicts as `_open_by_item`'s): a counting pass reads them in a row (issue 15). Built
        # when counters are first read (a load pays nothing for it), then kept by writes.
        self._open_by_responsible: dict[str, dict[SectionKey, _Index[Activity]]] | None = None
        self._open_groups_lock = threading.Lock()  # readers may share the storage: build once
        self._tasks_by_item: _Index[Task] = {}
        self._events_by_item: _Index[TimelineEvent] = {}
        # Kanban and Activities view columns in focus order: built on the first page asked
        # for, then kept up to date by every write (issue 15: pages in O(page)).
        self._live: LivePages | None = None
        self._live_lock = threading.Lock()  # readers may share the storage: build it once
        # N1: the reminder pings by hour, built when the feed is first read, then kept.
        self._reminders: ReminderIndex | None = None
        self._reminders_lock = threading.Lock()  # readers may share the storage: build once

    @classmethod
    def copy_of(
        cls, source: PortalStorage, *, progress: Callable[[int, int], None] | None = None
    ) -> InMemoryStorage:
        """A copy of a whole portal held anywhere (a database, say), checked as it is added.

        Records keep the order `source` lists them in; references are added
        before the records that use them. `progress` is told (records copied,
        records in all) after each kind.
        """
        copy = cls(source.settings)
        total = len(source) if isinstance(source, Sized) else 0
        done = 0
        steps: list[Callable[[], Collection[Record]]] = [
            lambda: (*source.users(), *source.departments()),  # they refer to each other
            source.pipelines,
            source.items,
            lambda: (*source.activities(), *source.tasks()),
            source.events,
        ]
        for step in steps:
            batch = step()
            copy.add_all(batch)
            done += len(batch)
            if progress is not None:
                progress(done, max(total, done))
        return copy

    # -- settings -------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The portal's settings."""
        return self._settings

    def set_settings(self, settings: Settings) -> None:
        """Replace the portal's settings."""
        if not isinstance(settings, Settings):
            raise ValidationError("settings", f"expected Settings, got {type(settings).__name__}")
        check_types_in_use(settings, (a.type_id for a in self._activities.values()))
        if settings != self._settings:  # default offsets, types' reminders: pings may move
            self._reminders = None  # built again when next read (N1)
        self._settings = settings
        self._live = None  # offsets and the week's first day shape every column: rebuild

    # -- pages in focus order (`PagedFocusStorage`) ---------------------------

    def _live_pages(self, now: datetime) -> LivePages:
        live = self._live
        if live is not None:
            return live
        with self._live_lock:
            return self._build_live(now)

    def _build_live(self, now: datetime) -> LivePages:
        live = self._live
        if live is None:
            from ._live_pages import LivePages, Reads  # built on first use only

            def bucket(index: _Index[_V]) -> Callable[[str], Collection[_V]]:
                return lambda key: index.get(key, _NO_BUCKET).values()  # no copy: read at once

            reads = Reads(
                bucket(self._activities_by_item),
                bucket(self._events_by_item),
                bucket(self._open_by_item),
            )
            live = self._live = LivePages(self, now, reads=reads)
        return live

    def kanban_focus_page(
        self,
        entity_type: str,
        pipeline_id: str,
        stage_id: str,
        now: datetime,
        *,
        limit: int | None,
        after: FocusKey | None,
    ) -> FocusPage:
        """A Kanban column's page in focus order, from columns kept in order (F1, F5)."""
        live = self._live_pages(now)
        return live.kanban_page((entity_type, pipeline_id, stage_id), now, limit, after)

    def view_focus_pages(
        self,
        user_id: str,
        now: datetime,
        *,
        limit: int | None,
        column: Column | None,
        after: FocusKey | None,
    ) -> tuple[Mapping[Column, FocusPage], datetime | None]:
        """A user's Activities view pages, and when an item first changes column (V1, V2)."""
        return self._live_pages(now).view_pages(user_id, now, limit, column, after)

    # -- reads ----------------------------------------------------------------

    def user(self, user_id: str) -> User:
        """The user with that id."""
        return _get(self._users, "user", user_id)

    def users(self) -> Collection[User]:
        """Every user, in the order they were added."""
        return self._users.values()

    def department(self, department_id: str) -> Department:
        """The department with that id."""
        return _get(self._departments, "department", department_id)

    def departments(self) -> Collection[Department]:
        """Every department."""
        return self._departments.values()

    def supervisor_of(self, user_id: str) -> User | None:
        """The user's supervisor (SPEC section 1)."""
        return find_supervisor(self.user(user_id), self._users, self._departments)

    def pipeline(self, pipeline_id: str) -> Pipeline:
        """The pipeline with that id."""
        return _get(self._pipelines, "pipeline", pipeline_id)

    def pipelines(self) -> Collection[Pipeline]:
        """Every pipeline."""
        return self._pipelines.values()

    def item(self, item_id: str) -> Item:
        """The item with that id."""
        return _get(self._items, "item", item_id)

    def items(self) -> Collection[Item]:
        """Every item."""
        return self._items.values()

    def items_of(self, responsible_id: str) -> Collection[Item]:
        """The items whose responsible is that user."""
        return _bucket(self._items_by_responsible, responsible_id)

    def records_of_items(self, item_ids: Collection[str]) -> Mapping[str, ItemRecords]:
        """The stored items among `item_ids` with their activities and events (unknown
        ids left out): `BatchedRecordStorage`, as `SqlStorage` (issue 15)."""
        return {
            item_id: ItemRecords(
                item=self._items[item_id],
                activities=tuple(self.activities_of_item(item_id)),
                events=tuple(self.events_of_item(item_id)),
            )
            for item_id in item_ids
            if item_id in self._items
        }

    def users_with_ids(self, user_ids: Collection[str]) -> list[User]:
        """The stored users among `user_ids` (unknown ids left out)."""
        return [self._users[user_id] for user_id in user_ids if user_id in self._users]

    def activity(self, activity_id: str) -> Activity:
        """The activity with that id."""
        return _get(self._activities, "activity", activity_id)

    def activities(self) -> Collection[Activity]:
        """Every activity, open or completed."""
        return self._activities.values()

    def activities_of_item(self, item_id: str) -> Collection[Activity]:
        """Every activity bound to the item."""
        return _bucket(self._activities_by_item, item_id)

    def _open_groups(
        self, responsible_id: str
    ) -> Iterator[tuple[str, SectionKey, Collection[Activity]]]:
        """Each item of the user with its section and open activities, the buckets themselves
        (no copy): the counters' pass (C1-C8) reads each at once, before any write.

        Kept per user by every write, so the pass reads one user's entries in a row
        rather than looking each item up: that kept `counters_of` linear (issue 15).
        """
        by_user = self._open_by_responsible
        if by_user is None:
            by_user = self._build_open_groups()
        sections = by_user.get(responsible_id)
        if sections is None:
            return
        for section, buckets in sections.items():
            for item_id, bucket in buckets.items():
                yield item_id, section, bucket.values()

    def _build_open_groups(self) -> dict[str, dict[SectionKey, _Index[Activity]]]:
        with self._open_groups_lock:
            by_user = self._open_by_responsible
            if by_user is None:
                by_user = {}  # filled, then published: a reader never sees it half built
                open_by_item = self._open_by_item
                for item in self._items.values():
                    # A fresh copy of each bucket, made in the order the pass reads them: the
                    # loaded ones lie scattered among the other records (issue 15).
                    bucket = open_by_item[item.id] = dict(open_by_item.get(item.id, _NO_BUCKET))
                    _file(by_user, item, bucket)
                self._open_by_responsible = by_user
            return by_user

    def open_activities_of_item(self, item_id: str) -> Collection[Activity]:
        """The open activities bound to the item."""
        return _bucket(self._open_by_item, item_id)

    def open_activities_of_user(self, user_id: str) -> Collection[Activity]:
        """The open activities whose own responsible is that user."""
        return _bucket(self._open_by_user, user_id)

    def task(self, task_id: str) -> Task:
        """The task with that id."""
        return _get(self._tasks, "task", task_id)

    def tasks(self) -> Collection[Task]:
        """Every task."""
        return self._tasks.values()

    def tasks_of_item(self, item_id: str) -> Collection[Task]:
        """The tasks linked to the item."""
        return _bucket(self._tasks_by_item, item_id)

    def event(self, event_id: str) -> TimelineEvent:
        """The timeline event with that id."""
        return _get(self._events, "event", event_id)

    def events(self) -> Collection[TimelineEvent]:
        """Every timeline event."""
        return self._events.values()

    def events_of_item(self, item_id: str) -> Collection[TimelineEvent]:
        """The item's timeline events, oldest first (ties in the order added)."""
        return sorted(_bucket(self._events_by_item, item_id), key=lambda event: event.at)

    def reminders_between(
        self, start: datetime, end: datetime, user_id: str | None = None
    ) -> tuple[Reminder, ...]:
        """The reminder pings in `[start, end)`, in time order, of one recipient or all (N1).

        Read from an index of pings by hour, built on the first call (O(activities))
        and kept in step with every write after it.
        """
        start, end = window(start, end)
        return self._reminder_index().between_us(utc_us(start), utc_us(end), user_id)

    def next_reminder_after(self, after: datetime) -> datetime | None:
        """The instant of the earliest reminder ping after `after`, or None (N1)."""
        found = self._reminder_index().next_after(utc_us(v_instant("after", after)))
        return None if found is None else from_us(found)

    def _reminder_index(self) -> ReminderIndex:
        index = self._reminders
        if index is not None:
            return index
        with self._reminders_lock:  # two readers asking first build it once
            index = self._reminders
            if index is None:
                index = self._reminders = ReminderIndex.of(
                    self._activities.values(), self._settings.focus_reminder_offsets
                )
            return index

    def __len__(self) -> int:
        return (
            len(self._users)
            + len(self._departments)
            + len(self._pipelines)
            + len(self._items)
            + len(self._activities)
            + len(self._tasks)
            + len(self._events)
        )

    def __repr__(self) -> str:
        return (
            f"InMemoryStorage(users={len(self._users)}, items={len(self._items)}, "
            f"activities={len(self._activities)}, tasks={len(self._tasks)}, "
            f"events={len(self._events)})"
        )

    # -- writes ---------------------------------------------------------------

    def add(self, *records: Record) -> None:
        """Store new records; all or nothing (G5)."""
        self._write(records, ())

    def add_all(self, records: Iterable[Record]) -> None:
        """Store new records from an iterable; all or nothing (G5)."""
        self._write(tuple(records), ())

    def replace(self, *records: Record) -> None:
        """Replace stored records that have the same ids (reassign, reschedule, complete…)."""
        self._write((), records)

    def write(self, *, add: Iterable[Record] = (), replace: Iterable[Record] = ()) -> None:
        """Add new records and replace stored ones in one step: all of it or nothing (G5).

        Both halves are checked in one pass before anything is applied, as if
        the write were a single batch: an id appears once, `add` ids are new,
        `replace` ids are stored, references resolve to either half or to
        what is stored. A rule engine's outcome is written this way.
        """
        self._write(records_of("add", add), records_of("replace", replace))

    def remove_activity(self, activity_id: str) -> Activity:
        """Delete an activity (it stops counting at once) and return it."""
        activity = self.activity(activity_id)
        self._unindex_activity(activity)
        del self._activities[activity_id]
        if self._live is not None:
            self._live.touch(activity.item_ids)
        return activity

    def remove_task(self, task_id: str) -> Task:
        """Delete a task and return it."""
        task = self.task(task_id)
        _ordered_discard(self._tasks_by_item, task.item_id, task_id)
        del self._tasks[task_id]
        return task

    def remove_item(self, item_id: str) -> Item:
        """Delete an item with its tasks, events and activities.

        An activity bound to other items too is kept, unbound from this one.
        """
        item = self.item(item_id)
        for activity in self.activities_of_item(item_id):
            rest = tuple(i for i in activity.item_ids if i != item_id)
            self._unindex_activity(activity)
            if rest:
                kept = attrs.evolve(activity, item_ids=rest)
                self._activities[activity.id] = kept
                self._index_activity(kept)
            else:
                del self._activities[activity.id]
        for task_id in tuple(self._tasks_by_item.get(item_id, ())):
            del self._tasks[task_id]
        self._tasks_by_item.pop(item_id, None)
        for event_id in tuple(self._events_by_item.get(item_id, ())):
            del self._events[event_id]
        self._events_by_item.pop(item_id, None)
        _ordered_discard(self._items_by_responsible, item.responsible_id, item_id)
        self._file_open_bucket(item, None)
        self._open_by_item.pop(item_id, None)
        del self._items[item_id]
        if self._live is not None:
            self._live.touch((item_id,))
        return item

    def _add_checked(self, records: Iterable[Item | Activity]) -> None:
        """Store new items or activities that the portal loader has checked (issue 15).

        The loader checks every id new and every reference resolved, as
        `add` would (`_loading.Known`); checking again would double the cost
        of loading a large portal. A storage whose live pages are built (not
        one being loaded) takes the ordinary write, which keeps them in step.
        """
        if self._live is not None:
            self._write(tuple(records), ())
            return
        for record in records:  # items and activities only: straight to their own steps
            if isinstance(record, Activity):
                self._apply_activity(record)
            else:
                self._apply_item(record)

    # -- the batch machinery --------------------------------------------------

    def _write(self, added: tuple[Record, ...], replaced: tuple[Record, ...]) -> None:
        types = {activity_type.id for activity_type in self._settings.activity_types}
        check_write(added, replaced, _Stored(self), activity_types=types)
        live = self._live
        if live is None:
            for record in (*added, *replaced):  # every check passed: now apply
                self._apply(record)
            return
        items: set[str] = set()
        users: list[str] = []
        for record in (*added, *replaced):
            if isinstance(record, Item):
                items.add(record.id)
            elif isinstance(record, Activity):
                items.update(record.item_ids)
                old = self._activities.get(record.id)
                if old is not None:
                    items.update(old.item_ids)
            elif isinstance(record, TimelineEvent):
                items.add(record.item_id)
            elif isinstance(record, User):
                old_user = self._users.get(record.id)
                if old_user is not None and old_user.time_zone != record.time_zone:
                    users.append(record.id)
            self._apply(record)
        live.touch(items, users)

    def _table(self, kind: str) -> Mapping[str, Record]:
        tables: dict[str, Mapping[str, Record]] = {
            "user": self._users,
            "department": self._departments,
            "pipeline": self._pipelines,
            "item": self._items,
            "activity": self._activities,
            "task": self._tasks,
            "event": self._events,
        }
        return tables[kind]

    def _apply(self, record: Record) -> None:
        if isinstance(record, User):
            self._users[record.id] = record
        elif isinstance(record, Department):
            self._departments[record.id] = record
        elif isinstance(record, Pipeline):
            self._pipelines[record.id] = record
        elif isinstance(record, Item):
            self._apply_item(record)
        elif isinstance(record, Activity):
            self._apply_activity(record)
        elif isinstance(record, Task):
            old_task = self._tasks.get(record.id)
            if old_task is not None:
                _ordered_discard(self._tasks_by_item, old_task.item_id, record.id)
            self._tasks[record.id] = record
            _ordered_add(self._tasks_by_item, record.item_id, record.id, record)
        else:
            self._events[record.id] = record
            _ordered_add(self._events_by_item, record.item_id, record.id, record)

    def _apply_item(self, item: Item) -> None:
        old_item = self._items.get(item.id)
        if old_item is not None:
            _ordered_discard(self._items_by_responsible, old_item.responsible_id, item.id)
        self._items[item.id] = item
        _ordered_add(self._items_by_responsible, item.responsible_id, item.id, item)
        if self._open_by_responsible is not None:  # built by the first counters read
            self._file_open_bucket(old_item, item)

    def _apply_activity(self, activity: Activity) -> None:
        old_activity = self._activities.get(activity.id)
        if old_activity is not None:
            self._unindex_activity(old_activity)
        self._activities[activity.id] = activity
        self._index_activity(activity)

    def _file_open_bucket(self, old: Item | None, new: Item | None) -> None:
        """File an item's open-activity bucket under its responsible and section, not
        under its old ones (`_open_groups`)."""
        by_user = self._open_by_responsible
        if by_user is None:  # not built yet: the first counters read files every item
            return
        if old is not None:
            sections = by_user[old.responsible_id]
            old_section = (old.entity_type, old.pipeline_id)
            sections[old_section].pop(old.id)
            if not sections[old_section]:
                del sections[old_section]
                if not sections:
                    del by_user[old.responsible_id]
        if new is not None:  # its activities may have come first, with its bucket
            _file(by_user, new, self._open_by_item.setdefault(new.id, {}))

    def _index_activity(self, activity: Activity) -> None:
        # `_ordered_add` written out: a portal load runs this once per activity (issue 15).
        if self._reminders is not None:
            self._reminders.put(activity)
        activity_id = activity.id
        is_open = activity.completed_at is None
        for item_id in activity.item_ids:
            self._activities_by_item.setdefault(item_id, {})[activity_id] = activity
            if is_open:
                self._open_by_item.setdefault(item_id, {})[activity_id] = activity
        if is_open:
            self._open_by_user.setdefault(activity.responsible_id, {})[activity_id] = activity

    def _unindex_activity(self, activity: Activity) -> None:
        if self._reminders is not None:
            self._reminders.remove(activity.id)
        for item_id in activity.item_ids:
            _ordered_discard(self._activities_by_item, item_id, activity.id)
            bucket = self._open_by_item.get(item_id)
            if bucket is not None:  # it stays while the item does: its user's entry holds it
                bucket.pop(activity.id, None)
        _ordered_discard(self._open_by_user, activity.responsible_id, activity.id)


def _get(table: Mapping[str, _V], kind: str, record_id: str) -> _V:
    try:
        return table[record_id]
    except KeyError:
        raise UnknownIdError(kind, record_id) from None


class _Stored:
    """What `check_write` asks of an `InMemoryStorage` (same module: reads its tables)."""

    def __init__(self, storage: InMemoryStorage) -> None:
        self._storage = storage

    def stored_ids(self, kind: str, ids: Collection[str]) -> Collection[str]:
        """Those of `ids` stored as `kind`."""
        table = self._storage._table(kind)
        return [record_id for record_id in ids if record_id in table]

    def stored_pipeline(self, pipeline_id: str) -> Pipeline | None:
        """The stored pipeline, if any."""
        return self._storage._pipelines.get(pipeline_id)

    def stored_department(self, department_id: str) -> Department | None:
        """The stored department, if any."""
        return self._storage._departments.get(department_id)

    def stored_item(self, item_id: str) -> Item | None:
        """The stored item, if any."""
        return self._storage._items.get(item_id)

    def items_in_pipeline(self, pipeline_id: str) -> Iterable[Item]:
        """Stored items in that pipeline."""
        return [item for item in self._storage.items() if item.pipeline_id == pipeline_id]

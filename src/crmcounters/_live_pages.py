"""Kanban and Activities view columns kept in focus order for `InMemoryStorage` (F1, F5, V1, V2).

`LivePages` is built on the first page asked for (every item's focus
timeline, grouped by Kanban column; a user's Activities view on the first
request for that user), then told about every write, so a page costs
O(page + log n) instead of a pass over the column. Each Activities view
column moves items when a local midnight passes: items are also kept sorted
by their earliest open deadline, and a new day moves only those whose
deadline lies between the old and new column boundaries.

Answers equal the from-scratch computation in `kanban_board` and
`activities_view` (`tests/test_focus_pages_live.py` checks it after random
writes and clock moves).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo

import attrs

from ._activities import Activity
from ._calendar import day_start, week_start_of
from ._errors import UnknownIdError
from ._events import CommentAdded, IncomingMessage, TimelineEvent
from ._items import Item
from ._storage import Storage
from ._validate import with_deadline
from ._view import Column, place_item
from .focus._live import Line, LiveColumn, SortedKeys
from .focus._pages import FocusKey, FocusPage
from .focus._sources import is_incoming_event

__all__ = ["LivePages", "Reads", "line_of"]


_WEEK = timedelta(days=7)
_ONE_DAY = timedelta(days=1)

#: Where an item sits in the view, apart from the day: a fixed column, or its earliest deadline.
_Class = Column | datetime

#: A Kanban column: (entity type, pipeline id, stage id).
_StageKey = tuple[str, str, str]


#: (item's own reminder offsets or None, the portal's) -> the durations to subtract (F2).
_STEPS: dict[tuple[tuple[int, ...] | None, tuple[int, ...]], tuple[timedelta, ...]] = {}


def _steps(own: tuple[int, ...] | None, default: tuple[int, ...]) -> tuple[timedelta, ...]:
    found = _STEPS.get((own, default))
    if found is None:
        offsets = with_deadline(default if own is None else own)
        found = _STEPS[(own, default)] = tuple(timedelta(minutes=m) for m in offsets)
    return found


def line_of(
    item: Item,
    activities: Iterable[Activity],
    events: Iterable[TimelineEvent],
    default_offsets: tuple[int, ...],
) -> Line:
    """The item's focus timeline as plain data: what `focus_timeline` builds (F2).

    The same sources as `raw_sources`, without their reasons (the hot path
    of building 100,000 timelines): incoming messages, comments by others
    than the responsible, incoming call/e-mail/chat activities, reminders
    reached before a reschedule, and each reminder instant while open.
    Every stored instant is already in UTC.
    """
    created = item.created_at
    item_id = item.id
    responsible = item.responsible_id
    found: set[datetime] = set()
    add = found.add
    for event in events:
        if event.item_id == item_id and (
            isinstance(event, IncomingMessage)
            or (isinstance(event, CommentAdded) and event.author_id != responsible)
        ):
            add(event.at)
    for activity in activities:
        if item_id not in activity.item_ids:
            continue
        if is_incoming_event(activity):
            add(activity.created_at)
        if activity.reminded_at is not None:
            add(activity.reminded_at)
        deadline = activity.deadline
        if deadline is None or activity.incoming:
            continue
        completed = activity.completed_at
        for step in _steps(activity.reminder_offsets, default_offsets):
            at = deadline - step
            if completed is None or at <= completed:
                add(at)
    kept = sorted(found)
    if kept and kept[0] <= created:  # rare: an instant at or before the creation is no rise
        kept = [at for at in kept if at > created]
    return (created, tuple(kept))


def class_of(open_activities: Collection[Activity]) -> _Class:
    """What decides the item's Activities view column, as `place_item` reads it (V1)."""
    if not open_activities:
        return Column.NO_ACTIVITIES
    earliest: datetime | None = None
    for activity in open_activities:
        if activity.incoming:
            return Column.TODAY
        deadline = activity.deadline
        if deadline is not None and (earliest is None or deadline < earliest):
            earliest = deadline
    return Column.LATER if earliest is None else earliest


def _stage_key(item: Item) -> _StageKey | None:
    if item.pipeline_id is None or item.stage_id is None:
        return None
    return (item.entity_type, item.pipeline_id, item.stage_id)


_Bounds = tuple[datetime, datetime, datetime, datetime]


def _bounds(today: date, zone: tzinfo, week_start: int) -> _Bounds:
    """First instants of today, tomorrow, next week and the week after, in UTC (V1)."""
    next_week = week_start_of(today, week_start) + _WEEK
    return (  # in UTC: comparing instants of one zone is the cheap comparison
        day_start(today, zone).astimezone(UTC),
        day_start(today + _ONE_DAY, zone).astimezone(UTC),
        day_start(next_week, zone).astimezone(UTC),
        day_start(next_week + _WEEK, zone).astimezone(UTC),
    )


def _column_by(deadline: datetime, bounds: _Bounds) -> Column:
    if deadline < bounds[0]:
        return Column.OVERDUE
    if deadline < bounds[1]:
        return Column.TODAY
    if deadline < bounds[2]:
        return Column.THIS_WEEK
    if deadline < bounds[3]:
        return Column.NEXT_WEEK
    return Column.LATER


class _LiveView:
    """One user's Activities view columns, each a `LiveColumn`, for the day last asked about."""

    def __init__(
        self,
        classes: dict[str, _Class],
        lines: Mapping[str, Line],
        zone: tzinfo,
        week_start: int,
        now: datetime,
    ) -> None:
        self.zone = zone
        self.week_start = week_start
        self.today = now.astimezone(zone).date()
        self.bounds = _bounds(self.today, zone, week_start)
        self.classes = classes
        self.deadlines = SortedKeys(
            (found, item_id) for item_id, found in classes.items() if isinstance(found, datetime)
        )
        self.column_of: dict[str, Column] = {}
        grouped: dict[Column, dict[str, Line]] = {column: {} for column in Column}
        for item_id, found in classes.items():
            column = self._column(found)
            self.column_of[item_id] = column
            grouped[column][item_id] = lines[item_id]
        self.columns = {column: LiveColumn(grouped[column], now) for column in Column}

    def _column(self, found: _Class) -> Column:
        return found if isinstance(found, Column) else _column_by(found, self.bounds)

    def set_day(self, now: datetime, lines: Mapping[str, Line]) -> None:
        """Move the items whose column changes when the local day becomes `now`'s (V1)."""
        today = now.astimezone(self.zone).date()
        if today == self.today:
            return
        old, new = self.bounds, _bounds(today, self.zone, self.week_start)
        self.today, self.bounds = today, new
        # Only deadlines between an old boundary and its new place change column.
        moving: dict[str, datetime] = {}
        for before, after in zip(old, new, strict=True):
            low, high = min(before, after), max(before, after)
            for deadline, item_id in self.deadlines.below((high, "")):
                if deadline < low:
                    break
                moving[item_id] = deadline
        for item_id, deadline in moving.items():
            self._move(item_id, _column_by(deadline, new), lines[item_id])

    def _move(self, item_id: str, column: Column, line: Line) -> None:
        was = self.column_of.get(item_id)
        if was is not column:
            if was is not None:
                self.columns[was].discard(item_id)
            self.column_of[item_id] = column
        self.columns[column].put(item_id, line)

    def put(self, item_id: str, found: _Class, line: Line) -> None:
        """Add the item or update its class and timeline."""
        old = self.classes.get(item_id)
        if old != found:
            if isinstance(old, datetime):
                self.deadlines.remove((old, item_id))
            if isinstance(found, datetime):
                self.deadlines.add((found, item_id))
            self.classes[item_id] = found
        self._move(item_id, self._column(found), line)

    def discard(self, item_id: str) -> None:
        """Remove the item if present."""
        old = self.classes.pop(item_id, None)
        if isinstance(old, datetime):
            self.deadlines.remove((old, item_id))
        column = self.column_of.pop(item_id, None)
        if column is not None:
            self.columns[column].discard(item_id)

    def first_due(self) -> str | None:
        """The item with the earliest deadline not before today: it moves column first."""
        found = self.deadlines.first_from((self.bounds[0], ""))
        return None if found is None else found[1]


@attrs.frozen
class Reads:
    """How `LivePages` reads an item's activities and events (a storage may offer cheaper
    reads than its public ones: no copies, no sorting)."""

    activities_of: Callable[[str], Collection[Activity]]
    events_of: Callable[[str], Collection[TimelineEvent]]
    open_of: Callable[[str], Collection[Activity]]

    @classmethod
    def of(cls, storage: Storage) -> Reads:
        """The storage's public reads."""
        return cls(
            storage.activities_of_item, storage.events_of_item, storage.open_activities_of_item
        )


class LivePages:
    """Every Kanban column and the asked-for users' Activities views, kept up to date.

    Reads (`kanban_page`, `view_pages`) re-key lazily and writes (`touch`)
    update in place; a lock serialises both, so threads may share the storage
    for reads as before.
    """

    def __init__(
        self,
        storage: Storage,
        now: datetime,
        *,
        reads: Reads | None = None,
    ) -> None:
        self._storage = storage
        self._reads = reads if reads is not None else Reads.of(storage)
        self._lock = threading.Lock()
        self._now = now
        self._offsets = storage.settings.focus_reminder_offsets
        self._lines: dict[str, Line] = {}
        self._stage_of: dict[str, _StageKey | None] = {}
        self._user_of: dict[str, str] = {}
        grouped: dict[_StageKey, dict[str, Line]] = {}
        for item in storage.items():
            line = self._line(item)
            self._lines[item.id] = line
            self._user_of[item.id] = item.responsible_id
            key = self._stage_of[item.id] = _stage_key(item)
            if key is not None:
                grouped.setdefault(key, {})[item.id] = line
        self._kanban = {key: LiveColumn(lines, now) for key, lines in grouped.items()}
        self._views: dict[str, _LiveView] = {}

    def _line(self, item: Item) -> Line:
        reads = self._reads
        return line_of(item, reads.activities_of(item.id), reads.events_of(item.id), self._offsets)

    # -- reads ----------------------------------------------------------------

    def kanban_page(
        self, stage: _StageKey, now: datetime, limit: int | None, after: FocusKey | None
    ) -> FocusPage:
        """A page of one Kanban column at `now`."""
        with self._lock:
            self._now = now
            column = self._kanban.get(stage)
            if column is None:
                column = self._kanban[stage] = LiveColumn({}, now)
            return column.page(now, limit, after)

    def view_pages(
        self,
        user_id: str,
        now: datetime,
        limit: int | None,
        column: Column | None,
        after: FocusKey | None,
    ) -> tuple[dict[Column, FocusPage], datetime | None]:
        """Pages of a user's view columns at `now`, and when an item first changes column."""
        with self._lock:
            self._now = now
            view = self._view(user_id, now)
            view.set_day(now, self._lines)
            shown = tuple(Column) if column is None else (column,)
            pages = {one: view.columns[one].page(now, limit, after) for one in shown}
            first = view.first_due()
            moves = None
            if first is not None:
                open_activities = self._storage.open_activities_of_item(first)
                moves = place_item(
                    open_activities, now, zone=view.zone, week_start=view.week_start
                ).moves_at
            return pages, moves

    def _view(self, user_id: str, now: datetime) -> _LiveView:
        view = self._views.get(user_id)
        if view is None:
            storage = self._storage
            open_of = self._reads.open_of
            classes = {item.id: class_of(open_of(item.id)) for item in storage.items_of(user_id)}
            view = _LiveView(
                classes,
                self._lines,
                storage.user(user_id).zone,
                storage.settings.week_start,
                now,
            )
            self._views[user_id] = view
        return view

    # -- writes ---------------------------------------------------------------

    def touch(self, item_ids: Iterable[str], user_ids: Iterable[str] = ()) -> None:
        """Bring these items (and these users' views) in line with what is stored now."""
        with self._lock:
            for user_id in user_ids:
                self._views.pop(user_id, None)  # the zone may have changed: rebuild on demand
            for item_id in item_ids:
                self._touch(item_id)

    def _touch(self, item_id: str) -> None:
        storage = self._storage
        old_stage = self._stage_of.get(item_id)
        old_user = self._user_of.get(item_id)
        try:
            item: Item | None = storage.item(item_id)
        except UnknownIdError:
            item = None
        if item is None:
            self._lines.pop(item_id, None)
            self._stage_of.pop(item_id, None)
            self._user_of.pop(item_id, None)
            if old_stage is not None:
                self._kanban[old_stage].discard(item_id)
            if old_user is not None and old_user in self._views:
                self._views[old_user].discard(item_id)
            return
        line = self._lines[item_id] = self._line(item)
        stage = self._stage_of[item_id] = _stage_key(item)
        if old_stage is not None and old_stage != stage:
            self._kanban[old_stage].discard(item_id)
        if stage is not None:
            column = self._kanban.get(stage)
            if column is None:
                column = self._kanban[stage] = LiveColumn({}, self._now)
            column.put(item_id, line)
        user = self._user_of[item_id] = item.responsible_id
        if old_user is not None and old_user != user and old_user in self._views:
            self._views[old_user].discard(item_id)
        view = self._views.get(user)
        if view is not None:
            view.put(item_id, class_of(self._reads.open_of(item_id)), line)

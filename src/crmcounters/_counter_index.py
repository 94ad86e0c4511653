"""`CounterIndex`: counters kept up to date per change, read in O(1) (C1-C11 at scale).

Plain mutable data inside (no attrs objects per activity): one small slotted
record per open activity, running tallies per user and per (user, section),
and lazy heaps of the instants at which activities start to count (a global
one that moves them into Planned as the clock advances, and one per tally that
answers `valid_until`). Stale heap entries are skipped when they surface.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo

from . import _validate as v
from ._access import AccessPolicy, SectionFilter, readable_sections
from ._activities import Activity
from ._cap import over_cap
from ._counters import (
    CounterResult,
    CounterSum,
    blocked_result,
    lit_at,
    midnight,
    resolve_users,
)
from ._errors import DanglingReferenceError, UnknownIdError, ValidationError
from ._items import Item
from ._pipelines import has_pipelines
from ._sections import EVERY_SECTION, Scope, SectionKey, section_scope
from ._settings import CounterMode, PlannedRule
from ._storage import Storage

__all__ = ["CounterIndex"]

# A heap entry: (instant it starts to count, sequence, activity id, activity version).
_HeapEntry = tuple[datetime, int, str, int]

# The state of one (activity, item) pair for its user: what it adds to the tallies.
_INCOMING, _PLANNED, _WAITING = 0, 1, 2


class _Open:
    """What the index remembers of one open activity.

    `counted` holds the users for whom it counts in Planned now (None: nobody):
    every owner at once under C4, each at their own midnight under C11.
    """

    __slots__ = (
        "counted",
        "deadline",
        "id",
        "incoming",
        "item_ids",
        "lit_at",
        "responsible_id",
        "version",
    )

    def __init__(
        self,
        activity_id: str,
        item_ids: tuple[str, ...],
        responsible_id: str,
        incoming: bool,
        lit_at: datetime | None,
        deadline: datetime | None,
        version: int,
    ) -> None:
        self.id = activity_id
        self.item_ids = item_ids
        self.responsible_id = responsible_id
        self.incoming = incoming
        self.lit_at = lit_at
        self.deadline = deadline
        self.version = version
        self.counted: set[str] | None = None


class _Tally:
    """Running numbers: one user's, over every section or over one section (C10)."""

    __slots__ = (
        "incoming",
        "incoming_items",
        "items",
        "open_once",
        "open_own",
        "pending",
        "planned",
        "planned_items",
    )

    def __init__(self) -> None:
        self.incoming = 0
        self.planned = 0
        self.incoming_items = 0  # items with at least one counted incoming activity
        self.planned_items = 0  # items with at least one counted planned activity
        self.items = 0  # items with either
        self.open_once = 0  # open activities of the user's items, each once (C8, item mode)
        self.open_own = 0  # open activities whose own responsible is the user (C8, activity mode)
        self.pending: list[_HeapEntry] = []  # instants still to come, lazily cleaned


class CounterIndex:
    """Every user's counters, per section too, maintained per change and read in O(1).

    Build it once with `CounterIndex.build(storage, now)`; after each write to
    the storage, report the same change here (`put_activity`, `remove_activity`,
    `put_item`, `remove_item`), and move time with `advance_to(now)`. Each
    change costs O(log n) (reassigning or moving an item to another section:
    per open activity of the item). `counters(user_id)` answers exactly what
    `counters_of` would compute from the storage at the index's `now`, for
    every section or one (C10).

    The storage is kept for user lookups and access checks (C7); the settings
    (counter mode, Planned rule, urgency offset, cap) and the users' zones are
    read when needed first and kept: after changing them, build a new index.
    Not for sharing between threads without a lock: reads clean heaps.
    """

    def __init__(self, storage: Storage, now: datetime) -> None:
        self._storage = storage
        self._now = v.instant("now", now)
        settings = storage.settings
        self._by_activity = settings.counter_mode is CounterMode.ACTIVITY_RESPONSIBLE
        self._due_today = settings.planned_rule is PlannedRule.DUE_TODAY
        self._default_offset = timedelta(minutes=settings.urgency_offset_minutes)
        self._cap = settings.open_activity_cap
        self._zones: dict[str, tzinfo] = {}
        self._owner_of_item: dict[str, str] = {}
        self._section_of_item: dict[str, SectionKey] = {}
        self._open: dict[str, _Open] = {}
        # Completed activities the index knows: id -> bound items, and item -> their ids,
        # so deleting an item forgets those bound only to it, as the storage does.
        self._closed: dict[str, tuple[str, ...]] = {}
        self._closed_of_item: dict[str, dict[str, None]] = {}
        self._open_of_item: dict[str, dict[str, None]] = {}
        self._pair_counts: dict[tuple[str, str], list[int]] = {}  # (user, item) -> [in, lit]
        # (user, activity) -> how many of the user's items an open multi-item activity is bound to
        self._shared: dict[tuple[str, str], int] = {}
        self._tallies: dict[str, _Tally] = {}
        self._sections: dict[str, dict[SectionKey, _Tally]] = {}
        self._heap: list[_HeapEntry] = []
        self._sequence = 0
        self._scopes: dict[Scope, Scope] = {}

    @classmethod
    def build(cls, storage: Storage, now: datetime) -> CounterIndex:
        """An index of every item and activity in `storage`, at instant `now`."""
        index = cls(storage, now)
        items = tuple(storage.items())  # read once: a SQL storage queries and builds each item
        for item in items:
            index._owner_of_item[item.id] = item.responsible_id
            index._section_of_item[item.id] = (item.entity_type, item.pipeline_id)
        seen: set[str] = set()
        for item in items:
            for activity in storage.activities_of_item(item.id):
                if activity.id not in seen:
                    seen.add(activity.id)
                    index._put(activity)
        return index

    # -- reads ----------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The instant the index answers for."""
        return self._now

    def counters(
        self,
        user_id: str,
        *,
        entity_type: str | None = None,
        pipeline_id: str | None = None,
        viewer_id: str | None = None,
        policy: AccessPolicy | None = None,
    ) -> CounterResult:
        """`user_id`'s counters at `now`, as `viewer_id` may read them (C1-C11, C7).

        With `entity_type` (and `pipeline_id`), one section's counters (C10).
        """
        scope = EVERY_SECTION
        if entity_type is not None or pipeline_id is not None:
            scope = self._scope(entity_type, pipeline_id)
        readable: SectionFilter = None
        if policy is None and (viewer_id is None or viewer_id == user_id):
            self._storage.user(user_id)  # own counters: the default policy allows them
        else:
            viewer = user_id if viewer_id is None else viewer_id
            readable = readable_sections(self._storage, viewer, user_id, policy, *scope)
        return self._result(user_id, scope, readable)

    def summed(
        self,
        *,
        viewer_id: str,
        user_ids: Iterable[str] | None = None,
        entity_type: str | None = None,
        pipeline_id: str | None = None,
        policy: AccessPolicy | None = None,
    ) -> CounterSum:
        """The counters of several users added up, like `summed_counters` (C7, C10)."""
        scope = self._scope(entity_type, pipeline_id)
        chosen = resolve_users(self._storage, viewer_id, user_ids, policy, scope)
        parts = [self._result(one, scope, readable) for one, readable in chosen]
        return CounterSum.of(self._now, parts, scope)

    def _scope(self, entity_type: str | None, pipeline_id: str | None) -> Scope:
        """The checked scope of a read, remembered: pipelines do not change entity type."""
        key = (entity_type, pipeline_id)
        scope = self._scopes.get(key)
        if scope is None:
            scope = self._scopes[key] = section_scope(self._storage, entity_type, pipeline_id)
        return scope

    def _result(self, user_id: str, scope: Scope, readable: SectionFilter) -> CounterResult:
        total = self._tallies.get(user_id)
        if total is None:
            total = _Tally()
        count = total.open_own if self._by_activity else total.open_once
        if over_cap(count, self._cap):
            return blocked_result(user_id, self._now, count, self._cap, scope)
        if scope == EVERY_SECTION and readable is None:
            tally, until = total, self._next_change(user_id, None, total)
        else:
            tally, until = self._sum(user_id, scope, readable)
        return CounterResult(
            user_id=user_id,
            at=self._now,
            incoming=tally.incoming,
            planned=tally.planned,
            incoming_items=tally.incoming_items,
            planned_items=tally.planned_items,
            items=tally.items,
            blocked=False,
            open_activities=count,
            cap=self._cap,
            valid_until=until,
            entity_type=scope[0],
            pipeline_id=scope[1],
        )

    def _sum(
        self, user_id: str, scope: Scope, readable: SectionFilter
    ) -> tuple[_Tally, datetime | None]:
        """The user's sections in `scope` the viewer may read, added up, and their next change."""
        of_user = self._sections.get(user_id, {})
        entity_type, pipeline_id = scope
        if entity_type is not None and (pipeline_id is not None or not has_pipelines(entity_type)):
            single: SectionKey = (entity_type, pipeline_id)  # one section: one tally
            one = of_user.get(single)
            if one is None or (readable is not None and not readable(*single)):
                return _Tally(), None
            return one, self._next_change(user_id, single, one)
        found = _Tally()
        until: datetime | None = None
        for key, tally in of_user.items():
            if (entity_type is not None and key[0] != entity_type) or (
                readable is not None and not readable(*key)
            ):
                continue
            found.incoming += tally.incoming
            found.planned += tally.planned
            found.incoming_items += tally.incoming_items
            found.planned_items += tally.planned_items
            found.items += tally.items
            change = self._next_change(user_id, key, tally)
            if change is not None and (until is None or change < until):
                until = change
        return found, until

    def _next_change(
        self, user_id: str, section: SectionKey | None, tally: _Tally
    ) -> datetime | None:
        """The earliest instant an activity of the tally starts to count, its heap cleaned."""
        pending = tally.pending
        while pending:
            _, _, activity_id, version = pending[0]
            entry = self._open.get(activity_id)
            if (
                entry is not None
                and entry.version == version
                and not (entry.counted is not None and user_id in entry.counted)
                and self._feeds(entry, user_id, section)
            ):
                return pending[0][0]
            heapq.heappop(pending)
        return None

    def _feeds(self, entry: _Open, user_id: str, section: SectionKey | None) -> bool:
        """True when the open activity feeds `user_id`'s tally of `section` (None: any)."""
        for item_id in entry.item_ids:
            if self._owner(entry, item_id) == user_id and (
                section is None or self._section_of_item[item_id] == section
            ):
                return True
        return False

    # -- changes --------------------------------------------------------------

    def put_activity(self, activity: Activity) -> None:
        """An activity was added, completed, rescheduled, reassigned or rebound."""
        if not isinstance(activity, Activity):
            kind = type(activity).__name__
            raise ValidationError("activity", f"expected an Activity, got {kind}")
        for index, item_id in enumerate(activity.item_ids):
            if item_id not in self._owner_of_item:
                raise DanglingReferenceError(
                    "activity", activity.id, f"item_ids[{index}]", "item", item_id
                )
        if self._due_today:
            self._zone(activity.responsible_id)  # an unknown user fails here, before any change
        self._put(activity)

    def remove_activity(self, activity_id: str) -> None:
        """An activity was deleted: it stops counting at once."""
        if activity_id in self._closed:
            self._forget_closed(activity_id)
            return
        if activity_id not in self._open:
            raise UnknownIdError("activity", activity_id)
        self._drop(activity_id)

    def put_item(self, item: Item) -> None:
        """An item was added, or changed: a new responsible (C2) or section (C10) moves its counts.

        Like the storage, refuses an item whose responsible is not a stored user
        (`DanglingReferenceError`), leaving the index unchanged (G5).
        """
        if not isinstance(item, Item):
            raise ValidationError("item", f"expected an Item, got {type(item).__name__}")
        try:
            self._storage.user(item.responsible_id)
            if self._due_today:
                self._zone(item.responsible_id)
        except UnknownIdError:
            raise DanglingReferenceError(
                "item", item.id, "responsible_id", "user", item.responsible_id
            ) from None
        section = (item.entity_type, item.pipeline_id)
        old = self._owner_of_item.get(item.id)
        if old is None:
            self._owner_of_item[item.id] = item.responsible_id
            self._section_of_item[item.id] = section
            return
        if old == item.responsible_id and self._section_of_item[item.id] == section:
            return
        bound = [self._open[activity_id] for activity_id in self._open_of_item.get(item.id, ())]
        for entry in bound:
            self._count(entry, item.id, -1, self._status(entry, self._owner(entry, item.id)))
        self._owner_of_item[item.id] = item.responsible_id
        self._section_of_item[item.id] = section
        for entry in bound:
            self._tidy(entry)
            self._count_new(entry, item.id)

    def remove_item(self, item_id: str) -> None:
        """An item was deleted with its activities; those bound to other items stay, unbound."""
        if item_id not in self._owner_of_item:
            raise UnknownIdError("item", item_id)
        for activity_id in tuple(self._closed_of_item.get(item_id, ())):
            rest = tuple(i for i in self._closed[activity_id] if i != item_id)
            self._forget_closed(activity_id)
            if rest:
                self._remember_closed(activity_id, rest)
        for activity_id in tuple(self._open_of_item.get(item_id, ())):
            entry = self._open[activity_id]
            rest = tuple(i for i in entry.item_ids if i != item_id)
            self._unlink(activity_id, entry)
            if rest:
                entry.item_ids = rest
                self._tidy(entry)
                self._link(activity_id, entry)
            else:
                del self._open[activity_id]
                self._tally(entry.responsible_id).open_own -= 1
        self._open_of_item.pop(item_id, None)
        del self._owner_of_item[item_id]
        del self._section_of_item[item_id]

    def advance_to(self, now: datetime) -> None:
        """Move the index's clock forward to `now`, counting every activity due by then (C9)."""
        now = v.instant("now", now)
        if now < self._now:
            raise ValidationError(
                "now",
                f"the index only moves forward: {now.isoformat()} < {self._now.isoformat()}; "
                "build a new index to look back (X2)",
            )
        self._now = now
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, activity_id, version = heapq.heappop(heap)
            entry = self._open.get(activity_id)
            if entry is None or entry.version != version:
                continue
            for user_id in self._owners(entry):
                if entry.counted is not None and user_id in entry.counted:
                    continue
                start = self._start(entry, user_id)
                if start is None or start > now:
                    continue
                mine = [i for i in entry.item_ids if self._owner(entry, i) == user_id]
                for item_id in mine:
                    self._count(entry, item_id, -1, _WAITING)
                self._mark_counted(entry, user_id)
                for item_id in mine:
                    self._count(entry, item_id, +1, _PLANNED)

    # -- machinery ------------------------------------------------------------

    def _zone(self, user_id: str) -> tzinfo:
        zone = self._zones.get(user_id)
        if zone is None:
            zone = self._zones[user_id] = self._storage.user(user_id).zone
        return zone

    def _start(self, entry: _Open, user_id: str) -> datetime | None:
        """When the activity starts to count in `user_id`'s Planned (C4, C11), in UTC."""
        lit = entry.lit_at
        if lit is None or not self._due_today or entry.deadline is None:
            return lit
        zone = self._zone(user_id)
        return min(lit, midnight(entry.deadline.astimezone(zone).date(), zone))

    def _owner(self, entry: _Open, item_id: str) -> str:
        return entry.responsible_id if self._by_activity else self._owner_of_item[item_id]

    def _owners(self, entry: _Open) -> tuple[str, ...]:
        if self._by_activity:
            return (entry.responsible_id,)
        return tuple(dict.fromkeys(self._owner_of_item[i] for i in entry.item_ids))

    def _status(self, entry: _Open, user_id: str) -> int:
        if entry.incoming:
            return _INCOMING
        counted = entry.counted
        return _PLANNED if counted is not None and user_id in counted else _WAITING

    def _mark_counted(self, entry: _Open, user_id: str) -> None:
        if entry.counted is None:
            entry.counted = {user_id}
        else:
            entry.counted.add(user_id)

    def _tidy(self, entry: _Open) -> None:
        """Forget counted users who no longer own any of the activity's items."""
        if entry.counted:
            entry.counted.intersection_update(self._owners(entry))

    def _put(self, activity: Activity) -> None:
        if activity.id in self._open:
            self._drop(activity.id)
        if activity.id in self._closed:
            self._forget_closed(activity.id)
        if not activity.is_open:
            self._remember_closed(activity.id, activity.item_ids)
            return
        self._sequence += 1
        entry = _Open(
            activity_id=activity.id,
            item_ids=activity.item_ids,
            responsible_id=activity.responsible_id,
            incoming=activity.incoming,
            lit_at=lit_at(activity, self._default_offset),
            deadline=activity._utc_deadline,
            version=self._sequence,
        )
        self._open[activity.id] = entry
        self._tally(activity.responsible_id).open_own += 1
        self._link(activity.id, entry)

    def _remember_closed(self, activity_id: str, item_ids: tuple[str, ...]) -> None:
        self._closed[activity_id] = item_ids
        for item_id in item_ids:
            self._closed_of_item.setdefault(item_id, {})[activity_id] = None

    def _forget_closed(self, activity_id: str) -> None:
        for item_id in self._closed.pop(activity_id):
            bucket = self._closed_of_item[item_id]
            del bucket[activity_id]
            if not bucket:
                del self._closed_of_item[item_id]

    def _drop(self, activity_id: str) -> None:
        entry = self._open.pop(activity_id)
        self._unlink(activity_id, entry)
        self._tally(entry.responsible_id).open_own -= 1

    def _link(self, activity_id: str, entry: _Open) -> None:
        for item_id in entry.item_ids:
            self._open_of_item.setdefault(item_id, {})[activity_id] = None
            self._count_new(entry, item_id)

    def _count_new(self, entry: _Open, item_id: str) -> None:
        """Count a new (activity, item) pair: in Planned now, or from its start on (C9)."""
        user_id = self._owner(entry, item_id)
        status = self._status(entry, user_id)
        if status == _WAITING:
            start = self._start(entry, user_id)
            if start is not None and start <= self._now:
                self._mark_counted(entry, user_id)
                status = _PLANNED
            elif start is not None:
                self._sequence += 1
                heapq.heappush(self._heap, (start, self._sequence, entry.id, entry.version))
        self._count(entry, item_id, +1, status)

    def _unlink(self, activity_id: str, entry: _Open) -> None:
        for item_id in entry.item_ids:
            bucket = self._open_of_item[item_id]
            del bucket[activity_id]
            if not bucket:
                del self._open_of_item[item_id]
            self._count(entry, item_id, -1, self._status(entry, self._owner(entry, item_id)))

    def _tally(self, user_id: str) -> _Tally:
        tally = self._tallies.get(user_id)
        if tally is None:
            tally = self._tallies[user_id] = _Tally()
        return tally

    def _section_tally(self, user_id: str, section: SectionKey) -> _Tally:
        of_user = self._sections.get(user_id)
        if of_user is None:
            of_user = self._sections[user_id] = {}
        tally = of_user.get(section)
        if tally is None:
            tally = of_user[section] = _Tally()
        return tally

    def _count(self, entry: _Open, item_id: str, sign: int, status: int) -> None:
        """Add (sign +1) or take away (-1) one (activity, item) pair from its user's tallies.

        The user's tally over every section and that of the item's section
        change together; a pair that will count later is remembered in both
        heaps for `valid_until`.
        """
        user_id = self._owner(entry, item_id)
        total = self._tally(user_id)
        section = self._section_tally(user_id, self._section_of_item[item_id])
        if len(entry.item_ids) == 1:
            total.open_once += sign
        else:  # bound to several items, maybe several of this user's: count it once (C8)
            shared = self._shared
            key = (user_id, entry.id)
            before = shared.get(key, 0)
            after = before + sign
            if after:
                shared[key] = after
            else:
                del shared[key]
            if (before == 0) != (after == 0):
                total.open_once += sign
        if status == _WAITING:
            if sign > 0:
                start = self._start(entry, user_id)
                if start is not None:
                    pending = (start, entry.version, entry.id, entry.version)
                    heapq.heappush(total.pending, pending)
                    heapq.heappush(section.pending, pending)
            return
        for tally in (total, section):
            if status == _INCOMING:
                tally.incoming += sign
            else:
                tally.planned += sign
        key_pair = (user_id, item_id)
        counts = self._pair_counts.get(key_pair)
        if counts is None:
            counts = self._pair_counts[key_pair] = [0, 0]
        had = counts[0] > 0, counts[1] > 0
        counts[status] += sign
        has = counts[0] > 0, counts[1] > 0
        for tally in (total, section):
            if has[0] != had[0]:
                tally.incoming_items += 1 if has[0] else -1
            if has[1] != had[1]:
                tally.planned_items += 1 if has[1] else -1
            if any(has) != any(had):
                tally.items += 1 if any(has) else -1
        if not any(has):
            del self._pair_counts[key_pair]

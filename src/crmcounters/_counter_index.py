"""`CounterIndex`: counters kept up to date per change, read in O(1) (C1-C9 at scale).

Plain mutable data inside (no attrs objects per activity): one small slotted
record per open activity, per-user tallies, and two lazy heaps of lit times
(a global one that lights activities as the clock advances, and one per user
that answers `valid_until`). Stale heap entries are skipped when they surface.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime, timedelta

from . import _validate as v
from ._access import AccessPolicy, check_access
from ._activities import Activity
from ._cap import over_cap
from ._counters import (
    CounterResult,
    CounterSum,
    blocked_result,
    lit_at,
    resolve_users,
)
from ._errors import DanglingReferenceError, UnknownIdError, ValidationError
from ._items import Item
from ._settings import CounterMode
from ._storage import Storage

__all__ = ["CounterIndex"]

# A heap entry: (lit_at, sequence, activity id, activity version).
_HeapEntry = tuple[datetime, int, str, int]


class _Open:
    """What the index remembers of one open activity."""

    __slots__ = ("id", "incoming", "item_ids", "lit", "lit_at", "responsible_id", "version")

    def __init__(
        self,
        activity_id: str,
        item_ids: tuple[str, ...],
        responsible_id: str,
        incoming: bool,
        lit_at: datetime | None,
        lit: bool,
        version: int,
    ) -> None:
        self.id = activity_id
        self.item_ids = item_ids
        self.responsible_id = responsible_id
        self.incoming = incoming
        self.lit_at = lit_at
        self.lit = lit
        self.version = version


class _Tally:
    """One user's running numbers."""

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
        self.planned_items = 0  # items with at least one counted lit activity
        self.items = 0  # items with either
        self.open_once = 0  # open activities of the user's items, each once (C8, item mode)
        self.open_own = 0  # open activities whose own responsible is the user (C8, activity mode)
        self.pending: list[_HeapEntry] = []  # lit times still to come, lazily cleaned


class CounterIndex:
    """Every user's counters, maintained per change and read in O(1) (C1-C9).

    Build it once with `CounterIndex.build(storage, now)`; after each write to
    the storage, report the same change here (`put_activity`, `remove_activity`,
    `put_item`, `remove_item`), and move time with `advance_to(now)`. Each
    change costs O(log n) (reassigning or deleting an item: per open activity
    of the item). `counters(user_id)` answers exactly what `counters_of`
    would compute from the storage at the index's `now`.

    The storage is kept for user lookups and access checks (C7); the settings
    (counter mode, urgency offset, cap) are read once at build: after changing
    them, build a new index.
    """

    def __init__(self, storage: Storage, now: datetime) -> None:
        self._storage = storage
        self._now = v.instant("now", now)
        settings = storage.settings
        self._by_activity = settings.counter_mode is CounterMode.ACTIVITY_RESPONSIBLE
        self._default_offset = timedelta(minutes=settings.urgency_offset_minutes)
        self._cap = settings.open_activity_cap
        self._owner_of_item: dict[str, str] = {}
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
        self._heap: list[_HeapEntry] = []
        self._sequence = 0

    @classmethod
    def build(cls, storage: Storage, now: datetime) -> CounterIndex:
        """An index of every item and activity in `storage`, at instant `now`."""
        index = cls(storage, now)
        items = tuple(storage.items())  # read once: a SQL storage queries and builds each item
        for item in items:
            index._owner_of_item[item.id] = item.responsible_id
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
        viewer_id: str | None = None,
        policy: AccessPolicy | None = None,
    ) -> CounterResult:
        """`user_id`'s counters at `now`, as `viewer_id` may read them (C1-C9, C7)."""
        if policy is None and (viewer_id is None or viewer_id == user_id):
            self._storage.user(user_id)  # own counters: the default policy allows them
        else:
            check_access(
                self._storage, user_id if viewer_id is None else viewer_id, user_id, policy
            )
        return self._result(user_id)

    def summed(
        self,
        *,
        viewer_id: str,
        user_ids: Iterable[str] | None = None,
        policy: AccessPolicy | None = None,
    ) -> CounterSum:
        """The counters of several users added up, like `summed_counters` (C7)."""
        chosen = resolve_users(self._storage, viewer_id, user_ids, policy)
        return CounterSum.of(self._now, [self._result(one) for one in chosen])

    def _result(self, user_id: str) -> CounterResult:
        tally = self._tallies.get(user_id)
        if tally is None:
            tally = _Tally()
        count = tally.open_own if self._by_activity else tally.open_once
        if over_cap(count, self._cap):
            return blocked_result(user_id, self._now, count, self._cap)
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
            valid_until=self._next_lit(user_id, tally),
        )

    def _next_lit(self, user_id: str, tally: _Tally) -> datetime | None:
        pending = tally.pending
        while pending:
            _, _, activity_id, version = pending[0]
            entry = self._open.get(activity_id)
            if (
                entry is not None
                and entry.version == version
                and not entry.lit
                and user_id in self._owners(entry)
            ):
                return pending[0][0]
            heapq.heappop(pending)
        return None

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
        """An item was added, or changed (a new responsible moves its activities, C2).

        Like the storage, refuses an item whose responsible is not a stored user
        (`DanglingReferenceError`), leaving the index unchanged (G5).
        """
        if not isinstance(item, Item):
            raise ValidationError("item", f"expected an Item, got {type(item).__name__}")
        try:
            self._storage.user(item.responsible_id)
        except UnknownIdError:
            raise DanglingReferenceError(
                "item", item.id, "responsible_id", "user", item.responsible_id
            ) from None
        old = self._owner_of_item.get(item.id)
        if old == item.responsible_id:
            return
        if old is None or self._by_activity:
            self._owner_of_item[item.id] = item.responsible_id
            return
        bound = tuple(self._open_of_item.get(item.id, ()))
        for activity_id in bound:
            self._count(self._open[activity_id], item.id, -1)
        self._owner_of_item[item.id] = item.responsible_id
        for activity_id in bound:
            self._count(self._open[activity_id], item.id, +1, activity_id)

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
                self._link(activity_id, entry)
            else:
                del self._open[activity_id]
                self._tally(entry.responsible_id).open_own -= 1
        self._open_of_item.pop(item_id, None)
        del self._owner_of_item[item_id]

    def advance_to(self, now: datetime) -> None:
        """Move the index's clock forward to `now`, lighting every activity due by then (C9)."""
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
            if entry is None or entry.version != version or entry.lit:
                continue
            for item_id in entry.item_ids:
                self._count(entry, item_id, -1)
            entry.lit = True
            for item_id in entry.item_ids:
                self._count(entry, item_id, +1)

    # -- machinery ------------------------------------------------------------

    def _put(self, activity: Activity) -> None:
        if activity.id in self._open:
            self._drop(activity.id)
        if activity.id in self._closed:
            self._forget_closed(activity.id)
        if not activity.is_open:
            self._remember_closed(activity.id, activity.item_ids)
            return
        lights = lit_at(activity, self._default_offset)
        self._sequence += 1
        entry = _Open(
            activity_id=activity.id,
            item_ids=activity.item_ids,
            responsible_id=activity.responsible_id,
            incoming=activity.incoming,
            lit_at=lights,
            lit=lights is not None and lights <= self._now,
            version=self._sequence,
        )
        self._open[activity.id] = entry
        self._tally(activity.responsible_id).open_own += 1
        self._link(activity.id, entry)
        if lights is not None and not entry.lit:
            heapq.heappush(self._heap, (lights, self._sequence, activity.id, entry.version))

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
            self._count(entry, item_id, +1, activity_id)

    def _unlink(self, activity_id: str, entry: _Open) -> None:
        for item_id in entry.item_ids:
            bucket = self._open_of_item[item_id]
            del bucket[activity_id]
            if not bucket:
                del self._open_of_item[item_id]
            self._count(entry, item_id, -1)

    def _owners(self, entry: _Open) -> tuple[str, ...]:
        if self._by_activity:
            return (entry.responsible_id,)
        owner = self._owner_of_item
        return tuple(owner[i] for i in entry.item_ids)

    def _tally(self, user_id: str) -> _Tally:
        tally = self._tallies.get(user_id)
        if tally is None:
            tally = self._tallies[user_id] = _Tally()
        return tally

    def _count(self, entry: _Open, item_id: str, sign: int, activity_id: str = "") -> None:
        """Add (sign +1) or take away (-1) one (activity, item) pair from its user's tally.

        On adding a pair that will light later, `activity_id` is remembered in
        the user's heap for `valid_until`.
        """
        user_id = entry.responsible_id if self._by_activity else self._owner_of_item[item_id]
        tally = self._tally(user_id)
        if len(entry.item_ids) == 1:
            tally.open_once += sign
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
                tally.open_once += sign
        if entry.incoming:
            slot = 0
            tally.incoming += sign
        elif entry.lit:
            slot = 1
            tally.planned += sign
        else:
            if sign > 0 and entry.lit_at is not None and activity_id:
                heapq.heappush(
                    tally.pending, (entry.lit_at, entry.version, activity_id, entry.version)
                )
            return
        key = (user_id, item_id)
        counts = self._pair_counts.get(key)
        if counts is None:
            counts = self._pair_counts[key] = [0, 0]
        had = counts[0] > 0, counts[1] > 0
        counts[slot] += sign
        has = counts[0] > 0, counts[1] > 0
        if has[0] != had[0]:
            tally.incoming_items += 1 if has[0] else -1
        if has[1] != had[1]:
            tally.planned_items += 1 if has[1] else -1
        if any(has) != any(had):
            tally.items += 1 if any(has) else -1
        if not any(has):
            del self._pair_counts[key]

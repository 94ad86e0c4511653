"""The in-memory index of reminder pings (N1): an hour's pings read without a scan.

Pings are filed by the UTC hour they fall in, each hour a list kept in the
feed's order; a window bisects its first and last hours and takes the hours
between whole (for a window longer than the hours filed, only the filed
hours inside it). Each activity's pings are replaced whole when the activity
is written, so a completion, a moved deadline or new offsets drop or move
them; a deletion drops them. `ping_rows` is also what SQL stores.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime

from ._activities import Activity
from ._gc import collector_paused
from ._reminders import Reminder, from_us, utc_us, window
from .focus._sources import reminder_offsets

__all__ = ["PingRow", "ReminderIndex", "ping_rows", "pings_from", "reminders_from"]

_MINUTE_US = 60_000_000
_HOUR_US = 60 * _MINUTE_US

#: One ping as plain data: (instant us, activity id, offset, item id, recipient id, deadline us).
PingRow = tuple[int, str, int, str, str, int]


def ping_rows(activity: Activity, default_offsets: tuple[int, ...]) -> list[PingRow]:
    """The activity's pings as plain rows (what the index files and SQL stores), N1."""
    if activity.deadline is None or activity.incoming:
        return []
    return pings_from(
        activity.id,
        activity.item_ids[0],
        activity.responsible_id,
        utc_us(activity.deadline),
        None if activity.completed_at is None else utc_us(activity.completed_at),
        reminder_offsets(activity, default_offsets),
    )


def pings_from(
    activity_id: str,
    item_id: str,
    recipient_id: str,
    deadline_us: int,
    completed_us: int | None,
    offsets: tuple[int, ...],
) -> list[PingRow]:
    """`reminder_instants`' arithmetic on whole microseconds: a row per offset (the deadline's
    own, 0, among `offsets`), none after the completion."""
    rows = []
    for offset in offsets:
        at = deadline_us - offset * _MINUTE_US
        if completed_us is None or at <= completed_us:  # after the completion it never fires
            rows.append((at, activity_id, offset, item_id, recipient_id, deadline_us))
    return rows


def reminders_from(rows: Iterable[PingRow]) -> tuple[Reminder, ...]:
    """Rows of `ping_rows` as the feed's values, in the order given.

    Pings share instants (deadlines fall on whole minutes), so each instant
    is turned into a datetime once per call: that conversion, not the
    index, is most of an hour's feed.
    """
    instants: dict[int, datetime] = {}

    def instant(us: int) -> datetime:
        found = instants.get(us)
        if found is None:
            found = instants[us] = from_us(us)
        return found

    make = Reminder._make
    return tuple(
        make((instant(at), activity_id, item_id, recipient_id, offset, instant(deadline)))
        for at, activity_id, offset, item_id, recipient_id, deadline in rows
    )


#: A filed ping: (instant in microseconds, activity id, offset, the feed's value). Sorted, these
#: are the feed's order: instant, then activity id (one activity has one ping per instant).
_Filed = tuple[int, str, int, Reminder]


class ReminderIndex:
    """Reminder pings by UTC hour, each hour a sorted list, kept in step with the activities put
    and removed (N1).

    Each ping is filed as the `Reminder` the feed returns (built once, when
    the activity is put): a read bisects the first and last hours of the
    window, takes the hours between whole, and sorts nothing. A write
    inserts and deletes in its hours' lists. `InMemoryStorage` keeps one once
    the feed is first read. Not for sharing between threads without a lock.
    """

    def __init__(self, default_offsets: tuple[int, ...]) -> None:
        self._default_offsets = default_offsets
        self._hours: dict[int, list[_Filed]] = {}
        self._filed: dict[str, tuple[tuple[int, int], ...]] = {}  # activity id -> (at, offset)

    @classmethod
    def of(cls, activities: Iterable[Activity], default_offsets: tuple[int, ...]) -> ReminderIndex:
        """An index of every ping of `activities` (each hour sorted once, at the end)."""
        index = cls(default_offsets)
        instants: dict[int, datetime] = {}  # pings share instants: one datetime each
        # Millions of new tuples that all live on would set off full collections over the
        # whole heap again and again (most of a build's time); they form no cycles.
        with collector_paused():
            for activity in activities:
                index._file(activity, sort=False, instants=instants)
        for pings in index._hours.values():
            pings.sort()
        return index

    def put(self, activity: Activity) -> None:
        """File the activity's pings, replacing those it had."""
        self._file(activity, sort=True)

    def _file(
        self, activity: Activity, *, sort: bool, instants: dict[int, datetime] | None = None
    ) -> None:
        if activity.id in self._filed:
            self.remove(activity.id)
        rows = ping_rows(activity, self._default_offsets)
        if not rows:
            return
        make = Reminder._make
        filed = []
        for at, activity_id, offset, item_id, recipient_id, deadline_us in rows:
            hour = at // _HOUR_US
            pings = self._hours.get(hour)
            if pings is None:
                pings = self._hours[hour] = []
            if instants is None:
                when, deadline = from_us(at), from_us(deadline_us)
            else:
                when = instants.get(at) or instants.setdefault(at, from_us(at))
                deadline = instants.get(deadline_us) or instants.setdefault(
                    deadline_us, from_us(deadline_us)
                )
            ping = make((when, activity_id, item_id, recipient_id, offset, deadline))
            if sort:
                bisect.insort(pings, (at, activity_id, offset, ping))
            else:
                pings.append((at, activity_id, offset, ping))
            filed.append((at, offset))
        self._filed[activity.id] = tuple(filed)

    def remove(self, activity_id: str) -> None:
        """Drop the activity's pings (a deleted activity)."""
        for at, offset in self._filed.pop(activity_id, ()):
            hour = at // _HOUR_US
            pings = self._hours[hour]
            del pings[bisect.bisect_left(pings, (at, activity_id, offset))]
            if not pings:
                del self._hours[hour]

    def reminders_between(
        self, start: datetime, end: datetime, user_id: str | None = None
    ) -> tuple[Reminder, ...]:
        """The pings in `[start, end)`, in time order, of one recipient or all (N1)."""
        start, end = window(start, end)
        return self.between_us(utc_us(start), utc_us(end), user_id)

    def between_us(
        self, start_us: int, end_us: int, user_id: str | None = None
    ) -> tuple[Reminder, ...]:
        """The pings in `[start_us, end_us)` (microseconds since the epoch), in time order."""
        if end_us <= start_us:
            return ()
        first, last = start_us // _HOUR_US, (end_us - 1) // _HOUR_US
        if last - first < len(self._hours):
            hours: Iterable[int] = range(first, last + 1)
        else:  # a long window: only the hours that hold pings
            hours = sorted(hour for hour in self._hours if first <= hour <= last)
        found: list[Reminder] = []
        for hour in hours:
            pings = self._hours.get(hour)
            if pings is None:
                continue
            low = 0 if hour > first else bisect.bisect_left(pings, (start_us,))
            high = len(pings) if hour < last else bisect.bisect_left(pings, (end_us,))
            if user_id is None:
                found.extend(filed[3] for filed in pings[low:high])
            else:
                found.extend(
                    filed[3] for filed in pings[low:high] if filed[3].recipient_id == user_id
                )
        return tuple(found)

    def next_after(self, after_us: int) -> int | None:
        """The instant (us) of the earliest ping after `after_us`, or None."""
        later = [hour for hour in self._hours if hour >= after_us // _HOUR_US]
        for hour in sorted(later):
            pings = self._hours[hour]
            index = bisect.bisect_left(pings, (after_us + 1,))
            if index < len(pings):
                return pings[index][0]
        return None

    def __len__(self) -> int:
        return sum(len(pings) for pings in self._hours.values())

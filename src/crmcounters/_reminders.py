"""Reminder pings (N1): the feed a host's notification centre reads.

An activity with a deadline pings its responsible at each reminder instant
`deadline - offset`, the same instants that lift its item in focus (F2): its
own offsets or the portal's `Settings.focus_reminder_offsets` (default 15 and
0 minutes), the deadline itself always among them. Offsets are durations,
subtracted in UTC, so a ping is exact across a DST change. A ping falls while
the activity is open: completing it drops the pings still to come (those that
fell before stay, as they did fire); deleting it drops them all; moving the
deadline or changing the offsets moves them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol, runtime_checkable

from . import _validate as v
from ._activities import Activity
from ._errors import ValidationError
from ._storage import PortalStorage, Storage
from .focus._sources import reminder_instants

__all__ = ["Reminder", "ReminderSource", "reminder_feed", "reminders_of", "window"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


class Reminder(NamedTuple):
    """One reminder ping (N1): `recipient_id` is told about `activity_id` at `at` (UTC).

    `item_id` is the first item the activity is bound to; `offset_minutes` how
    long before `deadline` (UTC) the ping falls. `id` is stable (activity,
    instant, offset): the same ping always has the same id, so a receiver can
    drop a repeat. An immutable named tuple rather than an attrs class: a
    feed builds thousands at a time, and a tuple is several times cheaper to
    build (its natural order is the feed's).
    """

    at: datetime
    activity_id: str
    item_id: str
    recipient_id: str
    offset_minutes: int
    deadline: datetime

    @property
    def id(self) -> str:
        """`reminder/<activity id>/<instant in UTC, ISO 8601>/<offset in minutes>`."""
        return f"reminder/{self.activity_id}/{self.at.isoformat()}/{self.offset_minutes}"

    def sort_key(self) -> tuple[datetime, str, int]:
        """Time order; pings at one instant by activity id, then offset (N1)."""
        return (self.at, self.activity_id, self.offset_minutes)


def window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """`[start, end)` checked and brought to UTC (G2, G4); `end` before `start` is refused."""
    start = v.instant("start", start)
    end = v.instant("end", end)
    if end < start:
        raise ValidationError(
            "end", f"the window ends at {end.isoformat()}, before it starts at {start.isoformat()}"
        )
    return start, end


def pings_of(activity: Activity, default_offsets: tuple[int, ...]) -> list[Reminder]:
    """Every ping of one activity, earliest first (none without a deadline, N1)."""
    if activity.deadline is None or activity.incoming:
        return []
    deadline = activity.deadline.astimezone(UTC)
    found = [
        Reminder(
            at=at,
            activity_id=activity.id,
            item_id=activity.item_ids[0],
            recipient_id=activity.responsible_id,
            offset_minutes=offset,
            deadline=deadline,
        )
        for at, offset in reminder_instants(activity, default_offsets)
    ]
    found.reverse()  # offsets come largest first: the earliest instant first
    return found


def reminders_of(
    activities: Iterable[Activity],
    start: datetime,
    end: datetime,
    *,
    default_offsets: tuple[int, ...] = (15, 0),
    user_id: str | None = None,
) -> tuple[Reminder, ...]:
    """The pings of `activities` falling in `[start, end)`, in time order (N1): the reference.

    A pure function of plain values; ties at one instant are ordered by
    activity id. `default_offsets` are the portal's
    `Settings.focus_reminder_offsets`; `user_id` keeps one recipient's pings.
    """
    start, end = window(start, end)
    found = [
        ping
        for activity in activities
        if user_id is None or activity.responsible_id == user_id
        for ping in pings_of(activity, default_offsets)
        if start <= ping.at < end
    ]
    found.sort(key=Reminder.sort_key)
    return tuple(found)


@runtime_checkable
class ReminderSource(Protocol):
    """A storage that answers the feed from an index of reminder instants (N1).

    `InMemoryStorage` and `crmcounters.sql.SqlStorage` are both one; a host's
    own storage may be one too.
    """

    def reminders_between(
        self, start: datetime, end: datetime, user_id: str | None = None
    ) -> tuple[Reminder, ...]:
        """The pings in `[start, end)` (UTC, checked), in time order, of one recipient or all."""
        ...


def reminder_feed(
    storage: Storage, start: datetime, end: datetime, *, user_id: str | None = None
) -> tuple[Reminder, ...]:
    """The reminder pings falling due in `[start, end)`, in time order (N1).

    Each names the activity, its first item, the user to notify (the
    activity's responsible), the instant in UTC and the offset. `user_id`
    keeps that user's pings (an unknown id is an `UnknownIdError`). A storage
    with an index (`ReminderSource`: in memory and SQL) answers from it;
    another `PortalStorage` is scanned. Feeding consecutive windows
    `[a, b)`, `[b, c)` lists each ping once.
    """
    start, end = window(start, end)
    if user_id is not None:
        storage.user(user_id)
    if isinstance(storage, ReminderSource):
        return storage.reminders_between(start, end, user_id)
    if isinstance(storage, PortalStorage):
        return reminders_of(
            storage.activities(),
            start,
            end,
            default_offsets=storage.settings.focus_reminder_offsets,
            user_id=user_id,
        )
    raise ValidationError(
        "storage",
        f"{type(storage).__name__} lists no activities: give a PortalStorage or a "
        "ReminderSource (reminders_between)",
    )


def utc_us(at: datetime) -> int:
    """An aware instant as whole microseconds since the epoch (what indexes compare)."""
    return (at - _EPOCH) // _US


def from_us(us: int) -> datetime:
    """Microseconds since the epoch as an instant in UTC."""
    return _EPOCH + timedelta(0, *divmod(us, 1_000_000))

"""Completing an activity (I2, A1, A2): what else the same write must change.

Completing an incoming activity completes every open incoming activity of
its channel on its items (I2); completing an activity of a type proposes the
type's next one (A1); completing an occurrence of a recurring activity adds
the next occurrence (A2).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from . import _validate as v
from ._activities import Activity
from ._calendar import BusinessCalendar
from ._errors import ValidationError
from ._incoming import Write, answered_incoming
from ._recurrence import occurrences_after
from ._storage import Storage, WritableStorage
from ._type_defaults import proposed_next

if TYPE_CHECKING:
    from ._counter_index import CounterIndex

__all__ = ["complete_activity", "completion_write", "next_occurrence"]


def completion_write(
    storage: Storage,
    activity_id: str,
    at: datetime,
    *,
    calendar: BusinessCalendar | None = None,
    next_activity_id: str | None = None,
) -> Write:
    """The records that completing activity `activity_id` at `at` writes, together.

    The activity itself, completed; for an incoming one, every other open
    incoming activity of its kind on its items too (I2); for a recurring
    one, its next occurrence (A2, `next_occurrence`), with id
    `next_activity_id` (default: the series' id, "@" and the occurrence's
    local date and time, "call-7@20261221T1000"). `proposed` is the next
    type's draft when the activity's type chains to one (A1). An activity
    already completed is refused (`ValidationError` naming `completed_at`).
    """
    at = v.instant("at", at)
    activity = storage.activity(activity_id)
    if not activity.is_open:
        raise ValidationError("completed_at", f"activity {activity.id!r} is already completed")
    completed = attrs.evolve(activity, completed_at=at)
    replaced = [completed]
    if activity.incoming:
        replaced += [
            other
            for other in answered_incoming(storage, activity.item_ids, (activity.kind,), at)
            if other.id != activity.id
        ]
    following = next_occurrence(storage, activity, at, next_activity_id)
    return Write(
        add=() if following is None else (following,),
        replace=replaced,
        proposed=proposed_next(storage, activity, at, calendar),
    )


def next_occurrence(
    storage: Storage, activity: Activity, at: datetime, activity_id: str | None = None
) -> Activity | None:
    """The occurrence that follows recurring `activity` once it is completed at `at` (A2).

    The rule's first occurrence after both the activity's deadline and `at`
    (completing late skips the occurrences already past; early, the next
    one still follows this one), at the series' local time in the
    responsible's zone. None for an activity that does not recur, or when
    its rule has ended. The new occurrence keeps everything but its id,
    creation (`at`) and deadline.
    """
    if activity.recurrence is None or activity.deadline is None:
        return None
    at = v.instant("at", at)
    zone = storage.user(activity.responsible_id).zone
    start = (
        activity.recurrence_start if activity.recurrence_start is not None else activity.deadline
    )
    after = max(activity.deadline, at)
    deadline = occurrences_after(activity.recurrence, start, zone, after)
    if deadline is None:
        return None
    if activity_id is None:
        series = activity.id.split("@", 1)[0]
        activity_id = f"{series}@{deadline.astimezone(zone):%Y%m%dT%H%M}"
    return attrs.evolve(
        activity,
        id=activity_id,
        created_at=at,
        deadline=deadline,
        completed_at=None,
        reminded_at=None,
        recurrence_start=start,
    )


def complete_activity(
    storage: WritableStorage,
    activity_id: str,
    at: datetime,
    *,
    index: CounterIndex | None = None,
    calendar: BusinessCalendar | None = None,
    next_activity_id: str | None = None,
) -> Write:
    """Complete an activity and what goes with it (I2, A2) in one write; return what was written.

    A recurring activity's next occurrence is stored by the same write (A2);
    the returned `Write.proposed` is the next activity its type proposes
    (A1), not stored.
    """
    write = completion_write(
        storage, activity_id, at, calendar=calendar, next_activity_id=next_activity_id
    )
    write.apply(storage, index)
    return write

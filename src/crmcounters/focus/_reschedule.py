"""Moving an activity's deadline without pushing its item down (F2)."""

from __future__ import annotations

from datetime import datetime

import attrs

from .. import _validate as v
from .._activities import Activity
from .._errors import ValidationError
from ._sources import reminder_instants

__all__ = ["reschedule"]


def reschedule(
    activity: Activity,
    deadline: datetime | None,
    now: datetime,
    default_offsets: tuple[int, ...] = (15, 0),
) -> Activity:
    """The open `activity` with its new `deadline`, keeping the reminders it reached (F2).

    F2: focus time never decreases. Postponing replaces the activity's reminder
    instants, so the latest one already reached by `now` (under this or an
    earlier deadline) is kept in `reminded_at`, and the item stays where it
    was until something newer lifts it. Store the result with
    `storage.replace(...)`; pass `storage.settings.focus_reminder_offsets` as
    `default_offsets` when the portal changed them.
    """
    if not isinstance(activity, Activity):
        raise ValidationError("activity", f"expected an Activity, got {activity!r}")
    now = v.instant("now", now)
    if deadline is not None:
        v.check_aware("deadline", deadline)
    offsets = v.check_offsets("default_offsets", default_offsets)
    if not activity.is_open:
        raise ValidationError(
            "activity",
            f"activity {activity.id!r} was completed at {activity.completed_at}; only an open "
            "activity can be rescheduled",
        )
    if activity.incoming:
        raise ValidationError(
            "activity", f"incoming activity {activity.id!r} has no deadline to move (C4)"
        )
    reached = [at for at, _ in reminder_instants(activity, offsets) if at <= now]
    if activity.reminded_at is not None:
        reached.append(activity.reminded_at)
    return attrs.evolve(activity, deadline=deadline, reminded_at=max(reached, default=None))

"""Completing an activity (I2, A1, A2): what else the same write must change.

Completing an incoming activity completes every open incoming activity of
its channel on its items (I2); completing an activity of a type proposes the
type's next one (A1).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from . import _validate as v
from ._calendar import BusinessCalendar
from ._errors import ValidationError
from ._incoming import Write, answered_incoming
from ._storage import Storage, WritableStorage
from ._type_defaults import proposed_next

if TYPE_CHECKING:
    from ._counter_index import CounterIndex

__all__ = ["complete_activity", "completion_write"]


def completion_write(
    storage: Storage,
    activity_id: str,
    at: datetime,
    *,
    calendar: BusinessCalendar | None = None,
) -> Write:
    """The records that completing activity `activity_id` at `at` writes, together.

    The activity itself, completed; for an incoming one, every other open
    incoming activity of its kind on its items too (I2). `proposed` is the
    next type's draft when the activity's type chains to one (A1). An
    activity already completed is refused (`ValidationError` naming
    `completed_at`).
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
    return Write(replace=replaced, proposed=proposed_next(storage, activity, at, calendar))


def complete_activity(
    storage: WritableStorage,
    activity_id: str,
    at: datetime,
    *,
    index: CounterIndex | None = None,
    calendar: BusinessCalendar | None = None,
) -> Write:
    """Complete an activity and what goes with it (I2) in one write; return what was written.

    The returned `Write.proposed` is the next activity its type proposes (A1), not stored.
    """
    write = completion_write(storage, activity_id, at, calendar=calendar)
    write.apply(storage, index)
    return write

"""Activities from their types (A1): the type's defaults, in the responsible's zone.

`activity_from_type` builds an activity with its type's kind, subject,
deadline and reminder offsets; `proposed_next` is the draft of the next type
a completed activity's type proposes (chaining). Both read the portal's
settings and calendar through the storage; the deadline is computed in the
responsible user's zone (X3), business days by the portal's calendar (S2).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo

from . import _validate as v
from ._activities import Activity
from ._activity_types import ActivityDraft, ActivityType, deadline_by_rule
from ._calendar import BusinessCalendar
from ._errors import ValidationError
from ._smart import _calendar_for
from ._storage import Storage

__all__ = ["activity_from_type", "proposed_next", "type_deadline", "typed_activity"]


def type_deadline(
    storage: Storage,
    activity_type: ActivityType,
    responsible_id: str,
    at: datetime,
    calendar: BusinessCalendar | None = None,
) -> datetime | None:
    """The deadline `activity_type` gives an activity created at `at` for `responsible_id` (A1)."""
    if activity_type.deadline is None:
        return None
    zone = storage.user(responsible_id).zone
    chosen = calendar if calendar is not None else _calendar_for(storage.settings.calendar)
    return deadline_by_rule(activity_type.deadline, at, zone, chosen)


def typed_activity(
    activity_type: ActivityType,
    *,
    activity_id: str,
    item_ids: tuple[str, ...],
    created_at: datetime,
    responsible_id: str,
    zone: tzinfo,
    calendar: BusinessCalendar,
    author_id: str | None = None,
) -> Activity:
    """An open activity of `activity_type` with every default of the type (A1): its kind,
    subject and reminder offsets, and the deadline by its rule counted from `created_at` in
    `zone` (the responsible's, X3). Reads nothing: the storage-free core of
    `activity_from_type`, which the rule engine shares (R4)."""
    return Activity(
        id=activity_id,
        item_ids=item_ids,
        kind=activity_type.kind,
        responsible_id=responsible_id,
        author_id=author_id,
        subject=activity_type.default_subject,
        created_at=created_at,
        deadline=None
        if activity_type.deadline is None
        else deadline_by_rule(activity_type.deadline, created_at, zone, calendar),
        reminder_offsets=activity_type.reminder_offsets,
        type_id=activity_type.id,
    )


def activity_from_type(
    storage: Storage,
    type_id: str,
    *,
    activity_id: str,
    item_ids: Iterable[str],
    created_at: datetime,
    responsible_id: str | None = None,
    author_id: str | None = None,
    calendar: BusinessCalendar | None = None,
) -> Activity:
    """A new open activity of type `type_id` with the type's defaults (A1).

    Kind, subject, reminder offsets and the deadline by the type's rule,
    counted from `created_at` in the responsible's zone. The responsible
    defaults to the first item's responsible. Change anything afterwards
    with `attrs.evolve`; store it with `storage.add`.
    """
    created_at = v.instant("created_at", created_at)
    activity_type = storage.settings.activity_type(type_id)
    items = tuple(item_ids) if not isinstance(item_ids, str) else (item_ids,)
    if not items:
        raise ValidationError("item_ids", "an activity must be bound to an item")
    if responsible_id is None:
        responsible_id = storage.item(items[0]).responsible_id
    return typed_activity(
        activity_type,
        activity_id=activity_id,
        item_ids=items,
        created_at=created_at,
        responsible_id=responsible_id,
        zone=storage.user(responsible_id).zone,
        calendar=calendar if calendar is not None else _calendar_for(storage.settings.calendar),
        author_id=author_id,
    )


def proposed_next(
    storage: Storage,
    activity: Activity,
    at: datetime,
    calendar: BusinessCalendar | None = None,
) -> ActivityDraft | None:
    """The next activity `activity`'s type proposes once it is completed at `at` (A1), or None.

    Same items and responsible; the next type's defaults, its deadline
    counted from the completion.
    """
    if activity.type_id is None:
        return None
    settings = storage.settings
    next_id = settings.activity_type(activity.type_id).next_type_id
    if next_id is None:
        return None
    following = settings.activity_type(next_id)
    return ActivityDraft(
        type_id=following.id,
        item_ids=activity.item_ids,
        kind=following.kind,
        subject=following.default_subject,
        responsible_id=activity.responsible_id,
        author_id=activity.responsible_id,
        proposed_at=at,
        deadline=type_deadline(storage, following, activity.responsible_id, at, calendar),
        reminder_offsets=following.reminder_offsets,
        after_activity_id=activity.id,
    )

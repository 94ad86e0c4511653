"""Focus sources (F2): the instants that may give an item its focus time, with their reasons."""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta

import attrs

from .. import _validate as v
from .._activities import Activity, ActivityKind, Direction
from .._events import CommentAdded, IncomingChannel, IncomingMessage, TimelineEvent
from .._items import Item
from .._storage import Storage

__all__ = ["FocusReason", "FocusSource", "focus_sources", "reminder_offsets", "sources_of"]

#: Activity kinds whose incoming direction is an "incoming event" of F2.
_INCOMING_KINDS = frozenset({ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.CHAT})


class FocusReason(enum.StrEnum):
    """Why an instant counts towards an item's focus time (F2)."""

    CREATED = "created"  # the item's creation
    INCOMING_MESSAGE = "incoming_message"  # a timeline IncomingMessage (e-mail, chat, call)
    INCOMING_ACTIVITY = "incoming_activity"  # an incoming call/e-mail/chat activity
    COMMENT = "comment"  # a comment by someone other than the item's responsible
    REMINDER = "reminder"  # deadline - offset of an activity, while it was open
    EARLIER_REMINDER = "earlier_reminder"  # a reminder reached before the deadline moved


def _reason(value: FocusReason | str) -> FocusReason:
    return v.check_choice("reason", FocusReason, value)


@attrs.frozen(kw_only=True)
class FocusSource:
    """One instant that lifts an item in focus, and what caused it (F2, X1).

    `at` is in UTC. Exactly the ids that fit the reason are set: `event_id` for
    an incoming message or a comment, `activity_id` (and `offset_minutes`) for
    an incoming activity or a reminder; none for the item's creation.
    """

    item_id: str = attrs.field(validator=v.an_id)
    at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    reason: FocusReason = attrs.field(converter=_reason)
    event_id: str | None = attrs.field(default=None, validator=v.optional_id)
    activity_id: str | None = attrs.field(default=None, validator=v.optional_id)
    offset_minutes: int | None = attrs.field(default=None)
    author_id: str | None = attrs.field(default=None, validator=v.optional_id)
    channel: IncomingChannel | None = attrs.field(default=None)

    @property
    def rule(self) -> str:
        """The SPEC rule that makes this instant count: always F2."""
        return "F2"

    def describe(self) -> str:
        """One English sentence naming the event or reminder, for logs and tooltips."""
        when = self.at.isoformat()
        if self.reason is FocusReason.CREATED:
            return f"item {self.item_id!r} was created at {when} (F2)"
        if self.reason is FocusReason.INCOMING_MESSAGE:
            channel = self.channel.value if self.channel is not None else "message"
            return f"incoming {channel} {self.event_id!r} at {when} (F2)"
        if self.reason is FocusReason.INCOMING_ACTIVITY:
            return f"incoming activity {self.activity_id!r} at {when} (F2)"
        if self.reason is FocusReason.COMMENT:
            return (
                f"comment {self.event_id!r} by {self.author_id!r}, who is not the item's "
                f"responsible, at {when} (F2)"
            )
        if self.reason is FocusReason.EARLIER_REMINDER:
            return (
                f"reminder of activity {self.activity_id!r} reached at {when}, before its "
                "deadline was moved (F2)"
            )
        if self.offset_minutes == 0:
            return f"deadline of activity {self.activity_id!r} at {when} (F2)"
        return (
            f"reminder {self.offset_minutes} min before the deadline of activity "
            f"{self.activity_id!r} at {when} (F2)"
        )

    def sort_key(self) -> tuple[datetime, int, str]:
        """Oldest first; at one instant: creation, reminder, comment, incoming (most telling)."""
        return (self.at, _PRIORITY[self.reason], self.event_id or self.activity_id or "")


_PRIORITY = {
    FocusReason.CREATED: 0,
    FocusReason.REMINDER: 1,
    FocusReason.EARLIER_REMINDER: 1,
    FocusReason.COMMENT: 2,
    FocusReason.INCOMING_ACTIVITY: 3,
    FocusReason.INCOMING_MESSAGE: 4,
}


def reminder_offsets(activity: Activity, default: tuple[int, ...]) -> tuple[int, ...]:
    """The focus reminder offsets of an activity, in minutes, largest first (F2).

    Without offsets of its own the activity uses the portal's
    `Settings.focus_reminder_offsets` (default 15 and 0; 0 is always among
    them). An activity with its own `reminder_offsets` reminds at each of them
    **and** at the deadline itself (offset 0): the deadline is always a focus
    instant.
    """
    return v.with_deadline(
        default if activity.reminder_offsets is None else activity.reminder_offsets
    )


#: One source as plain data: (instant in UTC, reason, event, activity, offset in minutes).
_Raw = tuple[datetime, FocusReason, TimelineEvent | None, Activity | None, int | None]


def is_incoming_event(activity: Activity) -> bool:
    return activity.kind in _INCOMING_KINDS and (
        activity.incoming or activity.direction is Direction.INCOMING
    )


def raw_sources(
    item: Item,
    activities: Collection[Activity],
    events: Collection[TimelineEvent],
    default_offsets: tuple[int, ...],
) -> Iterator[_Raw]:
    """F2's sources as plain tuples, in no particular order (the cheap path for timelines)."""
    yield (item.created_at.astimezone(UTC), FocusReason.CREATED, None, None, None)
    for event in events:
        if event.item_id != item.id:
            continue
        if isinstance(event, IncomingMessage):
            yield (event.at.astimezone(UTC), FocusReason.INCOMING_MESSAGE, event, None, None)
        elif isinstance(event, CommentAdded) and event.author_id != item.responsible_id:
            yield (event.at.astimezone(UTC), FocusReason.COMMENT, event, None, None)
    for activity in activities:
        if item.id not in activity.item_ids:
            continue
        if is_incoming_event(activity):
            at = activity.created_at.astimezone(UTC)
            yield (at, FocusReason.INCOMING_ACTIVITY, None, activity, None)
        if activity.reminded_at is not None:  # reached before a reschedule: stays (F2)
            at = activity.reminded_at.astimezone(UTC)
            yield (at, FocusReason.EARLIER_REMINDER, None, activity, None)
        for at, offset in reminder_instants(activity, default_offsets):
            yield (at, FocusReason.REMINDER, None, activity, offset)


def reminder_instants(
    activity: Activity, default_offsets: tuple[int, ...]
) -> Iterator[tuple[datetime, int]]:
    """Each (instant in UTC, offset) the activity reminds at while open, for its deadline (F2).

    Offsets are durations: subtracted in UTC, never on the local wall clock
    (DST). A reminder after the activity's completion never fires.
    """
    if activity.deadline is None or activity.incoming:
        return
    deadline = activity.deadline.astimezone(UTC)
    completed = activity.completed_at
    for offset in reminder_offsets(activity, default_offsets):
        at = deadline - timedelta(minutes=offset)
        if completed is None or at <= completed:
            yield at, offset


def _source(item_id: str, raw: _Raw) -> FocusSource:
    at, reason, event, activity, offset = raw
    return FocusSource(
        item_id=item_id,
        at=at,
        reason=reason,
        event_id=None if event is None else event.id,
        activity_id=None if activity is None else activity.id,
        offset_minutes=offset,
        author_id=event.author_id if isinstance(event, CommentAdded) else None,
        channel=event.channel if isinstance(event, IncomingMessage) else None,
    )


def sources_of(
    item: Item,
    activities: Collection[Activity],
    events: Collection[TimelineEvent],
    default_offsets: tuple[int, ...] = (15, 0),
) -> tuple[FocusSource, ...]:
    """Every focus source of `item`, oldest first, from plain values (F2).

    `activities` are all the item's activities, open **and** completed: a
    reminder instant that passed while the activity was open keeps counting
    after it is completed, so focus time never decreases. The item's current
    responsible decides which comments count. Records of other items are
    ignored.
    """
    found = [
        _source(item.id, raw) for raw in raw_sources(item, activities, events, default_offsets)
    ]
    found.sort(key=FocusSource.sort_key)
    return tuple(found)


def focus_sources(storage: Storage, item_id: str) -> tuple[FocusSource, ...]:
    """Every focus source of the stored item, oldest first, whatever `now` is (F2, X1)."""
    item = storage.item(item_id)
    return sources_of(
        item,
        storage.activities_of_item(item_id),
        storage.events_of_item(item_id),
        storage.settings.focus_reminder_offsets,
    )

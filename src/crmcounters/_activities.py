"""Activities: calls, e-mails, chats, meetings, to-dos… bound to items (SPEC section 1)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import attrs

from . import _validate as v
from ._errors import ValidationError

__all__ = ["Activity", "ActivityKind", "Direction"]


class ActivityKind(enum.StrEnum):
    """What an activity is."""

    CALL = "call"
    EMAIL = "email"
    CHAT = "chat"  # an open-channel conversation
    MEETING = "meeting"
    TODO = "todo"
    PAYMENT = "payment"
    TASK_COMMENT = "task_comment"
    SMS = "sms"
    OTHER = "other"


class Direction(enum.StrEnum):
    """Which way a communication went."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"
    NONE = "none"


def _item_ids(values: Iterable[str]) -> tuple[str, ...]:
    return v.check_collection("item_ids", values, "item ids")


def _kind(value: ActivityKind | str) -> ActivityKind:
    return v.check_choice("kind", ActivityKind, value)


def _direction(value: Direction | str) -> Direction:
    return v.check_choice("direction", Direction, value)


def _recurrence(value: str | None) -> str | None:
    if value is None:
        return None
    from ._recurrence import parse_recurrence  # here: only recurring activities load dateutil

    return parse_recurrence(value).text


def _offsets(values: Iterable[int] | None) -> tuple[int, ...] | None:
    if values is None:
        return None
    return v.check_offsets("reminder_offsets", values)


@attrs.frozen(kw_only=True)
class Activity:
    """Something to do about one or more items; open until `completed_at` is set.

    `incoming` is the incoming-channel flag (C3): an unprocessed incoming call,
    e-mail, chat message, order payment or task comment. Such an activity has no
    deadline. `reminder_offsets` are minutes before the deadline; None means
    "use the portal's defaults" (C4, F2). `reminded_at` is the latest focus
    reminder the activity reached before its deadline was last moved: it keeps
    the item's focus time from falling when the activity is postponed (F2);
    `reschedule` sets it. `type_id` names its activity type (A1), if any.
    `recurrence` makes it one occurrence of a series (A2): completing it
    creates the next (`complete_activity`).
    """

    # Derived at construction for the counters' hot loops (C4, C8), not part of the value:
    # no init argument, left out of eq, hash and repr (attrs.asdict still lists them);
    # attrs.evolve recomputes them. `_utc_deadline` is the deadline in UTC;
    # `_own_lit_utc` is `lit_at` in UTC when the activity has its own offsets (it does
    # not depend on the portal's default), both None when there is no deadline;
    # `_shared` says it is bound to several items. They come first so that a counting
    # pass reads one cache line of each activity (issue 15).
    _utc_deadline: datetime | None = attrs.field(init=False, eq=False, repr=False)
    _own_lit_utc: datetime | None = attrs.field(init=False, eq=False, repr=False)
    _shared: bool = attrs.field(init=False, eq=False, repr=False)
    id: str = attrs.field(validator=v.an_id)
    item_ids: tuple[str, ...] = attrs.field(converter=_item_ids, validator=v.ids)
    kind: ActivityKind = attrs.field(converter=_kind)
    responsible_id: str = attrs.field(validator=v.an_id)
    created_at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    direction: Direction = attrs.field(default=Direction.NONE, converter=_direction)
    author_id: str | None = attrs.field(default=None, validator=v.optional_id)
    subject: str = attrs.field(default="", validator=v.text)
    deadline: datetime | None = attrs.field(
        default=None, converter=v.optional_utc, validator=v.optional_aware
    )
    completed_at: datetime | None = attrs.field(
        default=None, converter=v.optional_utc, validator=v.optional_aware
    )
    reminder_offsets: tuple[int, ...] | None = attrs.field(default=None, converter=_offsets)
    incoming: bool = attrs.field(default=False)
    rule_id: str | None = attrs.field(default=None, validator=v.optional_id)
    reminded_at: datetime | None = attrs.field(
        default=None, converter=v.optional_utc, validator=v.optional_aware
    )
    #: The activity type it was created from (A1), one of `Settings.activity_types`.
    type_id: str | None = attrs.field(default=None, validator=v.optional_id)
    #: A2: an RFC 5545 RRULE ("FREQ=WEEKLY;BYDAY=MO"), kept in canonical form.
    recurrence: str | None = attrs.field(default=None, converter=_recurrence)
    #: A2: the first occurrence of the series (None: this activity's deadline).
    recurrence_start: datetime | None = attrs.field(
        default=None, converter=v.optional_utc, validator=v.optional_aware
    )

    def __attrs_post_init__(self) -> None:
        if not self.item_ids:
            raise ValidationError("item_ids", f"activity {self.id!r} must be bound to an item")
        if not isinstance(self.incoming, bool):
            raise ValidationError("incoming", f"expected true or false, got {self.incoming!r}")
        if self.incoming and self.deadline is not None:
            raise ValidationError(
                "deadline", f"incoming activity {self.id!r} cannot have a deadline (C4)"
            )
        if self.recurrence is not None and self.deadline is None:
            raise ValidationError(
                "recurrence",
                f"recurring activity {self.id!r} needs a deadline: its occurrence (A2)",
            )
        if self.recurrence_start is not None and self.recurrence is None:
            raise ValidationError(
                "recurrence_start", "only a recurring activity has a series start"
            )
        if self.completed_at is not None and self.completed_at < self.created_at:
            raise ValidationError(
                "completed_at",
                f"activity {self.id!r} completed at {self.completed_at.isoformat()} "
                f"before it was created at {self.created_at.isoformat()}",
            )
        utc_deadline = own_lit = None
        if self.deadline is not None:  # its validator checked the range (G5): no overflow here
            utc_deadline = self.deadline.astimezone(UTC)
            offsets = self.reminder_offsets
            if offsets is not None:
                own_lit = utc_deadline - timedelta(minutes=offsets[0] if offsets else 0)
        object.__setattr__(self, "_utc_deadline", utc_deadline)  # frozen: set once, here
        object.__setattr__(self, "_own_lit_utc", own_lit)
        object.__setattr__(self, "_shared", len(self.item_ids) > 1)

    @property
    def is_open(self) -> bool:
        """Open until completed (a deleted activity is simply no longer stored)."""
        return self.completed_at is None

    def offsets(self, default: tuple[int, ...]) -> tuple[int, ...]:
        """The reminder offsets in minutes, largest first: its own or `default`."""
        return self.reminder_offsets if self.reminder_offsets is not None else default

    def lit_at(self, default_offset_minutes: int = 15) -> datetime | None:
        """When the activity starts to count in Planned (C4): deadline - largest offset.

        None for an activity without a deadline (it never lights) and for an
        incoming activity (it counts in Incoming at once).
        """
        if self.deadline is None or self.incoming:
            return None
        largest = self.offsets((default_offset_minutes,))
        # Subtract in UTC: aware arithmetic in one zone is wall-clock and goes
        # wrong by the DST shift near a transition (G4).
        instant = self.deadline.astimezone(UTC) - timedelta(minutes=largest[0] if largest else 0)
        return instant.astimezone(self.deadline.tzinfo)


_SET = object.__setattr__


def trusted_activity(
    id: str,
    item_ids: tuple[str, ...],
    kind: ActivityKind,
    direction: Direction,
    responsible_id: str,
    author_id: str | None,
    subject: str,
    created_at: datetime,
    deadline: datetime | None,
    completed_at: datetime | None,
    reminder_offsets: tuple[int, ...] | None,
    incoming: bool,
    rule_id: str | None,
    reminded_at: datetime | None,
    type_id: str | None,
    recurrence: str | None,
    recurrence_start: datetime | None,
) -> Activity:
    """An `Activity` built from values a bulk loader has already checked, without checking again.

    For the portal loader only (issue 15): it validates each value once, as
    the constructor's converters and validators would (ids, instants in UTC
    and in range, checked offsets, the canonical recurrence, the rules of
    `__attrs_post_init__`), and
    builds here. A test holds the two ways to identical records.
    """
    activity: Activity = object.__new__(Activity)
    _SET(activity, "id", id)
    _SET(activity, "item_ids", item_ids)
    _SET(activity, "kind", kind)
    _SET(activity, "responsible_id", responsible_id)
    _SET(activity, "created_at", created_at)
    _SET(activity, "direction", direction)
    _SET(activity, "author_id", author_id)
    _SET(activity, "subject", subject)
    _SET(activity, "deadline", deadline)
    _SET(activity, "completed_at", completed_at)
    _SET(activity, "reminder_offsets", reminder_offsets)
    _SET(activity, "incoming", incoming)
    _SET(activity, "rule_id", rule_id)
    _SET(activity, "reminded_at", reminded_at)
    _SET(activity, "type_id", type_id)
    _SET(activity, "recurrence", recurrence)
    _SET(activity, "recurrence_start", recurrence_start)
    own_lit = None
    if deadline is not None and reminder_offsets is not None:
        own_lit = deadline - timedelta(minutes=reminder_offsets[0] if reminder_offsets else 0)
    _SET(activity, "_utc_deadline", deadline)
    _SET(activity, "_own_lit_utc", own_lit)
    _SET(activity, "_shared", len(item_ids) > 1)
    return activity


#: `Activity`'s own converter for `recurrence` (A2), for bulk loaders.
recurrence_of = _recurrence
#: Kinds and directions by their stored value, for bulk readers (a dict lookup per record).
KINDS_BY_VALUE = {kind.value: kind for kind in ActivityKind}
DIRECTIONS_BY_VALUE = {direction.value: direction for direction in Direction}

"""Activity types (A1): named defaults the host configures, and chaining to a next type.

The activity *kinds* (call, e-mail, to-do…) stay a fixed list; *types* are
data: "Call back", "Send the offer", "Follow-up in 3 business days". Each
type gives an activity its kind, subject, default deadline rule and reminder
offsets, and may propose a next type when one of its activities is completed
(chaining, as Odoo's activity types do). Types live in `Settings.activity_types`
and travel with the settings: the portal format's "settings" object and the
SQL storage's settings document.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import attrs

from . import _validate as v
from ._activities import Activity, ActivityKind
from ._calendar import BusinessCalendar, at_local_time
from ._errors import ValidationError

__all__ = [
    "ActivityDraft",
    "ActivityType",
    "DeadlineRule",
    "DeadlineUnit",
    "check_activity_types",
    "deadline_by_rule",
]


class DeadlineUnit(enum.StrEnum):
    """What a deadline rule's `amount` counts (A1)."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"  # calendar days in the responsible's zone
    BUSINESS_DAYS = "business_days"  # working days of the portal's calendar (S2)


def _unit(value: str) -> DeadlineUnit:
    return v.check_choice("unit", DeadlineUnit, value)


def _kind(value: str) -> ActivityKind:
    return v.check_choice("kind", ActivityKind, value)


def _amount(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
        raise ValidationError(
            attribute.name, f"expected a whole number from 0 to 100000, got {value!r}"
        )


def _time_of_day(_instance: object, attribute: attrs.Attribute[time | None], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, time):
        raise ValidationError(attribute.name, f"expected a time of day, got {value!r}")
    if value.tzinfo is not None:
        raise ValidationError(
            attribute.name, "a wall-clock time without a zone: the responsible's zone applies"
        )


@attrs.frozen(kw_only=True)
class DeadlineRule:
    """When an activity of a type is due, counted from the moment it is created (A1).

    `amount` minutes or hours later (exact durations), or `amount` calendar
    or business days later in the responsible's zone, at `time_of_day` (a
    wall-clock time) or else at the creation's own local time. Business days
    count from the next day and skip the calendar's days off, as S2 does;
    `amount` 0 with `DAYS` means the same day ("today at 17:00").
    """

    amount: int = attrs.field(validator=_amount)
    unit: DeadlineUnit = attrs.field(converter=_unit)
    time_of_day: time | None = attrs.field(default=None, validator=_time_of_day)

    def __attrs_post_init__(self) -> None:
        if self.unit in (DeadlineUnit.MINUTES, DeadlineUnit.HOURS) and self.time_of_day is not None:
            raise ValidationError(
                "time_of_day", f"a rule in {self.unit.value} has no time of day; use days"
            )
        if self.unit is DeadlineUnit.BUSINESS_DAYS and self.amount < 1:
            raise ValidationError("amount", "business days count from the next day: at least 1")


def deadline_by_rule(
    rule: DeadlineRule, start: datetime, zone: tzinfo, calendar: BusinessCalendar
) -> datetime:
    """The deadline `rule` gives an activity created at `start` for a user in `zone` (A1).

    Durations are added in UTC; days are local days of `zone` (DST-safe: a
    wall time in a spring-forward gap moves forward by the gap). In UTC.
    """
    start = v.instant("start", start)
    if rule.unit is DeadlineUnit.MINUTES:
        return start + timedelta(minutes=rule.amount)
    if rule.unit is DeadlineUnit.HOURS:
        return start + timedelta(hours=rule.amount)
    local = start.astimezone(zone)
    if rule.unit is DeadlineUnit.DAYS:
        day = local.date() + timedelta(days=rule.amount)
    else:
        day = calendar.add_business_days_to_date(local.date(), rule.amount, zone)
    wall = rule.time_of_day if rule.time_of_day is not None else local.time()
    return wall_time_on(day, wall, zone)


def wall_time_on(day: date, wall: time, zone: tzinfo) -> datetime:
    """`wall` on local `day` in `zone`, in UTC; a time in a gap moves forward, staying on `day`."""
    result = at_local_time(day, wall, zone)
    if result.date() != day:  # the gap ends the day: move back by the gap instead
        result = at_local_time(day, wall, zone, fold=1)
    return result.astimezone(UTC)


def _item_ids(values: Iterable[str]) -> tuple[str, ...]:
    return v.check_collection("item_ids", values, "item ids")


def _offsets(values: Iterable[int] | None) -> tuple[int, ...] | None:
    return None if values is None else v.check_offsets("reminder_offsets", values)


def _optional_rule(
    _instance: object, attribute: attrs.Attribute[DeadlineRule | None], value: object
) -> None:
    if value is not None and not isinstance(value, DeadlineRule):
        raise ValidationError(attribute.name, f"expected a DeadlineRule, got {value!r}")


@attrs.frozen(kw_only=True)
class ActivityType:
    """A configurable activity type (A1): defaults for the activities created from it.

    `deadline` None gives activities without a deadline; `reminder_offsets`
    None leaves them the portal's default offsets (C4). `subject` defaults
    to `name`. `next_type_id` names the type proposed when an activity of
    this one is completed (it may name this type itself).
    """

    id: str = attrs.field(validator=v.an_id)
    name: str = attrs.field(validator=v.text)
    kind: ActivityKind = attrs.field(default=ActivityKind.TODO, converter=_kind)
    subject: str = attrs.field(default="", validator=v.text)
    deadline: DeadlineRule | None = attrs.field(default=None, validator=_optional_rule)
    reminder_offsets: tuple[int, ...] | None = attrs.field(default=None, converter=_offsets)
    next_type_id: str | None = attrs.field(default=None, validator=v.optional_id)

    @property
    def default_subject(self) -> str:
        """The subject its activities get: `subject`, or the type's name."""
        return self.subject or self.name


def check_activity_types(values: Iterable[ActivityType]) -> tuple[ActivityType, ...]:
    """The types as a tuple: unique ids, and every `next_type_id` among them (A1, G5)."""
    listed = v.check_collection("activity_types", values, "activity types")  # bounded
    types = v.check_instances("activity_types", listed, ActivityType)
    seen: set[str] = set()
    for index, activity_type in enumerate(types):
        if activity_type.id in seen:
            raise ValidationError(
                f"activity_types[{index}].id", f"duplicate activity type id {activity_type.id!r}"
            )
        seen.add(activity_type.id)
    for index, activity_type in enumerate(types):
        if activity_type.next_type_id is not None and activity_type.next_type_id not in seen:
            raise ValidationError(
                f"activity_types[{index}].next_type_id",
                f"no activity type {activity_type.next_type_id!r}",
            )
    return types


@attrs.frozen(kw_only=True)
class ActivityDraft:
    """A proposed activity of a type (A1): the form the user sees, pre-filled and editable.

    The next type's defaults, proposed when an activity is completed; the
    host shows it, the user may change it (`attrs.evolve`) and `to_activity`
    makes the `Activity` to store.
    """

    type_id: str = attrs.field(validator=v.an_id)
    item_ids: tuple[str, ...] = attrs.field(converter=_item_ids, validator=v.ids)
    kind: ActivityKind = attrs.field(converter=_kind)
    subject: str = attrs.field(validator=v.text)
    responsible_id: str = attrs.field(validator=v.an_id)
    author_id: str | None = attrs.field(default=None, validator=v.optional_id)
    proposed_at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    deadline: datetime | None = attrs.field(
        default=None, converter=v.optional_utc, validator=v.optional_aware
    )
    reminder_offsets: tuple[int, ...] | None = attrs.field(default=None, converter=_offsets)
    after_activity_id: str | None = attrs.field(default=None, validator=v.optional_id)

    def to_activity(self, activity_id: str, *, created_at: datetime | None = None) -> Activity:
        """The activity to store once the user saves the draft (`created_at`: the proposal's)."""
        return Activity(
            id=activity_id,
            item_ids=self.item_ids,
            kind=self.kind,
            responsible_id=self.responsible_id,
            author_id=self.author_id,
            subject=self.subject,
            created_at=self.proposed_at if created_at is None else created_at,
            deadline=self.deadline,
            reminder_offsets=self.reminder_offsets,
            type_id=self.type_id,
        )

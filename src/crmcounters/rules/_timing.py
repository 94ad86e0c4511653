"""When a rule runs (R1): immediately or after a delay, optionally only in working time."""

from __future__ import annotations

import enum
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import attrs

from .._calendar import BusinessCalendar, at_local_time
from .._errors import ValidationError
from .._validate import check_choice, instant

__all__ = ["Delay", "DelayUnit", "Timing", "WorkingHours", "add_delay", "due_at"]


class DelayUnit(enum.StrEnum):
    """The unit of a delay. Days keep the local time of day; business days skip days off."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    BUSINESS_DAYS = "business_days"


def _amount(_instance: Any, _attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("after", f"expected a whole number, got {value!r}")
    if value < 0:
        raise ValidationError("after", f"a delay cannot be negative, got {value}")


def _unit(value: DelayUnit | str) -> DelayUnit:
    return check_choice("unit", DelayUnit, value)


@attrs.frozen(kw_only=True)
class Delay:
    """`after` units later: minutes and hours are exact durations; days and business days
    are counted in the zone of the item's responsible, keeping the local time (G4, S2)."""

    after: int = attrs.field(validator=_amount)
    unit: DelayUnit = attrs.field(default=DelayUnit.MINUTES, converter=_unit)

    @property
    def is_zero(self) -> bool:
        """True for a delay of nothing."""
        return self.after == 0


def _delay(value: Delay | None) -> Delay | None:
    if value is not None and not isinstance(value, Delay):
        raise ValidationError("delay", f"expected a Delay or None, got {type(value).__name__}")
    return value


@attrs.frozen(kw_only=True)
class Timing:
    """Immediately (no delay) or after `delay`; with `working_time_only`, a run that falls
    outside working hours moves to the start of the next working period (R1)."""

    delay: Delay | None = attrs.field(default=None, converter=_delay)
    working_time_only: bool = attrs.field(default=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.working_time_only, bool):
            raise ValidationError("working_time_only", "expected true or false")

    @property
    def is_immediate(self) -> bool:
        """True when the rule runs as the item enters the stage, whatever the hour."""
        return (self.delay is None or self.delay.is_zero) and not self.working_time_only


def _wall(value: time) -> time:
    if not isinstance(value, time) or value.tzinfo is not None:
        raise ValidationError("hours", f"expected a local time of day, got {value!r}")
    return value


@attrs.frozen(kw_only=True)
class WorkingHours:
    """Working time: these local hours of each working day of the business calendar.

    The zone is the item responsible's (G4); the default is 09:00 to 18:00.
    """

    start: time = attrs.field(default=time(9, 0), converter=_wall)
    end: time = attrs.field(default=time(18, 0), converter=_wall)

    def __attrs_post_init__(self) -> None:
        if not self.start < self.end:
            raise ValidationError(
                "end",
                f"start {self.start.isoformat('minutes')} must be before "
                f"end {self.end.isoformat('minutes')}",
            )

    def next_working_instant(
        self, moment: datetime, zone: tzinfo, calendar: BusinessCalendar
    ) -> datetime:
        """`moment` itself when it is working time, else the start of the next working period."""
        local = moment.astimezone(zone)
        day: date = local.date()
        if calendar.is_working_day(day, zone):
            wall = local.time()
            if self.start <= wall < self.end:
                return moment
            if wall < self.start:
                return at_local_time(day, self.start, zone)
        return at_local_time(calendar.next_working_day(day, zone), self.start, zone)


def add_delay(start: datetime, delay: Delay, zone: tzinfo, calendar: BusinessCalendar) -> datetime:
    """`start` moved by `delay`; day units are counted in `zone`, keeping the wall time."""
    start = instant("start", start)
    unit = delay.unit
    if unit is DelayUnit.MINUTES or unit is DelayUnit.HOURS:
        # Through UTC: adding to a datetime in its own zone would add wall-clock time.
        step = (
            timedelta(minutes=delay.after)
            if unit is DelayUnit.MINUTES
            else timedelta(hours=delay.after)
        )
        return (start + step).astimezone(zone)
    local = start.astimezone(zone)
    if unit is DelayUnit.DAYS:
        return at_local_time(local.date() + timedelta(days=delay.after), local.time(), zone)
    return calendar.add_business_days(start, delay.after, zone)


def due_at(
    timing: Timing,
    entered_at: datetime,
    zone: tzinfo,
    calendar: BusinessCalendar,
    hours: WorkingHours,
) -> datetime:
    """When a rule with `timing` runs for an item that entered its stage at `entered_at`."""
    due = (
        entered_at if timing.delay is None else add_delay(entered_at, timing.delay, zone, calendar)
    )
    if timing.working_time_only:
        due = hours.next_working_instant(due, zone, calendar)
    return due

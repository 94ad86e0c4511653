"""Portal-wide settings: the knobs the SPEC names as adjustable."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime

import attrs

from . import _validate as v
from ._activity_types import ActivityType, check_activity_types
from ._calendar import DEFAULT_HOLIDAY_YEARS, BusinessCalendar
from ._errors import UnknownIdError, ValidationError
from ._limits import MAX_CALENDAR_DAYS, shown
from ._smart_settings import SmartActivitySettings

__all__ = ["CalendarSettings", "CounterMode", "PlannedRule", "Settings", "check_types_in_use"]


class CounterMode(enum.StrEnum):
    """Whose counters an activity feeds (C2)."""

    ITEM_RESPONSIBLE = "item_responsible"
    ACTIVITY_RESPONSIBLE = "activity_responsible"


class PlannedRule(enum.StrEnum):
    """What Planned counts besides overdue activities (C4, C11).

    `LIT` (seed 000, the default): activities due within the urgency offset
    ("aktywności z terminem krótszym niż 15 minut"). `DUE_TODAY` (seed 001):
    also every activity due before the end of the responsible's today ("une
    date limite d'aujourd'hui").
    """

    LIT = "lit"
    DUE_TODAY = "due_today"


def _sorted_dates(field: str, values: Iterable[date]) -> tuple[date, ...]:
    days = v.check_collection(field, values, "dates", MAX_CALENDAR_DAYS)
    for index, day in enumerate(days):
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ValidationError(f"{field}[{index}]", f"expected a date, got {shown(day)}")
    return tuple(sorted(set(days)))


def _days_off(values: Iterable[date]) -> tuple[date, ...]:
    return _sorted_dates("company_days_off", values)


def _working_days(values: Iterable[date]) -> tuple[date, ...]:
    return _sorted_dates("extra_working_days", values)


def _planned_rule(value: PlannedRule | str) -> PlannedRule:
    return v.check_choice("planned_rule", PlannedRule, value)


def _counter_mode(value: CounterMode | str) -> CounterMode:
    return v.check_choice("counter_mode", CounterMode, value)


def _weekday_tuple(values: Iterable[int] | None) -> tuple[int, ...] | None:
    if values is None:
        return None
    days = v.check_collection("weekend_days", values, "weekdays", 7 * 7)
    for index, day in enumerate(days):
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
            raise ValidationError(
                f"weekend_days[{index}]", f"expected 0 (Monday) to 6 (Sunday), got {shown(day)}"
            )
    return tuple(sorted(set(days)))


@attrs.frozen(kw_only=True)
class CalendarSettings:
    """How to build the portal's `BusinessCalendar` (S2).

    `weekend_days` None means the country's own weekend (Saturday and Sunday
    when no country is set).
    """

    country: str | None = attrs.field(default=None, validator=v.optional_id)
    subdivision: str | None = attrs.field(default=None, validator=v.optional_id)
    weekend_days: tuple[int, ...] | None = attrs.field(default=None, converter=_weekday_tuple)
    company_days_off: tuple[date, ...] = attrs.field(default=(), converter=_days_off)
    extra_working_days: tuple[date, ...] = attrs.field(default=(), converter=_working_days)

    def __attrs_post_init__(self) -> None:
        if self.subdivision is not None and self.country is None:
            raise ValidationError("subdivision", "a subdivision needs a country")
        self.build(years=range(2000, 2001))  # fail early on an unknown country or weekday

    def build(self, years: range = DEFAULT_HOLIDAY_YEARS) -> BusinessCalendar:
        """The calendar these settings describe."""
        if self.country is None:
            return BusinessCalendar(
                weekend_days=frozenset({5, 6} if self.weekend_days is None else self.weekend_days),
                days_off=frozenset(self.company_days_off),
                extra_working_days=frozenset(self.extra_working_days),
            )
        return BusinessCalendar.for_country(
            self.country,
            self.subdivision,
            weekend_days=self.weekend_days,
            company_days_off=self.company_days_off,
            extra_working_days=self.extra_working_days,
            years=years,
        )


def _positive(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(attribute.name, f"expected a whole number >= 1, got {value!r}")


def _minutes(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    v.check_offsets(attribute.name, [value])


def _weekday(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 6:
        raise ValidationError(attribute.name, f"expected 0 (Monday) to 6 (Sunday), got {value!r}")


def _focus_offsets(values: Iterable[int]) -> tuple[int, ...]:
    # The deadline itself is always a focus instant (F2), as for an activity's own offsets.
    return v.with_deadline(v.check_offsets("focus_reminder_offsets", values))


@attrs.frozen(kw_only=True)
class Settings:
    """The portal's adjustable defaults, each named after the SPEC rule it tunes."""

    #: C4: an activity lights this many minutes before its deadline by default.
    urgency_offset_minutes: int = attrs.field(default=15, validator=_minutes)
    #: F2: reminder instants that lift an item in focus, minutes before the deadline
    #: (0, the deadline itself, is always added).
    focus_reminder_offsets: tuple[int, ...] = attrs.field(default=(15, 0), converter=_focus_offsets)
    #: C8: open activities a user may have before their counters are blocked.
    open_activity_cap: int = attrs.field(default=50_000, validator=_positive)
    #: C4, C11: whether Planned also counts what is due today in the responsible's zone.
    planned_rule: PlannedRule = attrs.field(default=PlannedRule.LIT, converter=_planned_rule)
    #: C2: whose counters an activity feeds.
    counter_mode: CounterMode = attrs.field(
        default=CounterMode.ITEM_RESPONSIBLE, converter=_counter_mode
    )
    #: V1: first day of the week, 0 = Monday.
    week_start: int = attrs.field(default=0, validator=_weekday)
    #: S2: the business calendar for smart activities and business-day delays.
    calendar: CalendarSettings = attrs.field(factory=CalendarSettings)
    #: S2, S3: smart activities per section, their business days and text.
    smart_activities: SmartActivitySettings = attrs.field(factory=SmartActivitySettings)
    #: A1: the activity types hosts configure (defaults, chaining); none by default.
    activity_types: tuple[ActivityType, ...] = attrs.field(
        default=(), converter=check_activity_types
    )

    def activity_type(self, type_id: str) -> ActivityType:
        """The activity type with that id (A1), or `UnknownIdError`."""
        for activity_type in self.activity_types:
            if activity_type.id == type_id:
                return activity_type
        raise UnknownIdError("activity type", type_id)


def check_types_in_use(settings: Settings, type_ids: Iterable[str | None]) -> None:
    """Refuse `settings` when a stored activity names a type they no longer have (A1, G5)."""
    configured = {activity_type.id for activity_type in settings.activity_types}
    missing = sorted({t for t in type_ids if t is not None and t not in configured})
    if missing:
        raise ValidationError(
            "activity_types",
            f"stored activities name activity types these settings drop: {', '.join(missing)}",
        )

"""The business calendar: which days are working days, and adding business days (S2)."""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import attrs

from . import _validate as v
from ._errors import ValidationError
from ._limits import MAX_CALENDAR_DAYS, shown
from ._users import as_zone
from ._validate import check_aware

__all__ = ["DEFAULT_HOLIDAY_YEARS", "BusinessCalendar"]

#: Years whose public holidays a calendar precomputes unless told otherwise.
DEFAULT_HOLIDAY_YEARS = range(2000, 2076)

_ONE_DAY = timedelta(days=1)
# A year has at least 104 working days in any calendar we accept (at most 5
# weekend days a week); a search longer than this means there are none left.
_MAX_SCAN_DAYS = 366 * 3


_AVAILABLE_YEARS = re.compile(r"available only from (\d{4}) to (\d{4})")


@functools.lru_cache(maxsize=64)
def _public_holidays(
    country: str, subdivision: str | None, first_year: int, last_year: int
) -> tuple[frozenset[date], frozenset[int], range]:
    """Public holidays, weekend days and the years they are known for, as frozen values.

    `holidays` objects fill themselves in as dates are looked up; reading them
    once here keeps the calendar itself immutable and its lookups O(1). Some
    countries publish holidays for fewer years than asked (India: 2001-2035);
    `holidays` warns then, and the calendar narrows what it covers instead, so
    a day outside is an error rather than a silent working day.
    """
    import holidays  # here, not at import: it costs about 0.1 s (issue 15)

    covers = range(first_year, last_year + 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            table = holidays.country_holidays(country, subdiv=subdivision, years=covers)
            days = frozenset(table.keys())
        except NotImplementedError as exc:
            raise _unknown_place(country, subdivision, exc) from exc
    for warning in caught:
        found = _AVAILABLE_YEARS.search(str(warning.message))
        if found is None:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
            continue
        low, high = max(covers.start, int(found[1])), min(covers.stop - 1, int(found[2]))
        covers = range(low, max(low, high + 1))
    return days, frozenset(table.weekend), covers


#: How many subdivisions an error message lists before it points to the full list.
_LISTED_SUBDIVISIONS = 30


def _unknown_place(
    country: str, subdivision: str | None, exc: NotImplementedError
) -> ValidationError:
    """The error for a country, or a subdivision of a known country, that `holidays` lacks."""
    import holidays  # here, not at import (see `_public_holidays`)

    if subdivision is None or country not in holidays.list_supported_countries():
        return ValidationError(
            "country", f"{exc} (use an ISO 3166-1 code such as 'PL', 'DE', 'US')"
        )
    table = holidays.country_holidays(country)
    codes = tuple(table.subdivisions)
    if not codes:
        return ValidationError(
            "subdivision",
            f"{country} has no subdivisions with their own holidays; leave subdivision None",
        )
    names: dict[str, str] = {}
    for name, code in getattr(table, "subdivisions_aliases", {}).items():
        names.setdefault(code, name)
    listed = [f"{code} ({names[code]})" if code in names else code for code in codes]
    more = ""
    if len(listed) > _LISTED_SUBDIVISIONS:
        more = (
            f", and {len(listed) - _LISTED_SUBDIVISIONS} more "
            f"(holidays.country_holidays({country!r}).subdivisions lists them all)"
        )
        listed = listed[:_LISTED_SUBDIVISIONS]
    return ValidationError(
        "subdivision",
        f"{country} has no subdivision {subdivision!r}; use one of its codes "
        "(the names in brackets are accepted too): "
        f"{', '.join(listed)}{more}",
    )


def _weekdays(values: Iterable[int]) -> frozenset[int]:
    days = frozenset(v.check_collection("weekend_days", values, "weekdays", 7 * 7))
    for day in days:
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
            raise ValidationError("weekend_days", f"weekdays are 0 (Monday) to 6, got {day!r}")
    if len(days) == 7:
        raise ValidationError("weekend_days", "at least one weekday must be a working day")
    return days


def _dates(field: str, values: Iterable[date]) -> frozenset[date]:
    # holidays of many years and countries: a wider bound than the settings' own days off
    days = frozenset(v.check_collection(field, values, "dates", 100 * MAX_CALENDAR_DAYS))
    for day in days:
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ValidationError(field, f"expected dates, got {shown(day)}")
    return days


def _days_off(values: Iterable[date]) -> frozenset[date]:
    return _dates("days_off", values)


def _working_days(values: Iterable[date]) -> frozenset[date]:
    return _dates("extra_working_days", values)


@attrs.frozen(kw_only=True)
class BusinessCalendar:
    """Working days: not a weekend day and not a day off, unless an extra working day.

    Build it with `BusinessCalendar.for_country(...)` to take public holidays
    from the `holidays` package; `days_off` then holds those holidays plus the
    company's own days off. `covers` is the span of years whose public holidays
    are known; asking about a day outside it is an error rather than a silent
    guess.
    """

    weekend_days: frozenset[int] = attrs.field(default=frozenset({5, 6}), converter=_weekdays)
    days_off: frozenset[date] = attrs.field(default=frozenset(), converter=_days_off)
    extra_working_days: frozenset[date] = attrs.field(default=frozenset(), converter=_working_days)
    country: str | None = None
    subdivision: str | None = None
    covers: range | None = None

    @classmethod
    def for_country(
        cls,
        country: str,
        subdivision: str | None = None,
        *,
        weekend_days: Iterable[int] | None = None,
        company_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        years: range = DEFAULT_HOLIDAY_YEARS,
    ) -> BusinessCalendar:
        """A calendar with the public holidays of `country` (and `subdivision`).

        Weekend days default to the country's own (Friday and Saturday in IL).
        """
        if not years:
            raise ValidationError("years", "needs at least one year")
        public, weekend, covers = _public_holidays(country, subdivision, years[0], years[-1])
        return cls(
            weekend_days=weekend if weekend_days is None else weekend_days,
            days_off=public | _dates("company_days_off", company_days_off),
            extra_working_days=extra_working_days,
            country=country,
            subdivision=subdivision,
            covers=covers,
        )

    def is_working_day(self, day: date, zone: tzinfo | str | None = None) -> bool:
        """True for a day on which business days are counted (S2).

        With `zone`, a day the zone skipped altogether (Pacific/Apia jumped
        from 2011-12-29 to 2011-12-31) is never a working day.
        """
        if isinstance(day, datetime):
            raise ValidationError("day", "expected a date; take .date() in the user's zone first")
        if self.covers is not None and day.year not in self.covers:
            raise ValidationError(
                "day",
                f"{day.isoformat()} is outside the years {self.covers[0]}-{self.covers[-1]} "
                "whose holidays this calendar knows; build it with a wider `years` range",
            )
        working = day in self.extra_working_days or (
            day.weekday() not in self.weekend_days and day not in self.days_off
        )
        return working and (zone is None or _exists(day, as_zone("zone", zone)))

    def next_working_day(self, day: date, zone: tzinfo | str | None = None) -> date:
        """The first working day strictly after `day` (in `zone`, when given: see above)."""
        for _ in range(_MAX_SCAN_DAYS):
            day += _ONE_DAY
            if self.is_working_day(day, zone):
                return day
        raise ValidationError("days_off", f"no working day within {_MAX_SCAN_DAYS} days of {day}")

    def add_business_days_to_date(
        self, day: date, n: int, zone: tzinfo | str | None = None
    ) -> date:
        """The `n`-th working day after `day`, counting from the next day (S2).

        With `zone`, days the zone skipped are not counted, wherever they fall.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValidationError("n", f"expected a whole number of days >= 0, got {n!r}")
        for _ in range(n):
            day = self.next_working_day(day, zone)
        return day

    def add_business_days(self, start: datetime, n: int, tz: tzinfo | str) -> datetime:
        """`start` moved `n` business days later in zone `tz`, keeping the local time (S2).

        Counting starts with the day after `start`'s local date. A local time that
        does not exist on the target day (a spring-forward gap) moves forward by
        the gap; an ambiguous one takes its first occurrence. The result is in `tz`.
        When moving forward would push the time out of the target day, it moves
        back by the gap instead. A day the zone skipped altogether (Pacific/Apia,
        2011-12-30) is never a business day, wherever it falls in the count.
        """
        check_aware("start", start)
        zone = as_zone("tz", tz)
        # Through UTC: `astimezone` to the same zone would keep a nonexistent wall reading.
        local = start.astimezone(UTC).astimezone(zone)
        target = self.add_business_days_to_date(local.date(), n, zone)
        wall = local.time()
        result = at_local_time(target, wall, zone)
        if result.date() != target:  # rare: the wall time sits in a gap at the end of the day
            return at_local_time(target, wall, zone, fold=1)
        return result


def at_local_time(day: date, wall: time, zone: tzinfo, fold: int = 0) -> datetime:
    """The instant at wall-clock `wall` on `day` in `zone`, gaps normalised through UTC.

    With `fold=0` (the default) a time in a gap moves forward by the gap and an
    ambiguous time takes its first occurrence; `fold=1` does the opposite.
    """
    naive_wall = wall.replace(tzinfo=None, fold=fold)
    candidate = datetime.combine(day, naive_wall, tzinfo=zone)
    return candidate.astimezone(UTC).astimezone(zone)


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first instant of local `day` in `zone` (a skipped midnight becomes the gap's end)."""
    return at_local_time(day, time(0), zone)


def _exists(day: date, zone: tzinfo) -> bool:
    """False for a day `zone` skipped altogether: its first instant belongs to the next day."""
    return day_start(day, zone).date() == day


def week_start_of(day: date, week_start: int) -> date:
    """The first day of the week holding `day`; `week_start` 0 is Monday (V1)."""
    return day - timedelta(days=(day.weekday() - week_start) % 7)

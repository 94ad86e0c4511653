"""BusinessCalendar: working days and adding business days (SPEC S2, G4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcounters import BusinessCalendar, CalendarSettings, NaiveDatetimeError, ValidationError
from crmcounters._calendar import at_local_time
from crmcounters.testing.strategies import aware_datetimes, zones

WARSAW = ZoneInfo("Europe/Warsaw")
POLAND = BusinessCalendar.for_country("PL")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Friday → Wednesday (weekend skipped)
        (
            datetime(2026, 12, 18, 10, 0, tzinfo=WARSAW),
            datetime(2026, 12, 23, 10, 0, tzinfo=WARSAW),
        ),
        # Wednesday before Christmas: 24th-26th are holidays in Poland
        (
            datetime(2026, 12, 23, 10, 0, tzinfo=WARSAW),
            datetime(2026, 12, 30, 10, 0, tzinfo=WARSAW),
        ),
        # Saturday → Wednesday: counting starts with the next day
        (datetime(2026, 12, 19, 9, 0, tzinfo=WARSAW), datetime(2026, 12, 23, 9, 0, tzinfo=WARSAW)),
        # across the end of summer time: same local time, new offset
        (
            datetime(2026, 10, 23, 10, 0, tzinfo=WARSAW),
            datetime(2026, 10, 28, 10, 0, tzinfo=WARSAW),
        ),
    ],
)
def test_s2_examples_three_business_days_in_warsaw(start: datetime, expected: datetime) -> None:
    """S2: the four examples of the SPEC, Europe/Warsaw with Polish holidays."""
    result = POLAND.add_business_days(start, 3, "Europe/Warsaw")
    assert result == expected
    assert result.replace(tzinfo=None) == expected.replace(tzinfo=None)  # same wall clock
    assert result.utcoffset() == expected.utcoffset()


def test_s2_dst_example_keeps_local_time_with_the_new_offset() -> None:
    """S2: Friday 2026-10-23 10:00+02:00 → Wednesday 2026-10-28 10:00+01:00."""
    result = POLAND.add_business_days(
        datetime.fromisoformat("2026-10-23T10:00:00+02:00"), 3, WARSAW
    )
    assert result.isoformat() == "2026-10-28T10:00:00+01:00"


def test_s2_start_is_read_in_the_users_zone_not_the_given_offset() -> None:
    """G4/X3: 23:30 UTC on a Thursday is already Friday in Warsaw."""
    start = datetime.fromisoformat("2026-12-17T23:30:00+00:00")  # Fri 00:30 in Warsaw
    result = POLAND.add_business_days(start, 3, WARSAW)
    assert result.isoformat() == "2026-12-23T00:30:00+01:00"


def test_s2_friday_saturday_weekend_from_the_country() -> None:
    """S2: Israel's weekend is Friday and Saturday."""
    israel = BusinessCalendar.for_country("IL")
    assert israel.weekend_days == frozenset({4, 5})
    jerusalem = ZoneInfo("Asia/Jerusalem")
    thursday = datetime(2026, 11, 12, 9, 0, tzinfo=jerusalem)
    # Fri, Sat off; Sun 15, Mon 16, Tue 17 are working days.
    assert israel.add_business_days(thursday, 3, jerusalem) == datetime(
        2026, 11, 17, 9, 0, tzinfo=jerusalem
    )


def test_s2_company_day_off_and_extra_working_day() -> None:
    """S2: company days off are skipped; extra working days count even on a weekend."""
    shutdown = BusinessCalendar.for_country(
        "PL", company_days_off=[date(2026, 12, 21)], extra_working_days=[date(2026, 12, 19)]
    )
    assert not shutdown.is_working_day(date(2026, 12, 21))
    assert shutdown.is_working_day(date(2026, 12, 19))  # a Saturday made a working day
    friday = datetime(2026, 12, 18, 10, 0, tzinfo=WARSAW)
    # Sat 19 (extra), Mon 21 off, Tue 22, Wed 23.
    assert shutdown.add_business_days(friday, 3, WARSAW) == datetime(
        2026, 12, 23, 10, 0, tzinfo=WARSAW
    )
    assert shutdown.add_business_days(friday, 2, WARSAW) == datetime(
        2026, 12, 22, 10, 0, tzinfo=WARSAW
    )


def test_s2_subdivision_holidays() -> None:
    """S2: subdivision holidays: Epiphany is a day off in Bavaria, not in Berlin."""
    bavaria = BusinessCalendar.for_country("DE", "BY")
    berlin = BusinessCalendar.for_country("DE", "BE")
    epiphany = date(2027, 1, 6)  # a Wednesday
    assert not bavaria.is_working_day(epiphany)
    assert berlin.is_working_day(epiphany)


def test_calendar_without_country_has_only_weekends_and_company_days() -> None:
    """A calendar can be built without public holidays."""
    plain = CalendarSettings(company_days_off=(date(2026, 12, 24),)).build()
    assert plain.is_working_day(date(2026, 12, 25))  # Christmas: not a holiday here
    assert not plain.is_working_day(date(2026, 12, 24))
    assert not plain.is_working_day(date(2026, 12, 26))  # Saturday


def test_gap_time_moves_forward_by_the_gap() -> None:
    """G4: 02:30 does not exist on 2026-03-29 in Warsaw; it becomes 03:30 CEST."""
    result = at_local_time(date(2026, 3, 29), time(2, 30), WARSAW)
    assert result.isoformat() == "2026-03-29T03:30:00+02:00"


def test_s2_deadline_landing_in_a_spring_forward_gap_is_a_real_instant() -> None:
    """G4: 02:30 local kept across days lands after the gap on the DST day."""
    new_york = ZoneInfo("America/New_York")
    start = datetime(2027, 3, 11, 2, 30, tzinfo=new_york)  # Thursday; DST starts Sun 14th
    plain = BusinessCalendar(weekend_days=frozenset())  # every day a working day
    result = plain.add_business_days(start, 3, new_york)
    assert result.isoformat() == "2027-03-14T03:30:00-04:00"


def test_errors_name_what_is_wrong() -> None:
    """G5: naive datetimes, negative counts, unknown countries and years out of range."""
    with pytest.raises(NaiveDatetimeError, match="start"):
        POLAND.add_business_days(datetime(2026, 12, 18, 10), 3, WARSAW)
    with pytest.raises(ValidationError, match="n:"):
        POLAND.add_business_days(datetime(2026, 12, 18, 10, tzinfo=WARSAW), -1, WARSAW)
    with pytest.raises(ValidationError, match="country"):
        BusinessCalendar.for_country("XX")
    with pytest.raises(ValidationError, match="outside the years"):
        POLAND.is_working_day(date(2199, 1, 1))
    with pytest.raises(ValidationError, match="expected a date"):
        POLAND.is_working_day(datetime(2026, 1, 1, tzinfo=WARSAW))
    with pytest.raises(ValidationError, match="weekend_days"):
        BusinessCalendar(weekend_days=frozenset(range(7)))
    with pytest.raises(ValidationError, match=r"^tz: unknown IANA"):
        POLAND.add_business_days(datetime(2026, 12, 18, 10, tzinfo=WARSAW), 3, "Nowhere/City")
    with pytest.raises(ValidationError, match=r"^tz: expected a tzinfo"):
        POLAND.add_business_days(datetime(2026, 12, 18, 10, tzinfo=WARSAW), 3, 5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "build",
    [
        lambda: BusinessCalendar.for_country("PL", "ZZ"),
        lambda: CalendarSettings(country="PL", subdivision="ZZ"),
    ],
    ids=["for_country", "CalendarSettings"],
)
def test_s2_unknown_subdivision_is_named_with_the_valid_ones(
    build: Callable[[], object],
) -> None:
    """S2, G5: a subdivision the country lacks names `subdivision` and lists the country's."""
    with pytest.raises(ValidationError) as caught:
        build()
    assert caught.value.field == "subdivision"
    assert "PL has no subdivision 'ZZ'" in caught.value.problem
    assert "14 (Mazowieckie)" in caught.value.problem
    assert "ISO 3166-1" not in caught.value.problem


def test_s2_subdivision_errors_for_countries_with_many_or_no_subdivisions() -> None:
    """G5: a long list is cut with a pointer to the rest; a country without any says so."""
    with pytest.raises(ValidationError, match=r"and \d+ more") as caught:
        BusinessCalendar.for_country("US", "ZZ")
    assert caught.value.field == "subdivision"
    with pytest.raises(ValidationError, match="leave subdivision None") as caught:
        BusinessCalendar.for_country("IL", "ZZ")
    assert caught.value.field == "subdivision"


def test_s2_unknown_country_with_a_subdivision_is_still_a_country_error() -> None:
    """G5: the country is wrong first; its subdivision cannot be judged."""
    with pytest.raises(ValidationError, match="ISO 3166-1") as caught:
        CalendarSettings(country="XX", subdivision="ZZ")
    assert caught.value.field == "country"


def test_calendar_is_immutable_and_hashable_plain_data() -> None:
    """S2: holidays are precomputed into frozen sets; the calendar never changes."""
    assert isinstance(POLAND.days_off, frozenset)
    assert date(2026, 12, 25) in POLAND.days_off
    assert hash(POLAND) == hash(BusinessCalendar.for_country("PL"))


def _working_days_between(calendar: BusinessCalendar, first: date, last: date) -> int:
    """Working days in (first, last]."""
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count


@given(
    start=aware_datetimes(),
    n=st.integers(1, 10),
    zone=zones(),
    country=st.sampled_from(["PL", "IL", "US", "VN", "KI"]),
)
def test_s2_result_is_a_working_day_n_working_days_later(
    start: datetime, n: int, zone: str, country: str
) -> None:
    """S2 invariant: strictly later, lands on a working day, exactly n working days after."""
    calendar = BusinessCalendar.for_country(country)
    tz = ZoneInfo(zone)
    result = calendar.add_business_days(start, n, tz)
    assert result > start
    local_start, local_result = start.astimezone(tz), result.astimezone(tz)
    assert calendar.is_working_day(local_result.date())
    assert _working_days_between(calendar, local_start.date(), local_result.date()) == n
    # the wall-clock time is kept whenever it exists on the target day (G4)
    wall = local_start.time().replace(fold=0)
    candidate = datetime.combine(local_result.date(), wall, tzinfo=tz)
    exists = candidate.astimezone(ZoneInfo("UTC")).astimezone(tz).time() == wall
    if exists:
        assert local_result.time() == wall
    else:
        assert local_result.time() > wall  # pushed forward past the gap


def test_s2_country_with_fewer_holiday_years_narrows_what_the_calendar_covers() -> None:
    """S2/G5: India's holidays are published for 2001-2035 only; outside is an error."""
    india = BusinessCalendar.for_country("IN")
    assert india.covers == range(2001, 2036)
    assert not india.is_working_day(date(2026, 1, 26))  # Republic Day
    with pytest.raises(ValidationError, match="outside the years 2001-2035"):
        india.is_working_day(date(2040, 1, 2))

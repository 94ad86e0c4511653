"""The smart-activity deadline: three business days later, same local time (S2, G4, X3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _build_smart import PL, WARSAW, add_item, portal
from crmcounters import (
    BusinessCalendar,
    CalendarSettings,
    NaiveDatetimeError,
    Settings,
    SmartActivityDraft,
    SmartActivitySettings,
    ValidationError,
    smart_activity_deadline,
    suggest_smart_activity,
)

KIRITIMATI = ZoneInfo("Pacific/Kiritimati")
HONOLULU = ZoneInfo("Pacific/Honolulu")
JERUSALEM = ZoneInfo("Asia/Jerusalem")
BERLIN = ZoneInfo("Europe/Berlin")
PLAIN = BusinessCalendar()  # Saturday and Sunday off, no holidays

S2_EXAMPLES = [
    # (suggested at, deadline) in Europe/Warsaw with Polish holidays, as SPEC S2 lists them.
    (datetime(2026, 12, 18, 10, 0, tzinfo=WARSAW), datetime(2026, 12, 23, 10, 0, tzinfo=WARSAW)),
    (datetime(2026, 12, 23, 10, 0, tzinfo=WARSAW), datetime(2026, 12, 30, 10, 0, tzinfo=WARSAW)),
    (datetime(2026, 12, 19, 9, 0, tzinfo=WARSAW), datetime(2026, 12, 23, 9, 0, tzinfo=WARSAW)),
    (datetime(2026, 10, 23, 10, 0, tzinfo=WARSAW), datetime(2026, 10, 28, 10, 0, tzinfo=WARSAW)),
]


@pytest.mark.parametrize(("now", "expected"), S2_EXAMPLES, ids=lambda d: d.isoformat())
def test_s2_examples_from_the_spec(now: datetime, expected: datetime) -> None:
    """Every S2 example: Friday -> Wednesday, Christmas skipped, Saturday, across DST."""
    deadline = smart_activity_deadline(now, "Europe/Warsaw", PL)
    assert deadline == expected
    assert deadline.tzinfo == WARSAW
    assert (deadline.hour, deadline.minute) == (now.hour, now.minute)


@pytest.mark.parametrize(("now", "expected"), S2_EXAMPLES, ids=lambda d: d.isoformat())
def test_s2_examples_through_the_suggester(now: datetime, expected: datetime) -> None:
    """The suggester uses the portal's calendar (built from `Settings.calendar`) the same way."""
    storage = portal()
    add_item(storage)
    draft = suggest_smart_activity(storage, "i1", "u1", now)
    assert isinstance(draft, SmartActivityDraft)
    assert draft.deadline == expected


def test_s2_dst_change_inside_the_three_days_keeps_the_wall_clock() -> None:
    """Friday 10:00+02:00 -> Wednesday 10:00+01:00: 5 days and one hour later in UTC."""
    now = datetime(2026, 10, 23, 10, 0, tzinfo=WARSAW)
    deadline = smart_activity_deadline(now, WARSAW, PL)
    assert now.utcoffset() == timedelta(hours=2)
    assert deadline.utcoffset() == timedelta(hours=1)
    assert deadline.isoformat() == "2026-10-28T10:00:00+01:00"
    assert deadline.astimezone(UTC) - now.astimezone(UTC) == timedelta(days=5, hours=1)


def test_s2_spring_forward_dst_inside_the_three_days() -> None:
    """Friday 10:00+01:00 before the March change -> Wednesday 10:00+02:00."""
    deadline = smart_activity_deadline(datetime(2026, 3, 27, 10, 0, tzinfo=WARSAW), WARSAW, PL)
    assert deadline.isoformat() == "2026-04-01T10:00:00+02:00"


def test_s2_deadline_on_a_nonexistent_local_time_moves_forward_by_the_gap() -> None:
    """02:30 does not exist on Sunday 2026-03-29 in Warsaw: a working Sunday gets 03:30 CEST."""
    calendar = BusinessCalendar.for_country("PL", extra_working_days=[date(2026, 3, 29)])
    now = datetime(2026, 3, 25, 2, 30, tzinfo=WARSAW)  # Wednesday, 02:30 CET
    deadline = smart_activity_deadline(now, WARSAW, calendar)
    assert deadline.isoformat() == "2026-03-29T03:30:00+02:00"
    assert deadline.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_s2_suggestion_made_at_0230_on_a_spring_forward_day_lands_on_a_valid_instant() -> None:
    """A wall reading of 02:30 on 2026-03-29 is the instant 03:30 CEST; the deadline keeps 03:30."""
    now = datetime(2026, 3, 29, 2, 30, tzinfo=WARSAW)  # not a real wall-clock time
    deadline = smart_activity_deadline(now, WARSAW, PL)
    assert deadline.isoformat() == "2026-04-01T03:30:00+02:00"
    round_trip = deadline.astimezone(UTC).astimezone(WARSAW)
    assert (round_trip.date(), round_trip.time()) == (deadline.date(), deadline.time())
    assert deadline > now
    # The same instant written in UTC gets the same deadline (X2: a function of the instant).
    assert smart_activity_deadline(now.astimezone(UTC), WARSAW, PL) == deadline


def test_s2_ambiguous_local_time_takes_its_first_occurrence() -> None:
    """02:30 happens twice on Sunday 2026-10-25 in Warsaw: the deadline is the first (+02:00)."""
    calendar = BusinessCalendar.for_country("PL", extra_working_days=[date(2026, 10, 25)])
    deadline = smart_activity_deadline(
        datetime(2026, 10, 21, 2, 30, tzinfo=WARSAW), WARSAW, calendar
    )
    assert deadline.isoformat() == "2026-10-25T02:30:00+02:00"


def test_g4_a_gap_at_the_end_of_the_day_moves_back_rather_than_into_the_next_day() -> None:
    """America/Nuuk skips 23:00-24:00 on Saturday 2026-03-28; 23:30 there stays on the 28th."""
    nuuk = ZoneInfo("America/Nuuk")
    calendar = BusinessCalendar(weekend_days={6})  # Saturday is a working day
    deadline = smart_activity_deadline(datetime(2026, 3, 25, 23, 30, tzinfo=nuuk), nuuk, calendar)
    assert deadline.date() == date(2026, 3, 28)
    assert deadline.isoformat() == "2026-03-28T22:30:00-02:00"


def test_g4_a_day_the_zone_skipped_is_not_a_business_day() -> None:
    """Pacific/Apia skipped Friday 2011-12-30; one business day after Thursday is Monday."""
    apia = ZoneInfo("Pacific/Apia")
    now = datetime(2011, 12, 29, 10, 0, tzinfo=apia)
    deadline = smart_activity_deadline(now, apia, PLAIN, business_days=1)
    assert deadline.isoformat() == "2012-01-02T10:00:00+14:00"


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (1, "2011-12-29T09:00:00-10:00"),
        (2, "2012-01-02T09:00:00+14:00"),  # Friday 30th never happened there; then a weekend
        (3, "2012-01-03T09:00:00+14:00"),
        (4, "2012-01-04T09:00:00+14:00"),
    ],
)
def test_s2_a_skipped_day_is_never_a_business_day_wherever_it_falls(
    days: int, expected: str
) -> None:
    """S2: from Wednesday 2011-12-28 09:00 in Apia, 1-4 business days give Dec 29, Jan 2, 3, 4.

    The skipped Friday used to be left out only when it was the last day counted
    (Jan 2, Jan 2, Jan 3 for 2-4 days).
    """
    apia = ZoneInfo("Pacific/Apia")
    wednesday = datetime(2011, 12, 28, 9, 0, tzinfo=apia)
    assert smart_activity_deadline(wednesday, apia, PLAIN, business_days=days).isoformat() == (
        expected
    )
    assert PLAIN.is_working_day(date(2011, 12, 30))  # a plain Friday, without the zone
    assert not PLAIN.is_working_day(date(2011, 12, 30), apia)


def test_s2_friday_saturday_weekend_in_israel() -> None:
    """IL rests on Friday and Saturday: Wednesday -> Thursday, Sunday, Monday."""
    il = BusinessCalendar.for_country("IL")
    assert il.weekend_days == frozenset({4, 5})
    wednesday = datetime(2026, 11, 4, 10, 0, tzinfo=JERUSALEM)
    assert smart_activity_deadline(wednesday, JERUSALEM, il).isoformat() == (
        "2026-11-09T10:00:00+02:00"
    )
    thursday = datetime(2026, 11, 5, 10, 0, tzinfo=JERUSALEM)
    assert smart_activity_deadline(thursday, JERUSALEM, il).date() == date(2026, 11, 10)
    # Sunday is a working day there, so a Saturday suggestion is due on Tuesday.
    saturday = datetime(2026, 11, 7, 10, 0, tzinfo=JERUSALEM)
    assert smart_activity_deadline(saturday, JERUSALEM, il).date() == date(2026, 11, 10)


def test_s2_israeli_holidays_are_skipped() -> None:
    """Yom Kippur (Monday 2026-09-21) is a day off in IL."""
    il = BusinessCalendar.for_country("IL")
    now = datetime(2026, 9, 17, 10, 0, tzinfo=JERUSALEM)  # Thursday
    # Sunday 20th (1), Monday 21st Yom Kippur, Tuesday 22nd (2), Wednesday 23rd (3).
    assert smart_activity_deadline(now, JERUSALEM, il).date() == date(2026, 9, 23)


def test_x3_kiritimati_user_counts_from_her_own_date() -> None:
    """UTC+14: Saturday 09:00 local is still Friday in UTC; counting starts on local Sunday."""
    now = datetime(2026, 12, 19, 9, 0, tzinfo=KIRITIMATI)
    assert now.astimezone(UTC).weekday() == 4  # Friday in UTC
    deadline = smart_activity_deadline(now, "Pacific/Kiritimati", PLAIN)
    assert deadline.isoformat() == "2026-12-23T09:00:00+14:00"  # Mon, Tue, Wed


def test_x3_kiritimati_user_through_the_suggester() -> None:
    """The suggester takes the zone of the user who closes the form, not the server's or UTC."""
    storage = portal(settings=Settings(), time_zone="Pacific/Kiritimati")
    add_item(storage)
    now = datetime(2026, 12, 18, 19, 0, tzinfo=UTC)  # Saturday 09:00 in Kiritimati
    draft = suggest_smart_activity(storage, "i1", "u1", now)
    assert isinstance(draft, SmartActivityDraft)
    assert draft.deadline.astimezone(KIRITIMATI).isoformat() == "2026-12-23T09:00:00+14:00"


def test_x3_honolulu_user_with_a_us_subdivision_calendar() -> None:
    """UTC-10: Friday 20:00 local is Saturday in UTC; the deadline is local Wednesday 20:00."""
    hawaii = CalendarSettings(country="US", subdivision="HI").build()
    now = datetime(2026, 12, 18, 20, 0, tzinfo=HONOLULU)
    assert now.astimezone(UTC).weekday() == 5
    deadline = smart_activity_deadline(now, HONOLULU, hawaii)
    assert deadline.isoformat() == "2026-12-23T20:00:00-10:00"


def test_s2_subdivision_holidays_count() -> None:
    """Epiphany (Tuesday 2026-01-06) is a holiday in Bavaria, not in Berlin."""
    now = datetime(2026, 1, 5, 10, 0, tzinfo=BERLIN)
    bavaria = BusinessCalendar.for_country("DE", "BY")
    berlin = BusinessCalendar.for_country("DE", "BE")
    assert smart_activity_deadline(now, BERLIN, bavaria).date() == date(2026, 1, 9)
    assert smart_activity_deadline(now, BERLIN, berlin).date() == date(2026, 1, 8)


def test_s2_company_days_off_and_extra_working_days() -> None:
    """A company day off is skipped; an extra working Saturday counts."""
    now = datetime(2026, 12, 18, 10, 0, tzinfo=WARSAW)
    day_off = BusinessCalendar.for_country("PL", company_days_off=[date(2026, 12, 21)])
    assert smart_activity_deadline(now, WARSAW, day_off).date() == date(2026, 12, 28)
    saturday = BusinessCalendar.for_country("PL", extra_working_days=[date(2026, 12, 19)])
    assert smart_activity_deadline(now, WARSAW, saturday).date() == date(2026, 12, 22)


def test_s2_business_days_is_a_setting() -> None:
    """`SmartActivitySettings.business_days` changes the count; 3 by default."""
    assert SmartActivitySettings().business_days == 3
    storage = portal(
        settings=Settings(
            calendar=CalendarSettings(country="PL"),
            smart_activities=SmartActivitySettings(business_days=1),
        )
    )
    add_item(storage)
    draft = suggest_smart_activity(storage, "i1", "u1", datetime(2026, 12, 18, 10, tzinfo=WARSAW))
    assert isinstance(draft, SmartActivityDraft)
    assert draft.deadline == datetime(2026, 12, 21, 10, 0, tzinfo=WARSAW)


def test_s2_a_prebuilt_calendar_overrides_the_portal_one() -> None:
    """Hosts pass a calendar they built once; the portal's settings are then not used."""
    storage = portal()  # Polish holidays in the settings
    add_item(storage)
    now = datetime(2026, 12, 23, 10, 0, tzinfo=WARSAW)
    draft = suggest_smart_activity(storage, "i1", "u1", now, calendar=PLAIN)
    assert isinstance(draft, SmartActivityDraft)
    assert draft.deadline.date() == date(2026, 12, 28)  # 24th, 25th: plain working days


def test_s2_portal_calendar_is_built_once_not_per_call() -> None:
    """Building a calendar reads decades of holidays; the suggester caches it per settings."""
    from crmcounters._smart import _calendar_for

    storage = portal(settings=Settings(calendar=CalendarSettings(country="PL", subdivision="14")))
    add_item(storage)
    now = datetime(2026, 12, 18, 10, 0, tzinfo=WARSAW)
    suggest_smart_activity(storage, "i1", "u1", now)
    before = _calendar_for.cache_info()
    for _ in range(3):
        suggest_smart_activity(storage, "i1", "u1", now)
    after = _calendar_for.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (3, 0)


def test_g2_naive_now_is_refused() -> None:
    """A naive datetime is an error naming the field (G2)."""
    with pytest.raises(NaiveDatetimeError, match=r"^now: "):
        smart_activity_deadline(datetime(2026, 12, 18, 10, 0), WARSAW, PL)


@pytest.mark.parametrize("bad", [0, -1, True, 2.5])
def test_s2_business_days_must_be_a_whole_number_from_one(bad: object) -> None:
    """Zero or fractional business days are refused, not rounded."""
    with pytest.raises(ValidationError, match="business_days"):
        smart_activity_deadline(datetime(2026, 12, 18, tzinfo=WARSAW), WARSAW, PL, bad)  # type: ignore[arg-type]


def test_s2_dates_beyond_the_known_holiday_years_are_an_error() -> None:
    """A calendar does not guess holidays it never computed."""
    with pytest.raises(ValidationError, match="outside the years"):
        smart_activity_deadline(datetime(2075, 12, 30, 10, tzinfo=WARSAW), WARSAW, PL)


# -- properties ----------------------------------------------------------------

ZONES = [
    "Europe/Warsaw",
    "Pacific/Kiritimati",
    "Pacific/Honolulu",
    "Asia/Jerusalem",
    "America/New_York",
    "America/Santiago",
    "America/Nuuk",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "UTC",
]
COUNTRY_CALENDARS = [PL, BusinessCalendar.for_country("IL"), BusinessCalendar.for_country("US")]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    """A country calendar, or a random one: weekend days, days off, extra working days."""
    if draw(st.booleans()):
        return draw(st.sampled_from(COUNTRY_CALENDARS))
    days = st.dates(min_value=date(2001, 1, 1), max_value=date(2074, 12, 31))
    return BusinessCalendar(
        weekend_days=draw(st.frozensets(st.integers(0, 6), max_size=5)),
        days_off=draw(st.frozensets(days, max_size=30)),
        extra_working_days=draw(st.frozensets(days, max_size=5)),
    )


def _working_days_between(calendar: BusinessCalendar, after: date, until: date) -> int:
    count, day = 0, after
    while day < until:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count


def _exists(day: date, wall: time, zone: ZoneInfo) -> bool:
    instant = datetime.combine(day, wall, tzinfo=zone)
    back = instant.astimezone(UTC).astimezone(zone)
    return (back.date(), back.time()) == (day, wall.replace(fold=0))


@given(
    now=st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2074, 6, 30)),
    zone_name=st.sampled_from(ZONES),
    calendar=calendars(),
    business_days=st.integers(1, 10),
)
def test_s2_property_deadline_is_a_later_working_day_exactly_n_working_days_on(
    now: datetime, zone_name: str, calendar: BusinessCalendar, business_days: int
) -> None:
    """Always a working day, strictly after now, exactly n working days later, same wall time."""
    zone = ZoneInfo(zone_name)
    now = now.replace(tzinfo=UTC)
    deadline = smart_activity_deadline(now, zone, calendar, business_days)
    local_now = now.astimezone(zone)
    assert deadline > now
    assert deadline.tzinfo == zone
    assert calendar.is_working_day(deadline.date())
    assert _working_days_between(calendar, local_now.date(), deadline.date()) == business_days
    wall = local_now.time()
    if _exists(deadline.date(), wall, zone):
        assert deadline.time() == wall
    else:  # a DST gap: a real instant on the same day, within the gap's length of the wall time
        asked = datetime.combine(deadline.date(), wall)
        assert abs(deadline.replace(tzinfo=None) - asked) <= timedelta(hours=1)

"""Smart-activity deadlines across countries, holidays and DST changes (SPEC S2, G4, X3).

When a user closes a deal with nothing planned, the CRM suggests "Contact the
client" three business days later (S2). What it teaches:

- counting starts the day after the suggestion, in the *user's* zone, and
  keeps the local time of day;
- business days skip the country's weekend (Friday and Saturday in Israel),
  its public holidays (Christmas in Poland, Tet in Vietnam), the holidays of
  a subdivision (California's day after Thanksgiving, which New York works),
  and the company's own days off;
- the same instant is Christmas morning in Kiritimati (UTC+14) and Christmas
  Eve night in Honolulu (UTC-10): each user gets the deadline of their own
  calendar day (X3);
- across a DST change the wall-clock time is kept, so the deadline is an hour
  more or less away in elapsed time (G4).

`smart_activity_deadline(now, zone, calendar)` is the deadline alone;
`suggest_smart_activity` (see docs/smart-activities.md) uses it with the
portal's calendar. Every instant below is fixed, never the system clock.

Run: python examples/smart_deadlines.py
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from crmcounters import BusinessCalendar, smart_activity_deadline

YEARS = range(2026, 2028)  # build calendars for the years we use: faster than the default 76


def wall(instant: datetime) -> str:
    """An instant as its user reads it, with the UTC offset."""
    return instant.strftime("%a %d %b %Y %H:%M %z")


def skipped(calendar: BusinessCalendar, start: date, end: date) -> str:
    """The days between the suggestion and the deadline that did not count, and why."""
    notes = []
    day = start + timedelta(days=1)
    while day < end:
        if not calendar.is_working_day(day):
            why = "weekend" if day.weekday() in calendar.weekend_days else "day off"
            notes.append(f"{day:%a %d} {why}")
        day += timedelta(days=1)
    return ", ".join(notes) if notes else "nothing"


def show(label: str, now: datetime, zone: str, calendar: BusinessCalendar) -> datetime:
    """Print one suggestion instant, its deadline and the days skipped on the way."""
    deadline = smart_activity_deadline(now, zone, calendar)
    local_now = now.astimezone(ZoneInfo(zone))
    print(f"{label:<13} {wall(local_now)} -> {wall(deadline)}")
    print(f"{'':<13} skipped: {skipped(calendar, local_now.date(), deadline.date())}")
    return deadline


def main() -> None:
    """One block per country or effect."""
    warsaw = ZoneInfo("Europe/Warsaw")
    poland = BusinessCalendar.for_country("PL", years=YEARS)
    print("Poland: the SPEC's examples (S2), Christmas Eve to Boxing Day are holidays")
    show("PL Friday", datetime(2026, 12, 18, 10, 0, tzinfo=warsaw), "Europe/Warsaw", poland)
    show("PL Christmas", datetime(2026, 12, 23, 10, 0, tzinfo=warsaw), "Europe/Warsaw", poland)
    show("PL Saturday", datetime(2026, 12, 19, 9, 0, tzinfo=warsaw), "Europe/Warsaw", poland)
    print()

    print("Company days off on top: the office is closed 28-31 December")
    closed = BusinessCalendar.for_country(
        "PL", company_days_off=[date(2026, 12, d) for d in range(28, 32)], years=YEARS
    )
    show("PL closed", datetime(2026, 12, 23, 10, 0, tzinfo=warsaw), "Europe/Warsaw", closed)
    print()

    print("Israel: the weekend is Friday and Saturday")
    israel = BusinessCalendar.for_country("IL", years=YEARS)
    jerusalem = ZoneInfo("Asia/Jerusalem")
    show("IL Wednesday", datetime(2026, 11, 4, 10, 0, tzinfo=jerusalem), "Asia/Jerusalem", israel)
    print()

    print("United States: a subdivision's holidays (Thanksgiving week)")
    new_york = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    show("US (NY)", new_york, "America/New_York", BusinessCalendar.for_country("US", years=YEARS))
    california = BusinessCalendar.for_country("US", "CA", years=YEARS)
    los_angeles = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    show("US-CA", los_angeles, "America/Los_Angeles", california)
    print()

    print("Vietnam: Tet, the Lunar New Year, closes a week")
    saigon = ZoneInfo("Asia/Ho_Chi_Minh")
    vietnam = BusinessCalendar.for_country("VN", years=YEARS)
    show("VN Tet", datetime(2027, 2, 2, 10, 0, tzinfo=saigon), "Asia/Ho_Chi_Minh", vietnam)
    print()

    instant = datetime(2026, 12, 24, 11, 0, tzinfo=UTC)
    print(f"One instant, {instant:%Y-%m-%d %H:%M} UTC, two users' own days (X3)")
    kiribati = BusinessCalendar.for_country("KI", years=YEARS)
    hawaii = BusinessCalendar.for_country("US", "HI", years=YEARS)
    show("Kiritimati", instant, "Pacific/Kiritimati", kiribati)
    show("Honolulu", instant, "Pacific/Honolulu", hawaii)
    print()

    print("Across a DST change the local time is kept (G4)")
    for label, now, zone, calendar in (
        ("PL October", datetime(2026, 10, 23, 10, 0, tzinfo=warsaw), "Europe/Warsaw", poland),
        (
            "US November",
            datetime(2026, 10, 30, 10, 0, tzinfo=ZoneInfo("America/New_York")),
            "America/New_York",
            BusinessCalendar.for_country("US", years=YEARS),
        ),
    ):
        deadline = show(label, now, zone, calendar)
        elapsed = deadline.astimezone(UTC) - now.astimezone(UTC)
        print(f"{'':<13} elapsed: {elapsed}")


if __name__ == "__main__":
    main()

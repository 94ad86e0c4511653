"""Smart activities (S2): deadlines and whole suggestions for items across 10 countries.

Ours: `smart_activity_deadline` on prebuilt `BusinessCalendar`s (holidays read
once into frozen sets), and `suggest_smart_activity` over an `InMemoryStorage`
per country. Baselines computing the same deadlines in the same run:
- naive: a day-by-day loop over a fresh `holidays.country_holidays(...)` per
  suggestion (what a first implementation does; sampled, it is slow);
- rrule: `dateutil.rrule` over working weekdays, skipping days found in a
  long-lived `holidays` object.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import islice
from zoneinfo import ZoneInfo

import holidays
from dateutil.rrule import DAILY, rrule

from benchmarks._harness import figure, header, median_seconds, note, scaled, timed
from crmcounters import (
    Activity,
    ActivityKind,
    BusinessCalendar,
    CalendarSettings,
    InMemoryStorage,
    Item,
    NoSuggestion,
    Pipeline,
    Settings,
    Stage,
    StageSemantics,
    User,
    smart_activity_deadline,
    suggest_smart_activity,
)

COUNTRIES = [
    ("PL", "Europe/Warsaw"),
    ("DE", "Europe/Berlin"),
    ("FR", "Europe/Paris"),
    ("GB", "Europe/London"),
    ("US", "America/New_York"),
    ("IL", "Asia/Jerusalem"),
    ("VN", "Asia/Ho_Chi_Minh"),
    ("BR", "America/Sao_Paulo"),
    ("JP", "Asia/Tokyo"),
    ("AU", "Australia/Sydney"),
]
START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_MINUTES = 2 * 365 * 24 * 60


def _cases(n: int, rng: random.Random) -> list[tuple[int, datetime]]:
    """(country index, now) pairs: instants spread over 2026-2027."""
    return [
        (rng.randrange(len(COUNTRIES)), START + timedelta(minutes=rng.randrange(SPAN_MINUTES)))
        for _ in range(n)
    ]


def _naive_deadline(now: datetime, country: str, zone: tzinfo) -> datetime:
    """A first implementation: fresh `holidays` lookup, day by day."""
    table = holidays.country_holidays(country)
    local = now.astimezone(zone)
    day, counted = local.date(), 0
    while counted < 3:
        day += timedelta(days=1)
        if day.weekday() not in table.weekend and day not in table:
            counted += 1
    return _at(day, local, zone)


def _rrule_deadline(now: datetime, table: holidays.HolidayBase, zone: tzinfo) -> datetime:
    """`dateutil.rrule` over working weekdays, skipping holidays of a warm `holidays` object."""
    local = now.astimezone(zone)
    workdays = [d for d in range(7) if d not in table.weekend]
    first = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
    days = (d for d in rrule(DAILY, dtstart=first, byweekday=workdays) if d.date() not in table)
    target = next(islice(days, 2, None))
    return _at(target.date(), local, zone)


def _at(day: date, local: datetime, zone: tzinfo) -> datetime:
    wall = datetime.combine(day, local.time().replace(fold=0), tzinfo=zone)
    return wall.astimezone(UTC).astimezone(zone)


def _portal(country: str, zone: str, items: int, users: int, rng: random.Random) -> InMemoryStorage:
    """One company: `users` people, `items` deals and leads; some busy, some won or lost."""
    storage = InMemoryStorage(Settings(calendar=CalendarSettings(country=country)))
    people = [User(id=f"u{n}", name=f"User {n}", time_zone=zone) for n in range(users)]
    stages = (
        Stage(id="new", name="New"),
        Stage(id="won", name="Won", semantics=StageSemantics.SUCCESS),
        Stage(id="lost", name="Lost", semantics=StageSemantics.FAILURE),
    )
    pipelines = [
        Pipeline(id="deals", entity_type="deal", stages=stages),
        Pipeline(id="leads", entity_type="lead", stages=stages),
    ]
    created = datetime(2025, 12, 1, 9, tzinfo=UTC)
    records: list[object] = [*people, *pipelines]
    for n in range(items):
        entity = "deal" if n % 2 else "lead"
        stage = rng.choices(["new", "won", "lost"], weights=[90, 5, 5])[0]
        records.append(
            Item(
                id=f"i{n}",
                entity_type=entity,
                pipeline_id=f"{entity}s",
                stage_id=stage,
                responsible_id=people[n % users].id,
                created_at=created,
            )
        )
        if rng.random() < 0.15:
            records.append(
                Activity(
                    id=f"a{n}",
                    item_ids=(f"i{n}",),
                    kind=ActivityKind.CALL,
                    responsible_id=people[n % users].id,
                    created_at=created,
                    deadline=created + timedelta(days=40),
                )
            )
    storage.add_all(records)  # type: ignore[arg-type]
    return storage


def main() -> None:
    """Print the figures."""
    rng = random.Random(5)
    total = scaled(100_000, 10)
    header(f"Smart activities: {total:,} suggestions across {len(COUNTRIES)} countries")

    calendars, build_seconds = timed(
        lambda: [BusinessCalendar.for_country(country) for country, _ in COUNTRIES]
    )
    zones = [ZoneInfo(zone) for _, zone in COUNTRIES]
    note(f"built {len(calendars)} calendars (holidays 2000-2075) in {build_seconds:.2f} s, once")

    cases = _cases(total, rng)

    def ours() -> list[datetime]:
        return [smart_activity_deadline(now, zones[c], calendars[c]) for c, now in cases]

    expected = ours()
    ours_seconds = median_seconds(ours, repeat=3) / total

    warm = [holidays.country_holidays(country) for country, _ in COUNTRIES]
    rrule_cases = cases[: scaled(20_000, 10)]

    def by_rrule() -> list[datetime]:
        return [_rrule_deadline(now, warm[c], zones[c]) for c, now in rrule_cases]

    rrule_answers, rrule_total = timed(by_rrule)
    assert rrule_answers == expected[: len(rrule_cases)], "rrule baseline disagrees"
    rrule_seconds = rrule_total / len(rrule_cases)

    naive_cases = cases[: scaled(2_000, 5)]

    def naive() -> list[datetime]:
        return [_naive_deadline(now, COUNTRIES[c][0], zones[c]) for c, now in naive_cases]

    naive_answers, naive_total = timed(naive)
    assert naive_answers == expected[: len(naive_cases)], "naive baseline disagrees"
    naive_seconds = naive_total / len(naive_cases)

    note(
        f"baselines agree with ours on {len(rrule_cases):,} (rrule) and "
        f"{len(naive_cases):,} (naive) deadlines"
    )
    figure(
        "deadline, per computation (ours)",
        ours_seconds,
        baseline=("rrule + warm holidays", rrule_seconds),
        target="< 20 µs",
    )
    figure(
        "deadline, per computation (ours)",
        ours_seconds,
        baseline=("fresh holidays per call", naive_seconds),
    )

    per_country = max(1, total // len(COUNTRIES))
    users = scaled(1_000, 2)
    (portals, build_portals) = timed(
        lambda: [_portal(country, zone, per_country, users, rng) for country, zone in COUNTRIES]
    )
    note(
        f"{len(portals)} portals of {per_country:,} items and {users:,} users built "
        f"in {build_portals:.1f} s"
    )
    when = [START + timedelta(minutes=rng.randrange(SPAN_MINUTES)) for _ in range(per_country)]
    requests = [
        (storage, calendars[c], item.id, item.responsible_id, when[n])
        for c, storage in enumerate(portals)
        for n, item in enumerate(storage.items())
    ]

    def suggest_all() -> list[object]:
        return [
            suggest_smart_activity(storage, item_id, user_id, now, calendar=calendar)
            for storage, calendar, item_id, user_id, now in requests
        ]

    answers = suggest_all()
    suggest_seconds = median_seconds(suggest_all, repeat=3) / len(requests)
    kinds = Counter(a.reason.value if isinstance(a, NoSuggestion) else "draft" for a in answers)
    note("answers: " + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())))
    figure(
        "whole suggestion (storage reads, cap S4, deadline)",
        suggest_seconds,
        baseline=("fresh holidays per call", naive_seconds),
    )


if __name__ == "__main__":
    main()

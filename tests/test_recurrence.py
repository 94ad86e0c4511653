"""Recurring activities (A2): RRULE strings checked where they enter, wall-clock occurrences."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _build import T0, small_storage, todo
from _sql_backends import BACKENDS, copy_into, sql_storage
from crmcounters import (
    MAX_OCCURRENCES,
    Activity,
    CounterIndex,
    DataFormatError,
    ValidationError,
    WritableStorage,
    activity_occurrences,
    complete_activity,
    counters_of,
    dump_portal,
    explain,
    load_portal,
    occurrences,
    parse_recurrence,
    sample_portal,
)

WARSAW = ZoneInfo("Europe/Warsaw")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")  # rep's zone in the small portal
ZONES = ["Pacific/Honolulu", "Asia/Kathmandu", "Pacific/Kiritimati", "Europe/Warsaw"]


@contextmanager
def portal(kind: str) -> Iterator[WritableStorage]:
    """The small portal (rep lives in Los Angeles) on the chosen storage."""
    source = small_storage()
    if kind == "memory":
        yield source
        return
    with sql_storage(kind) as storage:
        copy_into(source, storage)
        yield storage


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("FREQ=HOURLY", "at most daily"),
        ("FREQ=SECONDLY;COUNT=5", "at most daily"),
        ("INTERVAL=2", "FREQ is required"),
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR is not supported"),
        ("FREQ=YEARLY;BYYEARDAY=100", "BYYEARDAY is not supported"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "BYMONTH cannot be used with FREQ=DAILY"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "no month of BYMONTH"),
        ("FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", "29 February"),
        ("FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31", "never reach BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=15;BYDAY=1MO", "may never meet"),
        ("FREQ=DAILY;INTERVAL=14;BYDAY=TU", "use FREQ=WEEKLY"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=5", "BYSETPOS"),
        ("FREQ=MONTHLY;BYDAY=6MO", "the number runs"),
        ("FREQ=WEEKLY;BYDAY=1MO", "numbered weekday"),
        ("FREQ=WEEKLY;BYDAY=XX", "weekdays such as MO"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20270101", "COUNT and UNTIL"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT must be"),
        ("FREQ=WEEKLY;INTERVAL=x", "INTERVAL must be"),
        ("FREQ=WEEKLY;UNTIL=2027-01-01", "UNTIL must be"),
        ("FREQ=WEEKLY;WKST=XX", "not a valid RRULE"),
        ("FREQ=WEEKLY;FREQ=DAILY", "given twice"),
        ("FREQ=WEEKLY;COLOUR=RED", "unknown part"),
        ("FREQ=WEEKLY\nRRULE:FREQ=DAILY", "one RRULE line"),
        ("DTSTART:20260101T000000;FREQ=DAILY", "NAME=VALUE"),
        ("FREQ=WEEKLY;DTSTART=20260101", "DTSTART is not supported"),
    ],
)
def test_a2_hostile_or_broken_rules_are_refused_naming_the_field(rule: str, problem: str) -> None:
    """A2, G5: a rule that cannot be met, runs hourly or is malformed is refused at once."""
    with pytest.raises(ValidationError, match=problem) as caught:
        parse_recurrence(rule)
    assert caught.value.field == "recurrence"
    with pytest.raises(ValidationError) as on_activity:
        todo("a", "d1", deadline=T0, recurrence=rule)
    assert on_activity.value.field == "recurrence"


def test_a2_rules_are_kept_in_canonical_form() -> None:
    """A2: case, an RRULE: prefix and the order of UNTIL do not change the stored rule."""
    activity = todo("a", "d1", deadline=T0, recurrence="rrule:freq=weekly;until=20270101;byday=mo")
    assert activity.recurrence == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270101"
    assert parse_recurrence(activity.recurrence).text == activity.recurrence


def test_a2_a_recurring_activity_needs_a_deadline() -> None:
    """A2: the deadline is the occurrence; a series start needs a rule."""
    with pytest.raises(ValidationError, match="deadline") as caught:
        todo("a", "d1", recurrence="FREQ=DAILY")
    assert caught.value.field == "recurrence"
    with pytest.raises(ValidationError) as start:
        todo("a", "d1", deadline=T0, recurrence_start=T0)
    assert start.value.field == "recurrence_start"


def test_a2_weekly_keeps_local_time_across_both_dst_changes() -> None:
    """A2, G4: Sunday 02:30 weekly: a spring gap moves it forward; an autumn fold, the first."""
    start = datetime(2027, 3, 21, 2, 30, tzinfo=WARSAW)
    spring = occurrences("FREQ=WEEKLY", start, WARSAW, start, start + timedelta(weeks=3), limit=10)
    assert [o.astimezone(WARSAW).isoformat() for o in spring] == [
        "2027-03-21T02:30:00+01:00",
        "2027-03-28T03:30:00+02:00",  # 02:30 does not exist that night
        "2027-04-04T02:30:00+02:00",
    ]
    autumn_start = datetime(2027, 10, 24, 2, 30, tzinfo=WARSAW)
    autumn = occurrences(
        "FREQ=WEEKLY;COUNT=3", autumn_start, WARSAW, autumn_start, autumn_start + timedelta(weeks=5)
    )
    assert [o.isoformat() for o in autumn] == [
        "2027-10-24T00:30:00+00:00",
        "2027-10-31T00:30:00+00:00",  # 02:30 CEST, the first of the two
        "2027-11-07T01:30:00+00:00",  # 02:30 CET
    ]


def test_a2_occurrences_need_a_window_and_are_capped() -> None:
    """A2: a listing is bounded by its window and by `limit`; more is refused, not cut."""
    start = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)
    year = occurrences("FREQ=DAILY", start, WARSAW, start, start + timedelta(days=365))
    assert len(year) == 365
    with pytest.raises(ValidationError, match="smaller") as caught:
        occurrences("FREQ=DAILY", start, WARSAW, start, start + timedelta(days=3650))
    assert caught.value.field == "limit"
    with pytest.raises(ValidationError) as limit:
        occurrences("FREQ=DAILY", start, WARSAW, start, start, limit=MAX_OCCURRENCES + 1)
    assert limit.value.field == "limit"
    with pytest.raises(ValidationError) as backwards:
        occurrences("FREQ=DAILY", start, WARSAW, start, start - timedelta(days=1))
    assert backwards.value.field == "window_end"
    assert occurrences("FREQ=DAILY;COUNT=2", start, WARSAW, start, start + timedelta(days=9)) == (
        start,
        start + timedelta(days=1),
    )


def test_a2_until_in_utc_local_time_or_local_date() -> None:
    """A2: UNTIL as a UTC instant, a floating local time, or a local date (through that day)."""
    start = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)
    end = start + timedelta(days=30)
    last = {
        "FREQ=DAILY;UNTIL=20261216T090000Z": 16,  # 10:00 Warsaw is 09:00 UTC: included
        "FREQ=DAILY;UNTIL=20261216T085959Z": 15,
        "FREQ=DAILY;UNTIL=20261216T100000": 16,  # local wall time
        "FREQ=DAILY;UNTIL=20261216": 16,  # the whole local day
    }
    for rule, day in last.items():
        found = occurrences(rule, start, WARSAW, start, end)
        assert found[-1].astimezone(WARSAW).day == day, rule


@pytest.mark.parametrize("kind", ["memory", *BACKENDS])
def test_a2_completing_an_occurrence_creates_the_next_in_one_write(kind: str) -> None:
    """A2: Monday 09:00 in Los Angeles, across the November DST change, until COUNT ends it."""
    with portal(kind) as storage:
        first = datetime(2026, 10, 26, 9, 0, tzinfo=LOS_ANGELES)
        storage.add(
            todo(
                "call",
                "d1",
                created_at=first - timedelta(days=3),
                deadline=first,
                recurrence="FREQ=WEEKLY;BYDAY=MO;COUNT=3",
            )
        )
        write = complete_activity(storage, "call", first)
        (second,) = write.add
        assert isinstance(second, Activity)
        assert second.id == "call@20261102T0900"
        assert second.deadline == datetime(2026, 11, 2, 9, 0, tzinfo=LOS_ANGELES)  # PST now
        assert second.recurrence_start == first
        assert second.created_at == first
        assert storage.activity(second.id) == second
        third = complete_activity(storage, second.id, second.deadline, next_activity_id="c3").add
        assert [a.id for a in third] == ["c3"]
        assert complete_activity(storage, "c3", T0 + timedelta(days=60)).add == ()  # COUNT=3
        assert not [a for a in storage.open_activities_of_item("d1") if a.recurrence]


def test_a2_late_completion_skips_past_occurrences_early_completion_does_not() -> None:
    """A2: the next occurrence follows both the deadline and the completion."""
    storage = small_storage()
    first = datetime(2026, 12, 7, 9, 0, tzinfo=LOS_ANGELES)  # a Monday
    week_before = first - timedelta(weeks=1)
    storage.add(
        todo("late", "d1", created_at=week_before, deadline=first, recurrence="FREQ=WEEKLY"),
        todo("early", "d2", created_at=week_before, deadline=first, recurrence="FREQ=WEEKLY"),
    )
    late = complete_activity(storage, "late", first + timedelta(days=9)).add
    assert [a.deadline for a in late] == [first + timedelta(weeks=2)]
    early = complete_activity(storage, "early", first - timedelta(days=2)).add
    assert [a.deadline for a in early] == [first + timedelta(weeks=1)]


@pytest.mark.parametrize("kind", ["memory", *BACKENDS])
def test_a2_counter_index_follows_the_next_occurrence(kind: str) -> None:
    """A2, C4: the new occurrence lights on time; an index fed the write agrees with storage."""
    with portal(kind) as storage:
        first = datetime(2026, 12, 14, 9, 0, tzinfo=LOS_ANGELES)
        storage.add(todo("daily", "d1", deadline=first, recurrence="FREQ=DAILY;COUNT=5"))
        index = CounterIndex.build(storage, first)
        assert index.counters("rep").planned == 1
        complete_activity(storage, "daily", first, index=index)
        assert index.counters("rep") == counters_of(storage, "rep", first)
        assert index.counters("rep").planned == 0
        index.advance_to(first + timedelta(days=1))
        assert index.counters("rep") == counters_of(storage, "rep", first + timedelta(days=1))
        assert index.counters("rep").planned == 1


def test_a2_activity_occurrences_use_the_responsibles_zone() -> None:
    """A2, X3: a series is listed at the responsible's local time."""
    storage = small_storage()
    first = datetime(2026, 12, 14, 9, 0, tzinfo=LOS_ANGELES)
    series = todo("s", "d1", deadline=first, recurrence="FREQ=DAILY;BYDAY=MO,WE,FR")
    found = activity_occurrences(storage, series, first, first + timedelta(days=7))
    assert [o.astimezone(LOS_ANGELES).strftime("%a %H:%M") for o in found] == [
        "Mon 09:00",
        "Wed 09:00",
        "Fri 09:00",
    ]
    once = todo("once", "d1", deadline=first)
    assert activity_occurrences(storage, once, first, first + timedelta(days=1)) == (first,)
    assert (
        activity_occurrences(storage, once, T0 + timedelta(days=9), first + timedelta(days=9)) == ()
    )


def test_a2_portal_round_trip_and_json_paths() -> None:
    """A2: rule and series start survive dump and load; a bad rule names its JSON path."""
    document = json.loads(dump_portal(sample_portal()))
    index = next(i for i, a in enumerate(document["activities"]) if a["deadline"])
    document["activities"][index]["recurrence"] = "FREQ=WEEKLY;COUNT=4"
    document["activities"][index]["recurrence_start"] = document["activities"][index]["deadline"]
    loaded = load_portal(json.dumps(document))
    assert dump_portal(load_portal(dump_portal(loaded))) == dump_portal(loaded)
    stored = loaded.storage.activity(document["activities"][index]["id"])
    assert stored.recurrence == "FREQ=WEEKLY;COUNT=4"
    document["activities"][index]["recurrence"] = "FREQ=MINUTELY"
    with pytest.raises(DataFormatError) as caught:
        load_portal(json.dumps(document))
    assert str(caught.value).startswith(f"$.activities[{index}].recurrence: ")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a2_sql_storage_keeps_rule_and_series_start(backend: str) -> None:
    """A2: SQLite and PostgreSQL give back the same recurring activity."""
    first = datetime(2026, 12, 14, 9, 0, tzinfo=LOS_ANGELES)
    activity = todo(
        "s",
        "d1",
        deadline=first + timedelta(days=7),
        recurrence="FREQ=WEEKLY;UNTIL=20270301T000000Z",
        recurrence_start=first,
    )
    with portal(backend) as storage:
        storage.add(activity)
        assert storage.activity("s") == activity


_rules = st.sampled_from(
    [
        "FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
        "FREQ=WEEKLY",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
        "FREQ=MONTHLY",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU",
    ]
)


@settings(max_examples=80)
@given(
    zone_name=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31)),
    rule=_rules,
)
def test_a2_occurrences_increase_strictly_at_the_series_local_time(
    zone_name: str, start: datetime, rule: str
) -> None:
    """A2, G4: in UTC-10, UTC+5:45, UTC+14 and Warsaw, occurrences rise strictly and keep the
    start's wall time, except where it does not exist that day (then the gap moves it forward)."""
    zone = ZoneInfo(zone_name)
    first = start.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)  # an existing local time
    found = occurrences(rule, first, zone, first, first + timedelta(days=400))
    assert found
    assert all(a < b for a, b in itertools.pairwise(found))
    assert all(o.tzinfo is UTC for o in found)
    wall = first.replace(tzinfo=None).time()
    for instant in found:
        local = instant.astimezone(zone)
        if local.time() != wall:  # only in a spring-forward gap, moved forward by it
            naive = datetime.combine(local.date(), wall)
            assert naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).time() != wall
            assert local.date() == naive.date()


_part = st.sampled_from(
    [
        "FREQ=DAILY",
        "FREQ=WEEKLY",
        "FREQ=MONTHLY",
        "FREQ=YEARLY",
        "FREQ=HOURLY",
        "INTERVAL=2",
        "INTERVAL=7",
        "INTERVAL=12",
        "COUNT=3",
        "UNTIL=20280101",
        "UNTIL=20280101T000000Z",
        "BYDAY=MO",
        "BYDAY=MO,FR",
        "BYDAY=2TU",
        "BYDAY=-1SU",
        "BYMONTHDAY=31",
        "BYMONTHDAY=29",
        "BYMONTHDAY=-1",
        "BYMONTH=2",
        "BYMONTH=4,6",
        "BYSETPOS=1",
        "BYSETPOS=-2",
        "WKST=SU",
    ]
)


def _refusal(rule: str) -> ValidationError | None:
    try:
        parse_recurrence(rule)
    except ValidationError as error:
        return error
    return None


@settings(max_examples=150)
@given(parts=st.lists(_part, min_size=1, max_size=5), zone_name=st.sampled_from(ZONES))
def test_a2_any_rule_is_refused_cleanly_or_gives_occurrences(
    parts: list[str], zone_name: str
) -> None:
    """A2, G5: a rule either fails with ValidationError or yields rising occurrences in a window."""
    rule = ";".join(parts)
    refusal = _refusal(rule)
    if refusal is not None:
        assert refusal.field == "recurrence"
        return
    zone = ZoneInfo(zone_name)
    start = datetime(2026, 1, 30, 10, 0, tzinfo=zone)
    found = occurrences(
        rule, start, zone, start, start + timedelta(days=3 * 366), limit=MAX_OCCURRENCES
    )
    assert all(a < b for a, b in itertools.pairwise(found))
    assert all(start <= o < start + timedelta(days=3 * 366) for o in found)


def test_a2_importing_the_package_does_not_load_dateutil_rrule() -> None:
    """A2: dateutil's rrule is imported when a rule is first read, not by `import crmcounters`."""
    code = (
        "import sys, crmcounters; print('dateutil.rrule' in sys.modules); "
        "crmcounters.parse_recurrence('FREQ=DAILY'); print('dateutil.rrule' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "True"]


def test_a2_explain_says_what_completing_a_recurring_activity_adds() -> None:
    """A2, X1: explain names the rule and the next occurrence, or the end of the series."""
    storage = small_storage()
    first = datetime(2026, 12, 14, 9, 0, tzinfo=LOS_ANGELES)
    storage.add(todo("s", "d1", deadline=first, recurrence="FREQ=WEEKLY;COUNT=2"))
    reasons = [r for r in explain(storage, "d1", first).reasons if r.rule == "A2"]
    assert [r.text for r in reasons] == [
        "todo 's' recurs (FREQ=WEEKLY;COUNT=2): completing it now adds the next occurrence, "
        "due 2026-12-21T09:00:00-08:00"
    ]
    assert reasons[0].at == first + timedelta(weeks=1)
    storage.replace(todo("s", "d1", deadline=first + timedelta(weeks=1), recurrence_start=first,
                         recurrence="FREQ=WEEKLY;COUNT=2"))  # fmt: skip
    (last,) = [r for r in explain(storage, "d1", first).reasons if r.rule == "A2"]
    assert last.text.endswith("it is the last of its series")

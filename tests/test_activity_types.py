"""Activity types (A1): defaults for new activities, chaining, the JSON form, storage."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _build import T0, small_storage, todo
from _sql_backends import BACKENDS, copy_into, make_older, sql_storage
from crmcounters import (
    ActivityDraft,
    ActivityType,
    BusinessCalendar,
    CalendarSettings,
    DanglingReferenceError,
    DataFormatError,
    DeadlineRule,
    Settings,
    UnknownIdError,
    ValidationError,
    WritableStorage,
    activity_from_type,
    complete_activity,
    dump_portal,
    load_portal,
    sample_portal,
)
from crmcounters._activity_types import deadline_by_rule
from crmcounters.sql import SqlStorage, export_portal, import_portal, migrate_schema

WARSAW = ZoneInfo("Europe/Warsaw")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")

TYPES = (
    ActivityType(
        id="call-back",
        name="Call back",
        kind="call",
        deadline=DeadlineRule(amount=2, unit="business_days", time_of_day=time(10)),
        reminder_offsets=(60, 15),
        next_type_id="offer",
    ),
    ActivityType(
        id="offer",
        name="Send the offer",
        kind="email",
        subject="Offer for the client",
        deadline=DeadlineRule(amount=0, unit="days", time_of_day=time(17)),
        next_type_id="follow-up",
    ),
    ActivityType(
        id="follow-up",
        name="Follow up",
        deadline=DeadlineRule(amount=4, unit="hours"),
        next_type_id="follow-up",  # chains to itself
    ),
    ActivityType(id="note", name="Note"),  # no deadline, no next type
)
TYPED = Settings(activity_types=TYPES)


@contextmanager
def portal(kind: str) -> Iterator[WritableStorage]:
    """The small portal with the types above, on the chosen storage."""
    source = small_storage()
    source.set_settings(TYPED)
    if kind == "memory":
        yield source
        return
    with sql_storage(kind, TYPED) as storage:
        copy_into(source, storage)
        yield storage


def test_a1_deadline_rules_in_the_users_zone() -> None:
    """A1: business days at a time, same day at a time, hours, days keeping the local time."""
    calendar = BusinessCalendar.for_country("PL")
    friday = datetime(2026, 12, 18, 15, 0, tzinfo=WARSAW)
    rule = DeadlineRule(amount=2, unit="business_days", time_of_day=time(10))
    assert deadline_by_rule(rule, friday, WARSAW, calendar) == datetime(
        2026, 12, 22, 10, 0, tzinfo=WARSAW
    )
    today = DeadlineRule(amount=0, unit="days", time_of_day=time(17))
    assert deadline_by_rule(today, friday, WARSAW, calendar) == datetime(
        2026, 12, 18, 17, 0, tzinfo=WARSAW
    )
    # S2's own example (three business days, 24th-26th holidays), through a type's rule
    three = DeadlineRule(amount=3, unit="business_days")
    wednesday = datetime(2026, 12, 23, 10, 0, tzinfo=WARSAW)
    assert deadline_by_rule(three, wednesday, WARSAW, calendar) == datetime(
        2026, 12, 30, 10, 0, tzinfo=WARSAW
    )
    # Across the October DST change: a day keeps 10:00, four hours are four hours
    saturday = datetime(2026, 10, 24, 10, 0, tzinfo=WARSAW)
    day = DeadlineRule(amount=1, unit="days")
    assert deadline_by_rule(day, saturday, WARSAW, calendar).astimezone(WARSAW).hour == 10
    night = datetime(2026, 10, 25, 0, 30, tzinfo=WARSAW)
    hours = deadline_by_rule(DeadlineRule(amount=4, unit="hours"), night, WARSAW, calendar)
    assert hours - night == timedelta(hours=4)
    assert hours.astimezone(WARSAW).hour == 3  # 00:30 CEST + 4 h = 03:30 CET


def test_a1_same_day_at_a_time_in_utc_minus_10_and_plus_14() -> None:
    """A1, X3: "today at 17:00" is the responsible's today, in Honolulu and Kiritimati."""
    calendar = BusinessCalendar()
    rule = DeadlineRule(amount=0, unit="days", time_of_day=time(17))
    at = datetime(2026, 12, 14, 20, 0, tzinfo=ZoneInfo("UTC"))
    honolulu = deadline_by_rule(rule, at, ZoneInfo("Pacific/Honolulu"), calendar)
    kiritimati = deadline_by_rule(rule, at, ZoneInfo("Pacific/Kiritimati"), calendar)
    assert honolulu == datetime(2026, 12, 15, 3, 0, tzinfo=ZoneInfo("UTC"))  # 14th 17:00 HST
    assert kiritimati == datetime(2026, 12, 15, 3, 0, tzinfo=ZoneInfo("UTC"))  # 15th 17:00 LINT


def test_a1_rules_refuse_what_makes_no_sense() -> None:
    """A1, G5: a negative amount, zero business days, a time of day on hours, an aware time."""
    with pytest.raises(ValidationError, match="amount"):
        DeadlineRule(amount=-1, unit="days")
    with pytest.raises(ValidationError, match="amount"):
        DeadlineRule(amount=0, unit="business_days")
    with pytest.raises(ValidationError, match="time_of_day"):
        DeadlineRule(amount=2, unit="hours", time_of_day=time(9))
    with pytest.raises(ValidationError, match="time_of_day"):
        DeadlineRule(amount=1, unit="days", time_of_day=time(9, tzinfo=WARSAW))
    with pytest.raises(ValidationError, match="unit"):
        DeadlineRule(amount=1, unit="fortnights")


def test_a1_settings_refuse_duplicate_ids_and_dangling_next_types() -> None:
    """A1, G5: type ids are unique; every next type resolves."""
    with pytest.raises(ValidationError, match=r"activity_types\[1\]\.id"):
        Settings(activity_types=(TYPES[3], TYPES[3]))
    with pytest.raises(ValidationError, match=r"activity_types\[0\]\.next_type_id"):
        Settings(activity_types=(TYPES[0],))
    with pytest.raises(UnknownIdError, match="activity type"):
        TYPED.activity_type("nope")


@pytest.mark.parametrize("kind", ["memory", *BACKENDS])
def test_a1_activity_from_type_takes_the_types_defaults(kind: str) -> None:
    """A1: kind, subject, offsets and deadline in the responsible's zone (rep: Los Angeles)."""
    with portal(kind) as storage:
        created = datetime(2026, 12, 18, 15, 0, tzinfo=LOS_ANGELES)  # a Friday there
        activity = activity_from_type(
            storage, "call-back", activity_id="a1", item_ids=["d1"], created_at=created
        )
        assert activity.kind.value == "call"
        assert activity.subject == "Call back"
        assert activity.responsible_id == "rep"
        assert activity.reminder_offsets == (60, 15)
        assert activity.type_id == "call-back"
        assert activity.deadline == datetime(2026, 12, 22, 10, 0, tzinfo=LOS_ANGELES)
        storage.add(activity)
        assert storage.activity("a1") == activity
        note = activity_from_type(
            storage, "note", activity_id="a2", item_ids=["d2"], created_at=created
        )
        assert note.deadline is None
        assert note.responsible_id == "lead"


@pytest.mark.parametrize("kind", ["memory", *BACKENDS])
def test_a1_completing_proposes_the_next_type(kind: str) -> None:
    """A1: completion returns the next type's draft, its deadline counted from the completion."""
    with portal(kind) as storage:
        created = datetime(2026, 12, 14, 9, 0, tzinfo=LOS_ANGELES)
        storage.add(
            activity_from_type(
                storage, "call-back", activity_id="a1", item_ids=["d1"], created_at=created
            )
        )
        done = datetime(2026, 12, 15, 11, 0, tzinfo=LOS_ANGELES)
        write = complete_activity(storage, "a1", done)
        draft = write.proposed
        assert isinstance(draft, ActivityDraft)
        assert draft.type_id == "offer"
        assert draft.subject == "Offer for the client"
        assert draft.after_activity_id == "a1"
        assert draft.deadline == datetime(2026, 12, 15, 17, 0, tzinfo=LOS_ANGELES)
        assert storage.activity("a1").completed_at == done
        with pytest.raises(UnknownIdError):
            storage.activity("a2")  # a proposal is not stored
        storage.add(draft.to_activity("a2"))
        follow = complete_activity(storage, "a2", done + timedelta(hours=1)).proposed
        assert follow is not None
        assert follow.type_id == "follow-up"
        assert follow.deadline == done + timedelta(hours=5)
        storage.add(follow.to_activity("a3"))
        again = complete_activity(storage, "a3", done + timedelta(hours=2)).proposed
        assert again is not None
        assert again.type_id == "follow-up"  # a type may chain to itself
        storage.add(todo("plain", "d1"))
        assert complete_activity(storage, "plain", done).proposed is None


@pytest.mark.parametrize("kind", ["memory", *BACKENDS])
def test_a1_every_type_reference_resolves(kind: str) -> None:
    """A1, G5: an unknown type id is refused (nothing stored); settings cannot drop a used type."""
    with portal(kind) as storage:
        with pytest.raises(DanglingReferenceError, match="type_id"):
            storage.add(todo("ok", "d1"), todo("bad", "d1", type_id="nope"))
        with pytest.raises(UnknownIdError):
            storage.activity("ok")
        storage.add(todo("typed", "d1", type_id="note"))
        with pytest.raises(ValidationError, match="activity_types"):
            storage.set_settings(Settings())
        assert storage.settings == TYPED
        storage.set_settings(attrs.evolve(TYPED, urgency_offset_minutes=30))
        assert storage.settings.activity_types == TYPES


def _portal_json(**changes: Any) -> dict[str, Any]:
    document = json.loads(dump_portal(sample_portal()))
    document["settings"]["activity_types"] = [
        {
            "id": "call-back",
            "name": "Call back",
            "kind": "call",
            "deadline": {"amount": 2, "unit": "business_days", "time_of_day": "10:00"},
            "reminder_offsets": [60, 15],
            "next_type_id": "note",
        },
        {"id": "note", "name": "Note"},
    ]
    document["activities"][0]["type_id"] = "call-back"
    for path, value in changes.items():
        target: Any = document
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    return document


def test_a1_portal_format_round_trip() -> None:
    """A1: types and an activity's type_id survive dump and load unchanged."""
    text = json.dumps(_portal_json())
    loaded = load_portal(text)
    types = loaded.storage.settings.activity_types
    assert [t.id for t in types] == ["call-back", "note"]
    assert types[0].deadline == DeadlineRule(amount=2, unit="business_days", time_of_day=time(10))
    first = next(iter(loaded.storage.activities()))
    assert first.type_id == "call-back"
    assert load_portal(dump_portal(loaded)).storage.settings == loaded.storage.settings
    assert dump_portal(load_portal(dump_portal(loaded))) == dump_portal(loaded)


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        (
            {"settings.activity_types.0.next_type_id": "gone"},
            "$.settings.activity_types[0].next_type_id",
        ),
        ({"settings.activity_types.1.id": "call-back"}, "$.settings.activity_types[1].id"),
        (
            {"settings.activity_types.0.deadline.unit": "weeks"},
            "$.settings.activity_types[0].deadline.unit",
        ),
        (
            {"settings.activity_types.0.deadline.time_of_day": "25:00"},
            "$.settings.activity_types[0].deadline.time_of_day",
        ),
        (
            {"settings.activity_types.0.deadline.amount": -2},
            "$.settings.activity_types[0].deadline.amount",
        ),
        ({"settings.activity_types.0.kind": "fax"}, "$.settings.activity_types[0].kind"),
        ({"settings.activity_types.0.colour": "red"}, "$.settings.activity_types[0].colour"),
        ({"activities.0.type_id": "gone"}, "$.activities[0].type_id"),
    ],
)
def test_a1_portal_errors_name_the_json_path(changes: dict[str, Any], path: str) -> None:
    """A1, G5: every fault in the types' JSON form names its path."""
    with pytest.raises(DataFormatError) as caught:
        load_portal(json.dumps(_portal_json(**changes)))
    assert str(caught.value).startswith(path + ":"), str(caught.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a1_import_export_round_trip_through_sql(backend: str) -> None:
    """A1: import_portal then export_portal gives the same document, types included."""
    loaded = load_portal(json.dumps(_portal_json()))
    with sql_storage(backend) as storage:
        import_portal(loaded, storage)
        assert storage.settings.activity_types == loaded.storage.settings.activity_types
        assert dump_portal(export_portal(storage)) == dump_portal(loaded)


def test_a1_migrate_schema_from_0_2_0_adds_the_type_column(
    sqlite_connect: Callable[..., sqlite3.Connection],
) -> None:
    """A1: version 2 -> 3 adds crm_activities.type_id; stored activities have none."""
    memory = small_storage()
    memory.add(todo("a1", "d1", deadline=T0))
    connection = sqlite_connect()
    copy_into(memory, SqlStorage.create(connection))
    make_older(connection, 2)
    connection.commit()
    assert migrate_schema(connection) == 2
    storage = SqlStorage(connection)
    assert storage.activity("a1").type_id is None
    storage.set_settings(TYPED)
    storage.add(todo("a2", "d1", type_id="note"))
    assert storage.activity("a2").type_id == "note"


_ZONES = ["Pacific/Honolulu", "Asia/Kathmandu", "Pacific/Kiritimati", "Europe/Warsaw"]


@settings(max_examples=60)
@given(
    zone=st.sampled_from(_ZONES),
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31)),
    amount=st.integers(min_value=0, max_value=40),
    business=st.booleans(),
    wall=st.times(),
)
def test_a1_day_rules_land_on_the_right_local_day_at_the_right_time(
    zone: str, start: datetime, amount: int, business: bool, wall: time
) -> None:
    """A1, G4: day rules give the counted local day, at the wall time (a gap moves it forward)."""
    tz = ZoneInfo(zone)
    calendar = CalendarSettings().build()
    at = start.replace(tzinfo=ZoneInfo("UTC"))
    rule = DeadlineRule(
        amount=max(amount, 1) if business else amount,
        unit="business_days" if business else "days",
        time_of_day=wall,
    )
    deadline = deadline_by_rule(rule, at, tz, calendar).astimezone(tz)
    first = at.astimezone(tz).date()
    if business:
        assert deadline.date() == calendar.add_business_days_to_date(first, rule.amount, tz)
        assert calendar.is_working_day(deadline.date(), tz)
    else:
        assert deadline.date() == first + timedelta(days=amount)
    local = datetime.combine(deadline.date(), wall, tzinfo=tz)
    if local.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None) == local.replace(
        tzinfo=None
    ):  # the wall time exists that day: it is kept exactly
        assert deadline.time() == wall

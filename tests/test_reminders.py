"""The reminder feed (N1): pings in a window, in time order, exact at DST changes, kept by
the in-memory index as activities are written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _build import deal, small_storage, todo
from crmcounters import (
    Activity,
    InMemoryStorage,
    Portal,
    PortalStorage,
    ReminderIndex,
    ReminderSource,
    Settings,
    UnknownIdError,
    User,
    ValidationError,
    reminder_feed,
    reminders_of,
)
from crmcounters._reminders import utc_us
from crmcounters.testing.strategies import aware_datetimes, portals

H = timedelta(hours=1)
M = timedelta(minutes=1)


def in_zone(zone: str) -> InMemoryStorage:
    """small_storage with `rep` moved to `zone`."""
    storage = small_storage()
    storage.replace(User(id="rep", name="Rep", time_zone=zone, department_id="sales"))
    return storage


def feed(storage: InMemoryStorage, start: datetime, end: datetime, **kw: str) -> list[tuple]:
    return [
        (r.at, r.activity_id, r.offset_minutes) for r in reminder_feed(storage, start, end, **kw)
    ]


def test_n1_default_offsets_ping_15_minutes_before_and_at_the_deadline() -> None:
    storage = small_storage()
    deadline = datetime(2026, 12, 14, 15, 0, tzinfo=ZoneInfo("Europe/Warsaw"))
    storage.add(todo("a1", "d1", deadline=deadline))
    pings = reminder_feed(storage, deadline - H, deadline + H)
    assert [(p.at, p.offset_minutes) for p in pings] == [
        (datetime(2026, 12, 14, 13, 45, tzinfo=UTC), 15),
        (datetime(2026, 12, 14, 14, 0, tzinfo=UTC), 0),
    ]
    first = pings[0]
    assert (first.activity_id, first.item_id, first.recipient_id) == ("a1", "d1", "rep")
    assert first.deadline == datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    assert first.at.tzinfo is UTC
    assert first.id == "reminder/a1/2026-12-14T13:45:00+00:00/15"


def test_n1_the_window_is_half_open() -> None:
    storage = small_storage()
    deadline = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    storage.add(todo("a1", "d1", deadline=deadline, reminder_offsets=(60,)))
    assert feed(storage, deadline - H, deadline) == [(deadline - H, "a1", 60)]
    assert feed(storage, deadline, deadline + M) == [(deadline, "a1", 0)]
    assert feed(storage, deadline - H + M, deadline) == []
    # Consecutive windows list each ping once.
    halves = feed(storage, deadline - 2 * H, deadline - H) + feed(
        storage, deadline - H, deadline + H
    )
    assert halves == feed(storage, deadline - 2 * H, deadline + H)


def test_n1_time_order_ties_by_activity_id() -> None:
    storage = small_storage()
    deadline = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    storage.add(
        todo("b", "d1", deadline=deadline),
        todo("a", "d2", deadline=deadline, responsible_id="lead"),
        todo("c", "d1", deadline=deadline - 10 * M),
    )
    assert feed(storage, deadline - H, deadline + H) == [
        (deadline - 25 * M, "c", 15),
        (deadline - 15 * M, "a", 15),
        (deadline - 15 * M, "b", 15),
        (deadline - 10 * M, "c", 0),
        (deadline, "a", 0),
        (deadline, "b", 0),
    ]
    assert feed(storage, deadline - H, deadline + H, user_id="lead") == [
        (deadline - 15 * M, "a", 15),
        (deadline, "a", 0),
    ]


def test_n1_own_offsets_replace_the_defaults_and_the_deadline_always_pings() -> None:
    storage = small_storage()
    deadline = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    storage.add(todo("a1", "d1", deadline=deadline, reminder_offsets=(1440, 30)))
    assert feed(storage, deadline - 2 * 24 * H, deadline + H) == [
        (deadline - 24 * H, "a1", 1440),
        (deadline - 30 * M, "a1", 30),
        (deadline, "a1", 0),
    ]


def test_n1_the_portal_default_offsets_are_focus_reminder_offsets() -> None:
    storage = small_storage()
    deadline = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    storage.add(todo("a1", "d1", deadline=deadline))
    assert len(feed(storage, deadline - H, deadline + H)) == 2  # the index is built now
    storage.set_settings(Settings(focus_reminder_offsets=(60, 5)))
    assert feed(storage, deadline - 2 * H, deadline + H) == [
        (deadline - H, "a1", 60),
        (deadline - 5 * M, "a1", 5),
        (deadline, "a1", 0),
    ]


def test_n1_no_deadline_and_incoming_activities_never_ping() -> None:
    storage = small_storage()
    storage.add(
        todo("a1", "d1"),
        Activity(
            id="in",
            item_ids=("d1",),
            kind="email",
            direction="incoming",
            incoming=True,
            responsible_id="rep",
            created_at=datetime(2026, 12, 14, 9, 0, tzinfo=UTC),
        ),
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert feed(storage, start, start + 1000 * 24 * H) == []


def test_n1_completing_deleting_and_moving_drop_or_move_the_pings() -> None:
    storage = small_storage()
    deadline = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    day = (deadline - 24 * H, deadline + 48 * H)
    storage.add(todo("a1", "d1", deadline=deadline), todo("a2", "d2", deadline=deadline))
    assert len(feed(storage, *day)) == 4  # built
    a1 = storage.activity("a1")
    # Completed between its two pings: the one that fell stays, the one to come goes.
    storage.replace(attrs.evolve(a1, completed_at=deadline - 5 * M))
    assert feed(storage, *day) == [
        (deadline - 15 * M, "a1", 15),
        (deadline - 15 * M, "a2", 15),
        (deadline, "a2", 0),
    ]
    # Moved a day on (reopened): both pings move.
    storage.replace(attrs.evolve(a1, deadline=deadline + 24 * H))
    assert [p for p in feed(storage, *day) if p[1] == "a1"] == [
        (deadline + 24 * H - 15 * M, "a1", 15),
        (deadline + 24 * H, "a1", 0),
    ]
    # New offsets: the pings follow them.
    storage.replace(attrs.evolve(a1, deadline=deadline, reminder_offsets=(120,)))
    assert [p for p in feed(storage, *day) if p[1] == "a1"] == [
        (deadline - 2 * H, "a1", 120),
        (deadline, "a1", 0),
    ]
    storage.remove_activity("a1")
    assert [p[1] for p in feed(storage, *day)] == ["a2", "a2"]
    storage.remove_item("d2")
    assert feed(storage, *day) == []


def test_n1_reassigning_an_activity_changes_the_recipient() -> None:
    storage = small_storage()
    deadline = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    storage.add(todo("a1", "d1", deadline=deadline))
    assert feed(storage, deadline - H, deadline + H, user_id="rep")
    storage.replace(attrs.evolve(storage.activity("a1"), responsible_id="lead"))
    assert feed(storage, deadline - H, deadline + H, user_id="rep") == []
    assert [p.recipient_id for p in reminder_feed(storage, deadline - H, deadline + H)] == [
        "lead",
        "lead",
    ]


@pytest.mark.parametrize(
    ("zone", "deadline", "expected_15"),
    [
        # UTC-10, no DST: 09:00 local is 19:00 UTC; 15 minutes before is 18:45 UTC.
        ("Pacific/Honolulu", datetime(2026, 3, 8, 9, 0), datetime(2026, 3, 8, 18, 45)),
        # UTC+5:45: 00:05 local on 2026-12-15 is 18:20 UTC the day before.
        ("Asia/Kathmandu", datetime(2026, 12, 15, 0, 5), datetime(2026, 12, 14, 18, 5)),
        # UTC+14: 00:10 local on 2027-01-01 is 10:10 UTC on 2026-12-31.
        ("Pacific/Kiritimati", datetime(2027, 1, 1, 0, 10), datetime(2026, 12, 31, 9, 55)),
    ],
)
def test_n1_pings_in_utc_minus_10_plus_5_45_and_plus_14(
    zone: str, deadline: datetime, expected_15: datetime
) -> None:
    storage = in_zone(zone)
    local = deadline.replace(tzinfo=ZoneInfo(zone))
    storage.add(todo("a1", "d1", deadline=local))
    expected = expected_15.replace(tzinfo=UTC)
    # The user's local day around the deadline holds both pings, in UTC.
    day_start = local.replace(hour=0, minute=0) - 24 * H
    pings = reminder_feed(storage, day_start, day_start + 72 * H, user_id="rep")
    assert [(p.at, p.offset_minutes) for p in pings] == [(expected, 15), (expected + 15 * M, 0)]
    assert pings[1].at == local.astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "deadline", "fold", "utc_15", "utc_0"),
    [
        # Warsaw springs forward 2026-03-29 02:00 -> 03:00: 03:10 local is 01:10 UTC, and
        # 15 minutes before it is 00:55 UTC (01:55 CET), not "02:55", a time that never was.
        ("Europe/Warsaw", datetime(2026, 3, 29, 3, 10), 0, (0, 55), (1, 10)),
        # Warsaw falls back 2026-10-25 03:00 -> 02:00: the second 02:10 (fold=1) is 01:10 UTC;
        # 15 minutes before is 00:55 UTC, i.e. the first 02:55 local (before the change).
        ("Europe/Warsaw", datetime(2026, 10, 25, 2, 10), 1, (0, 55), (1, 10)),
        # The first 02:10 (fold=0) is 00:10 UTC.
        ("Europe/Warsaw", datetime(2026, 10, 25, 2, 10), 0, (23, 55), (0, 10)),
        # New York springs forward 2026-03-08 02:00 -> 03:00: 03:05 EDT is 07:05 UTC.
        ("America/New_York", datetime(2026, 3, 8, 3, 5), 0, (6, 50), (7, 5)),
        # New York falls back 2026-11-01: 01:05 fold=1 (EST) is 06:05 UTC.
        ("America/New_York", datetime(2026, 11, 1, 1, 5), 1, (5, 50), (6, 5)),
    ],
)
def test_n1_offsets_are_durations_across_dst_changes(
    zone: str, deadline: datetime, fold: int, utc_15: tuple[int, int], utc_0: tuple[int, int]
) -> None:
    storage = in_zone(zone)
    local = deadline.replace(tzinfo=ZoneInfo(zone), fold=fold)
    storage.add(todo("a1", "d1", deadline=local))
    pings = reminder_feed(storage, local - 24 * H, local + 24 * H)
    assert [(p.at - p.deadline, p.offset_minutes) for p in pings] == [(-15 * M, 15), (-0 * M, 0)]
    assert [(p.at.hour, p.at.minute) for p in pings] == [utc_15, utc_0]
    assert pings[1].at == local.astimezone(UTC)


def test_n1_a_window_written_in_local_time_with_either_fold_is_the_same_window() -> None:
    storage = in_zone("Europe/Warsaw")
    zone = ZoneInfo("Europe/Warsaw")
    storage.add(todo("a1", "d1", deadline=datetime(2026, 10, 25, 1, 10, tzinfo=UTC)))  # 2:10 b
    first = datetime(2026, 10, 25, 2, 0, tzinfo=zone, fold=0)  # 00:00 UTC
    second = datetime(2026, 10, 25, 2, 0, tzinfo=zone, fold=1)  # 01:00 UTC
    assert feed(storage, first, second) == [(datetime(2026, 10, 25, 0, 55, tzinfo=UTC), "a1", 15)]
    assert [p[2] for p in feed(storage, second, second + H)] == [0]


def test_n1_the_window_and_user_are_checked() -> None:
    storage = small_storage()
    start = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
    with pytest.raises(ValidationError, match="start"):
        reminder_feed(storage, datetime(2026, 12, 14, 9, 0), start)  # naive (G2)
    with pytest.raises(ValidationError, match="end"):
        reminder_feed(storage, start, start - M)
    with pytest.raises(UnknownIdError):
        reminder_feed(storage, start, start + H, user_id="nobody")
    assert reminder_feed(storage, start, start) == ()


def test_n1_a_storage_without_an_index_is_scanned() -> None:
    storage = small_storage()
    deadline = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    storage.add(todo("a1", "d1", deadline=deadline), deal("d3", "lead"))

    class Plain:
        """A PortalStorage without reminders_between. Its members are attributes of the
        class: from Python 3.12 on, isinstance against a Protocol looks them up statically,
        so a __getattr__ proxy would be no PortalStorage at all."""

    for name in dir(storage):
        if not name.startswith("_") and name != "reminders_between":
            setattr(Plain, name, property(lambda _self, name=name: getattr(storage, name)))
    plain = Plain()
    assert isinstance(plain, PortalStorage)
    assert not isinstance(plain, ReminderSource)
    assert reminder_feed(plain, deadline - H, deadline + H) == reminder_feed(  # type: ignore[arg-type]
        storage, deadline - H, deadline + H
    )


def test_n1_a_long_window_reads_only_the_hours_that_hold_pings() -> None:
    index = ReminderIndex((15, 0))
    deadline = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    index.put(todo("a1", "d1", deadline=deadline))
    found = index.between_us(0, 2**62)
    assert [p.at for p in found] == [deadline - 15 * M, deadline]
    assert index.reminders_between(deadline - H, deadline + H) == found  # a ReminderSource
    assert index.next_after(utc_us(deadline - H)) == utc_us(deadline - 15 * M)
    assert len(index) == 2
    index.remove("a1")
    assert len(index) == 0
    assert index.between_us(0, 2**62) == ()


@settings(max_examples=40, deadline=None)
@given(
    portal=portals(max_activities=20),
    start=aware_datetimes(),
    hours=st.integers(0, 24 * 40),
    user=st.none() | st.sampled_from(["u0", "u1"]),
    data=st.data(),
)
def test_n1_the_index_answers_as_the_pure_function_through_writes(
    portal: Portal, start: datetime, hours: int, user: str | None, data: st.DataObject
) -> None:
    storage = portal.storage
    if user is not None and user not in {u.id for u in storage.users()}:
        user = None
    end = start + timedelta(hours=hours)
    offsets = storage.settings.focus_reminder_offsets

    def check() -> None:
        expected = reminders_of(
            storage.activities(), start, end, default_offsets=offsets, user_id=user
        )
        assert reminder_feed(storage, start, end, user_id=user) == expected
        assert all(start <= p.at < end for p in expected)
        assert [p.sort_key() for p in expected] == sorted(p.sort_key() for p in expected)

    check()
    activities = list(storage.activities())
    for activity in (
        data.draw(st.lists(st.sampled_from(activities), max_size=4)) if activities else ()
    ):
        if activity.id not in {a.id for a in storage.activities()}:
            continue
        change = data.draw(st.sampled_from(["complete", "delete", "move", "offsets"]))
        if change == "delete":
            storage.remove_activity(activity.id)
        elif change == "complete" and activity.is_open:
            storage.replace(attrs.evolve(activity, completed_at=activity.created_at + H))
        elif change == "move" and not activity.incoming:
            moved = data.draw(aware_datetimes())
            storage.replace(attrs.evolve(activity, deadline=moved))
        elif change == "offsets":
            storage.replace(attrs.evolve(activity, reminder_offsets=(30, 5)))
        check()

"""The Activities view (V1, V2): columns in the responsible's own day and week."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _build_counters import (
    HONOLULU,
    KIRITIMATI,
    LOS_ANGELES,
    MONDAY,
    UTC,
    WARSAW,
    complete,
    incoming,
    item,
    minutes,
    planned,
    portal,
)
from crmcounters import (
    AccessDeniedError,
    AccessLevel,
    AccessPolicy,
    Column,
    Settings,
    activities_view,
    counters_of,
)
from crmcounters.focus import focus_time

ALICE = ("alice", "Europe/Warsaw")


def _column(user: tuple[str, str], deadline: datetime | None, now: datetime, **kw: int) -> Column:
    storage = portal(user, settings=Settings(**kw))
    deal = item(storage, user[0])
    planned(storage, deal, deadline)
    return activities_view(storage, user[0], now).column_of(deal)


def test_v1_an_item_without_open_activities_is_in_no_activities() -> None:
    """V1: the "without activities" column replaces the old counter (C1)."""
    storage = portal(ALICE)
    deal = item(storage, "alice")
    done = planned(storage, deal, MONDAY)
    complete(storage, done, MONDAY)
    assert activities_view(storage, "alice", MONDAY).column_of(deal) is Column.NO_ACTIVITIES


def test_v1_overdue_when_the_earliest_deadline_is_before_todays_midnight() -> None:
    """V1: yesterday 23:59 local is overdue; today 00:00 is not."""
    midnight = datetime(2026, 12, 14, 0, 0, tzinfo=WARSAW)
    assert _column(ALICE, midnight - minutes(1), MONDAY) is Column.OVERDUE
    assert _column(ALICE, midnight, MONDAY) is Column.TODAY


def test_v1_seed_a_passed_deadline_stays_in_today_until_local_midnight() -> None:
    """V1 (seed 001): the 15:00 test drive stays in Today, then Overdue from 00:00."""
    storage = portal(ALICE)
    deal = item(storage, "alice")
    planned(storage, deal, datetime(2026, 12, 14, 15, 0, tzinfo=WARSAW))
    evening = datetime(2026, 12, 14, 23, 59, 59, tzinfo=WARSAW)
    view = activities_view(storage, "alice", evening)
    assert view.column_of(deal) is Column.TODAY
    assert counters_of(storage, "alice", evening).planned == 1  # red all along (C4)
    midnight = datetime(2026, 12, 15, 0, 0, tzinfo=WARSAW)
    assert view.valid_until == midnight
    assert activities_view(storage, "alice", midnight).column_of(deal) is Column.OVERDUE


def test_v1_x3_seed_los_angeles_at_17h_does_not_see_todays_activities_as_overdue() -> None:
    """V1, X3 (seed): 17:00 in Los Angeles is already tomorrow in UTC; still Today."""
    now = datetime(2026, 12, 14, 17, 0, tzinfo=LOS_ANGELES)
    assert now.astimezone(UTC).date() > now.date()
    due = datetime(2026, 12, 14, 9, 0, tzinfo=LOS_ANGELES)
    assert _column(("bob", "America/Los_Angeles"), due, now) is Column.TODAY


def test_v1_this_week_next_week_and_later_with_monday_weeks() -> None:
    """V1: Monday 14th: to Sunday 20th this week, 21st-27th next week, then later."""
    at = datetime(2026, 12, 20, 23, 0, tzinfo=WARSAW)
    assert _column(ALICE, at, MONDAY) is Column.THIS_WEEK
    assert _column(ALICE, at + timedelta(hours=1), MONDAY) is Column.NEXT_WEEK
    assert _column(ALICE, at + timedelta(days=7), MONDAY) is Column.NEXT_WEEK
    assert _column(ALICE, at + timedelta(days=7, hours=1), MONDAY) is Column.LATER


def test_v1_the_week_start_is_configurable() -> None:
    """V1: with Sunday weeks, Sunday 20th already belongs to next week."""
    sunday = datetime(2026, 12, 20, 12, 0, tzinfo=WARSAW)
    saturday = sunday - timedelta(days=1)
    assert _column(ALICE, saturday, MONDAY, week_start=6) is Column.THIS_WEEK
    assert _column(ALICE, sunday, MONDAY, week_start=6) is Column.NEXT_WEEK
    assert _column(ALICE, sunday + timedelta(days=7), MONDAY, week_start=6) is Column.LATER


def test_v1_activities_without_a_deadline_put_the_item_in_later() -> None:
    """V1: no deadline at all, Later."""
    assert _column(ALICE, None, MONDAY) is Column.LATER


def test_v1_the_earliest_deadline_decides() -> None:
    """V1: an overdue activity beats next week's."""
    storage = portal(ALICE)
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY + timedelta(days=8))
    planned(storage, deal, None)
    planned(storage, deal, MONDAY - timedelta(days=3))
    assert activities_view(storage, "alice", MONDAY).column_of(deal) is Column.OVERDUE


def test_v1_an_open_incoming_activity_puts_the_item_in_today() -> None:
    """V1: a waiting client message goes to Today, whatever the deadlines say."""
    storage = portal(ALICE)
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY + timedelta(days=30))
    incoming(storage, deal)
    view = activities_view(storage, "alice", MONDAY)
    assert view.column_of(deal) is Column.TODAY
    assert view.valid_until is None


@pytest.mark.parametrize(
    ("zone", "today", "column"),
    [
        (HONOLULU, "2026-12-13", Column.NEXT_WEEK),  # Sunday 23:00; due Monday 02:00
        (KIRITIMATI, "2026-12-14", Column.THIS_WEEK),  # Monday 23:00; due Tuesday 02:00
        (WARSAW, "2026-12-14", Column.TODAY),  # Monday 10:00; due Monday 13:00
    ],
)
def test_v1_g4_today_is_the_responsibles_own_day(
    zone: ZoneInfo, today: str, column: Column
) -> None:
    """G4, X3: one instant, one deadline, three zones (UTC-10, UTC+14, Warsaw), three columns."""
    now = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
    storage = portal(("u", str(zone)))
    deal = item(storage, "u")
    planned(storage, deal, datetime(2026, 12, 14, 12, 0, tzinfo=UTC))
    view = activities_view(storage, "u", now)
    assert view.today.isoformat() == today
    assert view.column_of(deal) is column


def test_v1_honolulu_and_kiritimati_share_the_clock_but_not_the_week() -> None:
    """G4: UTC-10 and UTC+14 read the same wall clock one day apart: Sunday vs Monday."""
    due = datetime(2026, 12, 14, 20, 0, tzinfo=UTC)  # Monday 10:00 HST, Tuesday 10:00 LINT
    now = datetime(2026, 12, 13, 20, 0, tzinfo=UTC)  # Sunday 10:00 HST, Monday 10:00 LINT
    assert _column(("h", "Pacific/Honolulu"), due, now) is Column.NEXT_WEEK
    assert _column(("k", "Pacific/Kiritimati"), due, now) is Column.THIS_WEEK
    next_day = now + timedelta(days=1)
    assert _column(("h", "Pacific/Honolulu"), due, next_day) is Column.TODAY
    assert _column(("k", "Pacific/Kiritimati"), due, next_day) is Column.TODAY


def test_v1_g4_a_23_hour_spring_forward_day_ends_at_local_midnight() -> None:
    """G4: Warsaw, Sunday 2026-03-29 has 23 hours; Today ends at Monday 00:00 CEST."""
    storage = portal(ALICE)
    deal = item(storage, "alice")
    planned(storage, deal, datetime(2026, 3, 29, 1, 30, tzinfo=WARSAW))
    now = datetime(2026, 3, 29, 0, 30, tzinfo=WARSAW)
    view = activities_view(storage, "alice", now)
    assert view.column_of(deal) is Column.TODAY
    start = datetime(2026, 3, 29, 0, 0, tzinfo=WARSAW)
    assert view.valid_until is not None
    assert view.valid_until - start.astimezone(UTC) == timedelta(hours=23)
    assert activities_view(storage, "alice", view.valid_until).column_of(deal) is Column.OVERDUE
    before = view.valid_until - timedelta(microseconds=1)
    assert activities_view(storage, "alice", before).column_of(deal) is Column.TODAY


def test_v1_g4_a_25_hour_fall_back_day_keeps_today_for_25_hours() -> None:
    """G4: Los Angeles, Sunday 2026-11-01 has 25 hours."""
    storage = portal(("bob", "America/Los_Angeles"))
    deal = item(storage, "bob")
    planned(storage, deal, datetime(2026, 11, 1, 1, 30, tzinfo=LOS_ANGELES))
    view = activities_view(storage, "bob", datetime(2026, 11, 1, 0, 5, tzinfo=LOS_ANGELES))
    assert view.column_of(deal) is Column.TODAY
    start = datetime(2026, 11, 1, 0, 0, tzinfo=LOS_ANGELES).astimezone(UTC)
    assert view.valid_until is not None
    assert view.valid_until - start == timedelta(hours=25)


def test_v1_valid_until_is_when_the_first_item_changes_column() -> None:
    """V1, C9: a this-week item moves to Today at its day's midnight; later ones later."""
    storage = portal(ALICE)
    thursday = item(storage, "alice")
    planned(storage, thursday, datetime(2026, 12, 17, 15, 0, tzinfo=WARSAW))
    far = item(storage, "alice")
    planned(storage, far, datetime(2027, 1, 20, 9, 0, tzinfo=WARSAW))
    view = activities_view(storage, "alice", MONDAY)
    assert view.valid_until == datetime(2026, 12, 17, 0, 0, tzinfo=WARSAW)
    alone = portal(ALICE)
    only_far = item(alone, "alice")
    planned(alone, only_far, datetime(2027, 1, 20, 9, 0, tzinfo=WARSAW))
    moment = activities_view(alone, "alice", MONDAY).valid_until
    assert moment == datetime(2027, 1, 11, 0, 0, tzinfo=WARSAW)  # Next week from then
    assert activities_view(alone, "alice", moment).column_of(only_far) is Column.NEXT_WEEK
    assert (
        activities_view(alone, "alice", moment - timedelta(seconds=1)).column_of(only_far)
        is Column.LATER
    )


def test_v2_f1_ties_in_focus_are_broken_by_item_id_descending() -> None:
    """V2, F1: items with the same focus time sort by item id, descending."""
    storage = portal(ALICE)
    for deal in ("deal-b", "deal-c", "deal-a"):
        item(storage, "alice", deal)
        planned(storage, deal, MONDAY)
    view = activities_view(storage, "alice", MONDAY)
    assert view.columns[Column.TODAY] == ("deal-c", "deal-b", "deal-a")
    assert list(view.columns) == list(Column)


def test_v2_a_column_is_in_focus_order_newest_first() -> None:
    """V2, F2: within Today, the item whose reminder came latest is on top, whatever its id."""
    storage = portal(ALICE)
    for deal in ("deal-a", "deal-b", "deal-c"):
        item(storage, "alice", deal)
    planned(storage, "deal-c", MONDAY - timedelta(hours=2))  # reminded two hours ago
    planned(storage, "deal-a", MONDAY - timedelta(minutes=5))  # reminded five minutes ago
    planned(storage, "deal-b", MONDAY + timedelta(hours=3))  # not reminded yet
    view = activities_view(storage, "alice", MONDAY)
    assert view.columns[Column.TODAY] == ("deal-a", "deal-c", "deal-b")
    # 15 minutes before deal-b's deadline it rises to the top (F2) and the view says when
    assert view.valid_until == MONDAY + timedelta(hours=3) - timedelta(minutes=15)
    later = activities_view(storage, "alice", view.valid_until)
    assert later.columns[Column.TODAY] == ("deal-b", "deal-a", "deal-c")


def test_v1_c7_another_users_view_needs_access() -> None:
    """C7: the view of someone else's items follows the access policy."""
    storage = portal(ALICE, ("bob", "UTC"))
    with pytest.raises(AccessDeniedError):
        activities_view(storage, "bob", MONDAY, viewer_id="alice")
    policy = AccessPolicy(levels={"alice": AccessLevel.ALL})
    view = activities_view(storage, "bob", MONDAY, viewer_id="alice", policy=policy)
    assert view.user_id == "bob"


_ZONES = st.sampled_from(
    ["Europe/Warsaw", "America/Los_Angeles", "Pacific/Honolulu", "Pacific/Kiritimati", "UTC"]
)
_OFFSETS = st.one_of(st.none(), st.integers(min_value=-40 * 24 * 60, max_value=40 * 24 * 60))


@given(
    zone=_ZONES,
    week_start=st.integers(min_value=0, max_value=6),
    deals=st.lists(
        st.tuples(st.lists(_OFFSETS, max_size=3), st.booleans()), min_size=1, max_size=6
    ),
    now_minutes=st.integers(min_value=0, max_value=365 * 24 * 60),
)
def test_v1_every_item_sits_in_exactly_one_column_and_moves_only_at_valid_until(
    zone: str,
    week_start: int,
    deals: list[tuple[list[int | None], bool]],
    now_minutes: int,
) -> None:
    """V1: the columns partition the items; nothing moves before valid_until (C9, F5)."""
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=now_minutes)
    storage = portal(("u", zone), settings=Settings(week_start=week_start))
    for offsets, with_incoming in deals:
        deal = item(storage, "u")
        for offset in offsets:
            planned(storage, deal, None if offset is None else now + timedelta(minutes=offset))
        if with_incoming:
            incoming(storage, deal)
    view = activities_view(storage, "u", now)
    placed = [one for ids in view.columns.values() for one in ids]
    assert sorted(placed) == sorted(one.id for one in storage.items_of("u"))
    if view.valid_until is not None:
        assert view.valid_until > now
        before = activities_view(storage, "u", view.valid_until - timedelta(microseconds=1))
        assert before.columns == view.columns
        after = activities_view(storage, "u", view.valid_until)
        rising = [
            one
            for ids in view.columns.values()
            if len(ids) > 1
            for one in ids
            if focus_time(storage, one, view.valid_until) != focus_time(storage, one, now)
        ]
        # V1/V2/F5: at valid_until an item changes column, or one that may reorder rises
        assert after.columns != view.columns or rising


def test_g4_a_day_whose_midnight_does_not_exist_starts_when_the_gap_ends() -> None:
    """G4: Santiago springs forward at 00:00 on 2026-09-06: that day starts at 01:00."""
    from crmcounters._calendar import day_start

    santiago = ZoneInfo("America/Santiago")
    start = day_start(date(2026, 9, 6), santiago)
    assert (start.hour, start.date()) == (1, date(2026, 9, 6))
    following = day_start(date(2026, 9, 7), santiago)
    assert following.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    storage = portal(("cl", "America/Santiago"))
    deal = item(storage, "cl")
    planned(storage, deal, datetime(2026, 9, 5, 20, 0, tzinfo=santiago))
    view = activities_view(storage, "cl", datetime(2026, 9, 5, 21, 0, tzinfo=santiago))
    assert view.valid_until == start

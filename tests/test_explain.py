"""Explain (X1): the reasons behind an item's counters, badge, column and position."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from _build_counters import MONDAY, WARSAW, incoming, item, minutes, planned, portal
from crmcounters import (
    AccessDeniedError,
    AccessLevel,
    AccessPolicy,
    BadgeColour,
    Column,
    CounterMode,
    Settings,
    explain,
)


def test_x1_names_the_lit_activity_since_when_and_the_rules() -> None:
    """X1: which activity, lit since when, which rule (C2, C4, C6, V1, V2)."""
    storage = portal(("alice", "Europe/Warsaw"))
    deal = item(storage, "alice", "deal-7")
    call = planned(storage, deal, datetime(2026, 12, 14, 9, 0, tzinfo=WARSAW))
    later = planned(storage, deal, MONDAY + timedelta(days=2))
    why = explain(storage, deal, MONDAY)
    assert (why.incoming, why.planned, why.column, why.position) == (0, 1, Column.TODAY, 0)
    assert why.counted_for == ("alice",)
    assert why.badge.colour is BadgeColour.RED
    rules = [reason.rule for reason in why.reasons]
    assert rules == ["C2", "C4", "C4", "C6", "V1", "V2"]
    lit = why.reasons[1]
    assert lit.activity_id == call.id
    assert lit.at == datetime(2026, 12, 14, 8, 45, tzinfo=WARSAW)
    assert "overdue, still counted" in lit.text
    assert why.reasons[2].activity_id == later.id
    assert "not lit yet" in why.reasons[2].text
    assert why.reasons[4].activity_id == call.id
    place = why.reasons[5]  # V2: its place comes from its focus time (F1, F2)
    assert "ordered by focus time" in place.text
    assert place.at == datetime(2026, 12, 14, 9, 0, tzinfo=WARSAW)  # the deadline reminder
    assert "deadline of activity" in place.text
    # Its badge changes when `later` lights; before that it moves to Overdue at midnight.
    assert why.badge.valid_until == later.deadline - minutes(15)  # type: ignore[operator]
    assert why.valid_until == datetime(2026, 12, 15, 0, 0, tzinfo=WARSAW)
    text = str(why)
    assert "[C4]" in text
    assert "Europe/Warsaw" in text


def test_x1_explains_incoming_no_deadline_and_the_cap() -> None:
    """X1: C3 for incoming, C4 for no deadline, C8 when the responsible is blocked."""
    storage = portal(("alice", "Europe/Warsaw"), settings=Settings(open_activity_cap=1))
    deal = item(storage, "alice")
    email = incoming(storage, deal)
    planned(storage, deal, None)
    why = explain(storage, deal, MONDAY)
    rules = [reason.rule for reason in why.reasons]
    assert rules[:4] == ["C2", "C8", "C3", "C4"]
    assert why.reasons[2].activity_id == email.id
    assert why.column is Column.TODAY
    assert "never lights" in why.reasons[3].text


def test_x1_activity_responsible_mode_names_each_activitys_owner() -> None:
    """X1, C2: in activity-responsible mode the item counts for the activities' owners."""
    storage = portal(
        ("alice", "UTC"),
        ("bob", "UTC"),
        settings=Settings(counter_mode=CounterMode.ACTIVITY_RESPONSIBLE),
    )
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY, responsible="bob")
    why = explain(storage, deal, MONDAY)
    assert why.counted_for == ("bob",)
    assert "activity responsible" in why.reasons[0].text


def test_x1_c7_explaining_another_users_item_needs_access() -> None:
    """X1, C7: a grey badge explained to a colleague who may see it; refused otherwise."""
    storage = portal(("alice", "UTC"), ("bob", "UTC"))
    deal = item(storage, "bob")
    planned(storage, deal, MONDAY)
    with pytest.raises(AccessDeniedError):
        explain(storage, deal, MONDAY, viewer_id="alice")
    policy = AccessPolicy(levels={"alice": AccessLevel.ALL})
    why = explain(storage, deal, MONDAY, viewer_id="alice", policy=policy)
    assert why.badge.colour is BadgeColour.GREY
    badge_reason = next(reason for reason in why.reasons if reason.rule == "C6")
    assert "belongs to 'bob'" in badge_reason.text


def test_x1_v2_reason_names_the_focus_order_not_the_id_order() -> None:
    """X1, V2: the position reason gives the focus time the column is sorted by (F1)."""
    storage = portal(("alice", "Europe/Warsaw"))
    older = item(storage, "alice", "deal-1")
    planned(storage, older, MONDAY + timedelta(minutes=10))  # reminder at 09:55 lifts it
    item(storage, "alice", "deal-2")
    planned(storage, "deal-2", MONDAY + timedelta(hours=5))
    why = explain(storage, older, MONDAY)
    position = why.reasons[-1]
    assert position.rule == "V2"
    assert "ordered by focus time, newest first" in position.text
    assert "its focus time 2026-12-14T08:55:00+00:00 comes from" in position.text
    assert position.at == MONDAY + timedelta(minutes=10) - timedelta(minutes=15)


def test_x1_v2_valid_until_covers_a_column_neighbour_rising_above_the_item() -> None:
    """X1, V2, F5: the explanation expires when a neighbour in its column rises above it.

    deal-a's call is due 09:30, deal-b's 13:00, both Today: at 10:00 deal-a is on
    top, and at 12:45 (deal-b's 15-minute reminder) deal-b rises above it.
    """
    storage = portal(("alice", "Europe/Warsaw"))
    first = item(storage, "alice", "deal-a")
    planned(storage, first, datetime(2026, 12, 14, 9, 30, tzinfo=WARSAW))
    second = item(storage, "alice", "deal-b")
    planned(storage, second, datetime(2026, 12, 14, 13, 0, tzinfo=WARSAW))
    why = explain(storage, first, MONDAY)
    assert (why.column, why.position) == (Column.TODAY, 0)
    rises = datetime(2026, 12, 14, 12, 45, tzinfo=WARSAW)
    assert why.valid_until is not None
    assert why.valid_until <= rises
    assert explain(storage, first, rises).position == 1

"""`counter_steps`: a user's counters over a span, stepped where they change (C9, X2)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _build_counters import MONDAY, WARSAW, incoming, item, minutes, planned, portal
from crmcounters import (
    AccessDeniedError,
    AccessPolicy,
    CounterResult,
    PlannedRule,
    Portal,
    Settings,
    ValidationError,
    counter_steps,
    counters_of,
)
from crmcounters.testing.strategies import aware_datetimes, portals

ALICE = ("alice", "Europe/Warsaw")


def _numbers(result: CounterResult) -> tuple[object, ...]:
    return (
        result.incoming,
        result.planned,
        result.incoming_items,
        result.planned_items,
        result.items,
        result.blocked,
        result.open_activities,
    )


def _walked(portal: Portal, user_id: str, start: datetime, end: datetime) -> list[CounterResult]:
    """The reference: counters_of at start, then at each valid_until before end (C9)."""
    storage = portal.storage
    results = [counters_of(storage, user_id, start)]
    while (until := results[-1].valid_until) is not None and until < end:
        results.append(counters_of(storage, user_id, until))
    return results


def test_c9_steps_start_at_start_and_change_where_activities_light() -> None:
    """C9, X2: one step at start, then one per lighting instant inside the span."""
    storage = portal(ALICE)
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY + minutes(45))  # lights at +30 (default offset 15)
    planned(storage, deal, MONDAY + minutes(90))  # lights at +75
    planned(storage, item(storage, "alice"), MONDAY + minutes(90))  # same instant, other item
    planned(storage, deal, MONDAY + timedelta(days=2))  # after the span
    incoming(storage, deal)
    steps = counter_steps(storage, "alice", MONDAY, MONDAY + timedelta(days=1))
    assert [step.at for step in steps] == [MONDAY, MONDAY + minutes(30), MONDAY + minutes(75)]
    assert [(s.incoming, s.planned, s.planned_items, s.items) for s in steps] == [
        (1, 0, 0, 1),
        (1, 1, 1, 1),
        (1, 3, 2, 2),
    ]
    assert [step.valid_until for step in steps] == [
        MONDAY + minutes(30),
        MONDAY + minutes(75),
        MONDAY + timedelta(days=2) - minutes(15),  # the next change, past the span's end
    ]
    assert steps[1].at.tzinfo is UTC  # instants in UTC, as counters_of gives them


def test_c9_a_change_at_the_end_of_the_span_is_left_out() -> None:
    """The span is half-open: a lighting at `end` is not a step of it."""
    storage = portal(ALICE)
    planned(storage, item(storage, "alice"), MONDAY + minutes(75))
    steps = counter_steps(storage, "alice", MONDAY, MONDAY + minutes(60))
    assert len(steps) == 1
    assert steps[0].valid_until == MONDAY + minutes(60)


def test_c8_a_blocked_user_has_one_step() -> None:
    """C8, C9: blocking does not change with time, so the chart is one blocked step."""
    storage = portal(ALICE, settings=Settings(open_activity_cap=1))
    deal = item(storage, "alice")
    planned(storage, deal, MONDAY + minutes(45))
    planned(storage, deal, MONDAY + minutes(90))
    (only,) = counter_steps(storage, "alice", MONDAY, MONDAY + timedelta(days=1))
    assert only.blocked
    assert (only.open_activities, only.valid_until) == (2, None)


def test_c7_steps_are_refused_like_counters() -> None:
    """C7: another user's steps need the policy's permission, else AccessDeniedError."""
    storage = portal(ALICE, ("bob", "Europe/Warsaw"))
    with pytest.raises(AccessDeniedError):
        counter_steps(storage, "alice", MONDAY, MONDAY + minutes(1), viewer_id="bob")
    with pytest.raises(AccessDeniedError):
        counter_steps(
            storage, "alice", MONDAY, MONDAY + minutes(1), viewer_id="bob", policy=AccessPolicy()
        )


def test_g2_g5_a_bad_span_is_refused_naming_the_argument() -> None:
    """G2, G5: naive instants and an empty or reversed span are refused, naming the argument."""
    storage = portal(ALICE)
    with pytest.raises(ValidationError, match="end"):
        counter_steps(storage, "alice", MONDAY, MONDAY)
    with pytest.raises(ValidationError, match="start"):
        counter_steps(storage, "alice", MONDAY.replace(tzinfo=None), MONDAY)


# A fifth of the profile's examples: generating a portal is what costs here (the sweep is
# cheap), and the same portals run through counters_of in tests/test_counters.py.
@settings(max_examples=max(10, settings.default.max_examples // 5))
@given(
    portal=portals(max_users=3, max_items=8, max_activities=20),
    anywhere=aware_datetimes(),
    data=st.data(),
    hours=st.sampled_from([1, 24, 24 * 7, 24 * 60]),
)
def test_c9_x2_steps_equal_counters_of_walked_by_valid_until(
    portal: Portal, anywhere: datetime, data: st.DataObject, hours: int
) -> None:
    """C9, X2: every step is counters_of at its instant, and the steps are where the answer
    changes: walking counters_of from valid_until to valid_until meets the same numbers."""
    deadlines = sorted(
        activity.deadline
        for item in portal.storage.items()
        for activity in portal.storage.activities_of_item(item.id)
        if activity.deadline is not None
    )
    # Mostly a span that opens shortly before a deadline, so that activities light inside it.
    start = anywhere
    if deadlines and data.draw(st.booleans()):
        before = timedelta(minutes=data.draw(st.integers(0, hours * 60)))
        start = data.draw(st.sampled_from(deadlines)) - before
    end = start + timedelta(hours=hours)
    for user in portal.storage.users():
        steps = counter_steps(portal.storage, user.id, start, end)
        for step in steps:
            assert step == counters_of(portal.storage, user.id, step.at)
        walked = _walked(portal, user.id, start, end)
        changes = [walked[0]] + [
            now for before, now in itertools.pairwise(walked) if _numbers(now) != _numbers(before)
        ]
        assert [(s.at, _numbers(s)) for s in steps] == [(w.at, _numbers(w)) for w in changes]


def test_c11_under_due_today_a_step_comes_at_the_local_midnight() -> None:
    """C11: with the "due today" rule, tomorrow's 15:00 deadline counts from tomorrow's
    local 00:00 (in the user's zone), not from 14:45."""
    storage = portal(ALICE, settings=Settings(planned_rule=PlannedRule.DUE_TODAY))
    deadline = MONDAY + timedelta(days=1, hours=5)  # Tuesday 15:00 Warsaw
    planned(storage, item(storage, "alice"), deadline)
    steps = counter_steps(storage, "alice", MONDAY, MONDAY + timedelta(days=2))
    tuesday = datetime(2026, 12, 15, tzinfo=WARSAW)
    assert [(step.at, step.planned) for step in steps] == [(MONDAY, 0), (tuesday, 1)]


def test_c10_steps_of_one_section_leave_the_others_out() -> None:
    """C10: with an entity type, only that section's activities make steps."""
    storage = portal(ALICE)
    planned(storage, item(storage, "alice"), MONDAY + minutes(45))
    steps = counter_steps(storage, "alice", MONDAY, MONDAY + minutes(60), entity_type="lead")
    assert [(step.planned, step.entity_type) for step in steps] == [(0, "lead")]
    assert len(counter_steps(storage, "alice", MONDAY, MONDAY + minutes(60))) == 2

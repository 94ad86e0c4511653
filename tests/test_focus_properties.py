"""Invariants of focus mode (F1, F2, F5), checked with hypothesis over random portals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
from hypothesis import given
from hypothesis import strategies as st

from _build_focus import instants, scenarios
from crmcounters import (
    ActivityKind,
    CommentAdded,
    Direction,
    FocusColumn,
    IncomingMessage,
    InMemoryStorage,
    explain_focus,
    focus_time,
    focus_timelines,
    order_by_focus,
    rank_by_focus,
    reschedule,
)

TICK = timedelta(microseconds=1)


def _ids(storage: InMemoryStorage) -> list[str]:
    return [item.id for item in storage.items()]


def _oracle(storage: InMemoryStorage, item_id: str, now: datetime) -> datetime:
    """F2 read straight from the SPEC, independently of the library's own code."""
    item = storage.item(item_id)
    candidates = [item.created_at]
    for event in storage.events_of_item(item_id):
        if isinstance(event, IncomingMessage) or (
            isinstance(event, CommentAdded) and event.author_id != item.responsible_id
        ):
            candidates.append(event.at)
    for activity in storage.activities_of_item(item_id):
        if activity.kind in (ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.CHAT) and (
            activity.incoming or activity.direction is Direction.INCOMING
        ):
            candidates.append(activity.created_at)
        if activity.deadline is None:
            continue
        if activity.reminder_offsets is None:
            offsets = set(storage.settings.focus_reminder_offsets)
        else:
            offsets = {*activity.reminder_offsets, 0}
        for offset in offsets:
            at = activity.deadline.astimezone(UTC) - timedelta(minutes=offset)
            if activity.completed_at is None or at <= activity.completed_at:
                candidates.append(at)
    return max(
        [item.created_at, *(at for at in candidates if at <= now)],
    )


@given(scenarios(), instants)
def test_f2_focus_time_is_the_latest_source_not_in_the_future(
    storage: InMemoryStorage, now: datetime
) -> None:
    for item_id in _ids(storage):
        assert focus_time(storage, item_id, now) == _oracle(storage, item_id, now)


@given(scenarios(), instants, instants)
def test_f2_focus_time_never_decreases_as_time_passes(
    storage: InMemoryStorage, one: datetime, other: datetime
) -> None:
    early, late = sorted((one, other))
    for item_id in _ids(storage):
        assert focus_time(storage, item_id, early) <= focus_time(storage, item_id, late)


@given(scenarios(), instants, instants)
def test_f2_completing_an_activity_never_lowers_focus_time(
    storage: InMemoryStorage, now: datetime, later: datetime
) -> None:
    later = max(now, later)
    for activity in list(storage.activities()):
        if activity.is_open and activity.created_at <= now:
            before = {i: focus_time(storage, i, now) for i in activity.item_ids}
            storage.replace(attrs.evolve(activity, completed_at=now))
            for item_id, focus in before.items():
                assert focus_time(storage, item_id, now) == focus
                assert focus_time(storage, item_id, later) >= focus


@given(scenarios(), instants, instants, st.none() | instants)
def test_f2_rescheduling_an_activity_never_lowers_focus_time(
    storage: InMemoryStorage, now: datetime, later: datetime, deadline: datetime | None
) -> None:
    """F2 with `reschedule`: postponing, advancing or clearing a deadline keeps focus time."""
    later = max(now, later)
    offsets = storage.settings.focus_reminder_offsets
    for activity in list(storage.activities()):
        if activity.is_open and not activity.incoming:
            before = {i: focus_time(storage, i, now) for i in activity.item_ids}
            storage.replace(reschedule(activity, deadline, now, offsets))
            for item_id, focus in before.items():
                assert focus_time(storage, item_id, now) >= focus
                assert focus_time(storage, item_id, later) >= focus


@given(scenarios(), instants)
def test_f1_the_order_is_a_permutation_sorted_by_focus_time_then_id(
    storage: InMemoryStorage, now: datetime
) -> None:
    ids = _ids(storage)
    order = order_by_focus(storage, ids, now)
    assert sorted(order.item_ids) == sorted(ids)
    assert order.total == len(ids)
    expected = sorted(((focus_time(storage, i, now), i) for i in ids), reverse=True)
    assert list(zip(order.focus_times, order.item_ids, strict=True)) == expected


@given(scenarios(), instants, st.integers(min_value=0, max_value=10))
def test_f1_a_page_is_the_prefix_of_the_full_order(
    storage: InMemoryStorage, now: datetime, limit: int
) -> None:
    ids = _ids(storage)
    full = order_by_focus(storage, ids, now)
    page = order_by_focus(storage, ids, now, limit=limit)
    assert page.item_ids == full.item_ids[:limit]
    assert page.focus_times == full.focus_times[:limit]


@given(
    scenarios(),
    instants,
    st.one_of(st.none(), st.integers(min_value=0, max_value=6)),
    st.floats(min_value=0, max_value=1),
)
def test_f5_the_order_holds_until_valid_until_and_changes_then(
    storage: InMemoryStorage, now: datetime, limit: int | None, fraction: float
) -> None:
    ids = _ids(storage)
    order = order_by_focus(storage, ids, now, limit=limit)

    def same(at: datetime) -> bool:
        other = order_by_focus(storage, ids, at, limit=limit)
        return (other.item_ids, other.focus_times) == (order.item_ids, order.focus_times)

    if order.valid_until is None:
        assert same(now + timedelta(days=400))
        return
    assert order.valid_until > now
    span = order.valid_until - now
    # timedelta * float rounds to the microsecond: a fraction just below 1 can land on valid_until.
    assert same(min(now + span * fraction, order.valid_until - TICK))
    assert same(order.valid_until - TICK)
    assert not same(order.valid_until)


@given(scenarios(), instants)
def test_x1_the_explanation_names_a_source_at_the_focus_time(
    storage: InMemoryStorage, now: datetime
) -> None:
    for item_id in _ids(storage):
        why = explain_focus(storage, item_id, now)
        assert why.source.at == why.focus_time == focus_time(storage, item_id, now)
        assert why.source.item_id == item_id
        if why.next_change is None:
            assert why.next_source is None
        else:
            assert why.next_source is not None
            assert why.next_source.at == why.next_change > now
            assert focus_time(storage, item_id, why.next_change) == why.next_change


@given(
    scenarios(max_items=12),
    instants,
    st.one_of(st.none(), st.integers(min_value=0, max_value=14)),
)
def test_f1_a_focus_column_ranks_exactly_like_the_one_shot_ranking(
    storage: InMemoryStorage, now: datetime, limit: int | None
) -> None:
    timelines = focus_timelines(storage, _ids(storage))
    assert FocusColumn(timelines=timelines).rank(now, limit=limit) == rank_by_focus(
        timelines, now, limit=limit
    )

"""G4: instants compare as instants, never by their wall clock.

Python compares two aware datetimes that share a zone by their clock face and
ignores `fold`, so in the hour repeated when clocks go back, 01:30 (second
time) looks earlier than 01:45 (first time). The library brings every instant
it is given or holds to UTC; these tests feed it the same instants written in
UTC and in a local zone with both folds and require the same answers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _build import deal, small_storage
from crmcounters import (
    AccessLevel,
    AccessPolicy,
    Activity,
    ActivityKind,
    BusinessCalendar,
    CounterIndex,
    IncomingChannel,
    IncomingMessage,
    ItemViewed,
    Portal,
    ValidationError,
    activities_view,
    counters_of,
    dump_portal,
    explain,
    explain_focus,
    focus_time,
    focus_timelines,
    is_unread,
    item_badge,
    kanban_board,
    load_portal,
    next_focus_change,
    next_unread_change,
    opt_out_until,
    order_by_focus,
    place_item,
    rank_by_focus,
    reschedule,
    smart_activity_deadline,
    suggest_smart_activity,
    summed_counters,
    unread_activities,
    unread_messages,
)
from crmcounters.testing.strategies import portals

NEW_YORK = ZoneInfo("America/New_York")
WARSAW = ZoneInfo("Europe/Warsaw")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # goes back by 30 minutes
SEE_ALL = AccessPolicy(default=AccessLevel.ALL)


def ny(hour: int, minute: int = 0, fold: int = 0) -> datetime:
    """1 November 2026 in New York, when 01:00-01:59 happens twice (fold 1 is the second)."""
    return datetime(2026, 11, 1, hour, minute, fold=fold, tzinfo=NEW_YORK)


def _portal_with_message(message_at: datetime, view_at: datetime | None = None) -> Any:
    storage = small_storage()
    storage.replace(
        deal("d1", "rep", created_at=datetime(2026, 10, 1, tzinfo=UTC)),
    )
    storage.add(IncomingMessage(id="m1", item_id="d1", at=message_at, channel=IncomingChannel.CHAT))
    if view_at is not None:
        storage.add(ItemViewed(id="v1", item_id="d1", at=view_at, user_id="rep"))
    return storage


# -- the cases an independent focus differential found (issue 16) ---------------------------


def test_g4_f3_a_message_in_the_second_hour_is_not_unread_an_hour_early() -> None:
    """F3: a message at 01:00 (second time, 06:00 UTC) is not there at 01:00 (first, 05:00 UTC)."""
    storage = _portal_with_message(ny(1, 0, fold=1))
    assert is_unread(storage, "d1", ny(1, 0, fold=0)) is False
    assert is_unread(storage, "d1", ny(1, 0, fold=0).astimezone(UTC)) is False
    assert is_unread(storage, "d1", ny(1, 0, fold=1)) is True


def test_g4_f3_an_incoming_call_activity_in_the_second_hour_is_not_unread_early() -> None:
    """F3: the same for an incoming call activity created at 01:00 (second time)."""
    storage = small_storage()
    storage.add(
        Activity(
            id="call",
            item_ids=("d1",),
            kind=ActivityKind.CALL,
            responsible_id="rep",
            created_at=ny(1, 0, fold=1),
            incoming=True,
        )
    )
    assert unread_activities(storage, "d1", ny(1, 0, fold=0)) == ()
    assert is_unread(storage, "d1", ny(1, 0, fold=0)) is False
    assert is_unread(storage, "d1", ny(1, 30, fold=1)) is True


def test_g4_f3_a_view_before_the_message_does_not_read_it() -> None:
    """F3: message at 01:30 (second, 06:30 UTC); a view at 01:45 (first, 05:45 UTC) came before."""
    storage = _portal_with_message(ny(1, 30, fold=1), view_at=ny(1, 45, fold=0))
    later = ny(3)
    assert [m.id for m in unread_messages(storage, "d1", later)] == ["m1"]
    assert is_unread(storage, "d1", later) is True


def test_g4_f5_kanban_valid_until_is_not_late_in_the_repeated_hour() -> None:
    """F5: the board changes when the message arrives (06:30 UTC), not 30 minutes later."""
    storage = _portal_with_message(ny(1, 30, fold=1))
    board = kanban_board(storage, "deal", "p", "rep", ny(1, 45, fold=0))
    # PEP 495: a datetime in the repeated hour never equals one in another zone: compare in UTC
    assert board.valid_until == ny(1, 30, fold=1).astimezone(UTC)
    assert board.valid_until is not None
    assert board.valid_until.tzinfo is UTC


def _warsaw_activity(created: datetime, completed: datetime) -> Activity:
    return Activity(
        id="a",
        item_ids=("d1",),
        kind=ActivityKind.TODO,
        responsible_id="rep",
        created_at=created,
        completed_at=completed,
    )


def test_g4_g5_a_completion_before_the_creation_is_refused_in_the_repeated_hour() -> None:
    """G5: created 02:00 (second time, 01:00 UTC), completed 02:30 (first time, 00:30 UTC)."""
    created = datetime(2026, 10, 25, 2, 0, fold=1, tzinfo=WARSAW)
    completed = datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=WARSAW)
    with pytest.raises(ValidationError, match="completed_at"):
        _warsaw_activity(created, completed)


def test_g4_a_completion_40_minutes_after_the_creation_is_accepted_and_round_trips() -> None:
    """Created 02:50 (first time, 00:50 UTC), completed 02:30 (second time, 01:30 UTC)."""
    created = datetime(2026, 10, 25, 2, 50, fold=0, tzinfo=WARSAW)
    completed = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=WARSAW)
    activity = _warsaw_activity(created, completed)
    assert activity.completed_at is not None
    assert activity.completed_at - activity.created_at == timedelta(minutes=40)
    storage = small_storage()
    storage.add(activity)
    again = load_portal(dump_portal(Portal(storage=storage))).storage.activity("a")
    assert again == activity


def test_g4_models_hold_utc_and_keep_the_instant() -> None:
    """Every stored instant is the given instant, held in UTC."""
    message = IncomingMessage(id="m", item_id="d1", at=ny(1, 30, fold=1), channel="chat")
    assert message.at.tzinfo is UTC
    assert message.at == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


# -- the property: UTC and local instants, both folds, give the same answers ------------------

#: DST changes where an hour (or half an hour) repeats, and one where it is skipped.
_CHANGES = (
    (datetime(2026, 11, 1, 6, 0, tzinfo=UTC), "America/New_York"),
    (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), "Europe/Warsaw"),
    (datetime(2026, 4, 4, 15, 0, tzinfo=UTC), "Australia/Lord_Howe"),
    (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "Europe/Warsaw"),
)


@st.composite
def _near_a_change(draw: st.DrawFn) -> datetime:
    """An instant within three hours of a DST change, written in the changing zone."""
    change, zone = draw(st.sampled_from(_CHANGES))
    minutes = draw(st.integers(-180, 180))
    return (change + timedelta(minutes=minutes)).astimezone(ZoneInfo(zone))


def _local_twin(now: datetime) -> datetime:
    """The same instant in UTC or in its own zone: the other writing of it."""
    return now.astimezone(UTC) if now.tzinfo is not UTC else now.astimezone(NEW_YORK)


def _answers(portal: Portal, now: datetime) -> list[object]:
    """What every public function that takes an instant answers at `now` (G4)."""
    storage = portal.storage
    users = [user.id for user in storage.users()]
    items = [item.id for item in storage.items()]
    index = CounterIndex.build(storage, now)
    found: list[object] = []
    for user in users:
        found.append(counters_of(storage, user, now))
        found.append(index.counters(user))
        found.append(activities_view(storage, user, now))
        found.append(opt_out_until("this_week", now, storage.user(user)))
        found.append(smart_activity_deadline(now, storage.user(user).zone, _PLAIN))
    found.append(summed_counters(storage, now, viewer_id=users[0], policy=SEE_ALL))
    for item_id in items:
        item = storage.item(item_id)
        found.append(item_badge(storage, item_id, item.responsible_id, now))
        found.append(explain(storage, item_id, now))
        found.append(explain_focus(storage, item_id, now))
        found.append(focus_time(storage, item_id, now))
        found.append(is_unread(storage, item_id, now))
        found.append(unread_messages(storage, item_id, now))
        found.append(unread_activities(storage, item_id, now))
        found.append(
            next_unread_change(
                item, storage.activities_of_item(item_id), storage.events_of_item(item_id), now
            )
        )
        found.append(
            place_item(
                storage.open_activities_of_item(item_id),
                now,
                zone=storage.user(item.responsible_id).zone,
            )
        )
        found.append(suggest_smart_activity(storage, item_id, item.responsible_id, now))
        for activity in storage.open_activities_of_item(item_id):
            if not activity.incoming:
                later = (now.astimezone(UTC) + timedelta(hours=1)).astimezone(now.tzinfo)
                found.append(reschedule(activity, later, now))
    found.append(order_by_focus(storage, items, now))
    found.append(rank_by_focus(focus_timelines(storage, items), now, limit=3))
    found.append(next_focus_change(storage, items, now))
    for pipeline in storage.pipelines():
        found.append(kanban_board(storage, pipeline.entity_type, pipeline.id, users[0], now))
    return found


_PLAIN = BusinessCalendar()


@settings(max_examples=max(10, settings.default.max_examples // 5))  # many calls per example
@given(portal=portals(max_items=4, max_activities=8, instants=_near_a_change()), data=st.data())
def test_g4_utc_and_local_instants_with_both_folds_give_the_same_answers(
    portal: Portal, data: st.DataObject
) -> None:
    """G4: every public function answers alike for `now` in UTC and in a local zone."""
    if not list(portal.storage.users()):
        return
    now = data.draw(_near_a_change())
    assert _answers(portal, now) == _answers(portal, _local_twin(now))
    assert _answers(portal, now) == _answers(portal, now.astimezone(UTC))


def _in_utc(value: Any) -> Any:
    """A JSON value with every instant rewritten in UTC."""
    if isinstance(value, dict):
        return {key: _in_utc(one) for key, one in value.items()}
    if isinstance(value, list):
        return [_in_utc(one) for one in value]
    if isinstance(value, str) and len(value) > 19 and value[10:11] == "T":
        return datetime.fromisoformat(value).astimezone(UTC).isoformat()
    return value


@given(portal=portals(max_items=5, max_activities=10, instants=_near_a_change()))
def test_g4_a_portal_written_in_utc_or_local_zones_loads_the_same(portal: Portal) -> None:
    """G4: the file writes instants in their users' zones; in UTC they load as the same."""
    text = dump_portal(portal)
    assert dump_portal(load_portal(text)) == text
    utc_text = json.dumps(_in_utc(json.loads(text)))
    assert dump_portal(load_portal(utc_text)) == text

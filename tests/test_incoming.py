"""Incoming work (I1, I2): one write records a message, one write answers it.

Each scenario runs on InMemoryStorage, SQLite and (with CRMCOUNTERS_PG_DSN)
PostgreSQL, and requires the same answers; a CounterIndex fed by the writes
agrees with counters read from storage.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _build import T0, small_storage
from _sql_backends import BACKENDS, copy_into, sql_examples, sql_storage
from crmcounters import (
    Activity,
    ActivityKind,
    BadgeColour,
    Column,
    CounterIndex,
    Direction,
    DuplicateIdError,
    IncomingChannel,
    IncomingMessage,
    InMemoryStorage,
    UnknownIdError,
    ValidationError,
    WritableStorage,
    activities_view,
    complete_activity,
    counters_of,
    explain,
    incoming_write,
    is_unread,
    item_badge,
    mark_processed,
    processed_write,
    record_incoming,
    record_reply,
)

KINDS = ["memory", *BACKENDS]


@contextmanager
def portal(kind: str) -> Iterator[WritableStorage]:
    """The small portal (deals d1 of rep, d2 of lead) on the chosen storage."""
    source = small_storage()
    if kind == "memory":
        yield source
        return
    with sql_storage(kind) as storage:
        copy_into(source, storage)
        yield storage


def _incoming(storage: WritableStorage, n: int, channel: str, item: str = "d1", **kw: Any) -> Any:
    return record_incoming(
        storage,
        item,
        channel,
        T0 + timedelta(minutes=n),
        event_id=f"e{n}",
        activity_id=f"in{n}",
        text=f"message {n}",
        **kw,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_i1_one_call_records_event_and_incoming_activity(kind: str) -> None:
    """I1: the event marks Unread (F3); the activity reaches Incoming, badge, view (C3, C6, V1)."""
    with portal(kind) as storage:
        now = T0 + timedelta(hours=1)
        before = counters_of(storage, "rep", now)
        write = _incoming(storage, 1, "email")
        event, activity = write.add
        assert isinstance(event, IncomingMessage)
        assert isinstance(activity, Activity)
        assert storage.activity("in1") == activity
        assert activity.incoming
        assert activity.direction is Direction.INCOMING
        assert activity.kind is ActivityKind.EMAIL
        assert activity.responsible_id == "rep"  # the item's responsible
        assert [e.id for e in storage.events_of_item("d1")] == ["e1"]
        after = counters_of(storage, "rep", now)
        assert after.incoming == before.incoming + 1
        assert is_unread(storage, "d1", now)
        badge = item_badge(storage, "d1", "rep", now)
        assert badge.colour is BadgeColour.GREEN
        assert badge.number == 1
        assert "d1" in activities_view(storage, "rep", now).columns[Column.TODAY]


@pytest.mark.parametrize("kind", KINDS)
def test_i1_a_refused_write_stores_neither_record(kind: str) -> None:
    """I1, G5: a taken event id refuses the write; the activity is not stored either."""
    with portal(kind) as storage:
        _incoming(storage, 1, "chat")
        with pytest.raises(DuplicateIdError):
            record_incoming(storage, "d1", "chat", T0, event_id="e1", activity_id="fresh")
        with pytest.raises(UnknownIdError):
            storage.activity("fresh")
        with pytest.raises(ValidationError, match="channel"):
            incoming_write(storage, "d1", "fax", T0, event_id="x", activity_id="y")
        with pytest.raises(UnknownIdError):
            incoming_write(storage, "nope", "chat", T0, event_id="x", activity_id="y")


def test_i1_every_channel_gives_its_activity_kind() -> None:
    """I1, C3: e-mail, call, missed call, chat, order payment, task comment."""
    storage = small_storage()
    kinds = {}
    for n, channel in enumerate(IncomingChannel):
        write = _incoming(storage, n, channel)
        kinds[channel.value] = write.activities[0].kind.value
    assert kinds == {
        "email": "email",
        "chat": "chat",
        "call": "call",
        "missed_call": "call",
        "payment": "payment",
        "task_comment": "task_comment",
    }
    assert counters_of(storage, "rep", T0 + timedelta(hours=1)).incoming == len(IncomingChannel)


@pytest.mark.parametrize("kind", KINDS)
def test_i2_reply_on_the_channel_completes_that_channel_only(kind: str) -> None:
    """I2: an outgoing e-mail completes every open incoming e-mail on the item, not the chat."""
    with portal(kind) as storage:
        _incoming(storage, 1, "email")
        _incoming(storage, 2, "email")
        _incoming(storage, 3, "chat")
        at = T0 + timedelta(minutes=30)
        reply = Activity(
            id="out1",
            item_ids=("d1",),
            kind="email",
            direction="outgoing",
            responsible_id="rep",
            created_at=at,
            completed_at=at,
        )
        write = record_reply(storage, reply)
        assert sorted(a.id for a in write.replace) == ["in1", "in2"]
        assert storage.activity("in1").completed_at == at
        assert storage.activity("in3").is_open
        assert counters_of(storage, "rep", at).incoming == 1
        assert storage.activity("out1") == reply


@pytest.mark.parametrize("kind", KINDS)
def test_i2_a_completed_call_back_answers_calls_and_missed_calls(kind: str) -> None:
    """I2: a call back answers once completed; a call and a missed call are both calls."""
    with portal(kind) as storage:
        _incoming(storage, 1, "missed_call")
        _incoming(storage, 2, "call")
        planned = Activity(
            id="cb",
            item_ids=("d1",),
            kind="call",
            direction="outgoing",
            responsible_id="rep",
            created_at=T0 + timedelta(minutes=5),
        )
        with pytest.raises(ValidationError, match="completed_at"):
            record_reply(storage, planned)
        with pytest.raises(ValidationError, match="direction"):
            record_reply(storage, Activity(**{**_fields(planned), "direction": "incoming"}))
        done = Activity(**{**_fields(planned), "completed_at": T0 + timedelta(minutes=10)})
        record_reply(storage, done)
        assert not storage.activity("in1").is_open
        assert not storage.activity("in2").is_open


def test_i2_a_reply_does_not_answer_a_message_that_came_after_it() -> None:
    """I2: only the incoming activities that had arrived by the reply are completed."""
    storage = small_storage()
    _incoming(storage, 1, "email")
    _incoming(storage, 60, "email")
    reply = Activity(
        id="out",
        item_ids=("d1",),
        kind="email",
        direction="outgoing",
        responsible_id="rep",
        created_at=T0 + timedelta(minutes=30),
    )
    record_reply(storage, reply)
    assert not storage.activity("in1").is_open
    assert storage.activity("in60").is_open


@pytest.mark.parametrize("kind", KINDS)
def test_i2_mark_processed_completes_all_or_one_channel(kind: str) -> None:
    """I2: marking the item processed completes its incoming activities in one write."""
    with portal(kind) as storage:
        _incoming(storage, 1, "email")
        _incoming(storage, 2, "chat")
        _incoming(storage, 3, "call")
        at = T0 + timedelta(hours=1)
        write = mark_processed(storage, "d1", at, channel="chat")
        assert [a.id for a in write.replace] == ["in2"]
        write = mark_processed(storage, "d1", at)
        assert sorted(a.id for a in write.replace) == ["in1", "in3"]
        assert counters_of(storage, "rep", at).incoming == 0
        assert processed_write(storage, "d1", at).replace == ()


@pytest.mark.parametrize("kind", KINDS)
def test_i2_completing_one_incoming_activity_completes_its_channel(kind: str) -> None:
    """I2: completing an incoming e-mail completes the item's other open incoming e-mails."""
    with portal(kind) as storage:
        _incoming(storage, 1, "email")
        _incoming(storage, 2, "email")
        _incoming(storage, 3, "payment")
        at = T0 + timedelta(hours=1)
        write = complete_activity(storage, "in2", at)
        assert sorted(a.id for a in write.replace) == ["in1", "in2"]
        assert storage.activity("in3").is_open
        with pytest.raises(ValidationError, match="already completed"):
            complete_activity(storage, "in2", at)


@pytest.mark.parametrize("kind", KINDS)
def test_i1_i2_counter_index_follows_the_writes(kind: str) -> None:
    """I1, I2: a CounterIndex given to each call answers as counters read from storage."""
    with portal(kind) as storage:
        now = T0 + timedelta(hours=2)
        index = CounterIndex.build(storage, now)
        _incoming(storage, 1, "email", index=index)
        _incoming(storage, 2, "chat", item="d2", index=index)
        assert index.counters("rep").incoming == 1
        assert index.counters("lead").incoming == 1
        mark_processed(storage, "d1", now, index=index)
        complete_activity(storage, "in2", now, index=index)
        for user in ("rep", "lead"):
            assert index.counters(user) == counters_of(storage, user, now)


def test_i1_explain_names_the_message_the_activity_records() -> None:
    """I1, X1: explain says which incoming message an incoming activity was recorded with."""
    storage = small_storage()
    _incoming(storage, 1, "chat")
    now = T0 + timedelta(hours=1)
    texts = [r.text for r in explain(storage, "d1", now).reasons if r.rule == "C3"]
    assert texts == [
        "open incoming chat 'in1' counts in Incoming (recorded with incoming chat 'e1', I1)"
    ]
    mark_processed(storage, "d1", now)
    assert not [r for r in explain(storage, "d1", now).reasons if r.rule == "C3"]


def _fields(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.id,
        "item_ids": activity.item_ids,
        "kind": activity.kind,
        "direction": activity.direction,
        "responsible_id": activity.responsible_id,
        "created_at": activity.created_at,
        "completed_at": activity.completed_at,
    }


_messages = st.lists(
    st.tuples(
        st.sampled_from(["d1", "d2"]),
        st.sampled_from(list(IncomingChannel)),
        st.integers(min_value=0, max_value=600),
    ),
    max_size=8,
)


@settings(max_examples=40)
@given(messages=_messages, processed_with=st.sampled_from(["mark", "complete", "reply"]))
def test_i1_i2_recording_then_processing_restores_the_counters(
    messages: list[tuple[str, IncomingChannel, int]], processed_with: str
) -> None:
    """I1, I2: record incoming messages, then process them: counters return to before."""
    storage = small_storage()
    storage.add(
        Activity(
            id="plan",
            item_ids=("d1",),
            kind="todo",
            responsible_id="rep",
            created_at=T0,
            deadline=T0 + timedelta(minutes=20),
        )
    )
    now = T0 + timedelta(hours=12)
    before = {user: counters_of(storage, user, now) for user in ("rep", "lead")}
    for n, (item, channel, minutes) in enumerate(messages):
        record_incoming(
            storage,
            item,
            channel,
            T0 + timedelta(minutes=minutes),
            event_id=f"e{n}",
            activity_id=f"in{n}",
        )
    recorded = (
        counters_of(storage, "rep", now).incoming + counters_of(storage, "lead", now).incoming
    )
    assert recorded == len(messages)
    for item in ("d1", "d2"):
        if processed_with == "mark":
            mark_processed(storage, item, now)
            continue
        while open_incoming := [a for a in storage.open_activities_of_item(item) if a.incoming]:
            first = open_incoming[0]
            if processed_with == "complete":
                complete_activity(storage, first.id, now)
            else:
                reply = Activity(
                    id=f"re-{first.id}",
                    item_ids=(item,),
                    kind=first.kind,
                    direction="outgoing",
                    responsible_id=first.responsible_id,
                    created_at=now,
                    completed_at=now,
                )
                record_reply(storage, reply)
    assert {user: counters_of(storage, user, now) for user in ("rep", "lead")} == before
    assert isinstance(storage, InMemoryStorage)


_operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("incoming"),
            st.sampled_from(["d1", "d2"]),
            st.sampled_from(list(IncomingChannel)),
            st.integers(min_value=0, max_value=300),
        ),
        st.tuples(
            st.just("reply"),
            st.sampled_from(["d1", "d2"]),
            st.sampled_from(["email", "chat", "call"]),
            st.integers(min_value=0, max_value=300),
        ),
        st.tuples(
            st.just("processed"),
            st.sampled_from(["d1", "d2"]),
            st.sampled_from([None, *IncomingChannel]),
            st.integers(min_value=0, max_value=300),
        ),
    ),
    max_size=10,
)


@settings(max_examples=sql_examples())
@given(operations=_operations)
def test_i1_i2_memory_and_sqlite_give_the_same_answers(
    operations: list[tuple[str, str, Any, int]],
) -> None:
    """I1, I2: the same calls on InMemoryStorage and SQLite store the same records and counters."""
    memory = small_storage()
    with sql_storage("sqlite") as database:
        copy_into(memory, database)
        for n, (operation, item, channel, minutes) in enumerate(operations):
            at = T0 + timedelta(minutes=minutes)
            for storage in (memory, database):
                if operation == "incoming":
                    record_incoming(
                        storage, item, channel, at, event_id=f"e{n}", activity_id=f"a{n}"
                    )
                elif operation == "reply":
                    reply = Activity(
                        id=f"r{n}",
                        item_ids=(item,),
                        kind=channel,
                        direction="outgoing",
                        responsible_id="rep",
                        created_at=at,
                        completed_at=at,
                    )
                    record_reply(storage, reply)
                else:
                    mark_processed(storage, item, at, channel=channel)
        now = T0 + timedelta(hours=6)
        for user in ("rep", "lead"):
            assert counters_of(database, user, now) == counters_of(memory, user, now)
        assert sorted(database.activities(), key=lambda a: a.id) == sorted(
            memory.activities(), key=lambda a: a.id
        )

"""Incoming work (I1, I2): a client's message recorded and answered, each in one write.

I1: a client's e-mail, call, missed call, chat message, order payment or task
comment is both a timeline event (focus and Unread, F2, F3) and an open
incoming activity (Incoming, badge, view: C3, C6, V1). `incoming_write`
builds both; `record_incoming` stores them together.

I2: the incoming activity ends when the responsible replies on the same
channel (`reply_write`), completes it (`completion_write`, in
`_completion.py`) or marks the item's incoming work processed
(`processed_write`). Each completes every open incoming activity of that
channel on the item in the same write.

The `*_write` functions are pure: they read `storage` and return a `Write`,
the records to store; the `record_*`/`mark_*` conveniences apply it to a
`WritableStorage` (and to a `CounterIndex`, when given, so it follows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

import attrs

from . import _validate as v
from ._activities import Activity, ActivityKind, Direction
from ._activity_types import ActivityDraft
from ._batch import Record
from ._errors import ValidationError
from ._events import IncomingChannel, IncomingMessage
from ._storage import Storage, WritableStorage

if TYPE_CHECKING:
    from ._counter_index import CounterIndex

__all__ = [
    "CHANNEL_KINDS",
    "Write",
    "answered_incoming",
    "incoming_write",
    "mark_processed",
    "processed_write",
    "record_incoming",
    "record_reply",
    "reply_write",
]

#: The activity kind an incoming message of each channel is recorded as (I1). A call and a
#: missed call are both calls: a call back answers either (I2).
CHANNEL_KINDS: Mapping[IncomingChannel, ActivityKind] = MappingProxyType(
    {
        IncomingChannel.EMAIL: ActivityKind.EMAIL,
        IncomingChannel.CHAT: ActivityKind.CHAT,
        IncomingChannel.CALL: ActivityKind.CALL,
        IncomingChannel.MISSED_CALL: ActivityKind.CALL,
        IncomingChannel.PAYMENT: ActivityKind.PAYMENT,
        IncomingChannel.TASK_COMMENT: ActivityKind.TASK_COMMENT,
    }
)


def _records(values: Iterable[Record]) -> tuple[Record, ...]:
    return tuple(v.check_iterable("records", values, "records"))


@attrs.frozen(kw_only=True)
class Write:
    """Records that go to storage together, in one all-or-nothing write (I1, I2, A1, A2).

    `add` are new records, `replace` stored ones changed (completed
    activities). `proposed` is the draft of the next activity a completed
    activity's type proposes (A1): shown to the user, stored only once they
    save it (`ActivityDraft.to_activity`).
    """

    add: tuple[Record, ...] = attrs.field(default=(), converter=_records)
    replace: tuple[Record, ...] = attrs.field(default=(), converter=_records)
    proposed: ActivityDraft | None = None

    @property
    def activities(self) -> tuple[Activity, ...]:
        """The activities this write adds or replaces, in that order."""
        return tuple(r for r in (*self.add, *self.replace) if isinstance(r, Activity))

    def apply(self, storage: WritableStorage, index: CounterIndex | None = None) -> None:
        """Store the records in one write (all or nothing, G5), then update `index` if given."""
        storage.write(add=self.add, replace=self.replace)
        if index is not None:
            for activity in self.activities:
                index.put_activity(activity)


def incoming_write(
    storage: Storage,
    item_id: str,
    channel: IncomingChannel | str,
    at: datetime,
    *,
    event_id: str,
    activity_id: str,
    text: str = "",
    responsible_id: str | None = None,
) -> Write:
    """The timeline event and the open incoming activity of one incoming message (I1).

    The activity's kind follows the channel (`CHANNEL_KINDS`), its direction
    is incoming and it carries the incoming-channel flag (C3); it has no
    deadline (C4). Its responsible is the item's responsible unless given.
    """
    at = v.instant("at", at)
    channel = _channel(channel)
    item = storage.item(item_id)
    event = IncomingMessage(id=event_id, item_id=item.id, at=at, channel=channel, text=text)
    activity = Activity(
        id=activity_id,
        item_ids=(item.id,),
        kind=CHANNEL_KINDS[channel],
        direction=Direction.INCOMING,
        responsible_id=item.responsible_id if responsible_id is None else responsible_id,
        subject=text,
        created_at=at,
        incoming=True,
    )
    return Write(add=(event, activity))


def record_incoming(
    storage: WritableStorage,
    item_id: str,
    channel: IncomingChannel | str,
    at: datetime,
    *,
    event_id: str,
    activity_id: str,
    text: str = "",
    responsible_id: str | None = None,
    index: CounterIndex | None = None,
) -> Write:
    """Store an incoming message as its timeline event and incoming activity, in one write (I1)."""
    write = incoming_write(
        storage,
        item_id,
        channel,
        at,
        event_id=event_id,
        activity_id=activity_id,
        text=text,
        responsible_id=responsible_id,
    )
    write.apply(storage, index)
    return write


def answered_incoming(
    storage: Storage, item_ids: Iterable[str], kinds: Iterable[ActivityKind] | None, at: datetime
) -> list[Activity]:
    """The open incoming activities on `item_ids`, of `kinds` (None: all), completed at `at` (I2).

    Only those that had arrived by `at` are answered; an activity bound to
    several of the items is listed once.
    """
    at_utc = at.astimezone(UTC)
    wanted = None if kinds is None else frozenset(kinds)
    found: dict[str, Activity] = {}
    for item_id in item_ids:
        for activity in storage.open_activities_of_item(item_id):
            if (
                activity.incoming
                and (wanted is None or activity.kind in wanted)
                and activity.created_at <= at_utc
                and activity.id not in found
            ):
                found[activity.id] = attrs.evolve(activity, completed_at=at)
    return list(found.values())


def reply_write(storage: Storage, reply: Activity) -> Write:
    """The reply stored and the incoming activities it answers completed, in one write (I2).

    `reply` is an outgoing activity: an e-mail or chat message sent (at its
    `created_at`, or its `completed_at` when set), or a call back, which
    answers only once completed. It completes every open incoming activity
    of its kind on each of its items that arrived by then.
    """
    if not isinstance(reply, Activity):
        raise ValidationError("reply", f"expected an Activity, got {type(reply).__name__}")
    if reply.direction is not Direction.OUTGOING:
        raise ValidationError(
            "direction", f"a reply is an outgoing activity, got {reply.direction.value} (I2)"
        )
    if reply.kind is ActivityKind.CALL and reply.completed_at is None:
        raise ValidationError(
            "completed_at", "a call back answers incoming calls once it is completed (I2)"
        )
    at = reply.completed_at if reply.completed_at is not None else reply.created_at
    answered = answered_incoming(storage, reply.item_ids, (reply.kind,), at)
    return Write(add=(reply,), replace=answered)


def record_reply(
    storage: WritableStorage, reply: Activity, *, index: CounterIndex | None = None
) -> Write:
    """Store a reply and complete the incoming activities it answers, in one write (I2)."""
    write = reply_write(storage, reply)
    write.apply(storage, index)
    return write


def processed_write(
    storage: Storage,
    item_id: str,
    at: datetime,
    *,
    channel: IncomingChannel | str | None = None,
) -> Write:
    """Every open incoming activity of the item completed at `at` (I2 "marks processed").

    With `channel`, only those of that channel's kind (a call and a missed
    call are both calls). Nothing to complete gives an empty write.
    """
    at = v.instant("at", at)
    item = storage.item(item_id)
    kinds = None if channel is None else (CHANNEL_KINDS[_channel(channel)],)
    return Write(replace=answered_incoming(storage, (item.id,), kinds, at))


def mark_processed(
    storage: WritableStorage,
    item_id: str,
    at: datetime,
    *,
    channel: IncomingChannel | str | None = None,
    index: CounterIndex | None = None,
) -> Write:
    """Complete the item's open incoming activities (of one channel, or all) in one write (I2)."""
    write = processed_write(storage, item_id, at, channel=channel)
    write.apply(storage, index)
    return write


def _channel(value: IncomingChannel | str) -> IncomingChannel:
    try:
        return IncomingChannel(value)
    except ValueError:
        choices = ", ".join(c.value for c in IncomingChannel)
        raise ValidationError("channel", f"expected one of {choices}, got {value!r}") from None

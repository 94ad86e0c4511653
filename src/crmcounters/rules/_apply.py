"""What an outcome asks a host to store (R6, P3): records to add and replace, and outbox
entries. Pure: the host's shell (`crmcounters.apply_outcome`) does the writing."""

from __future__ import annotations

from .._batch import Record
from .._outbox import OutboxEntry
from ._actions import ClientChannel
from ._effects import (
    AddHistoryEffect,
    ChangeFieldEffect,
    ChangeStageEffect,
    ClientMessageEffect,
    CompleteActivitiesEffect,
    CompleteTasksEffect,
    CreateActivityEffect,
    CreateTaskEffect,
    NotifyEffect,
    Outcome,
)

__all__ = ["CLIENT_MESSAGE_KINDS", "NOTIFY", "outbox_entries", "outcome_records"]

#: The outbox entry kind of a rule's notification (R4, R8): payload `rule_id`, `item_id`,
#: `recipient_ids` (a list) and `text`.
NOTIFY = "notify"
#: The outbox entry kind of a message to the item's client, by channel (R9): payload
#: `rule_id`, `item_id`, `client`, `text` and, for an e-mail, `subject`.
CLIENT_MESSAGE_KINDS = {
    ClientChannel.EMAIL: "client_email",
    ClientChannel.SMS: "client_sms",
    ClientChannel.CHAT: "client_chat",
}


def outcome_records(outcome: Outcome) -> tuple[tuple[Record, ...], tuple[Record, ...]]:
    """The records the outcome's effects create, and those they change: (add, replace).

    One `storage.write(add=..., replace=...)` stores them all or nothing.
    Created records (tasks, activities, history entries, stage-change events)
    go in `add`; changed ones (completed tasks and activities, a moved item)
    in `replace`, the last version of each. A record created and then
    changed within the outcome is added in its last version.
    """
    added: dict[tuple[str, str], Record] = {}
    replaced: dict[tuple[str, str], Record] = {}

    def put(kind: str, record: Record, *, new: bool) -> None:
        key = (kind, record.id)
        if new or key in added:
            added[key] = record
        else:
            replaced[key] = record

    for effect in outcome.effects:
        if isinstance(effect, AddHistoryEffect):
            put("event", effect.entry, new=True)
        elif isinstance(effect, CreateTaskEffect):
            put("task", effect.task, new=True)
        elif isinstance(effect, CompleteTasksEffect):
            for task in effect.tasks:
                put("task", task, new=False)
        elif isinstance(effect, CreateActivityEffect):
            put("activity", effect.activity, new=True)
        elif isinstance(effect, CompleteActivitiesEffect):
            for activity in effect.activities:
                put("activity", activity, new=False)
        elif isinstance(effect, ChangeStageEffect):
            put("item", effect.item, new=False)
            put("event", effect.event, new=True)
        elif isinstance(effect, ChangeFieldEffect):
            put("item", effect.item, new=False)
    return tuple(added.values()), tuple(replaced.values())


def outbox_entries(outcome: Outcome) -> tuple[OutboxEntry, ...]:
    """The outcome's effects that leave the database, as outbox entries (P3), in order.

    Notifications (kind `NOTIFY`) and messages to clients (`CLIENT_MESSAGE_KINDS`),
    each with the effect's stable id.
    """
    entries = []
    for effect in outcome.effects:
        if isinstance(effect, NotifyEffect):
            entries.append(
                OutboxEntry(
                    id=effect.id,
                    kind=NOTIFY,
                    at=effect.at,
                    item_id=effect.item_id,
                    payload={
                        "rule_id": effect.rule_id,
                        "item_id": effect.item_id,
                        "recipient_ids": list(effect.recipient_ids),
                        "text": effect.text,
                    },
                )
            )
        elif isinstance(effect, ClientMessageEffect):
            payload = {
                "rule_id": effect.rule_id,
                "item_id": effect.item_id,
                "client": effect.client,
                "text": effect.text,
            }
            if effect.channel is ClientChannel.EMAIL:
                payload["subject"] = effect.subject
            entries.append(
                OutboxEntry(
                    id=effect.id,
                    kind=CLIENT_MESSAGE_KINDS[effect.channel],
                    at=effect.at,
                    item_id=effect.item_id,
                    payload=payload,
                )
            )
    return tuple(entries)

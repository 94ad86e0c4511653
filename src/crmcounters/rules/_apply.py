"""What an outcome asks a host to store (R6, P3): records to add and replace, and outbox
entries. Pure: the host's shell (`crmcounters.apply_outcome`) does the writing."""

from __future__ import annotations

from .._batch import Record
from .._outbox import OutboxEntry
from ._effects import (
    AddHistoryEffect,
    ChangeStageEffect,
    CompleteActivitiesEffect,
    CompleteTasksEffect,
    CreateActivityEffect,
    CreateTaskEffect,
    NotifyEffect,
    Outcome,
)

__all__ = ["NOTIFY", "outbox_entries", "outcome_records"]

#: The outbox entry kind of a rule's notification (R4, R8): payload `rule_id`, `item_id`,
#: `recipient_ids` (a list) and `text`.
NOTIFY = "notify"


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
    return tuple(added.values()), tuple(replaced.values())


def outbox_entries(outcome: Outcome) -> tuple[OutboxEntry, ...]:
    """The outcome's effects that leave the database, as outbox entries (P3), in order.

    Today these are notifications (kind `NOTIFY`), each with the effect's
    stable id.
    """
    return tuple(
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
        for effect in outcome.effects
        if isinstance(effect, NotifyEffect)
    )

"""Running automation rules over a stored portal, job by job (R1-R6): the CLI's
`simulate` and the demo share it."""

from __future__ import annotations

from datetime import datetime

from ._errors import ValidationError
from ._events import StageChanged
from ._memory import InMemoryStorage, in_memory
from ._portal import Portal
from ._storage import Storage
from .rules import (
    AddHistoryEffect,
    ChangeFieldEffect,
    ChangeStageEffect,
    CompleteActivitiesEffect,
    CompleteTasksEffect,
    CreateActivityEffect,
    CreateTaskEffect,
    Effect,
    NotifyEffect,
    RuleEngine,
    RuleSet,
)
from .testing import ManualClock, RuleRuntime

__all__ = ["describe_effect", "entry_events", "replay_entries", "simulate", "start_rules"]


def describe_effect(effect: Effect) -> tuple[str, str]:
    """An effect as (kind, one line of English) for timelines."""
    if isinstance(effect, NotifyEffect):
        return "notify", f"to {', '.join(effect.recipient_ids)}: {effect.text}"
    if isinstance(effect, AddHistoryEffect):
        return "history", effect.entry.text
    if isinstance(effect, CreateTaskEffect):
        return "create task", f"{effect.task.title!r} for {effect.task.responsible_id}"
    if isinstance(effect, CompleteTasksEffect):
        return "complete tasks", ", ".join(task.id for task in effect.tasks)
    if isinstance(effect, CreateActivityEffect):
        return (
            "create activity",
            f"{effect.activity.subject!r} for {effect.activity.responsible_id}",
        )
    if isinstance(effect, CompleteActivitiesEffect):
        return "complete activities", ", ".join(one.id for one in effect.activities)
    if isinstance(effect, ChangeFieldEffect):
        return "set field", f"{effect.field}: {effect.previous!r} -> {effect.value!r}"
    if isinstance(effect, ChangeStageEffect):
        return (
            "change stage",
            f"{effect.event.from_stage_id} -> {effect.item.stage_id} ({effect.trigger_id})",
        )
    return f"client {effect.channel.value}", f"to {effect.client}: {effect.text}"


def entry_events(storage: Storage) -> list[StageChanged]:
    """For each item, the event of entering its current stage, oldest first.

    The instant is the item's last stage change into that stage, or its
    creation; a simulation replays these so that rules already running on
    the items (a 24-hour reminder, say) are scheduled as they were.
    """
    events = []
    for item in storage.items():
        if item.stage_id is None:  # contacts and companies never enter a stage
            continue
        entered = item.created_at
        for event in storage.events_of_item(item.id):
            if isinstance(event, StageChanged) and event.to_stage_id == item.stage_id:
                entered = max(entered, event.at)
        events.append(
            StageChanged(
                id=f"sim-enter-{item.id}",
                item_id=item.id,
                at=entered,
                by_user_id=item.responsible_id,
                from_stage_id=None,
                to_stage_id=item.stage_id,
            )
        )
    return sorted(events, key=lambda event: (event.at, event.item_id))


def replay_entries(
    runtime: RuleRuntime, entries: list[StageChanged], until: datetime
) -> list[StageChanged]:
    """Handle the entries (oldest first) up to `until`; return those after it.

    The clock moves to each entry's instant (it stays put for an entry in its
    past), running the jobs due on the way, so that the entry's immediate rules
    run when the item entered the stage.
    """
    for index, event in enumerate(entries):
        if event.at > until:
            return entries[index:]
        runtime.advance_to(max(runtime.clock.now(), event.at))
        runtime.handle(event)
    return []


def start_rules(storage: InMemoryStorage, rule_set: RuleSet, start: datetime) -> RuleRuntime:
    """A runtime for the rules over the storage, its clock at `start`, nothing handled yet."""
    return RuleRuntime(RuleEngine.for_storage(rule_set, storage), storage, ManualClock(start))


def simulate(portal: Portal, rule_set: RuleSet, start: datetime, end: datetime) -> RuleRuntime:
    """Run the rules over the portal from `start` to `end`, job by job; return the runtime.

    Each item's entry into its current stage is handled in time order, with the
    clock at the entry's instant (at `start` for entries before it), so its
    immediate rules run when it entered; entries after `end` are left out.
    """
    if end < start:
        raise ValidationError("end", f"{end.isoformat()} is before the start {start.isoformat()}")
    storage = in_memory(portal.storage)  # a portal in a database is simulated on a copy
    runtime = start_rules(storage, rule_set, start)
    replay_entries(runtime, entry_events(storage), end)
    runtime.advance_to(end)
    return runtime

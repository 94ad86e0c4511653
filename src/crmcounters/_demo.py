"""`crmcounters demo`: one simulated working day on a portal, as a terminal board.

The clock walks from 08:00 to 18:00 in the portal's first user's zone, hour by
hour. On the way a client writes in, an overdue call is made, a user closes a
form and accepts the smart activity, and a deal moves on; the automation rules
run on their own. Each hour prints every seller's counters (with what changed)
and the top of their list in focus order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import attrs

from ._access import AccessLevel, AccessPolicy
from ._activities import Activity, ActivityKind, Direction
from ._badges import item_badge
from ._calendar import at_local_time
from ._counters import CounterResult, counters_of
from ._events import IncomingChannel, IncomingMessage
from ._memory import InMemoryStorage, in_memory
from ._portal import Portal
from ._simulation import describe_effect, entry_events, replay_entries, start_rules
from ._smart import SmartActivityDraft, suggest_smart_activity
from ._storage import stage_of
from .focus import is_unread, order_by_focus
from .rules import RuleSet
from .testing import RuleRuntime

if TYPE_CHECKING:
    from ._cli import Out  # the shell's writer; imported for types only

__all__ = ["run_demo"]

_SEE_ALL = AccessPolicy(default=AccessLevel.ALL)
Happening = Callable[[RuleRuntime], str]


def _counters_line(result: CounterResult, before: CounterResult | None) -> str:
    if result.blocked:
        return f"BLOCKED ({result.open_activities} open)"

    def change(now: int | None, then: int | None) -> str:
        if then is None or now is None or now == then:
            return "   "
        return f"{now - then:+d}".ljust(3)

    incoming, planned = result.incoming or 0, result.planned or 0
    return (
        f"Incoming {incoming:>2} {change(incoming, None if before is None else before.incoming)} "
        f"Planned {planned:>2} {change(planned, None if before is None else before.planned)}"
    )


def _client_writes(storage: InMemoryStorage) -> Happening | None:
    """A client e-mails about the seller's item that waited longest (F2, F3, C3)."""
    items = sorted(storage.items(), key=lambda item: item.created_at)
    if not items:
        return None
    item = items[0]

    def happen(runtime: RuleRuntime) -> str:
        now = runtime.clock.now()
        runtime.storage.add(
            IncomingMessage(
                id="demo-mail",
                item_id=item.id,
                at=now,
                channel=IncomingChannel.EMAIL,
                text="Can we sign this week?",
            ),
            Activity(
                id="demo-mail-activity",
                item_ids=(item.id,),
                kind=ActivityKind.EMAIL,
                direction=Direction.INCOMING,
                responsible_id=item.responsible_id,
                created_at=now,
                subject="Re: offer — can we sign this week?",
                incoming=True,
            ),
        )
        return (
            f"the client of {item.id} ({item.title}) writes an e-mail: "
            "Incoming +1, the item rises, unread"
        )

    return happen


def _overdue_call_made(storage: InMemoryStorage, at: datetime) -> Happening | None:
    """The seller makes the oldest overdue call of the portal (C4: Planned drops)."""
    overdue = sorted(
        (
            a
            for a in storage.activities()
            if a.is_open and a.deadline is not None and a.deadline < at
        ),
        key=lambda a: (a.deadline, a.id),
    )
    if not overdue:
        return None
    activity = overdue[0]

    def happen(runtime: RuleRuntime) -> str:
        runtime.storage.replace(attrs.evolve(activity, completed_at=runtime.clock.now()))
        who, what = activity.responsible_id, f"{activity.id} ({activity.subject})"
        return f"{who} completes overdue {what}: Planned -1"

    return happen


def _form_closed(storage: InMemoryStorage) -> Happening | None:
    """A seller closes the form of a deal without activities: smart activity (S1, S2)."""
    for item in sorted(storage.items(), key=lambda item: item.id):
        if item.entity_type not in ("deal", "lead") or storage.open_activities_of_item(item.id):
            continue
        stage = stage_of(storage, item)
        if stage is not None and stage.is_final:
            continue

        def happen(
            runtime: RuleRuntime, item_id: str = item.id, user_id: str = item.responsible_id
        ) -> str:
            answer = suggest_smart_activity(runtime.storage, item_id, user_id, runtime.clock.now())
            if not isinstance(answer, SmartActivityDraft):
                return f"{user_id} closes {item_id}: no suggestion ({answer.reason.value})"
            runtime.storage.add(answer.to_activity("demo-smart"))
            local = answer.deadline.astimezone(runtime.storage.user(user_id).zone)
            return (
                f"{user_id} closes the form of {item_id}: smart activity {answer.text!r} "
                f"due {local:%a %d %b %H:%M} (3 business days) accepted"
            )

        return happen
    return None


def _deal_moves(storage: InMemoryStorage, rule_set: RuleSet) -> Happening | None:
    """A deal moves to the next stage of its pipeline, preferably one with rules (R1).

    Entering a stage runs its rules (a task is created, say); leaving one
    cancels its delayed rules and completes the activities they scheduled.
    """
    with_rules = {(rule.pipeline_id, rule.stage_id) for rule in rule_set.rules}
    moves = []
    for item in sorted(storage.items(), key=lambda item: item.id):
        if item.entity_type != "deal" or item.pipeline_id is None or item.stage_id is None:
            continue
        pipeline = storage.pipeline(item.pipeline_id)
        stages = pipeline.stages
        index = pipeline.position(item.stage_id)
        if index + 1 >= len(stages) or stages[index + 1].is_final:
            continue
        target = stages[index + 1]
        moves.append(((item.pipeline_id, target.id) not in with_rules, item.id, target))
    if not moves:
        return None
    _, item_id, target = min(moves, key=lambda move: (move[0], move[1]))

    def happen(runtime: RuleRuntime) -> str:
        runtime.move(item_id, target.id)
        return f"{item_id} moves to {target.name!r}: that stage's rules run, pending ones cancel"

    return happen


def run_demo(portal: Portal, rule_set: RuleSet, out: Out, *, start: datetime | None = None) -> None:
    """Print a simulated working day of `portal` with `rule_set`."""
    storage = in_memory(portal.storage)  # a portal in a database is played on a copy
    users = [user for user in storage.users() if storage.items_of(user.id)]
    zone = (users[0] if users else next(iter(storage.users()))).zone
    anchor = start or portal.as_of or datetime.now(zone)
    day: date = anchor.astimezone(zone).date()
    clock_start = at_local_time(day, time(8, 0), zone)
    runtime = start_rules(storage, rule_set, clock_start)
    later = replay_entries(runtime, entry_events(storage), clock_start)
    script: dict[int, Happening | None] = {
        9: _client_writes(storage),
        11: _overdue_call_made(storage, clock_start),
        13: _form_closed(storage),
        15: _deal_moves(storage, runtime.engine.rule_set),
    }
    out.line(f"crmcounters demo — {portal.description or 'portal'}")
    out.line(
        f"A working day, {day:%A %d %B %Y}, 08:00-18:00 {zone}; each user's own zone in brackets."
    )
    previous: dict[str, CounterResult] = {}
    logged = 0  # rules already due at 08:00 (items that waited over the weekend) show first
    for hour in range(8, 19):
        moment = at_local_time(day, time(hour, 0), zone)
        later = replay_entries(runtime, later, moment)  # items the data has enter this hour
        runtime.advance_to(moment)
        out.line(f"\n──────── {hour:02d}:00 {zone} ────────")
        happening = script.get(hour)
        if happening is not None:
            out.line(f"  * {happening(runtime)}")
        for at, effect in runtime.log[logged:]:
            kind, text = describe_effect(effect)
            out.line(f"  * rule at {at.astimezone(zone):%H:%M}: {kind} on {effect.item_id}: {text}")
        logged = len(runtime.log)
        for user in users:
            result = counters_of(storage, user.id, moment)
            local = moment.astimezone(user.zone)
            line = _counters_line(result, previous.get(user.id))
            out.line(f"  {user.name:<20} [{local:%a %H:%M}]  {line}")
            previous[user.id] = result
            if hour in (8, 13, 18):
                top = order_by_focus(
                    storage, [item.id for item in storage.items_of(user.id)], moment, limit=3
                )
                for item_id in top.item_ids:
                    badge = item_badge(storage, item_id, user.id, moment, policy=_SEE_ALL)
                    unread = " unread" if is_unread(storage, item_id, moment) else ""
                    out.line(
                        f"      {out.badge(badge):<12} {item_id:<14} "
                        f"{storage.item(item_id).title}{unread}"
                    )
    pending = runtime.pending.next_due()
    out.line(
        f"\nEnd of day: {len(runtime.log)} rule effects; "
        + (f"next rule job due {pending.isoformat()}." if pending else "no rule job pending.")
    )

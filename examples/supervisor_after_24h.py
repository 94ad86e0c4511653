"""A rule that notifies the supervisor when a deal is not moved within 24 hours (SPEC R1-R7).

The seed's first example of "employee monitoring and control": *if the
employee does not move the deal to the next stage in 24 hours, the
supervisor gets a notification*. What it teaches:

- a rule set is data: built here in code, written as JSON and read back equal
  (R7); its text uses placeholders checked when the rule is defined (R3);
- the engine is pure: a stage change produces a *job* due 24 hours later
  (R1, R6); `crmcounters.testing.RuleRuntime` plays the host, applying
  effects and running jobs as a `ManualClock` moves;
- moving the deal before the job runs cancels it: the deal moved at 23:59
  sends nothing, the deal left alone notifies the supervisor (the head of
  the responsible's department, R4) at exactly +24 hours.

Run: python examples/supervisor_after_24h.py
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from crmcounters import Department, InMemoryStorage, Item, Pipeline, Stage, User
from crmcounters.rules import (
    Delay,
    NotifyEffect,
    NotifySupervisor,
    Rule,
    RuleEngine,
    RuleSet,
    Timing,
    dump_rule_set,
    load_rule_set,
)
from crmcounters.testing import ManualClock, RuleRuntime

WARSAW = ZoneInfo("Europe/Warsaw")
MONDAY_10 = datetime(2026, 12, 14, 10, 0, tzinfo=WARSAW)  # a fixed start, never the system clock


def portal() -> InMemoryStorage:
    """Piotr sells in Anna's team; Anna's supervisor is Marek, at the root."""
    storage = InMemoryStorage()
    storage.add(
        Department(id="board", name="Board", head_id="marek"),
        Department(id="sales", name="Sales", head_id="anna", parent_id="board"),
        User(id="marek", name="Marek Nowak", time_zone="Europe/Warsaw", department_id="board"),
        User(id="anna", name="Anna Kowalska", time_zone="Europe/Warsaw", department_id="sales"),
        User(id="piotr", name="Piotr Wiśniewski", time_zone="Europe/Warsaw", department_id="sales"),
        Pipeline(
            id="sales",
            entity_type="deal",
            stages=[
                Stage(id="new", name="New"),
                Stage(id="contacted", name="Contacted"),
                Stage(id="won", name="Won", semantics="success"),
            ],
        ),
    )
    return storage


def rule_set() -> RuleSet:
    """One rule on stage New: 24 hours after a deal enters it, notify the supervisor."""
    return RuleSet(
        rules=[
            Rule(
                id="r-not-moved-24h",
                name="Tell the supervisor about deals left in New for 24 hours",
                entity_type="deal",
                pipeline_id="sales",
                stage_id="new",
                timing=Timing(delay=Delay(after=24, unit="hours")),
                action=NotifySupervisor(
                    text="{{Responsible}} has not moved {{Title}} ({{Amount}} {{Currency}}) "
                    "in 24 hours"
                ),
            )
        ]
    )


def deal(deal_id: str, title: str, amount: str, at: datetime) -> Item:
    """A new deal of Piotr's in stage New."""
    return Item(
        id=deal_id,
        entity_type="deal",
        pipeline_id="sales",
        stage_id="new",
        responsible_id="piotr",
        created_at=at,
        title=title,
        amount=Decimal(amount),
        currency="PLN",
    )


def when(instant: datetime) -> str:
    """An instant in Warsaw time."""
    return instant.astimezone(WARSAW).strftime("%a %d %b %H:%M")


def main() -> None:
    """Build the rules, then simulate two deals over two days."""
    rules_json = dump_rule_set(rule_set())
    assert load_rule_set(rules_json) == rule_set()  # R7: the JSON round trip is exact
    print("The rule set as JSON:")
    print(rules_json)

    storage = portal()
    engine = RuleEngine.for_storage(load_rule_set(rules_json), storage)
    runtime = RuleRuntime(engine, storage, ManualClock(MONDAY_10))

    runtime.create_item(deal("deal-a", "Fleet of 12 vans", "480000", MONDAY_10))
    runtime.create_item(deal("deal-b", "Showroom lease", "96000", MONDAY_10))
    print(f"{when(runtime.clock.now())}  two deals enter New; jobs pending:")
    for job in sorted(runtime.pending, key=lambda job: job.item_id):
        print(f"       {job.item_id}: {job.rule_id} due {when(job.due_at)}")

    runtime.advance(timedelta(hours=23, minutes=59))
    outcome = runtime.move("deal-b", "contacted")
    cancelled = ", ".join(outcome.cancelled)
    print(
        f"{when(runtime.clock.now())}  Piotr moves deal-b to Contacted; job cancelled: {cancelled}"
    )

    runtime.advance_to(MONDAY_10 + timedelta(days=2))  # run everything due in the next day
    print(f"{when(runtime.clock.now())}  two days later; notifications sent:")
    for at, effect in runtime.log:
        if isinstance(effect, NotifyEffect):
            names = ", ".join(storage.user(user_id).name for user_id in effect.recipient_ids)
            print(f"       {when(at)} to {names} about {effect.item_id}: {effect.text}")

    notified = {effect.item_id for effect in runtime.notifications}
    for item_id in ("deal-a", "deal-b"):
        item = storage.item(item_id)
        verdict = "supervisor notified" if item_id in notified else "no notification"
        print(f"{item_id}: stage {item.stage_id}, {verdict}")
    print(f"pending jobs left: {len(runtime.pending)}")


if __name__ == "__main__":
    main()

"""Talking to the client and reacting to the client (SPEC R8-R10), on the sample portal.

The rule set is `examples/client_rules.json`: a welcome e-mail for web deals,
a round-robin of small deals nobody touched for a day, a notification to the
responsible, the supervisor and head office, an SMS when the proposal is out,
a field set by a rule, and triggers that move a deal when the client writes,
misses a call, asks for the invoice in the chat or pays. What it teaches:

- messages to the client are effects delivered through the outbox (P3), one
  entry each with a stable id; an SMS longer than the host's gateway allows
  once its placeholders are filled in is skipped with its length, never cut;
- round-robin skips a deactivated user (`User.active` False) and is
  deterministic: the same deal always goes to the same person;
- a trigger moves the deal forward when the client acts, the new stage's rules
  run as usual, and nothing moves a deal out of a won stage: a second payment
  is a skip, not a reopened deal.

Run: python examples/client_communication.py
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs

from crmcounters import Item, read_portal
from crmcounters.rules import (
    ChangeFieldEffect,
    ChangeStageEffect,
    ClientMessageEffect,
    Effect,
    NotifyEffect,
    RuleEngine,
    load_rule_set,
)
from crmcounters.testing import ManualClock, RuleRuntime

ROOT = Path(__file__).resolve().parent.parent
WARSAW = ZoneInfo("Europe/Warsaw")


def main() -> None:
    portal = read_portal(ROOT / "src" / "crmcounters" / "_sample" / "sample_portal.json")
    storage = portal.storage
    # Keala is on leave: deactivated, she gets no notification and no round-robin deal.
    storage.replace(attrs.evolve(storage.user("u-keala"), active=False))
    rule_set = load_rule_set((ROOT / "examples" / "client_rules.json").read_bytes())
    # The host's SMS gateway sends at most 50 characters (R9).
    engine = RuleEngine.for_storage(rule_set, storage, sms_max_length=50)
    assert portal.as_of is not None
    rt = RuleRuntime(engine, storage, ManualClock(portal.as_of))  # Monday 14 Dec 10:00 Warsaw

    def step(what: str, count_from: int) -> None:
        print(f"{rt.clock.now().astimezone(WARSAW):%a %d %H:%M}  {what}")
        for _, effect in rt.log[count_from:]:
            kind = type(effect).__name__.removesuffix("Effect")
            print(f"       {kind}: {_short(effect)}")
        for _, skip in rt.skips[skips_seen[0] :]:
            print(f"       skipped {skip.source_id}: {skip.reason}")
        skips_seen[0] = len(rt.skips)

    skips_seen = [len(rt.skips)]
    deal = Item(
        id="deal-100",
        entity_type="deal",
        pipeline_id="p-sales",
        stage_id="new",
        responsible_id="u-marek",
        created_at=rt.clock.now(),
        title="Shop for Pho 24",
        amount=Decimal("4800"),
        currency="PLN",
        client="Pho 24",
        fields={"source": "web", "priority": 1},
    )
    seen = len(rt.log)
    rt.create_item(deal)
    step("deal-100 created in New", seen)

    seen = len(rt.log)
    rt.advance(timedelta(hours=24))
    step("a day later, still in New", seen)

    seen = len(rt.log)
    rt.receive("deal-100", "email", "Could you send us the proposal?")
    step("the client e-mails", seen)

    seen = len(rt.log)
    rt.advance(timedelta(hours=2))
    rt.receive("deal-100", "chat", "Where is the invoice?")
    step("the client asks in the chat", seen)

    seen = len(rt.log)
    rt.pay("deal-100", "4800", "PLN")
    step("the client pays", seen)

    seen = len(rt.log)
    rt.pay("deal-100", "4800", "PLN")
    step("the client pays twice", seen)

    print("outbox:")
    for entry in rt.outbox.entries():  # type: ignore[attr-defined]
        print(f"  {entry.kind:12} {entry.id}")
    item = storage.item("deal-100")
    print(f"deal-100: stage {item.stage_id}, responsible {item.responsible_id}")
    print(f"          fields {dict(item.fields)}")


def _short(effect: Effect) -> str:
    if isinstance(effect, ClientMessageEffect):
        return f"to {effect.client}: {effect.text}"
    if isinstance(effect, NotifyEffect):
        return f"to {', '.join(effect.recipient_ids)}: {effect.text}"
    if isinstance(effect, ChangeFieldEffect):
        return f"{effect.field} {effect.previous!r} -> {effect.value!r}"
    if isinstance(effect, ChangeStageEffect):
        event = effect.event
        return f"{event.from_stage_id} -> {event.to_stage_id} by {effect.trigger_id}"
    return repr(effect)


if __name__ == "__main__":
    main()

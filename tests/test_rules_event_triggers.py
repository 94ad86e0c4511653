"""Triggers beyond task status (R10): incoming e-mail, incoming or missed call, chat
message, payment received, field changed; each with a filter on the event and the item,
forward only unless allowed, never out of a final stage, bounded when it refires (R6, P4)."""

from __future__ import annotations

import pytest

from _build_rules import HOUR, MONDAY, deal, make_storage, runtime, sales_rule, sales_trigger
from crmcounters import IncomingMessage
from crmcounters.rules import (
    AddHistoryEntry,
    AllOf,
    CascadeError,
    ChangeResponsible,
    ChangeStageEffect,
    Comparison,
    Delay,
    FieldChanged,
    PaymentReceived,
    RuleEngine,
    RuleSet,
    RuleSetError,
    SetField,
    Timing,
    TriggerEvent,
    dump_rule_set,
    load_rule_set,
)
from crmcounters.testing import ManualClock, RuleRuntime


def _moves(rt: RuleRuntime) -> list[tuple[str, str]]:
    return [(e.trigger_id, e.item.stage_id) for _, e in rt.log if isinstance(e, ChangeStageEffect)]


@pytest.mark.parametrize(
    ("channel", "event"),
    [
        ("email", "incoming_email"),
        ("call", "incoming_call"),
        ("missed_call", "missed_call"),
        ("chat", "chat_message"),
    ],
)
def test_r10_each_incoming_channel_fires_its_own_trigger(channel: str, event: str) -> None:
    triggers = [
        sales_trigger(f"t-{kind}", "proposal", event=kind)
        for kind in ("incoming_email", "incoming_call", "missed_call", "chat_message")
    ]
    rt = runtime(triggers=triggers)
    rt.create_item(deal())
    rt.receive("deal-1", channel, "hello")
    assert _moves(rt) == [(f"t-{event}", "proposal")]


def test_r10_the_filter_reads_the_event_and_the_item() -> None:
    trigger = sales_trigger(
        "t-invoice-mail",
        "send-invoice",
        event="incoming_email",
        filter=AllOf(
            conditions=[
                Comparison(field="event:text", op="contains", value="invoice"),
                Comparison(field="amount", op="ge", value=1000),
            ]
        ),
    )
    rt = runtime(triggers=[trigger])
    rt.create_item(deal())
    rt.create_item(deal("deal-small", amount="10"))
    rt.receive("deal-1", "email", "just saying hi")
    rt.receive("deal-small", "email", "Please send the INVOICE")
    assert _moves(rt) == []
    rt.receive("deal-1", "email", "Please send the INVOICE")
    assert _moves(rt) == [("t-invoice-mail", "send-invoice")]
    assert rt.storage.item("deal-1").stage_id == "send-invoice"


def test_r10_a_move_fires_the_new_stages_rules_and_is_recorded_as_a_stage_change() -> None:
    rules = [sales_rule("r-thanks", "won", action=AddHistoryEntry(text="paid: {{Title}}"))]
    trigger = sales_trigger(
        "t-paid",
        "won",
        event="payment_received",
        filter=Comparison(field="event:amount", op="ge", value=4200),
        change_stage_as="u-anna",
    )
    rt = runtime(rules, [trigger])
    rt.create_item(deal())
    rt.pay("deal-1", "100", "PLN")
    assert _moves(rt) == []
    rt.pay("deal-1", "4200.00", "PLN")
    assert _moves(rt) == [("t-paid", "won")]
    (move,) = [e for _, e in rt.log if isinstance(e, ChangeStageEffect)]
    assert move.event.by_user_id == "u-anna"
    assert rt.storage.events_of_item("deal-1")[-1].text == "paid: Website for deal-1"


def test_r10_a_payment_for_an_item_in_a_won_stage_never_moves_it() -> None:
    """Even a trigger that allows moving backward leaves an item in a final stage alone."""
    trigger = sales_trigger("t-paid", "send-invoice", event="payment_received", allow_backward=True)
    rt = runtime(triggers=[trigger])
    rt.create_item(deal(stage_id="won"))
    outcome = rt.pay("deal-1", "4200", "PLN")
    assert outcome.effects == ()
    assert rt.storage.item("deal-1").stage_id == "won"
    (skip,) = outcome.skipped
    assert "final stage 'won'" in skip.reason


def test_r10_forward_only_unless_allowed() -> None:
    back = sales_trigger("t-back", "new", event="chat_message")
    rt = runtime(triggers=[back])
    rt.create_item(deal(stage_id="proposal"))
    rt.receive("deal-1", "chat", "?")
    assert rt.storage.item("deal-1").stage_id == "proposal"
    assert "backward is not allowed" in rt.skips[-1][1].reason

    rt = runtime(
        triggers=[sales_trigger("t-back", "new", event="chat_message", allow_backward=True)]
    )
    rt.create_item(deal(stage_id="proposal"))
    rt.receive("deal-1", "chat", "?")
    assert rt.storage.item("deal-1").stage_id == "new"


def test_r10_a_field_trigger_watches_its_field_and_filters_on_the_new_value() -> None:
    trigger = sales_trigger(
        "t-hot",
        "proposal",
        event="field_changed",
        field="field:priority",
        filter=Comparison(field="event:value", op="eq", value="high"),
    )
    rt = runtime(triggers=[trigger], fields={"priority": "string", "note": "string"})
    rt.create_item(deal())
    rt.set_field("deal-1", "field:note", "high")  # another field: nothing
    rt.set_field("deal-1", "field:priority", "low")
    assert _moves(rt) == []
    rt.set_field("deal-1", "field:priority", "High", by_user_id="u-keala")
    assert _moves(rt) == [("t-hot", "proposal")]
    move = next(e for _, e in rt.log if isinstance(e, ChangeStageEffect))
    assert move.event.by_user_id == "u-keala"  # done by whoever changed the field


def test_r10_a_field_trigger_that_its_own_rules_set_field_fires_again_settles() -> None:
    """The trigger moves the item to the stage whose rule sets the field again: the second
    change finds the item already there, so the cascade stops after one move."""
    trigger = sales_trigger("t-touch", "preparation", event="field_changed", field="field:n")
    rule = sales_rule("r-touch", "preparation", action=SetField(field="field:n", value=2))
    rt = runtime([rule], [trigger], fields={"n": "number"})
    rt.create_item(deal(n=0))
    rt.set_field("deal-1", "field:n", 1)
    assert _moves(rt) == [("t-touch", "preparation")]
    assert rt.storage.item("deal-1").fields["n"] == 2


def _ping_pong(delay: Delay | None) -> tuple[list[object], list[object]]:
    timing = Timing(delay=delay)
    rules = [
        sales_rule(
            "r-b", "preparation", timing=timing, action=SetField(field="field:p", value="b")
        ),
        sales_rule("r-a", "proposal", timing=timing, action=SetField(field="field:p", value="a")),
    ]
    triggers = [
        sales_trigger(
            "t-to-proposal",
            "proposal",
            event="field_changed",
            field="field:p",
            filter=Comparison(field="event:value", op="eq", value="b"),
        ),
        sales_trigger(
            "t-to-preparation",
            "preparation",
            event="field_changed",
            field="field:p",
            filter=Comparison(field="event:value", op="eq", value="a"),
            allow_backward=True,
        ),
    ]
    return rules, triggers  # type: ignore[return-value]


def test_r10_r6_a_field_trigger_refired_by_set_field_stops_at_the_depth_limit() -> None:
    rules, triggers = _ping_pong(None)
    rt = runtime(rules, triggers, fields={"p": "string"}, max_depth=8)  # type: ignore[arg-type]
    with pytest.raises(CascadeError) as caught:
        rt.create_item(deal(stage_id="preparation"))
    assert "field:p" in " ".join(caught.value.chain)
    item = rt.storage.item("deal-1")  # the runtime stored the new item; no effect applied (G5)
    assert (item.stage_id, dict(item.fields)) == ("preparation", {})
    assert rt.log == []


def test_r10_p4_the_same_loop_through_delays_stops_at_the_depth_limit_too() -> None:
    rules, triggers = _ping_pong(Delay(after=1, unit="hours"))
    rt = runtime(rules, triggers, fields={"p": "string"}, max_depth=8)  # type: ignore[arg-type]
    rt.create_item(deal(stage_id="preparation"))
    rt.advance(HOUR * 48)
    stopped = [skip for _, skip in rt.skips if skip.chain]
    assert len(stopped) == 1
    assert len(rt.pending) == 0
    assert "field:p" in " ".join(stopped[0].chain)


def test_r10_r7_triggers_are_checked_with_every_problem_listed() -> None:
    document = """{
      "format": "crmcounters.rules", "version": 1, "fields": {"budget": "number"},
      "triggers": [
        {"id": "a", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "event": "incoming_email", "filter": {"field": "event:amount", "op": "gt", "value": 1}},
        {"id": "b", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "event": "field_changed", "field": "field:budget",
         "filter": {"field": "event:value", "op": "eq", "value": "lots"}},
        {"id": "c", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "event": "field_changed"},
        {"id": "d", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "event": "field_changed", "field": "stage_id"},
        {"id": "e", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "event": "carrier_pigeon"}
      ]
    }"""
    with pytest.raises(RuleSetError) as caught:
        load_rule_set(document)
    paths = {problem.path: problem.message for problem in caught.value.problems}
    assert "unknown field 'event:amount'" in paths["$.triggers[0].filter.field"]
    assert "type mismatch" in paths["$.triggers[1].filter.value"]
    assert "names the field it watches" in paths["$.triggers[2].field"]
    assert "cannot watch 'stage_id'" in paths["$.triggers[3].field"]
    assert "carrier_pigeon" in paths["$.triggers[4].event"]


def test_r10_r7_every_trigger_kind_round_trips_through_json() -> None:
    triggers = [
        sales_trigger(f"t-{kind.value}", "proposal", event=kind)
        for kind in TriggerEvent
        if kind not in (TriggerEvent.FIELD_CHANGED,)
    ]
    triggers.append(
        sales_trigger(
            "t-field",
            "won",
            event="field_changed",
            field="amount",
            filter=Comparison(field="event:value", op="gt", value=100),
            allow_backward=True,
        )
    )
    rule_set = RuleSet(triggers=triggers)
    assert load_rule_set(dump_rule_set(rule_set)) == rule_set


def test_r10_events_of_a_contact_or_an_unknown_item_change_nothing() -> None:
    storage = make_storage()
    trigger = sales_trigger("t-paid", "won", event="payment_received")
    engine = RuleEngine.for_storage(RuleSet(triggers=[trigger]), storage)
    rt = RuleRuntime(engine, storage, ManualClock(MONDAY))
    outcome = engine.handle(
        PaymentReceived(id="p-1", item_id="deal-x", at=MONDAY, amount=1),
        storage,
        MONDAY,
        rt.pending,
    )
    assert outcome.effects == ()
    assert "unknown item" in outcome.skipped[0].reason
    assert FieldChanged(id="f", item_id="i", at=MONDAY, field="title").value is None
    message = IncomingMessage(id="m", item_id="deal-x", at=MONDAY, channel="email")
    assert engine.handle(message, storage, MONDAY, rt.pending).effects == ()


def test_r10_r9_a_rules_change_of_responsible_fires_a_trigger_watching_the_responsible() -> None:
    """The engine tells field triggers about the fields its own rules change (R6 cascade)."""
    rule = sales_rule("r-hand", action=ChangeResponsible(user_id="u-keala"))
    trigger = sales_trigger(
        "t-handed",
        "preparation",
        event="field_changed",
        field="responsible_id",
        filter=Comparison(field="event:previous", op="eq", value="u-piotr"),
    )
    rt = runtime([rule], [trigger])
    rt.create_item(deal())
    item = rt.storage.item("deal-1")
    assert (item.responsible_id, item.stage_id) == ("u-keala", "preparation")
    assert _moves(rt) == [("t-handed", "preparation")]


def test_r10_i1_a_payment_recorded_as_an_incoming_message_fires_payment_triggers() -> None:
    """I1 records an order payment as an incoming message without an amount: a payment
    trigger without an amount filter fires; one filtering on the amount does not (feed
    `PaymentReceived` for that). A task comment fires no R10 trigger."""
    plain = sales_trigger("t-paid", "send-invoice", event="payment_received")
    rt = runtime(triggers=[plain])
    rt.create_item(deal())
    rt.receive("deal-1", "task_comment", "done")
    assert _moves(rt) == []
    rt.receive("deal-1", "payment", "order #12 paid")
    assert _moves(rt) == [("t-paid", "send-invoice")]

    by_amount = sales_trigger(
        "t-big",
        "won",
        event="payment_received",
        filter=Comparison(field="event:amount", op="ge", value=1),
    )
    rt = runtime(triggers=[by_amount])
    rt.create_item(deal())
    rt.receive("deal-1", "payment", "order #12 paid")
    assert _moves(rt) == []
    rt.pay("deal-1", "10", "PLN")
    assert _moves(rt) == [("t-big", "won")]

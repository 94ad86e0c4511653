"""Client communication and item edits (R9): messages to the client through the outbox,
change of responsible (round-robin included), set field, move to stage."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import attrs
import pytest

from _build_rules import HOUR, MONDAY, deal, make_storage, runtime, sales_rule
from crmcounters import InMemoryStorage, ValidationError
from crmcounters.rules import (
    AddHistoryEntry,
    ChangeFieldEffect,
    ChangeResponsible,
    ChangeStageEffect,
    ClientMessageEffect,
    Delay,
    MoveToStage,
    RuleEngine,
    RuleSet,
    RuleSetError,
    SendClientMessage,
    SetField,
    Timing,
    dump_rule_set,
    load_rule_set,
)
from crmcounters.testing import ManualClock, RuleRuntime


def _deactivated(*user_ids: str) -> InMemoryStorage:
    storage = make_storage()
    for user_id in user_ids:
        storage.replace(attrs.evolve(storage.user(user_id), active=False))
    return storage


# -- messages to the client ------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "kind"),
    [("email", "client_email"), ("sms", "client_sms"), ("chat", "client_chat")],
)
def test_r9_p3_a_client_message_goes_to_the_outbox_rendered(channel: str, kind: str) -> None:
    subject = "About {{Title}}" if channel == "email" else ""
    rule = sales_rule(
        "r-write",
        action=SendClientMessage(
            channel=channel, text="Dear {{Client}}, {{Amount}} {{Currency}}", subject=subject
        ),
    )
    rt = runtime([rule])
    rt.create_item(deal())
    (effect,) = [e for _, e in rt.log if isinstance(e, ClientMessageEffect)]
    assert effect.text == "Dear Boulangerie Dupont, 4200 PLN"
    (entry,) = rt.outbox.entries()  # type: ignore[attr-defined]
    assert entry.kind == kind
    assert entry.id == effect.id
    assert entry.payload["client"] == "Boulangerie Dupont"
    assert entry.payload["text"] == "Dear Boulangerie Dupont, 4200 PLN"
    assert entry.payload.get("subject") == ("About Website for deal-1" if subject else None)


def test_r9_an_sms_past_the_hosts_limit_once_rendered_is_skipped_with_its_length() -> None:
    """The template is short; the client's name and title make it long: nothing is sent,
    and the skip says how long it came out and the limit."""
    storage = make_storage()
    rule = sales_rule(
        "r-sms", action=SendClientMessage(channel="sms", text="Hi {{Client}}: {{Title}}")
    )
    engine = RuleEngine.for_storage(RuleSet(rules=[rule]), storage, sms_max_length=30)
    rt = RuleRuntime(engine, storage, ManualClock(MONDAY))
    rt.create_item(deal())  # "Hi Boulangerie Dupont: Website for deal-1" is 41 characters
    assert len(rt.outbox) == 0
    (skip,) = [skip for _, skip in rt.skips if skip.source_id == "r-sms"]
    assert "41 characters" in skip.reason
    assert "limit of 30" in skip.reason
    rt.create_item(attrs.evolve(deal("deal-2"), client="Ana", title="Web"))
    assert [entry.payload["text"] for entry in rt.outbox.entries()] == ["Hi Ana: Web"]  # type: ignore[attr-defined]


def test_r9_r7_a_plain_sms_already_past_the_limit_is_refused_when_the_engine_is_built() -> None:
    rule = sales_rule("r-sms", action=SendClientMessage(channel="sms", text="x" * 161))
    with pytest.raises(RuleSetError, match=r"\$\.rules\[0\]\.action\.text.*161 characters"):
        RuleEngine.for_storage(RuleSet(rules=[rule]), make_storage(), sms_max_length=160)
    with pytest.raises(ValidationError, match="sms_max_length"):
        RuleEngine.for_storage(RuleSet(rules=[rule]), make_storage(), sms_max_length=0)


def test_r9_no_client_no_message_and_only_an_email_has_a_subject() -> None:
    rt = runtime([sales_rule("r-chat", action=SendClientMessage(channel="chat", text="hi"))])
    rt.create_item(attrs.evolve(deal(), client=""))
    assert len(rt.outbox) == 0
    assert "no client" in rt.skips[-1][1].reason
    with pytest.raises(ValidationError, match="subject"):
        SendClientMessage(channel="sms", text="x", subject="y")


# -- change of responsible --------------------------------------------------------


def test_r9_change_responsible_to_a_user_and_never_to_a_deactivated_one() -> None:
    rt = runtime([sales_rule("r-hand", action=ChangeResponsible(user_id="u-keala"))])
    rt.create_item(deal())
    assert rt.storage.item("deal-1").responsible_id == "u-keala"
    (effect,) = [e for _, e in rt.log if isinstance(e, ChangeFieldEffect)]
    assert (effect.field, effect.previous, effect.value) == ("responsible_id", "u-piotr", "u-keala")

    rt = runtime(
        [sales_rule("r-hand", action=ChangeResponsible(user_id="u-keala"))],
        storage=_deactivated("u-keala"),
    )
    rt.create_item(deal())
    assert rt.storage.item("deal-1").responsible_id == "u-piotr"
    assert "deactivated" in rt.skips[-1][1].reason


def _round_robin(storage: InMemoryStorage, count: int = 60) -> dict[str, str]:
    rule = sales_rule(
        "r-spread", action=ChangeResponsible(round_robin=["u-piotr", "u-keala", "u-tama"])
    )
    rt = runtime([rule], storage=storage)
    for index in range(count):
        rt.create_item(deal(f"deal-{index}", responsible_id="u-anna"))
    return {item.id: item.responsible_id for item in rt.storage.items()}


def test_r9_round_robin_is_deterministic_spreads_items_and_skips_an_inactive_user() -> None:
    everyone = _round_robin(make_storage())
    assert everyone == _round_robin(make_storage())  # deterministic: same items, same users
    shares = Counter(everyone.values())
    assert set(shares) == {"u-piotr", "u-keala", "u-tama"}
    assert min(shares.values()) >= 10  # 60 items over 3 users: none starved

    without_keala = _round_robin(_deactivated("u-keala"))
    assert "u-keala" not in without_keala.values()
    # Rendezvous hashing: only Keala's items moved; everyone else kept theirs.
    for item_id, user_id in everyone.items():
        if user_id != "u-keala":
            assert without_keala[item_id] == user_id


def test_r9_round_robin_with_every_user_deactivated_is_a_skip() -> None:
    rule = sales_rule("r-spread", action=ChangeResponsible(round_robin=["u-keala", "u-tama"]))
    rt = runtime([rule], storage=_deactivated("u-keala", "u-tama"))
    rt.create_item(deal())
    assert rt.storage.item("deal-1").responsible_id == "u-piotr"
    assert "every user of the round-robin is deactivated" in rt.skips[-1][1].reason


def test_r9_change_responsible_takes_a_user_or_a_list() -> None:
    with pytest.raises(ValidationError, match="either user_id or a round_robin"):
        ChangeResponsible()
    with pytest.raises(ValidationError, match="either user_id or a round_robin"):
        ChangeResponsible(user_id="u-anna", round_robin=["u-piotr"])
    with pytest.raises(ValidationError, match="repeated"):
        ChangeResponsible(round_robin=["u-piotr", "u-piotr"])


# -- set field ------------------------------------------------------------------


def test_r9_set_field_writes_custom_and_built_in_fields_and_skips_an_unchanged_value() -> None:
    rules = [
        sales_rule("r-hot", action=SetField(field="field:hot", value=True)),
        sales_rule("r-amount", action=SetField(field="amount", value=9000)),
        sales_rule("r-title", action=SetField(field="title", value="Urgent")),
    ]
    rt = runtime(rules, fields={"hot": "boolean"})
    rt.create_item(deal(hot=True))
    item = rt.storage.item("deal-1")
    assert (item.fields["hot"], item.amount, item.title) == (True, Decimal(9000), "Urgent")
    changed = [e.field for _, e in rt.log if isinstance(e, ChangeFieldEffect)]
    assert changed == ["amount", "title"]  # hot already was true
    assert "field:hot already is True" in rt.skips[0][1].reason


def test_r9_r7_set_field_is_typed_against_the_declared_fields_with_every_problem_listed() -> None:
    document = """{
      "format": "crmcounters.rules", "version": 1,
      "fields": {"hot": "boolean", "budget": "number"},
      "rules": [
        {"id": "a", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "action": {"type": "set_field", "field": "field:hot", "value": "yes"}},
        {"id": "b", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "action": {"type": "set_field", "field": "field:colour", "value": "red"}},
        {"id": "c", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "action": {"type": "set_field", "field": "amount", "value": "lots"}},
        {"id": "d", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "action": {"type": "set_field", "field": "stage_id", "value": "won"}},
        {"id": "e", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "action": {"type": "set_field", "field": "title"}},
        {"id": "f", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "action": {"type": "set_field", "field": "field:budget", "value": null}}
      ]
    }"""
    with pytest.raises(RuleSetError) as caught:
        load_rule_set(document)
    paths = {problem.path: problem.message for problem in caught.value.problems}
    assert "boolean" in paths["$.rules[0].action.value"]
    assert "unknown field 'field:colour'" in paths["$.rules[1].action.field"]
    assert "number" in paths["$.rules[2].action.value"]
    assert "cannot set 'stage_id'" in paths["$.rules[3].action.field"]
    assert "missing" in paths["$.rules[4].action.value"]
    assert not any(path.startswith("$.rules[5]") for path in paths)  # null clears a field


# -- move to stage ----------------------------------------------------------------


def test_r9_move_to_stage_goes_forward_and_fires_the_new_stages_rules() -> None:
    rules = [
        sales_rule("r-skip", action=MoveToStage(stage_id="proposal")),
        sales_rule("r-note", "proposal", action=AddHistoryEntry(text="now in {{Stage}}")),
    ]
    rt = runtime(rules)
    rt.create_item(deal())
    assert rt.storage.item("deal-1").stage_id == "proposal"
    (move,) = [e for _, e in rt.log if isinstance(e, ChangeStageEffect)]
    assert move.trigger_id == "r-skip"
    assert any(getattr(e, "rule_id", None) == "r-note" for _, e in rt.log)


def test_r9_move_to_stage_backward_only_when_allowed_and_never_out_of_a_final_stage() -> None:
    back = [sales_rule("r-back", "proposal", action=MoveToStage(stage_id="new"))]
    rt = runtime(back)
    rt.create_item(deal(stage_id="proposal"))
    assert rt.storage.item("deal-1").stage_id == "proposal"
    assert "backward is not allowed" in rt.skips[-1][1].reason

    allowed = [
        sales_rule(
            "r-back",
            "proposal",
            timing=Timing(delay=Delay(after=1, unit="hours")),
            action=MoveToStage(stage_id="new", allow_backward=True),
        )
    ]
    rt = runtime(allowed)
    rt.create_item(deal(stage_id="proposal"))
    rt.advance(HOUR)
    assert rt.storage.item("deal-1").stage_id == "new"

    final = [sales_rule("r-reopen", "won", action=MoveToStage(stage_id="lost"))]
    rt = runtime(final)
    rt.create_item(deal(stage_id="won"))
    assert rt.storage.item("deal-1").stage_id == "won"
    assert "final stage" in rt.skips[-1][1].reason


def test_r9_r7_move_to_stage_names_another_stage_of_the_rules_pipeline() -> None:
    with pytest.raises(RuleSetError, match="does nothing"):
        RuleSet(rules=[sales_rule("r-b", action=MoveToStage(stage_id="new"))])
    rule_set = RuleSet(rules=[sales_rule("r-a", action=MoveToStage(stage_id="nowhere"))])
    with pytest.raises(RuleSetError, match=r"\$\.rules\[0\]\.action\.stage_id.*'nowhere'"):
        RuleEngine.for_storage(rule_set, make_storage())


def test_r9_r7_every_new_action_round_trips_through_json() -> None:
    rule_set = RuleSet(
        rules=[
            sales_rule("a", action=SendClientMessage(channel="email", text="t", subject="s")),
            sales_rule("b", action=SendClientMessage(channel="sms", text="{{Title}}")),
            sales_rule("c", action=ChangeResponsible(user_id="u-anna")),
            sales_rule("d", action=ChangeResponsible(round_robin=["u-anna", "u-piotr"])),
            sales_rule("e", action=SetField(field="field:hot", value=False)),
            sales_rule("f", action=SetField(field="amount", value=12.5)),
            sales_rule("g", action=MoveToStage(stage_id="won", allow_backward=True)),
        ],
        fields={"hot": "boolean"},
    )
    assert load_rule_set(dump_rule_set(rule_set)) == rule_set


def test_r7_r8_r9_bad_new_actions_in_json_are_all_listed_with_their_paths() -> None:
    document = """{
      "format": "crmcounters.rules", "version": 1,
      "rules": [
        {"id": "a", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "action": {"type": "send_client_message", "channel": "fax", "text": "hi"}},
        {"id": "b", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "action": {"type": "notify_users", "text": "x"}},
        {"id": "c", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "action": {"type": "change_responsible", "user_id": "u", "round_robin": ["v"]}},
        {"id": "d", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "action": {"type": "move_to_stage"}},
        {"id": "e", "entity_type": "deal", "pipeline_id": "p", "stage_id": "s",
         "action": {"type": "send_client_message", "channel": "sms", "text": "{{Nope}}"}}
      ]
    }"""
    with pytest.raises(RuleSetError) as caught:
        load_rule_set(document)
    paths = {problem.path: problem.message for problem in caught.value.problems}
    assert "fax" in paths["$.rules[0].action.channel"]
    assert "at least one recipient" in paths["$.rules[1].action.recipients"]
    assert any(path.startswith("$.rules[2].action") for path in paths)
    assert "missing" in paths["$.rules[3].action.stage_id"]
    assert "unknown placeholder {{Nope}}" in paths["$.rules[4].action.text"]

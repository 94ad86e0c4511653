"""Informing employees (R8): notify named users, the responsible, the supervisor and the head
of a department, with placeholders, each user once."""

from __future__ import annotations

import attrs
import pytest

from _build_rules import USERS, deal, make_storage, runtime, sales_rule
from _sql_backends import BACKENDS, copy_into, sql_storage
from crmcounters import Portal, User, ValidationError, dump_portal, load_portal
from crmcounters.rules import (
    NOTIFY,
    NotifyEffect,
    NotifyUsers,
    Rule,
    RuleEngine,
    RuleSet,
    RuleSetError,
    dump_rule_set,
    load_rule_set,
)


def _notify(*recipients: str, text: str = "{{Title}} for {{Client}} ({{Responsible}})") -> Rule:
    return sales_rule("r-inform", action=NotifyUsers(text=text, recipients=recipients))


def test_r8_notifies_roles_named_users_and_a_department_head_with_placeholders() -> None:
    rt = runtime([_notify("responsible", "supervisor", "head:d-hq", "user:u-keala")])
    rt.create_item(deal())
    (effect,) = rt.notifications
    assert effect.recipient_ids == ("u-piotr", "u-anna", "u-marek", "u-keala")
    assert effect.text == "Website for deal-1 for Boulangerie Dupont (Piotr Wiśniewski)"


def test_r8_one_notification_per_recipient_when_roles_coincide() -> None:
    """Anna is the responsible, the head of d-eu and named by id; Marek is her supervisor
    and the head of d-hq: each gets the notification once."""
    rt = runtime([_notify("responsible", "head:d-eu", "user:u-anna", "supervisor", "head:d-hq")])
    rt.create_item(deal(responsible_id="u-anna"))
    (effect,) = rt.notifications
    assert effect.recipient_ids == ("u-anna", "u-marek")
    (entry,) = rt.outbox.entries()  # type: ignore[attr-defined]
    assert entry.kind == NOTIFY
    assert entry.payload["recipient_ids"] == ["u-anna", "u-marek"]


def test_r8_deactivated_users_are_not_notified_and_nobody_left_is_a_skip() -> None:
    storage = make_storage()
    keala = next(user for user in USERS if user.id == "u-keala")
    storage.replace(_off(keala))
    rt = runtime([_notify("user:u-keala", "user:u-tama")], storage=storage)
    rt.create_item(deal())
    assert rt.notifications[0].recipient_ids == ("u-tama",)

    storage = make_storage()
    storage.replace(_off(keala))
    rt = runtime([_notify("user:u-keala")], storage=storage)
    rt.create_item(deal())
    assert rt.notifications == []
    assert "no recipient" in rt.skips[-1][1].reason


def _off(user: User) -> User:
    return attrs.evolve(user, active=False)


def test_r8_a_department_without_head_gives_no_recipient_for_that_role() -> None:
    storage = make_storage()
    storage.replace(attrs.evolve(storage.department("d-hq"), head_id=None))
    rt = runtime([_notify("head:d-hq", "responsible")], storage=storage)
    rt.create_item(deal())
    assert rt.notifications[0].recipient_ids == ("u-piotr",)


def test_r8_r7_unknown_departments_and_users_are_listed_with_their_paths() -> None:
    rule_set = RuleSet(rules=[_notify("head:d-nowhere", "user:u-ghost", "responsible")])
    with pytest.raises(RuleSetError) as caught:
        RuleEngine.for_storage(rule_set, make_storage())
    paths = {problem.path: problem.message for problem in caught.value.problems}
    assert "unknown department 'd-nowhere'" in paths["$.rules[0].action.recipients[0]"]
    assert "unknown user 'u-ghost'" in paths["$.rules[0].action.recipients[1]"]


@pytest.mark.parametrize("recipient", ["head:", "boss", "user:", ""])
def test_r8_a_recipient_must_be_a_role_a_user_or_a_head(recipient: str) -> None:
    with pytest.raises(ValidationError, match=r"recipients\[0\]"):
        NotifyUsers(text="x", recipients=[recipient])


def test_r8_notify_users_needs_recipients_and_round_trips_through_json() -> None:
    with pytest.raises(ValidationError, match="at least one recipient"):
        NotifyUsers(text="x", recipients=[])
    rule_set = RuleSet(rules=[_notify("head:d-eu", "responsible")])
    assert load_rule_set(dump_rule_set(rule_set)) == rule_set
    assert '"type": "notify_users"' in dump_rule_set(rule_set)


def test_r8_r3_a_placeholder_naming_an_undeclared_field_is_a_problem() -> None:
    with pytest.raises(RuleSetError, match=r"\$\.rules\[0\]\.action\.text"):
        RuleSet(rules=[_notify("responsible", text="{{Field:budget}}")])


def test_r8_the_notification_id_is_stable_for_deduplication() -> None:
    first = runtime([_notify("responsible")])
    first.create_item(deal())
    second = runtime([_notify("responsible")])
    second.create_item(deal())
    assert isinstance(first.notifications[0], NotifyEffect)
    assert first.notifications[0].id == second.notifications[0].id


def test_r8_user_active_round_trips_through_portal_json_and_defaults_to_true() -> None:
    storage = make_storage()
    storage.replace(_off(storage.user("u-keala")))
    text = dump_portal(Portal(storage=storage))
    assert text.count('"active": false') == 1  # written only for the deactivated user
    loaded = load_portal(text).storage
    assert loaded.user("u-keala").active is False
    assert loaded.user("u-piotr").active is True
    with pytest.raises(ValidationError, match="active"):
        User(id="u-x", name="X", time_zone="UTC", active="no")  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", BACKENDS)
def test_r8_user_active_is_stored_in_sql(backend: str) -> None:
    memory = make_storage()
    memory.replace(_off(memory.user("u-keala")))
    with sql_storage(backend) as database:
        copy_into(memory, database)
        assert database.user("u-keala").active is False
        database.replace(attrs.evolve(database.user("u-keala"), active=True))
        assert database.user("u-keala").active is True
        assert database.user("u-tama").active is True

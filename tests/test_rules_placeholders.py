"""R3: placeholders are checked when a rule is defined and rendering never evaluates code."""

from __future__ import annotations

import pytest

from _build_rules import deal, runtime, sales_rule
from crmcounters import ValidationError
from crmcounters.rules import (
    PLACEHOLDERS,
    AddHistoryEntry,
    NotifySupervisor,
    RuleSet,
    RuleSetError,
    Template,
)

VALUES = {
    "Title": "Website",
    "Amount": "4200",
    "Currency": "PLN",
    "Client": "Dupont",
    "Responsible": "Piotr",
    "Stage": "New",
}


def test_r3_every_builtin_placeholder_renders_from_the_mapping() -> None:
    source = " ".join(f"{{{{{name}}}}}" for name in PLACEHOLDERS)
    assert Template(source=source).render(VALUES, {}) == "Website 4200 PLN Dupont Piotr New"


def test_r3_custom_fields_render_as_plain_text() -> None:
    template = Template(source="{{Field:source}}/{{ Field:priority }}/{{Field:vip}}/{{Field:x}}")
    fields = {"source": "web", "priority": 3, "vip": True, "x": None}
    assert template.render(VALUES, fields) == "web/3/yes/"
    assert template.field_names == ("source", "priority", "vip", "x")


@pytest.mark.parametrize(
    "source",
    [
        "{{__class__}}",
        "{{Title.__class__}}",
        "{{Title:>10}}",
        "{{Title!r}}",
        "{{0.__init__.__globals__}}",
        "{{eval('1+1')}}",
        "{{title}}",
        "{{}}",
        "{{Field:}}",
    ],
)
def test_r3_unknown_or_code_like_placeholders_are_refused(source: str) -> None:
    with pytest.raises(ValidationError, match="unknown placeholder"):
        Template(source=source)


def test_r3_an_unclosed_placeholder_is_refused() -> None:
    with pytest.raises(ValidationError, match="unclosed placeholder"):
        Template(source="Hello {{Title")


@pytest.mark.parametrize(
    "source",
    [
        "{0.__init__}",
        "{0.__init__.__globals__}",
        "{Title}",
        "{Title:>99999999}",
        "%(Title)s %s {} {!r}",
        "${Title} }} {",
    ],
)
def test_r3_format_syntax_is_plain_text(source: str) -> None:
    assert Template(source=source).render(VALUES, {}) == source


def test_r3_rendering_does_not_reinterpret_values_that_look_like_placeholders() -> None:
    item_values = {**VALUES, "Title": "{{Client}} {0.__class__}"}
    assert Template(source="{{Title}}").render(item_values, {}) == "{{Client}} {0.__class__}"


def test_r3_a_field_placeholder_must_name_a_declared_field() -> None:
    rule = sales_rule("r-1", action=AddHistoryEntry(text="{{Field:budget}}"))
    with pytest.raises(RuleSetError) as caught:
        RuleSet(rules=[rule])
    [problem] = caught.value.problems
    assert problem.path == "$.rules[0].action.text"
    assert "budget" in problem.message
    RuleSet(rules=[rule], fields={"budget": "number"})  # declared: fine


def test_r3_stage_and_responsible_render_for_the_item_when_the_rule_runs() -> None:
    rule = sales_rule(
        "r-1", "preparation", action=NotifySupervisor(text="{{Responsible}} @ {{Stage}}")
    )
    rt = runtime([rule])
    rt.create_item(deal(stage_id="preparation", responsible_id="u-keala"))
    assert rt.notifications[0].text == "Keala Kahale @ Preparing documents"


def test_r3_missing_amount_renders_empty() -> None:
    rule = sales_rule("r-1", action=NotifySupervisor(text="[{{Amount}}]"))
    rt = runtime([rule])
    rt.create_item(deal(amount=None))
    assert rt.notifications[0].text == "[]"

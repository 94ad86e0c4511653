"""R7: rule sets are data: a JSON round trip, and a bad rule set is rejected whole."""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _build_rules import USERS, make_storage, sales_rule, sales_trigger
from crmcounters import DataFormatError
from crmcounters.rules import (
    AddHistoryEntry,
    AllOf,
    AnyOf,
    Comparison,
    CompleteTasks,
    CreateTask,
    Delay,
    NotifySupervisor,
    Problem,
    Rule,
    RuleEngine,
    RuleSet,
    RuleSetError,
    ScheduleActivity,
    Timing,
    WorkingHours,
    dump_rule_set,
    load_rule_set,
)

PIPELINES = tuple(make_storage().pipelines())
USER_IDS = {user.id for user in USERS}


def full_rule_set() -> RuleSet:
    """One of everything."""
    return RuleSet(
        fields={"source": "string", "priority": "number", "vip": "boolean"},
        working_hours=WorkingHours(start=time(8, 30), end=time(17, 0)),
        rules=[
            sales_rule(
                "r-notify",
                name="Late deal",
                timing=Timing(delay=Delay(after=24, unit="hours")),
                condition=AllOf(
                    conditions=[
                        Comparison(field="amount", op="gt", value=1000),
                        AnyOf(
                            conditions=[
                                Comparison(field="field:source", op="in", value=["web", "ads"]),
                                Comparison(field="field:vip", op="eq", value=True),
                                Comparison(field="client", op="not_empty"),
                            ]
                        ),
                    ]
                ),
                action=NotifySupervisor(
                    text="{{Responsible}}: {{Title}} {{Amount}} {{Currency}}",
                    recipients=["supervisor", "user:u-marek"],
                ),
            ),
            sales_rule(
                "r-history",
                timing=Timing(delay=Delay(after=1, unit="business_days"), working_time_only=True),
                action=AddHistoryEntry(text="{{Field:source}}", author_id="u-marek"),
            ),
            sales_rule(
                "r-task",
                "proposal",
                timing=Timing(working_time_only=True),
                action=CreateTask(
                    title="Invoice {{Title}}",
                    description="{{Client}}",
                    responsible_id="u-anna",
                    deadline=Delay(after=2, unit="days"),
                    observer_ids=["u-marek"],
                    time_tracking=True,
                ),
            ),
            sales_rule(
                "r-task-abs",
                "proposal",
                action=CreateTask(
                    title="Fixed", deadline=datetime.fromisoformat("2026-12-31T12:00:00+01:00")
                ),
            ),
            sales_rule(
                "r-close",
                "won",
                action=CompleteTasks(pipeline_id="p-sales", stage_ids=["new", "proposal"]),
            ),
            sales_rule(
                "r-call",
                action=ScheduleActivity(
                    description="Call {{Client}}",
                    kind="call",
                    deadline=Delay(after=30, unit="minutes"),
                    auto_complete=False,
                ),
            ),
        ],
        triggers=[
            sales_trigger(
                "t-invoice",
                "send-invoice",
                name="Invoice ready",
                status="completed",
                filter=Comparison(field="title", op="contains", value="invoice"),
                change_stage_as="u-marek",
                allow_backward=True,
            )
        ],
    )


def test_r7_a_rule_set_round_trips_through_json() -> None:
    rule_set = full_rule_set()
    text = dump_rule_set(rule_set)
    loaded = load_rule_set(text, pipelines=PIPELINES, user_ids=USER_IDS)
    assert loaded == rule_set
    assert dump_rule_set(loaded) == text


def test_r7_the_rule_sets_description_survives_the_round_trip() -> None:
    """R7: the document's "description" is kept on the RuleSet and dumped again."""
    text = _doc(_rule(), description="Sales follow-ups, reviewed by Marek")
    loaded = load_rule_set(text)
    assert loaded.description == "Sales follow-ups, reviewed by Marek"
    again = dump_rule_set(loaded)
    assert json.loads(again)["description"] == "Sales follow-ups, reviewed by Marek"
    assert load_rule_set(again) == loaded
    assert _problems(_doc(_rule(), description=5)) == {
        "$.description": "expected a string, got a number"
    }


def test_r7_the_minimal_document_loads_with_defaults() -> None:
    loaded = load_rule_set('{"format": "crmcounters.rules", "version": 1}')
    assert loaded == RuleSet()
    assert loaded.working_hours == WorkingHours(start=time(9, 0), end=time(18, 0))


def _doc(*rules: dict[str, Any], triggers: tuple[dict[str, Any], ...] = (), **top: Any) -> str:
    return json.dumps(
        {
            "format": "crmcounters.rules",
            "version": 1,
            **top,
            "rules": list(rules),
            "triggers": list(triggers),
        }
    )


def _rule(**overrides: Any) -> dict[str, Any]:
    rule = {
        "id": "r-1",
        "entity_type": "deal",
        "pipeline_id": "p-sales",
        "stage_id": "new",
        "action": {"type": "notify_supervisor", "text": "{{Title}}"},
    }
    rule.update(overrides)
    return rule


def _problems(text: str) -> dict[str, str]:
    with pytest.raises(RuleSetError) as caught:
        load_rule_set(text, pipelines=PIPELINES, user_ids=USER_IDS)
    return {p.path: p.message for p in caught.value.problems}


def test_r7_every_problem_is_listed_with_its_json_path() -> None:
    text = _doc(
        _rule(id="r-1", stage_id="nowhere"),
        _rule(id="r-2", action={"type": "notify_supervisor", "text": "{{__class__}}"}),
        _rule(id="r-3", timing={"after": -5, "unit": "hours"}),
        _rule(id="r-4", condition={"field": "budget", "op": "gt", "value": 5}),
        _rule(id="r-5", condition={"field": "amount", "op": "gt", "value": "lots"}),
        _rule(id="r-6", condition={"field": "title", "op": "gt", "value": 5}),
        _rule(id="r-1"),
        _rule(id="r-8", action={"type": "add_history_entry", "text": "x", "author_id": "u-x"}),
        _rule(id="r-9", pipeline_id="p-leads"),
        triggers=(
            {
                "id": "t-1",
                "entity_type": "deal",
                "pipeline_id": "p-sales",
                "stage_id": "gone",
                "status": "finished",
            },
            {
                "id": "t-2",
                "entity_type": "deal",
                "pipeline_id": "p-sales",
                "stage_id": "won",
                "filter": {"field": "amount", "op": "gt", "value": 1},
            },
        ),
    )
    problems = _problems(text)
    assert set(problems) == {
        "$.rules[0].stage_id",
        "$.rules[1].action.text",
        "$.rules[2].timing.after",
        "$.rules[3].condition.field",
        "$.rules[4].condition.value",
        "$.rules[5].condition.op",
        "$.rules[6].id",
        "$.rules[7].action.author_id",
        "$.rules[8].entity_type",
        "$.triggers[0].status",
        "$.triggers[0].stage_id",  # a bad status hides no other problem
        "$.triggers[1].filter.field",
    }
    assert "unknown stage 'nowhere'" in problems["$.rules[0].stage_id"]
    assert "unknown placeholder {{__class__}}" in problems["$.rules[1].action.text"]
    assert "negative" in problems["$.rules[2].timing.after"]
    assert "unknown field 'budget'" in problems["$.rules[3].condition.field"]
    assert "type mismatch" in problems["$.rules[4].condition.value"]
    assert "compares numbers" in problems["$.rules[5].condition.op"]
    assert "repeated rule id" in problems["$.rules[6].id"]
    assert "unknown user 'u-x'" in problems["$.rules[7].action.author_id"]
    assert "is for lead, not deal" in problems["$.rules[8].entity_type"]
    assert "unknown stage 'gone'" in problems["$.triggers[0].stage_id"]


def test_r7_an_unreadable_id_entity_type_or_status_hides_no_other_problem() -> None:
    """R7: the stage, pipeline, user and field references are checked on their own."""
    text = _doc(
        _rule(id=None, stage_id="nope", action={"type": "notify_supervisor", "text": "{{Bogus}}"}),
        _rule(
            id="r-2",
            entity_type="dael",
            stage_id="nope2",
            condition={"field": "colour", "op": "eq", "value": "x"},
        ),
        _rule(id=7, pipeline_id="p-gone"),
        _rule(
            id="r-4",
            entity_type=5,
            action={
                "type": "create_task",
                "title": "{{Nope}}",
                "responsible_id": "u-ghost",
                "observer_ids": ["u-nobody", 3],
                "deadline": "tomorrow",
            },
        ),
        _rule(id="r-5", stage_id=["new"]),
        _rule(id="r-6", pipeline_id=None, stage_id="nope3"),
        triggers=(
            {
                "id": "t-1",
                "entity_type": "deal",
                "pipeline_id": "p-sales",
                "stage_id": "gone",
                "status": "finished",
                "change_stage_as": "u-ghost",
            },
            {
                "entity_type": "lead",
                "pipeline_id": "p-sales",
                "stage_id": "gone2",
                "allow_backward": "yes",
                "filter": {"field": "colour", "op": "eq", "value": "x"},
            },
        ),
    )
    problems = _problems(text)
    assert set(problems) == {
        "$.rules[0].id",
        "$.rules[0].stage_id",
        "$.rules[0].action.text",
        "$.rules[1].entity_type",
        "$.rules[1].stage_id",
        "$.rules[1].condition.field",
        "$.rules[2].id",
        "$.rules[2].pipeline_id",
        "$.rules[3].entity_type",
        "$.rules[3].action.title",
        "$.rules[3].action.responsible_id",
        "$.rules[3].action.observer_ids[1]",
        "$.rules[3].action.deadline",
        "$.rules[4].stage_id",
        "$.rules[5].pipeline_id",
        "$.triggers[0].status",
        "$.triggers[0].stage_id",
        "$.triggers[0].change_stage_as",
        "$.triggers[1].id",
        "$.triggers[1].entity_type",
        "$.triggers[1].stage_id",
        "$.triggers[1].allow_backward",
        "$.triggers[1].filter.field",
    }
    assert "unknown stage 'nope'" in problems["$.rules[0].stage_id"]
    assert "unknown stage 'nope2'" in problems["$.rules[1].stage_id"]
    assert "unknown field 'colour'" in problems["$.rules[1].condition.field"]
    assert "unknown pipeline 'p-gone'" in problems["$.rules[2].pipeline_id"]
    assert "unknown user 'u-ghost'" in problems["$.rules[3].action.responsible_id"]
    assert "missing" in problems["$.rules[5].pipeline_id"]
    assert "unknown user 'u-ghost'" in problems["$.triggers[0].change_stage_as"]
    assert "unknown stage 'gone2'" in problems["$.triggers[1].stage_id"]
    assert "is for deal, not lead" in problems["$.triggers[1].entity_type"]


def test_r7_the_error_message_lists_each_problem_on_its_own_line() -> None:
    error = RuleSetError(
        [Problem(path="$.rules[0].stage_id", message="a"), Problem(path="$.x", message="b")]
    )
    assert str(error).splitlines()[1:] == ["  - $.rules[0].stage_id: a", "  - $.x: b"]
    assert "2 problems" in str(error)


def test_r7_several_problems_in_one_rule_are_all_listed() -> None:
    """Format faults of each part are all listed; checks that need a readable part
    (here the unknown field of the first comparison) wait until the part reads."""
    text = _doc(
        _rule(
            timing={"after": -1, "unit": "fortnights"},
            condition={
                "all": [{"field": "nope", "op": "eq", "value": 1}, {"field": "x", "op": "bogus"}]
            },
            action={"type": "create_task", "title": "{{Nope}}", "description": "{{Title"},
        )
    )
    problems = _problems(text)
    assert set(problems) == {
        "$.rules[0].timing.unit",
        "$.rules[0].condition.all[1].op",
        "$.rules[0].action.title",
        "$.rules[0].action.description",
    }


def test_r7_structural_faults_are_collected_too() -> None:
    text = _doc(
        {"id": 5, "entity_type": "deal", "stage_id": "new", "colour": "red"},
        _rule(action={"type": "teleport"}),
        _rule(condition={"any": []}),
        _rule(condition={"all": [None], "any": []}),
    )
    problems = _problems(text)
    assert {
        "$.rules[0].colour",
        "$.rules[0].id",
        "$.rules[0].action",
        "$.rules[1].action.type",
        "$.rules[2].condition.any",
        "$.rules[3].condition.any",
    } <= set(problems)


def test_r7_bad_json_and_wrong_format_are_rule_set_errors() -> None:
    with pytest.raises(RuleSetError, match="invalid JSON"):
        load_rule_set("{")
    with pytest.raises(RuleSetError, match="format"):
        load_rule_set('{"format": "crmcounters.portal", "version": 1}')
    assert issubclass(RuleSetError, ValueError)


def test_r7_working_hours_must_be_a_real_span() -> None:
    problems = _problems(_doc(working_hours={"start": "18:00", "end": "09:00"}))
    assert "must be before" in problems["$.working_hours.end"]
    problems = _problems(_doc(working_hours={"start": "9h"}))
    assert "not a time of day" in problems["$.working_hours.start"]


def test_r7_custom_field_types_are_checked() -> None:
    problems = _problems(_doc(fields={"size": "huge"}))
    assert "expected one of" in problems["$.fields.size"]


def test_r7_g5_the_engine_refuses_a_rule_set_naming_missing_stages() -> None:
    storage = make_storage()
    rule_set = RuleSet(
        rules=[
            sales_rule("r-1", "nowhere", action=NotifySupervisor(text="x")),
            Rule(
                id="r-2",
                entity_type="deal",
                pipeline_id="p-gone",
                stage_id="new",
                action=NotifySupervisor(text="x"),
            ),
        ]
    )
    with pytest.raises(RuleSetError) as caught:
        RuleEngine.for_storage(rule_set, storage)
    assert [p.path for p in caught.value.problems] == [
        "$.rules[0].stage_id",
        "$.rules[1].pipeline_id",
    ]


def test_r7_python_construction_lists_every_cross_check_problem() -> None:
    with pytest.raises(RuleSetError) as caught:
        RuleSet(
            rules=[
                sales_rule(
                    "r-1",
                    condition=Comparison(field="field:size", op="eq", value=1),
                    action=CreateTask(title="{{Field:a}}", description="{{Field:b}}"),
                ),
                sales_rule("r-1", action=NotifySupervisor(text="x")),
            ]
        )
    assert len(caught.value.problems) == 4


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Delay(after=-1), "negative"),
        (lambda: Delay(after=1.5), "whole number"),
        (lambda: Comparison(field="amount", op="in", value=[]), "non-empty list"),
        (lambda: Comparison(field="amount", op="empty", value=3), "takes no value"),
        (lambda: Comparison(field="amount", op="eq", value=float("nan")), "one string"),
        (lambda: NotifySupervisor(text="x", recipients=[]), "at least one recipient"),
        (lambda: NotifySupervisor(text="x", recipients=["boss"]), "unknown recipient"),
        (lambda: CompleteTasks(pipeline_id="p", stage_ids=[]), "at least one stage"),
        (lambda: WorkingHours(start=time(9), end=time(9)), "must be before"),
        (lambda: CreateTask(title="x", deadline=datetime(2026, 1, 1)), "naive"),
        (lambda: AllOf(conditions=[]), "at least one condition"),
    ],
)
def test_g5_values_are_refused_at_construction(make: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_r7_a_rule_set_file_error_is_not_a_portal_error() -> None:
    assert not issubclass(RuleSetError, DataFormatError)


def test_r7_parts_of_the_wrong_json_type_are_problems_not_crashes() -> None:
    text = json.dumps(
        {
            "format": "crmcounters.rules",
            "version": 1,
            "working_hours": "9-5",
            "fields": [],
            "rules": [
                7,
                _rule(id="r-a", timing=24, action="notify"),
                _rule(id="r-b", condition=["amount"]),
                _rule(id="r-c"),
            ],
            "triggers": {"id": "t"},
        }
    )
    problems = _problems(text)
    assert set(problems) == {
        "$.working_hours",
        "$.fields",
        "$.rules[0]",
        "$.rules[1].timing",
        "$.rules[1].action",
        "$.rules[2].condition",
        "$.triggers",
    }


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.sampled_from(["", "x", "new", "eq", "{{Title}}"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "type",
                    "field",
                    "op",
                    "value",
                    "all",
                    "any",
                    "after",
                    "unit",
                    "text",
                    "action",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@given(rule=st.dictionaries(st.sampled_from(list(_rule())), _JSON, max_size=6), extra=_JSON)
def test_r7_any_json_document_loads_or_raises_rule_set_error(
    rule: dict[str, Any], extra: Any
) -> None:
    text = _doc({**_rule(), **rule}, triggers=(extra,))
    found: tuple[object, ...]
    try:
        found = (load_rule_set(text, pipelines=PIPELINES, user_ids=USER_IDS),)
    except RuleSetError as error:  # any other exception fails the test
        found = error.problems
    assert found  # a rejection always says why

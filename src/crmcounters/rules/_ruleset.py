"""Rule sets (R1, R5, R7-R10): rules and triggers attached to stages, checked whole."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from .. import _validate as v
from .._errors import ValidationError
from .._limits import MAX_FIELDS, shown
from .._pipelines import Pipeline, check_entity_type
from .._tasks import TaskStatus
from ._actions import (
    SETTABLE_FIELDS,
    Action,
    AddHistoryEntry,
    ChangeResponsible,
    CompleteTasks,
    CreateTask,
    MoveToStage,
    NotifySupervisor,
    NotifyUsers,
    ScheduleActivity,
    SendClientMessage,
    SetField,
    department_head_id,
    recipient_user_id,
)
from ._conditions import (
    ITEM_FIELDS,
    TASK_FIELDS,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    FieldType,
    check_condition,
    field_type,
)
from ._placeholders import Template
from ._problems import Problem, RuleSetError
from ._timing import Timing, WorkingHours
from ._trigger_events import TriggerEvent, event_schema

__all__ = ["WATCHABLE_FIELDS", "Rule", "RuleSet", "Trigger", "collect_problems"]

_ACTIONS = (
    NotifySupervisor,
    NotifyUsers,
    AddHistoryEntry,
    CreateTask,
    CompleteTasks,
    ScheduleActivity,
    SendClientMessage,
    ChangeResponsible,
    SetField,
    MoveToStage,
)
#: The item fields a field trigger may watch (R10): custom ones are ``field:NAME``.
WATCHABLE_FIELDS = ("title", "amount", "currency", "client", "responsible_id")


def _entity_type(_instance: Any, attribute: Any, value: Any) -> None:
    check_entity_type(attribute.name, value)


def _action(_instance: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, _ACTIONS):
        raise ValidationError("action", f"not a rule action: {value!r}")


def _condition(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None and not isinstance(value, Comparison | AllOf | AnyOf):
        raise ValidationError(attribute.name, f"not a condition: {value!r}")


def _timing(_instance: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, Timing):
        raise ValidationError("timing", f"expected a Timing, got {value!r}")


@attrs.frozen(kw_only=True)
class Rule:
    """An action run when an item enters one stage of one pipeline (R1), if `condition`
    holds when it runs (R2)."""

    id: str = attrs.field(validator=v.an_id)
    entity_type: str = attrs.field(validator=_entity_type)
    pipeline_id: str = attrs.field(validator=v.an_id)
    stage_id: str = attrs.field(validator=v.an_id)
    action: Action = attrs.field(validator=_action)
    timing: Timing = attrs.field(factory=Timing, validator=_timing)
    condition: Condition | None = attrs.field(default=None, validator=_condition)
    name: str = attrs.field(default="", validator=v.text)


def _status(value: TaskStatus | str) -> TaskStatus:
    return v.check_choice("status", TaskStatus, value)


def _event(value: TriggerEvent | str) -> TriggerEvent:
    return v.check_choice("event", TriggerEvent, value)


@attrs.frozen(kw_only=True)
class Trigger:
    """A trigger: on its `event`, if `filter` holds, the item moves to `stage_id`, recorded as
    done by `change_stage_as` (default: the item's responsible). Forward only unless
    `allow_backward`.

    The default `event`, task status (R5), fires when a task of the item reaches
    `status`; its filter tests the task's fields. The others (R10: incoming
    e-mail, incoming or missed call, chat message, payment received, field
    changed — the one named by `field`) filter on the item's fields and the
    event's (``event:NAME``), and never move an item out of a final stage.
    """

    id: str = attrs.field(validator=v.an_id)
    entity_type: str = attrs.field(validator=_entity_type)
    pipeline_id: str = attrs.field(validator=v.an_id)
    stage_id: str = attrs.field(validator=v.an_id)
    event: TriggerEvent = attrs.field(default=TriggerEvent.TASK_STATUS, converter=_event)
    status: TaskStatus = attrs.field(default=TaskStatus.COMPLETED, converter=_status)
    field: str | None = attrs.field(default=None, validator=v.optional_id)
    filter: Condition | None = attrs.field(default=None, validator=_condition)
    change_stage_as: str | None = attrs.field(default=None, validator=v.optional_id)
    allow_backward: bool = attrs.field(default=False, validator=v.flag)
    name: str = attrs.field(default="", validator=v.text)

    def __attrs_post_init__(self) -> None:
        if (self.field is None) == (self.event is TriggerEvent.FIELD_CHANGED):
            raise ValidationError(
                "field",
                "a field_changed trigger names the field it watches"
                if self.field is None
                else f"only a field_changed trigger watches a field, not a {self.event} one",
            )


def _fields(value: Mapping[str, FieldType | str]) -> Mapping[str, FieldType]:
    if not isinstance(value, Mapping):
        raise ValidationError("fields", f"expected a mapping of names to types, got {shown(value)}")
    if len(value) > MAX_FIELDS:
        raise ValidationError("fields", f"{len(value):,} fields; at most {MAX_FIELDS:,}")
    result: dict[str, FieldType] = {}
    for name, kind in value.items():
        if not isinstance(name, str) or not name.strip() or "{" in name or "}" in name:
            raise ValidationError("fields", f"a custom field name is plain text, got {shown(name)}")
        v.check_id("fields", name)
        try:
            result[name] = FieldType(kind)
        except (ValueError, TypeError):
            raise ValidationError(
                f"fields[{shown(name)}]",
                f"unknown type {shown(kind)}; use string, number or boolean",
            ) from None
    return MappingProxyType(result)


def _tuple(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(v.check_iterable("rules", values, "rules or triggers"))


@attrs.frozen(kw_only=True)
class RuleSet:
    """A portal's rules and triggers, checked whole: construction raises `RuleSetError`
    listing every problem (R7). `fields` declares the custom fields that conditions and
    ``{{Field:NAME}}`` placeholders may use, with their types; `description` is free text
    for people, kept through the JSON round trip."""

    rules: tuple[Rule, ...] = attrs.field(default=(), converter=_tuple)
    triggers: tuple[Trigger, ...] = attrs.field(default=(), converter=_tuple)
    fields: Mapping[str, FieldType] = attrs.field(factory=dict, converter=_fields, hash=False)
    working_hours: WorkingHours = attrs.field(factory=WorkingHours)
    description: str = attrs.field(default="", validator=v.text)

    def __attrs_post_init__(self) -> None:
        problems: list[Problem] = []
        for index, rule in enumerate(self.rules):
            if not isinstance(rule, Rule):
                problems.append(Problem(path=f"$.rules[{index}]", message="not a Rule"))
        for index, trigger in enumerate(self.triggers):
            if not isinstance(trigger, Trigger):
                problems.append(Problem(path=f"$.triggers[{index}]", message="not a Trigger"))
        if not isinstance(self.working_hours, WorkingHours):
            problems.append(Problem(path="$.working_hours", message="not WorkingHours"))
        if problems:
            raise RuleSetError(problems)
        problems = self.problems()
        if problems:
            raise RuleSetError(problems)

    def problems(
        self,
        pipelines: Iterable[Pipeline] | None = None,
        user_ids: Collection[str] | None = None,
        department_ids: Collection[str] | None = None,
        *,
        activity_type_ids: Collection[str] | None = None,
    ) -> list[Problem]:
        """Every problem of this rule set; with `pipelines`, `user_ids`, `department_ids` and
        `activity_type_ids`, also every reference to a missing pipeline, stage, user,
        department or activity type (A1)."""
        return collect_problems(
            ((f"$.rules[{i}]", rule) for i, rule in enumerate(self.rules)),
            ((f"$.triggers[{i}]", trigger) for i, trigger in enumerate(self.triggers)),
            self.fields,
            None if pipelines is None else {p.id: p for p in pipelines},
            user_ids,
            department_ids=department_ids,
            activity_type_ids=activity_type_ids,
        )

    def check(
        self,
        pipelines: Iterable[Pipeline],
        user_ids: Collection[str] | None = None,
        department_ids: Collection[str] | None = None,
        *,
        activity_type_ids: Collection[str] | None = None,
    ) -> None:
        """Raise `RuleSetError` listing every stage, pipeline, user, department or activity
        type this rule set names but the portal lacks (G5, R7)."""
        problems = self.problems(
            pipelines, user_ids, department_ids, activity_type_ids=activity_type_ids
        )
        if problems:
            raise RuleSetError(problems)


def collect_problems(
    rules: Iterable[tuple[str, Rule]],
    triggers: Iterable[tuple[str, Trigger]],
    custom: Mapping[str, FieldType],
    pipelines: Mapping[str, Pipeline] | None,
    user_ids: Collection[str] | None,
    *,
    unchecked: Mapping[str, Collection[str]] | None = None,
    department_ids: Collection[str] | None = None,
    activity_type_ids: Collection[str] | None = None,
) -> list[Problem]:
    """Every problem of rules and triggers given with their JSON paths (R7).

    `unchecked` maps a path to the keys (id, entity_type, pipeline_id,
    stage_id, change_stage_as) that hold stand-ins for unreadable JSON: what
    depends on them is not checked, everything else is.
    """
    problems: list[Problem] = []
    skip: Collection[str]
    rule_ids: dict[str, str] = {}
    for path, rule in rules:
        skip = () if unchecked is None else unchecked.get(path, ())
        problems += _repeated_id("rule", rule.id, path, rule_ids, skip)
        problems += _rule_problems(rule, path, custom, pipelines, user_ids, skip)
        problems += _more_rule_problems(rule, path, custom, pipelines, user_ids, department_ids)
        problems += _activity_type_problem(rule, path, activity_type_ids)
    trigger_ids: dict[str, str] = {}
    for path, trigger in triggers:
        skip = () if unchecked is None else unchecked.get(path, ())
        problems += _repeated_id("trigger", trigger.id, path, trigger_ids, skip)
        problems += _trigger_problems(trigger, path, custom, pipelines, user_ids, skip)
    return problems


def _repeated_id(
    kind: str, ident: str, path: str, seen: dict[str, str], skip: Collection[str]
) -> list[Problem]:
    """The problem of an id met before (`seen` maps each id to its first path, and learns
    this one); none for an id that could not be read."""
    if "id" in skip:
        return []
    if ident in seen:
        return [
            Problem(
                path=f"{path}.id", message=f"repeated {kind} id {ident!r} (first at {seen[ident]})"
            )
        ]
    seen[ident] = path
    return []


def _head_stage_problems(
    path: str,
    entity_type: str,
    pipeline_id: str,
    stage_id: str,
    pipelines: Mapping[str, Pipeline] | None,
    skip: Collection[str],
) -> list[Problem]:
    """The problems of a rule's or trigger's own pipeline, entity type and stage."""
    if "pipeline_id" in skip:
        return []
    return _stage_problems(
        path,
        None if "entity_type" in skip else entity_type,
        pipeline_id,
        [] if "stage_id" in skip else [(f"{path}.stage_id", stage_id)],
        pipelines,
    )


def _stage_problems(
    path: str,
    entity_type: str | None,
    pipeline_id: str,
    stage_ids: Iterable[tuple[str, str]],
    pipelines: Mapping[str, Pipeline] | None,
) -> list[Problem]:
    if pipelines is None:
        return []
    pipeline = pipelines.get(pipeline_id)
    if pipeline is None:
        known = ", ".join(sorted(pipelines)) or "none"
        return [
            Problem(
                path=f"{path}.pipeline_id",
                message=f"unknown pipeline {pipeline_id!r}; the portal has: {known}",
            )
        ]
    problems = []
    if entity_type is not None and pipeline.entity_type != entity_type:
        problems.append(
            Problem(
                path=f"{path}.entity_type",
                message=(
                    f"pipeline {pipeline_id!r} is for {pipeline.entity_type}, not {entity_type}"
                ),
            )
        )
    for stage_path, stage_id in stage_ids:
        if not pipeline.has_stage(stage_id):
            known = ", ".join(stage.id for stage in pipeline.stages)
            problems.append(
                Problem(
                    path=stage_path,
                    message=f"unknown stage {stage_id!r} in pipeline {pipeline_id!r}; "
                    f"its stages are: {known}",
                )
            )
    return problems


def _user_problem(
    path: str, user_id: str | None, user_ids: Collection[str] | None
) -> list[Problem]:
    if user_ids is None or user_id is None or user_id in user_ids:
        return []
    return [Problem(path=path, message=f"unknown user {user_id!r}")]


def _activity_type_problem(
    rule: Rule, path: str, activity_type_ids: Collection[str] | None
) -> list[Problem]:
    """The problem of a "schedule activity" action naming a type the settings lack (A1)."""
    action = rule.action
    if (
        activity_type_ids is None
        or not isinstance(action, ScheduleActivity)
        or action.type_id is None
        or action.type_id in activity_type_ids
    ):
        return []
    return [
        Problem(
            path=f"{path}.action.type_id",
            message=f"unknown activity type {action.type_id!r}: add it to the settings' "
            "activity_types first",
        )
    ]


def _template_problems(
    path: str, template: Template, custom: Mapping[str, FieldType]
) -> list[Problem]:
    return [
        Problem(
            path=path,
            message=f"unknown placeholder {{{{Field:{name}}}}}: no custom field {name!r} is "
            'declared in the rule set\'s "fields"',
        )
        for name in template.field_names
        if name not in custom
    ]


def _rule_problems(
    rule: Rule,
    path: str,
    custom: Mapping[str, FieldType],
    pipelines: Mapping[str, Pipeline] | None,
    user_ids: Collection[str] | None,
    skip: Collection[str] = (),
) -> list[Problem]:
    problems = _head_stage_problems(
        path, rule.entity_type, rule.pipeline_id, rule.stage_id, pipelines, skip
    )
    if rule.condition is not None:
        problems += [
            Problem(path=where, message=what)
            for where, what in check_condition(
                rule.condition, f"{path}.condition", ITEM_FIELDS, custom
            )
        ]
    action = rule.action
    at = f"{path}.action"
    if isinstance(action, NotifySupervisor | AddHistoryEntry):
        problems += _template_problems(f"{at}.text", action.text, custom)
    checked_later = (
        NotifySupervisor,
        NotifyUsers,
        SendClientMessage,
        ChangeResponsible,
        SetField,
        MoveToStage,
    )
    if isinstance(action, checked_later):
        return problems  # _more_rule_problems checks these
    if isinstance(action, AddHistoryEntry):
        problems += _user_problem(f"{at}.author_id", action.author_id, user_ids)
    elif isinstance(action, CreateTask):
        problems += _template_problems(f"{at}.title", action.title, custom)
        problems += _template_problems(f"{at}.description", action.description, custom)
        problems += _user_problem(f"{at}.responsible_id", action.responsible_id, user_ids)
        for index, observer in enumerate(action.observer_ids):
            problems += _user_problem(f"{at}.observer_ids[{index}]", observer, user_ids)
    elif isinstance(action, CompleteTasks):
        problems += _stage_problems(
            at,
            None,
            action.pipeline_id,
            [(f"{at}.stage_ids[{i}]", stage) for i, stage in enumerate(action.stage_ids)],
            pipelines,
        )
    else:
        problems += _template_problems(f"{at}.description", action.description, custom)
        problems += _user_problem(f"{at}.responsible_id", action.responsible_id, user_ids)
    return problems


def _more_rule_problems(
    rule: Rule,
    path: str,
    custom: Mapping[str, FieldType],
    pipelines: Mapping[str, Pipeline] | None,
    user_ids: Collection[str] | None,
    department_ids: Collection[str] | None,
) -> list[Problem]:
    """The problems of the notify (R4, R8), client (R9) and item-edit (R9) actions."""
    action = rule.action
    at = f"{path}.action"
    problems: list[Problem] = []
    if isinstance(action, NotifySupervisor | NotifyUsers):
        if isinstance(action, NotifyUsers):
            problems += _template_problems(f"{at}.text", action.text, custom)
        for index, recipient in enumerate(action.recipients):
            where = f"{at}.recipients[{index}]"
            problems += _user_problem(where, recipient_user_id(recipient), user_ids)
            head = department_head_id(recipient)
            if head is not None and department_ids is not None and head not in department_ids:
                problems.append(Problem(path=where, message=f"unknown department {head!r}"))
    elif isinstance(action, SendClientMessage):
        problems += _template_problems(f"{at}.text", action.text, custom)
        problems += _template_problems(f"{at}.subject", action.subject, custom)
    elif isinstance(action, ChangeResponsible):
        problems += _user_problem(f"{at}.user_id", action.user_id, user_ids)
        for index, user_id in enumerate(action.round_robin):
            problems += _user_problem(f"{at}.round_robin[{index}]", user_id, user_ids)
    elif isinstance(action, SetField):
        problems += _set_field_problems(action, at, custom)
    elif isinstance(action, MoveToStage):
        problems += _stage_problems(
            at, None, rule.pipeline_id, [(f"{at}.stage_id", action.stage_id)], pipelines
        )
        if action.stage_id == rule.stage_id:
            problems.append(
                Problem(
                    path=f"{at}.stage_id",
                    message=f"the rule already belongs to stage {rule.stage_id!r}: "
                    "moving there does nothing",
                )
            )
    return problems


def _set_field_problems(
    action: SetField, at: str, custom: Mapping[str, FieldType]
) -> list[Problem]:
    """A set-field action names a field it may write, with a value of its type (R9)."""
    name = action.field
    if not name.startswith("field:") and name not in SETTABLE_FIELDS:
        known = ", ".join(SETTABLE_FIELDS)
        return [
            Problem(
                path=f"{at}.field",
                message=f"cannot set {name!r}; set one of {known} or a custom field:NAME "
                "(change_responsible and move_to_stage change the others)",
            )
        ]
    kind = field_type(name, ITEM_FIELDS, custom)
    if kind is None:
        return [
            Problem(
                path=f"{at}.field",
                message=f'unknown field {name!r}: declare it in the rule set\'s "fields"',
            )
        ]
    value = action.value
    if value is None:
        if name.startswith("field:") or name == "amount":
            return []
        return [Problem(path=f"{at}.value", message=f'{name} is text: use "" to clear it')]
    found = (
        FieldType.BOOLEAN
        if isinstance(value, bool)
        else FieldType.NUMBER
        if isinstance(value, int | float)
        else FieldType.STRING
    )
    if found is not kind:
        return [
            Problem(
                path=f"{at}.value",
                message=f"type mismatch: {name} is a {kind}, but the value {value!r} is a {found}",
            )
        ]
    return []


def _trigger_problems(
    trigger: Trigger,
    path: str,
    custom: Mapping[str, FieldType],
    pipelines: Mapping[str, Pipeline] | None,
    user_ids: Collection[str] | None,
    skip: Collection[str] = (),
) -> list[Problem]:
    problems = _head_stage_problems(
        path, trigger.entity_type, trigger.pipeline_id, trigger.stage_id, pipelines, skip
    )
    watched: FieldType | None = None
    if trigger.field is not None:
        name = trigger.field
        watched = field_type(name, ITEM_FIELDS, custom)
        if watched is None or not (name.startswith("field:") or name in WATCHABLE_FIELDS):
            problems.append(
                Problem(
                    path=f"{path}.field",
                    message=f"cannot watch {name!r}; watch one of {', '.join(WATCHABLE_FIELDS)} "
                    'or a custom field:NAME declared in the rule set\'s "fields"',
                )
            )
    if trigger.filter is not None:
        if trigger.event is TriggerEvent.TASK_STATUS:
            found = check_condition(trigger.filter, f"{path}.filter", TASK_FIELDS, {})
        else:
            schema = event_schema(trigger.event, watched)
            found = check_condition(trigger.filter, f"{path}.filter", schema, custom)
        problems += [Problem(path=where, message=what) for where, what in found]
    problems += _user_problem(f"{path}.change_stage_as", trigger.change_stage_as, user_ids)
    return problems

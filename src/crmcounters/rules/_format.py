"""The rule-set JSON format (R7): load with every problem listed, dump for a round trip."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime, time
from typing import Any, TypeVar

import attrs

from .._activities import ActivityKind
from .._errors import DataFormatError, ValidationError
from .._json import REQUIRED, Reader, build, format_datetime, parse_document
from .._limits import DEFAULT_MAX_FILE_BYTES
from .._pipelines import Pipeline
from .._source import read_input_file
from .._tasks import TaskStatus
from ._actions import (
    Action,
    AddHistoryEntry,
    ChangeResponsible,
    ClientChannel,
    CompleteTasks,
    CreateTask,
    Deadline,
    MoveToStage,
    NotifySupervisor,
    NotifyUsers,
    ScheduleActivity,
    SendClientMessage,
    SetField,
)
from ._conditions import AllOf, AnyOf, Comparison, Condition, FieldType, Operator
from ._placeholders import Template
from ._problems import Problem, RuleSetError
from ._ruleset import Rule, RuleSet, Trigger, collect_problems
from ._timing import Delay, DelayUnit, Timing, WorkingHours
from ._trigger_events import TriggerEvent

__all__ = [
    "RULES_FORMAT",
    "RULES_FORMAT_VERSION",
    "dump_rule_set",
    "load_rule_set",
    "read_rule_set",
]

#: The value of a rule-set document's "format" key.
RULES_FORMAT = "crmcounters.rules"
#: The rule-set document version this library reads and writes.
RULES_FORMAT_VERSION = 1

_T = TypeVar("_T")
_ACTION_TYPES = {
    "notify_supervisor": NotifySupervisor,
    "add_history_entry": AddHistoryEntry,
    "create_task": CreateTask,
    "complete_tasks": CompleteTasks,
    "schedule_activity": ScheduleActivity,
    "notify_users": NotifyUsers,
    "send_client_message": SendClientMessage,
    "change_responsible": ChangeResponsible,
    "set_field": SetField,
    "move_to_stage": MoveToStage,
}
_TYPE_OF_ACTION = {cls: name for name, cls in _ACTION_TYPES.items()}


class _Problems:
    """Collects faults instead of stopping at the first one."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def attempt(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T | None:
        """`fn(*args, **kwargs)`, or None after noting the `DataFormatError` it raised."""
        try:
            return fn(*args, **kwargs)
        except DataFormatError as exc:
            self.note(exc)
            return None

    def note(self, exc: DataFormatError) -> None:
        """Keep the fault `exc` reports, with its JSON path."""
        self.found.append(Problem(path=exc.path, message=exc.problem))


def load_rule_set(
    source: str | bytes,
    *,
    pipelines: Iterable[Pipeline] | None = None,
    user_ids: Collection[str] | None = None,
    department_ids: Collection[str] | None = None,
    activity_type_ids: Collection[str] | None = None,
) -> RuleSet:
    """Build a rule set from JSON text, or raise `RuleSetError` listing every problem (R7).

    With `pipelines` (and `user_ids`, `department_ids`, `activity_type_ids`),
    unknown pipelines, stages, users, departments and activity types are
    problems too; the engine checks them again when it is built.
    """
    problems = _Problems()
    try:
        root = Reader(parse_document(source), "$")
    except DataFormatError as exc:
        raise RuleSetError([Problem(path=exc.path, message=exc.problem)]) from None
    problems.attempt(_header, root)
    description = problems.attempt(root.text, "description", "")
    fields = problems.attempt(_fields, root, problems) or {}
    hours = problems.attempt(lambda: _working_hours(root.object("working_hours")))
    unchecked: dict[str, frozenset[str]] = {}
    rules: list[tuple[str, Rule]] = []
    for r in _objects(root, "rules", problems):
        read_rule = _rule(r, problems)
        if read_rule is not None:
            rules.append((r.path, read_rule[0]))
            unchecked[r.path] = read_rule[1]
    triggers: list[tuple[str, Trigger]] = []
    for r in _objects(root, "triggers", problems):
        read_trigger = _trigger(r, problems)
        if read_trigger is not None:
            triggers.append((r.path, read_trigger[0]))
            unchecked[r.path] = read_trigger[1]
    by_id = None if pipelines is None else {p.id: p for p in pipelines}
    found = problems.found + collect_problems(
        rules,
        triggers,
        fields,
        by_id,
        user_ids,
        unchecked=unchecked,
        department_ids=department_ids,
        activity_type_ids=activity_type_ids,
    )
    if found or hours is None or description is None:  # no problem noted: no stand-in used
        raise RuleSetError(sorted(found, key=lambda p: _natural(p.path)))
    return RuleSet(
        rules=[rule for _, rule in rules],
        triggers=[trigger for _, trigger in triggers],
        fields=fields,
        working_hours=hours,
        description=description,
    )


def read_rule_set(
    path: str | os.PathLike[str],
    *,
    pipelines: Iterable[Pipeline] | None = None,
    user_ids: Collection[str] | None = None,
    department_ids: Collection[str] | None = None,
    activity_type_ids: Collection[str] | None = None,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> RuleSet:
    """Load a rule set from a JSON file, as `load_rule_set` does.

    Only a regular file of at most `max_bytes` bytes is read (256 MiB unless
    raised); anything else raises `InputFileError` naming the file.
    """
    source = read_input_file(path, max_bytes=max_bytes)
    return load_rule_set(
        source,
        pipelines=pipelines,
        user_ids=user_ids,
        department_ids=department_ids,
        activity_type_ids=activity_type_ids,
    )


def _objects(root: Reader, key: str, problems: _Problems) -> list[Reader]:
    """Each object of the array at `key`; anything else is noted as a problem and skipped."""
    values = problems.attempt(root.array, key, [])
    readers = []
    for index, value in enumerate(values or []):
        reader = problems.attempt(Reader, value, f"{root.at(key)}[{index}]")
        if reader is not None:
            readers.append(reader)
    return readers


def _natural(path: str) -> list[Any]:
    # ASCII digits only: "³" is a digit to str.isdigit, not to int() (a fuzzed key, issue 12)
    parts = re.split(r"([0-9]+)", path)
    return [int(part) if index % 2 else part for index, part in enumerate(parts)]


def _header(root: Reader) -> None:
    root.reject_unknown(
        {"format", "version", "description", "working_hours", "fields", "rules", "triggers"}
    )
    if root.text("format", REQUIRED) != RULES_FORMAT:
        root.fail("format", f"expected {RULES_FORMAT!r}")
    if root.whole("version", REQUIRED) != RULES_FORMAT_VERSION:
        root.fail("version", f"this library reads version {RULES_FORMAT_VERSION}")


def _fields(root: Reader, problems: _Problems) -> dict[str, FieldType]:
    r = root.object("fields")
    result: dict[str, FieldType] = {}
    for name in r.data:
        kind = problems.attempt(_choice, r, name, tuple(t.value for t in FieldType))
        if kind is not None:
            made = problems.attempt(build, r.path, _one_field, name=name, kind=kind)
            if made is not None:
                result[name] = made
    return result


def _one_field(*, name: str, kind: str) -> FieldType:
    RuleSet(fields={name: kind})  # the same checks as in Python
    return FieldType(kind)


def _working_hours(r: Reader) -> WorkingHours:
    r.reject_unknown({"start", "end"})
    defaults = WorkingHours()
    return build(
        r.path,
        WorkingHours,
        start=_wall(r, "start", defaults.start),
        end=_wall(r, "end", defaults.end),
    )


def _wall(r: Reader, key: str, default: time) -> time:
    text = r.text(key)
    if text is None:
        return default
    try:
        value = time.fromisoformat(text)
    except ValueError:
        r.fail(key, f"not a time of day (HH:MM): {text!r}")
    if value.tzinfo is not None:
        r.fail(key, "a time of day in the responsible's zone takes no UTC offset")
    return value


def _choice(r: Reader, key: str, choices: tuple[str, ...], default: Any = REQUIRED) -> Any:
    value = r.text(key, default)
    if value is not None and value not in choices:
        r.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
    return value


def _template(r: Reader, key: str, required: bool = True) -> Template:
    text = r.text(key, REQUIRED if required else "")
    try:
        return Template(source=text)
    except ValidationError as exc:
        raise DataFormatError(r.at(key), exc.problem) from None


_OMIT: Any = object()


def _read_keys(
    r: Reader, problems: _Problems, cls: type, readers: Mapping[str, Callable[[Reader], Any]]
) -> tuple[dict[str, Any], frozenset[str]]:
    """Each key read and checked with `cls`'s validator on its own (R7).

    One bad key hides no other problem: returns the values read (a reader's
    `_OMIT` leaves the key to its default) and the keys that failed, whose
    problems are noted.
    """
    fields = attrs.fields_dict(cls)
    values: dict[str, Any] = {}
    failed: set[str] = set()
    for key, read in readers.items():
        try:
            value = read(r)
            validator = fields[key].validator
            if value is not _OMIT and validator is not None:
                validator(None, fields[key], value)
        except DataFormatError as exc:
            problems.note(exc)
            failed.add(key)
        except ValidationError as exc:
            problems.found.append(Problem(path=r.at(exc.field), message=exc.problem))
            failed.add(key)
        else:
            if value is not _OMIT:
                values[key] = value
    return values, frozenset(failed)


#: Stand-ins for the required keys of a rule or trigger that could not be read. The
#: keys that failed are passed to `collect_problems` as unchecked: no stage, entity type
#: or repeated id is checked against a stand-in.
_HEAD_STAND_INS = {
    "id": "unreadable",
    "entity_type": "deal",
    "pipeline_id": "unreadable",
    "stage_id": "unreadable",
}


def _head(
    r: Reader, problems: _Problems, cls: type, readers: Mapping[str, Callable[[Reader], Any]]
) -> tuple[dict[str, Any], frozenset[str]]:
    head, failed = _read_keys(r, problems, cls, readers)
    for key in failed:
        if key in _HEAD_STAND_INS:
            head[key] = _HEAD_STAND_INS[key]
    return head, failed


_RULE_HEAD: dict[str, Callable[[Reader], Any]] = {
    "id": lambda r: r.text("id", REQUIRED),
    "name": lambda r: r.text("name", ""),
    "entity_type": lambda r: r.text("entity_type", REQUIRED),
    "pipeline_id": lambda r: r.text("pipeline_id", REQUIRED),
    "stage_id": lambda r: r.text("stage_id", REQUIRED),
}
_TRIGGER_HEAD: dict[str, Callable[[Reader], Any]] = {
    **_RULE_HEAD,
    "event": lambda r: _choice(r, "event", tuple(e.value for e in TriggerEvent), "task_status"),
    "status": lambda r: _choice(r, "status", tuple(s.value for s in TaskStatus), "completed"),
    "field": lambda r: r.text("field"),
    "change_stage_as": lambda r: r.text("change_stage_as"),
    "allow_backward": lambda r: r.flag("allow_backward", False),
}


def _rule(r: Reader, problems: _Problems) -> tuple[Rule, frozenset[str]] | None:
    """The rule, with stand-ins for unreadable parts, and its head keys that failed."""
    problems.attempt(
        r.reject_unknown,
        {"id", "name", "entity_type", "pipeline_id", "stage_id", "timing", "condition", "action"},
    )
    head, failed = _head(r, problems, Rule, _RULE_HEAD)
    timing = problems.attempt(lambda: _timing(r.object("timing"))) if r.has("timing") else Timing()
    condition = _condition(r.data.get("condition"), r.at("condition"), problems)
    action_reader = problems.attempt(r.object, "action") if r.has("action") else None
    action = None if action_reader is None else _action(action_reader, problems)
    if not r.has("action"):
        problems.found.append(Problem(path=r.at("action"), message="missing; expected an object"))
    # A part that could not be read is replaced by a harmless stand-in, so that the
    # rest of the rule is still checked (stages, fields, users); the stand-in rule is
    # only ever checked, never loaded, since a problem was noted.
    rule = problems.attempt(
        build,
        r.path,
        Rule,
        **head,
        timing=Timing() if timing is None else timing,
        condition=None if isinstance(condition, _Failed) else condition,
        action=NotifySupervisor(text="") if action is None else action,
    )
    return None if rule is None else (rule, failed)


def _trigger(r: Reader, problems: _Problems) -> tuple[Trigger, frozenset[str]] | None:
    """The trigger, with stand-ins for unreadable parts, and its head keys that failed."""
    problems.attempt(r.reject_unknown, {*_TRIGGER_HEAD, "filter"})
    head, failed = _head(r, problems, Trigger, _TRIGGER_HEAD)
    condition = _condition(r.data.get("filter"), r.at("filter"), problems)
    trigger = problems.attempt(
        build, r.path, Trigger, **head, filter=None if isinstance(condition, _Failed) else condition
    )
    return None if trigger is None else (trigger, failed)


def _delay(r: Reader) -> Delay:
    return build(
        r.path,
        Delay,
        after=r.whole("after", REQUIRED),
        unit=_choice(r, "unit", tuple(u.value for u in DelayUnit), "minutes"),
    )


def _timing(r: Reader) -> Timing:
    r.reject_unknown({"after", "unit", "working_time_only"})
    delay = _delay(r) if r.has("after") or r.has("unit") else None
    return build(r.path, Timing, delay=delay, working_time_only=r.flag("working_time_only", False))


class _Failed:
    """Marks a condition that could not be read (its problems are already noted)."""


_FAILED = _Failed()


def _condition(data: object, path: str, problems: _Problems) -> Condition | _Failed | None:
    """A condition, None when absent, or `_FAILED` after noting its problems."""
    if data is None:
        return None
    try:
        r = Reader(data, path)
    except DataFormatError as exc:
        problems.note(exc)
        return _FAILED
    for key, group in (("all", AllOf), ("any", AnyOf)):
        if key not in r.data:
            continue
        extra = sorted(k for k in r.data if k != key)
        if extra:
            problems.found.append(
                Problem(path=r.at(extra[0]), message=f"a group holds only {key!r}")
            )
            return _FAILED
        items = problems.attempt(r.array, key, REQUIRED)
        if items is None:
            return _FAILED
        if not items:
            problems.found.append(
                Problem(path=r.at(key), message="a group needs at least one condition")
            )
            return _FAILED
        parts: list[Condition | _Failed | None] = []
        for index, one in enumerate(items):
            where = f"{r.at(key)}[{index}]"
            if one is None:
                problems.found.append(Problem(path=where, message="expected a condition, got null"))
            parts.append(_condition(one, where, problems))
        if any(part is None or isinstance(part, _Failed) for part in parts):
            return _FAILED
        made = problems.attempt(build, r.path, group, conditions=parts)
        return _FAILED if made is None else made
    made = problems.attempt(_comparison, r)
    return _FAILED if made is None else made


def _comparison(r: Reader) -> Comparison:
    r.reject_unknown({"field", "op", "value"})
    return build(
        r.path,
        Comparison,
        field=r.text("field", REQUIRED),
        op=_choice(r, "op", tuple(o.value for o in Operator)),
        value=r.data.get("value"),
    )


def _deadline(r: Reader, key: str) -> Deadline | None:
    value = r.data.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        instant: datetime = r.instant(key)
        return instant
    inner = r.object(key)
    inner.reject_unknown({"after", "unit"})
    return _delay(inner)


def _action(r: Reader, problems: _Problems) -> Action | None:
    """The action, with stand-ins for unreadable keys so that its other references are
    still checked; None when its type or its pipeline or stages could not be read."""
    kind = problems.attempt(_choice, r, "type", tuple(_ACTION_TYPES))
    if kind is None:
        return None
    cls = _ACTION_TYPES[kind]
    readers = _ACTION_READERS[kind]
    problems.attempt(r.reject_unknown, {"type", *readers})
    values, failed = _read_keys(r, problems, cls, readers)
    fields = attrs.fields_dict(cls)
    for key in failed:  # a key with a default keeps it; a required text is left empty
        if fields[key].default is not attrs.NOTHING:
            continue
        if key not in _TEMPLATE_KEYS:
            return None
        values[key] = Template()
    return problems.attempt(build, r.path, cls, **values)


_TEMPLATE_KEYS = {"text", "title", "description", "subject"}


def _field_value(r: Reader) -> Any:
    """A set-field value: text, a number, true/false or null, and present (R9)."""
    if "value" not in r.data:
        r.fail("value", "missing; expected text, a number, true/false or null")
    value = r.data["value"]
    if value is not None and not isinstance(value, str | int | float | bool):
        r.fail("value", f"expected text, a number, true/false or null, got {value!r}")
    return value


_ACTION_READERS: dict[str, dict[str, Callable[[Reader], Any]]] = {
    "notify_supervisor": {
        "text": lambda r: _template(r, "text"),
        "recipients": lambda r: r.strings("recipients") if r.has("recipients") else _OMIT,
    },
    "add_history_entry": {
        "text": lambda r: _template(r, "text"),
        "author_id": lambda r: r.text("author_id"),
    },
    "create_task": {
        "title": lambda r: _template(r, "title"),
        "description": lambda r: _template(r, "description", required=False),
        "responsible_id": lambda r: r.text("responsible_id"),
        "deadline": lambda r: _deadline(r, "deadline"),
        "observer_ids": lambda r: r.strings("observer_ids"),
        "time_tracking": lambda r: r.flag("time_tracking", False),
    },
    "complete_tasks": {
        "pipeline_id": lambda r: r.text("pipeline_id", REQUIRED),
        "stage_ids": lambda r: r.strings("stage_ids"),
    },
    "notify_users": {
        "text": lambda r: _template(r, "text"),
        "recipients": lambda r: r.strings("recipients"),
    },
    "send_client_message": {
        "channel": lambda r: _choice(r, "channel", tuple(c.value for c in ClientChannel)),
        "text": lambda r: _template(r, "text"),
        "subject": lambda r: _template(r, "subject", required=False),
    },
    "change_responsible": {
        "user_id": lambda r: r.text("user_id"),
        "round_robin": lambda r: r.strings("round_robin"),
    },
    "set_field": {
        "field": lambda r: r.text("field", REQUIRED),
        "value": _field_value,
    },
    "move_to_stage": {
        "stage_id": lambda r: r.text("stage_id", REQUIRED),
        "allow_backward": lambda r: r.flag("allow_backward", False),
    },
    "schedule_activity": {
        "description": lambda r: _template(r, "description", required=False),
        "kind": lambda r: _choice(r, "kind", tuple(k.value for k in ActivityKind), None),
        "deadline": lambda r: _deadline(r, "deadline"),
        "responsible_id": lambda r: r.text("responsible_id"),
        "auto_complete": lambda r: r.flag("auto_complete", True),
        "type_id": lambda r: r.text("type_id"),
    },
}


# -- dumping -------------------------------------------------------------------


def _delay_dict(delay: Delay) -> dict[str, Any]:
    return {"after": delay.after, "unit": delay.unit.value}


def _deadline_dict(deadline: Deadline | None) -> Any:
    if deadline is None:
        return None
    if isinstance(deadline, Delay):
        return _delay_dict(deadline)
    return format_datetime(deadline)


def _condition_dict(condition: Condition) -> dict[str, Any]:
    if isinstance(condition, AllOf):
        return {"all": [_condition_dict(one) for one in condition.conditions]}
    if isinstance(condition, AnyOf):
        return {"any": [_condition_dict(one) for one in condition.conditions]}
    out: dict[str, Any] = {"field": condition.field, "op": condition.op.value}
    if condition.value is not None:
        value = condition.value
        out["value"] = list(value) if isinstance(value, tuple) else value
    return out


def _action_dict(action: Action) -> dict[str, Any]:
    out: dict[str, Any] = {"type": _TYPE_OF_ACTION[type(action)]}
    if isinstance(action, NotifySupervisor):
        out |= {"text": action.text.source, "recipients": list(action.recipients)}
    elif isinstance(action, AddHistoryEntry):
        out |= {"text": action.text.source, "author_id": action.author_id}
    elif isinstance(action, CreateTask):
        out |= {
            "title": action.title.source,
            "description": action.description.source,
            "responsible_id": action.responsible_id,
            "deadline": _deadline_dict(action.deadline),
            "observer_ids": list(action.observer_ids),
            "time_tracking": action.time_tracking,
        }
    elif isinstance(action, CompleteTasks):
        out |= {"pipeline_id": action.pipeline_id, "stage_ids": list(action.stage_ids)}
    elif isinstance(action, NotifyUsers):
        out |= {"text": action.text.source, "recipients": list(action.recipients)}
    elif isinstance(action, SendClientMessage):
        out |= {"channel": action.channel.value, "text": action.text.source}
        if action.subject.source:
            out["subject"] = action.subject.source
    elif isinstance(action, ChangeResponsible):
        out |= (
            {"user_id": action.user_id}
            if action.user_id is not None
            else {"round_robin": list(action.round_robin)}
        )
    elif isinstance(action, SetField):
        out |= {"field": action.field, "value": action.value}
    elif isinstance(action, MoveToStage):
        out |= {"stage_id": action.stage_id, "allow_backward": action.allow_backward}
    else:
        out |= {
            "description": action.description.source,
            "deadline": _deadline_dict(action.deadline),
            "responsible_id": action.responsible_id,
            "auto_complete": action.auto_complete,
        }
        if action.kind is not None:
            out["kind"] = action.kind.value
        if action.type_id is not None:
            out["type_id"] = action.type_id
    return out


def _rule_dict(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rule.id,
        "name": rule.name,
        "entity_type": rule.entity_type,
        "pipeline_id": rule.pipeline_id,
        "stage_id": rule.stage_id,
    }
    timing: dict[str, Any] = {}
    if rule.timing.delay is not None:
        timing |= _delay_dict(rule.timing.delay)
    if rule.timing.working_time_only:
        timing["working_time_only"] = True
    if timing:
        out["timing"] = timing
    if rule.condition is not None:
        out["condition"] = _condition_dict(rule.condition)
    out["action"] = _action_dict(rule.action)
    return out


def _trigger_dict(trigger: Trigger) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": trigger.id,
        "name": trigger.name,
        "entity_type": trigger.entity_type,
        "pipeline_id": trigger.pipeline_id,
        "stage_id": trigger.stage_id,
    }
    if trigger.event is TriggerEvent.TASK_STATUS:
        out["status"] = trigger.status.value
    else:  # R10: the kind of event; a task status means nothing to it
        out["event"] = trigger.event.value
    if trigger.field is not None:
        out["field"] = trigger.field
    out |= {"change_stage_as": trigger.change_stage_as, "allow_backward": trigger.allow_backward}
    if trigger.filter is not None:
        out["filter"] = _condition_dict(trigger.filter)
    return out


def rule_set_to_dict(rule_set: RuleSet) -> dict[str, Any]:
    """The JSON-ready document of a rule set."""
    return {
        "format": RULES_FORMAT,
        "version": RULES_FORMAT_VERSION,
        "description": rule_set.description,
        "working_hours": {
            "start": rule_set.working_hours.start.isoformat("minutes"),
            "end": rule_set.working_hours.end.isoformat("minutes"),
        },
        "fields": {name: kind.value for name, kind in rule_set.fields.items()},
        "rules": [_rule_dict(rule) for rule in rule_set.rules],
        "triggers": [_trigger_dict(trigger) for trigger in rule_set.triggers],
    }


def dump_rule_set(rule_set: RuleSet) -> str:
    """The rule set as JSON text (two-space indent, trailing newline); `load_rule_set` reads it
    back equal (R7)."""
    return json.dumps(rule_set_to_dict(rule_set), indent=2, ensure_ascii=False) + "\n"

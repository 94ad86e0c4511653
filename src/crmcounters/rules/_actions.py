"""What a rule does (R4): the "employee monitoring and control" actions, as plain data."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from .. import _validate as v
from .._activities import ActivityKind
from .._errors import ValidationError
from ._placeholders import Template
from ._timing import Delay

__all__ = [
    "RECIPIENT_RESPONSIBLE",
    "RECIPIENT_SUPERVISOR",
    "Action",
    "AddHistoryEntry",
    "CompleteTasks",
    "CreateTask",
    "Deadline",
    "NotifySupervisor",
    "ScheduleActivity",
]

#: Recipient: the supervisor of the item's responsible (SPEC section 1).
RECIPIENT_SUPERVISOR = "supervisor"
#: Recipient: the item's responsible.
RECIPIENT_RESPONSIBLE = "responsible"
_USER_PREFIX = "user:"

#: A deadline: an absolute instant, or a delay after the moment the rule runs.
Deadline = datetime | Delay


def _template(value: Template | str) -> Template:
    if isinstance(value, Template):
        return value
    if isinstance(value, str):
        return Template(source=value)
    raise ValidationError("text", f"expected text, got {type(value).__name__}")


def _recipient_list(values: Iterable[str]) -> tuple[str, ...]:
    return v.check_collection("recipients", values, "recipients")


def _observer_list(values: Iterable[str]) -> tuple[str, ...]:
    return v.check_collection("observer_ids", values, "user ids")


def _stage_list(values: Iterable[str]) -> tuple[str, ...]:
    return v.check_collection("stage_ids", values, "stage ids")


def _kind(value: ActivityKind | str) -> ActivityKind:
    return v.check_choice("kind", ActivityKind, value)


def _recipients(_instance: Any, _attribute: Any, values: tuple[str, ...]) -> None:
    if not values:
        raise ValidationError("recipients", "needs at least one recipient")
    for index, one in enumerate(values):
        if one in (RECIPIENT_SUPERVISOR, RECIPIENT_RESPONSIBLE):
            continue
        if isinstance(one, str) and one.startswith(_USER_PREFIX) and one[len(_USER_PREFIX) :]:
            continue
        raise ValidationError(
            f"recipients[{index}]",
            f"unknown recipient {one!r}; use 'supervisor', 'responsible' or 'user:<id>'",
        )


def _deadline(_instance: Any, _attribute: Any, value: object) -> None:
    if value is None or isinstance(value, Delay):
        return
    v.check_aware("deadline", value)


def recipient_user_id(recipient: str) -> str | None:
    """The user id of a ``user:<id>`` recipient, None for a role."""
    return recipient[len(_USER_PREFIX) :] if recipient.startswith(_USER_PREFIX) else None


@attrs.frozen(kw_only=True)
class NotifySupervisor:
    """Notify the supervisor of the item's responsible (R4); `recipients` may add or replace
    roles ('supervisor', 'responsible') and users ('user:<id>')."""

    text: Template = attrs.field(converter=_template)
    recipients: tuple[str, ...] = attrs.field(
        default=(RECIPIENT_SUPERVISOR,), converter=_recipient_list, validator=_recipients
    )


@attrs.frozen(kw_only=True)
class AddHistoryEntry:
    """Add a history entry of type "information" on behalf of `author_id` (default: the
    item's responsible) (R4)."""

    text: Template = attrs.field(converter=_template)
    author_id: str | None = attrs.field(default=None, validator=v.optional_id)


@attrs.frozen(kw_only=True)
class CreateTask:
    """Create a task linked to the item that remembers this rule and its stage (R4).

    `responsible_id` None means the item's responsible; `deadline` is absolute or
    relative to the moment the rule runs (business days allowed).
    """

    title: Template = attrs.field(converter=_template)
    description: Template = attrs.field(default=Template(), converter=_template)
    responsible_id: str | None = attrs.field(default=None, validator=v.optional_id)
    deadline: Deadline | None = attrs.field(default=None, validator=_deadline)
    observer_ids: tuple[str, ...] = attrs.field(
        default=(), converter=_observer_list, validator=v.ids
    )
    time_tracking: bool = attrs.field(default=False, validator=v.flag)


@attrs.frozen(kw_only=True)
class CompleteTasks:
    """Complete the item's open tasks that rules created in `pipeline_id` at `stage_ids` (R4)."""

    pipeline_id: str = attrs.field(validator=v.an_id)
    stage_ids: tuple[str, ...] = attrs.field(converter=_stage_list, validator=v.ids)

    def __attrs_post_init__(self) -> None:
        if not self.stage_ids:
            raise ValidationError("stage_ids", "choose at least one stage")


@attrs.frozen(kw_only=True)
class ScheduleActivity:
    """Schedule an activity for the item (R4); with `auto_complete` (the default) it is
    completed when the item leaves the stage."""

    description: Template = attrs.field(converter=_template)
    kind: ActivityKind = attrs.field(default=ActivityKind.TODO, converter=_kind)
    deadline: Deadline | None = attrs.field(default=None, validator=_deadline)
    responsible_id: str | None = attrs.field(default=None, validator=v.optional_id)
    auto_complete: bool = attrs.field(default=True, validator=v.flag)


#: Any rule action.
Action = NotifySupervisor | AddHistoryEntry | CreateTask | CompleteTasks | ScheduleActivity

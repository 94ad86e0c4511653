"""What a rule does, as plain data: the "employee monitoring and control" actions (R4),
informing employees (R8), client communication and item edits (R9)."""

from __future__ import annotations

import enum
import math
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
    "SETTABLE_FIELDS",
    "Action",
    "AddHistoryEntry",
    "ChangeResponsible",
    "ClientChannel",
    "CompleteTasks",
    "CreateTask",
    "Deadline",
    "MoveToStage",
    "NotifySupervisor",
    "NotifyUsers",
    "ScheduleActivity",
    "SendClientMessage",
    "SetField",
    "department_head_id",
]

#: Recipient: the supervisor of the item's responsible (SPEC section 1).
RECIPIENT_SUPERVISOR = "supervisor"
#: Recipient: the item's responsible.
RECIPIENT_RESPONSIBLE = "responsible"
_USER_PREFIX = "user:"
_HEAD_PREFIX = "head:"

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


def _round_robin_list(values: Iterable[str]) -> tuple[str, ...]:
    return v.check_collection("round_robin", values, "user ids")


def _kind(value: ActivityKind | str) -> ActivityKind:
    return v.check_choice("kind", ActivityKind, value)


def _optional_kind(value: ActivityKind | str | None) -> ActivityKind | None:
    return None if value is None else _kind(value)


def _recipients(_instance: Any, _attribute: Any, values: tuple[str, ...]) -> None:
    if not values:
        raise ValidationError("recipients", "needs at least one recipient")
    for index, one in enumerate(values):
        if one in (RECIPIENT_SUPERVISOR, RECIPIENT_RESPONSIBLE):
            continue
        if isinstance(one, str) and (recipient_user_id(one) or department_head_id(one)):
            continue
        raise ValidationError(
            f"recipients[{index}]",
            f"unknown recipient {one!r}; use 'supervisor', 'responsible', 'user:<id>' "
            "or 'head:<department id>'",
        )


def _deadline(_instance: Any, _attribute: Any, value: object) -> None:
    if value is None or isinstance(value, Delay):
        return
    v.check_aware("deadline", value)


def recipient_user_id(recipient: str) -> str | None:
    """The user id of a ``user:<id>`` recipient, None for a role."""
    found = recipient[len(_USER_PREFIX) :] if recipient.startswith(_USER_PREFIX) else None
    return found if found and found.strip() else None


def department_head_id(recipient: str) -> str | None:
    """The department id of a ``head:<department id>`` recipient (R8), None otherwise."""
    found = recipient[len(_HEAD_PREFIX) :] if recipient.startswith(_HEAD_PREFIX) else None
    return found if found and found.strip() else None


@attrs.frozen(kw_only=True)
class NotifySupervisor:
    """Notify the supervisor of the item's responsible (R4); `recipients` may add or replace
    roles ('supervisor', 'responsible'), users ('user:<id>') and department heads
    ('head:<department id>')."""

    text: Template = attrs.field(converter=_template)
    recipients: tuple[str, ...] = attrs.field(
        default=(RECIPIENT_SUPERVISOR,), converter=_recipient_list, validator=_recipients
    )


@attrs.frozen(kw_only=True)
class NotifyUsers:
    """Inform employees (R8): send `text` to each of `recipients`, once each.

    A recipient is a role ('responsible', 'supervisor' of the responsible), a
    named user ('user:<id>') or the head of a department ('head:<department
    id>'). When roles coincide (the responsible heads the department, say) the
    user gets one notification; deactivated users (`User.active` False) none.
    """

    text: Template = attrs.field(converter=_template)
    recipients: tuple[str, ...] = attrs.field(converter=_recipient_list, validator=_recipients)


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
    completed when the item leaves the stage.

    With `type_id` the activity is of that type (A1) and takes the type's defaults for
    what the action leaves out: its kind (`kind` None), its subject (an empty
    `description`), its reminder offsets, and its deadline rule (`deadline` None),
    counted from the moment the rule runs in the responsible's zone. Without a type,
    `kind` None is a to-do.
    """

    description: Template = attrs.field(default=Template(), converter=_template)
    kind: ActivityKind | None = attrs.field(default=None, converter=_optional_kind)
    deadline: Deadline | None = attrs.field(default=None, validator=_deadline)
    responsible_id: str | None = attrs.field(default=None, validator=v.optional_id)
    auto_complete: bool = attrs.field(default=True, validator=v.flag)
    type_id: str | None = attrs.field(default=None, validator=v.optional_id)

    def __attrs_post_init__(self) -> None:
        if not self.description.source and self.type_id is None:
            raise ValidationError(
                "description", "say what the activity is, or name its type_id (A1)"
            )


class ClientChannel(enum.StrEnum):
    """How a rule writes to the item's client (R9)."""

    EMAIL = "email"
    SMS = "sms"
    CHAT = "chat"


def _client_channel(value: ClientChannel | str) -> ClientChannel:
    return v.check_choice("channel", ClientChannel, value)


@attrs.frozen(kw_only=True)
class SendClientMessage:
    """Send the item's client an e-mail, SMS or chat message (R9).

    An effect the host delivers (through the outbox, P3): the engine renders
    `text` (and, for an e-mail, `subject`) and never talks to a gateway. An SMS
    longer than the host's declared limit (`RuleEngine(sms_max_length=...)`)
    is skipped with the rendered length, never cut.
    """

    channel: ClientChannel = attrs.field(converter=_client_channel)
    text: Template = attrs.field(converter=_template)
    subject: Template = attrs.field(default=Template(), converter=_template)

    def __attrs_post_init__(self) -> None:
        if self.subject.source and self.channel is not ClientChannel.EMAIL:
            raise ValidationError("subject", f"only an e-mail has a subject, not a {self.channel}")


@attrs.frozen(kw_only=True)
class ChangeResponsible:
    """Hand the item to `user_id`, or to one of `round_robin` (R9).

    Round-robin is deterministic and keeps no counter: each item goes to the
    active user of the list with the highest rendezvous hash of (item, user),
    so items spread evenly, the same item always lands on the same user, and
    deactivating one user moves only that user's share.
    """

    user_id: str | None = attrs.field(default=None, validator=v.optional_id)
    round_robin: tuple[str, ...] = attrs.field(
        default=(), converter=_round_robin_list, validator=v.ids
    )

    def __attrs_post_init__(self) -> None:
        if (self.user_id is None) == (not self.round_robin):
            raise ValidationError(
                "user_id", "give either user_id or a round_robin list of users, not both"
            )


#: The item fields `SetField` may write besides custom fields (``field:NAME``), with their types.
SETTABLE_FIELDS = ("title", "amount", "currency", "client")

_FieldValue = str | int | float | bool | None


def _field_value(_instance: Any, _attribute: Any, value: Any) -> None:
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float) and math.isfinite(value):
        return
    raise ValidationError("value", f"expected text, a number, true/false or null, got {value!r}")


@attrs.frozen(kw_only=True)
class SetField:
    """Set one field of the item (R9): a built-in one (title, amount, currency, client) or a
    custom one (``field:NAME``, declared in the rule set's "fields"). `value` must have the
    field's type, checked when the rule set is built; None clears a custom field or the
    amount."""

    field: str = attrs.field(validator=v.an_id)
    value: _FieldValue = attrs.field(validator=_field_value)


@attrs.frozen(kw_only=True)
class MoveToStage:
    """Move the item to another stage of the rule's pipeline (R9); forward only unless
    `allow_backward` (as R5), and never out of a final (won or lost) stage."""

    stage_id: str = attrs.field(validator=v.an_id)
    allow_backward: bool = attrs.field(default=False, validator=v.flag)


#: Any rule action.
Action = (
    NotifySupervisor
    | NotifyUsers
    | AddHistoryEntry
    | CreateTask
    | CompleteTasks
    | ScheduleActivity
    | SendClientMessage
    | ChangeResponsible
    | SetField
    | MoveToStage
)

"""What the engine returns (R6): effects for the host to apply, and jobs for it to keep."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import attrs

from .. import _validate as v
from .._activities import Activity
from .._errors import ValidationError
from .._events import HistoryEntryAdded, StageChanged
from .._items import FieldValue, Item
from .._tasks import Task, TaskStatus
from ._actions import ClientChannel

__all__ = [
    "AddHistoryEffect",
    "ChangeFieldEffect",
    "ChangeStageEffect",
    "ClientMessageEffect",
    "CompleteActivitiesEffect",
    "CompleteTasksEffect",
    "CreateActivityEffect",
    "CreateTaskEffect",
    "Effect",
    "Job",
    "NotifyEffect",
    "Outcome",
    "Skip",
    "TaskStatusChanged",
]


def _texts(values: Iterable[str]) -> tuple[str, ...]:
    return v.check_collection("chain", values, "ids")


def _to_status(value: TaskStatus | str) -> TaskStatus:
    return v.check_choice("to_status", TaskStatus, value)


def _from_status(value: TaskStatus | str | None) -> TaskStatus | None:
    return None if value is None else v.check_choice("from_status", TaskStatus, value)


@attrs.frozen(kw_only=True)
class TaskStatusChanged:
    """A task linked to an item reached `to_status` (the input of task status triggers, R5).

    Not a timeline event: the host tells the engine, after storing the task
    with its new status.
    """

    id: str = attrs.field(validator=v.an_id)
    task_id: str = attrs.field(validator=v.an_id)
    item_id: str = attrs.field(validator=v.an_id)
    at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    to_status: TaskStatus = attrs.field(converter=_to_status)
    from_status: TaskStatus | None = attrs.field(default=None, converter=_from_status)
    by_user_id: str | None = attrs.field(default=None, validator=v.optional_id)


@attrs.frozen(kw_only=True)
class Job:
    """A delayed rule waiting to run (R1): a plain value the host persists until `due_at`.

    `entry_id` is the id of the stage change that put the item in the stage;
    leaving the stage, or entering it anew, cancels the job. `depth` and
    `chain` are where the job stands in the cascade that scheduled it (P4):
    the step it was scheduled at and the events leading there, so that a
    chain restarting itself through delays stops at the depth limit (R6) as
    an immediate one does.
    """

    id: str
    rule_id: str
    item_id: str
    pipeline_id: str
    stage_id: str
    entry_id: str
    entered_at: datetime
    due_at: datetime
    depth: int = 0
    chain: tuple[str, ...] = attrs.field(default=(), converter=_texts)

    def __attrs_post_init__(self) -> None:
        # One quick pass instead of a validator per field: the engine makes many jobs (G2, G5).
        for name in _JOB_IDS:
            value = getattr(self, name)
            if type(value) is not str or not value.strip():
                v.check_id(name, value)
        # Instants in UTC, so jobs compare as instants (G4); frozen: set once, here.
        object.__setattr__(self, "entered_at", v.instant("entered_at", self.entered_at))
        object.__setattr__(self, "due_at", v.instant("due_at", self.due_at))
        if type(self.depth) is not int or self.depth < 0:
            raise ValidationError("depth", f"expected a whole number >= 0, got {self.depth!r}")
        if not all(type(step) is str for step in self.chain):
            raise ValidationError("chain", "expected a sequence of texts")


_JOB_IDS = ("id", "rule_id", "item_id", "pipeline_id", "stage_id", "entry_id")


@attrs.frozen(kw_only=True)
class NotifyEffect:
    """Send `text` to `recipient_ids`, each once (R4 "Notify supervisor", R8).

    `id` is stable: the same event or job and rule give the same id, so the
    host's delivery (through the outbox, P3) can drop a repeat.
    """

    id: str
    rule_id: str
    item_id: str
    at: datetime
    recipient_ids: tuple[str, ...]
    text: str
    depth: int = 0


@attrs.frozen(kw_only=True)
class AddHistoryEffect:
    """Store `entry` in the item's history (R4 "Add history entry")."""

    rule_id: str
    item_id: str
    entry: HistoryEntryAdded
    depth: int = 0


@attrs.frozen(kw_only=True)
class CreateTaskEffect:
    """Store the new `task`; it remembers the rule and stage that created it (R4)."""

    rule_id: str
    item_id: str
    task: Task
    depth: int = 0


@attrs.frozen(kw_only=True)
class CompleteTasksEffect:
    """Replace each task with its completed version in `tasks` (R4 "Complete task")."""

    rule_id: str
    item_id: str
    tasks: tuple[Task, ...]
    depth: int = 0


@attrs.frozen(kw_only=True)
class CreateActivityEffect:
    """Store the new `activity` (R4 "Schedule activity")."""

    rule_id: str
    item_id: str
    activity: Activity
    depth: int = 0


@attrs.frozen(kw_only=True)
class CompleteActivitiesEffect:
    """Replace each activity with its completed version: the item left `left_stage_id`, where
    rules had scheduled them with auto-complete on (R4)."""

    item_id: str
    left_stage_id: str | None
    activities: tuple[Activity, ...]
    depth: int = 0


@attrs.frozen(kw_only=True)
class ClientMessageEffect:
    """Send the item's client `text` (and `subject`, for an e-mail) by `channel` (R9).

    The host delivers it, through the outbox (P3, kinds "client_email",
    "client_sms", "client_chat"); `client` is the item's client as it stood
    when the rule ran, and `id` is stable for de-duplication.
    """

    id: str
    rule_id: str
    item_id: str
    at: datetime
    channel: ClientChannel
    client: str
    text: str
    subject: str = ""
    depth: int = 0


@attrs.frozen(kw_only=True)
class ChangeFieldEffect:
    """Replace the item with `item`, whose `field` a rule changed from `previous` to `value`
    (R9 "set field", and "change responsible" with field "responsible_id")."""

    rule_id: str
    item_id: str
    item: Item
    field: str
    value: FieldValue | Decimal
    previous: FieldValue | Decimal
    depth: int = 0


@attrs.frozen(kw_only=True)
class ChangeStageEffect:
    """Replace the item with `item` (now in its new stage) and store `event`: a trigger moved
    it (R5, R10), or a rule's "move to stage" (R9); `trigger_id` names which."""

    trigger_id: str
    item_id: str
    item: Item
    event: StageChanged
    depth: int = 0


#: Anything the engine asks the host to do.
Effect = (
    NotifyEffect
    | AddHistoryEffect
    | CreateTaskEffect
    | CompleteTasksEffect
    | CreateActivityEffect
    | CompleteActivitiesEffect
    | ChangeStageEffect
    | ClientMessageEffect
    | ChangeFieldEffect
)


@attrs.frozen(kw_only=True)
class Skip:
    """A rule or trigger that did not act, and why (X1: nothing fails silently).

    For a job whose cascade did not settle (R6), `chain` lists the events of
    the cascade that went too deep, oldest first, as `CascadeError.chain` does.
    """

    source_id: str
    item_id: str
    reason: str
    job_id: str | None = None
    chain: tuple[str, ...] = attrs.field(default=(), converter=_texts)


@attrs.frozen(kw_only=True)
class Outcome:
    """The engine's answer to one event or one `run_due` (R6).

    Apply `effects` in order; add `scheduled` to the pending jobs; drop
    `cancelled` (their item left the stage, R1) and `finished` (due jobs that
    ran or were skipped). Events the effects imply (stage changes, task
    completions) were already processed as a cascade: do not feed them back.
    """

    effects: tuple[Effect, ...] = ()
    scheduled: tuple[Job, ...] = ()
    cancelled: tuple[str, ...] = ()
    finished: tuple[str, ...] = ()
    skipped: tuple[Skip, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to apply and no job changes."""
        return not (self.effects or self.scheduled or self.cancelled or self.finished)

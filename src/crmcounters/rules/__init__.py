"""Automation rules and triggers (SPEC section 6): a pure rule engine.

A `RuleSet` (rules and triggers attached to stages, JSON round trip with
`load_rule_set`/`dump_rule_set`) is compiled into a `RuleEngine`. The engine
turns events (`StageChanged`, `TaskStatusChanged`, `IncomingMessage`,
`PaymentReceived`, `FieldChanged`) and the clock into an
`Outcome`: effects for the host to apply, and `Job` values for it to keep
until they are due (`PendingJobs` keeps them in memory; any `JobQueue` will do).
`outcome_records` and `outbox_entries` say what an outcome asks the host to
store. See docs/rules.md and docs/production.md.
"""

from __future__ import annotations

from .._public import show_public_paths
from ._actions import (
    RECIPIENT_RESPONSIBLE,
    RECIPIENT_SUPERVISOR,
    SETTABLE_FIELDS,
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
from ._apply import CLIENT_MESSAGE_KINDS, NOTIFY, outbox_entries, outcome_records
from ._conditions import (
    ITEM_FIELDS,
    TASK_FIELDS,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    FieldType,
    Operator,
)
from ._effects import (
    AddHistoryEffect,
    ChangeFieldEffect,
    ChangeStageEffect,
    ClientMessageEffect,
    CompleteActivitiesEffect,
    CompleteTasksEffect,
    CreateActivityEffect,
    CreateTaskEffect,
    Effect,
    Job,
    NotifyEffect,
    Outcome,
    Skip,
    TaskStatusChanged,
)
from ._engine import DEFAULT_MAX_DEPTH, MAX_PARENT_ID, RuleEngine, RuleEvent, derived_id
from ._format import (
    RULES_FORMAT,
    RULES_FORMAT_VERSION,
    dump_rule_set,
    load_rule_set,
    read_rule_set,
)
from ._jobs import (
    DEFAULT_LEASE,
    DEFAULT_MAX_ATTEMPTS,
    Claim,
    FailedJob,
    JobQueue,
    JobStore,
    PendingJobs,
)
from ._placeholders import PLACEHOLDERS, Template
from ._problems import CascadeError, Problem, RuleSetError
from ._ruleset import WATCHABLE_FIELDS, Rule, RuleSet, Trigger
from ._timing import Delay, DelayUnit, Timing, WorkingHours
from ._trigger_events import EVENT_FIELDS, FieldChanged, PaymentReceived, TriggerEvent

__all__ = [
    "CLIENT_MESSAGE_KINDS",
    "DEFAULT_LEASE",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_DEPTH",
    "EVENT_FIELDS",
    "ITEM_FIELDS",
    "MAX_PARENT_ID",
    "NOTIFY",
    "PLACEHOLDERS",
    "RECIPIENT_RESPONSIBLE",
    "RECIPIENT_SUPERVISOR",
    "RULES_FORMAT",
    "RULES_FORMAT_VERSION",
    "SETTABLE_FIELDS",
    "TASK_FIELDS",
    "WATCHABLE_FIELDS",
    "Action",
    "AddHistoryEffect",
    "AddHistoryEntry",
    "AllOf",
    "AnyOf",
    "CascadeError",
    "ChangeFieldEffect",
    "ChangeResponsible",
    "ChangeStageEffect",
    "Claim",
    "ClientChannel",
    "ClientMessageEffect",
    "Comparison",
    "CompleteActivitiesEffect",
    "CompleteTasks",
    "CompleteTasksEffect",
    "Condition",
    "CreateActivityEffect",
    "CreateTask",
    "CreateTaskEffect",
    "Deadline",
    "Delay",
    "DelayUnit",
    "Effect",
    "FailedJob",
    "FieldChanged",
    "FieldType",
    "Job",
    "JobQueue",
    "JobStore",
    "MoveToStage",
    "NotifyEffect",
    "NotifySupervisor",
    "NotifyUsers",
    "Operator",
    "Outcome",
    "PaymentReceived",
    "PendingJobs",
    "Problem",
    "Rule",
    "RuleEngine",
    "RuleEvent",
    "RuleSet",
    "RuleSetError",
    "ScheduleActivity",
    "SendClientMessage",
    "SetField",
    "Skip",
    "TaskStatusChanged",
    "Template",
    "Timing",
    "Trigger",
    "TriggerEvent",
    "WorkingHours",
    "derived_id",
    "dump_rule_set",
    "load_rule_set",
    "outbox_entries",
    "outcome_records",
    "read_rule_set",
]

show_public_paths(__name__, globals(), __all__)

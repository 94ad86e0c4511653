"""Automation rules and triggers (SPEC section 6): a pure rule engine.

A `RuleSet` (rules and triggers attached to stages, JSON round trip with
`load_rule_set`/`dump_rule_set`) is compiled into a `RuleEngine`. The engine
turns events (`StageChanged`, `TaskStatusChanged`) and the clock into an
`Outcome`: effects for the host to apply, and `Job` values for it to keep
until they are due (`PendingJobs` keeps them in memory). See docs/rules.md.
"""

from __future__ import annotations

from .._public import show_public_paths
from ._actions import (
    RECIPIENT_RESPONSIBLE,
    RECIPIENT_SUPERVISOR,
    Action,
    AddHistoryEntry,
    CompleteTasks,
    CreateTask,
    Deadline,
    NotifySupervisor,
    ScheduleActivity,
)
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
    ChangeStageEffect,
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
from ._engine import DEFAULT_MAX_DEPTH, RuleEngine, RuleEvent
from ._format import RULES_FORMAT, RULES_FORMAT_VERSION, dump_rule_set, load_rule_set
from ._jobs import JobStore, PendingJobs
from ._placeholders import PLACEHOLDERS, Template
from ._problems import CascadeError, Problem, RuleSetError
from ._ruleset import Rule, RuleSet, Trigger
from ._timing import Delay, DelayUnit, Timing, WorkingHours

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "ITEM_FIELDS",
    "PLACEHOLDERS",
    "RECIPIENT_RESPONSIBLE",
    "RECIPIENT_SUPERVISOR",
    "RULES_FORMAT",
    "RULES_FORMAT_VERSION",
    "TASK_FIELDS",
    "Action",
    "AddHistoryEffect",
    "AddHistoryEntry",
    "AllOf",
    "AnyOf",
    "CascadeError",
    "ChangeStageEffect",
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
    "FieldType",
    "Job",
    "JobStore",
    "NotifyEffect",
    "NotifySupervisor",
    "Operator",
    "Outcome",
    "PendingJobs",
    "Problem",
    "Rule",
    "RuleEngine",
    "RuleEvent",
    "RuleSet",
    "RuleSetError",
    "ScheduleActivity",
    "Skip",
    "TaskStatusChanged",
    "Template",
    "Timing",
    "Trigger",
    "WorkingHours",
    "dump_rule_set",
    "load_rule_set",
]

show_public_paths(__name__, globals(), __all__)

"""crmcounters: the engine of a proactive CRM.

Counters, the Activities view, focus mode, smart activities and automation
rules as pure functions of (data, now). See docs/index.md.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from ._access import AccessLevel, AccessPolicy, SectionAccess
from ._activities import Activity, ActivityKind, Direction
from ._activity_types import ActivityDraft, ActivityType, DeadlineRule, DeadlineUnit  # A1
from ._badges import Badge, BadgeColour, item_badge
from ._calendar import DEFAULT_HOLIDAY_YEARS, BusinessCalendar
from ._cap import is_at_cap, open_activity_count, over_cap
from ._clock import Clock, SystemClock
from ._completion import complete_activity, completion_write, next_occurrence  # I2, A1, A2
from ._counter_index import CounterIndex
from ._counters import CounterResult, CounterSum, counter_steps, counters_of, summed_counters
from ._errors import (
    AccessDeniedError,
    CrmCountersError,
    DanglingReferenceError,
    DataFormatError,
    DuplicateIdError,
    InputFileError,
    IntegrityError,
    NaiveDatetimeError,
    StorageBusyError,
    UnknownIdError,
    ValidationError,
)
from ._events import (
    HISTORY_INFORMATION,
    CommentAdded,
    HistoryEntryAdded,
    IncomingChannel,
    IncomingMessage,
    ItemViewed,
    StageChanged,
    TimelineEvent,
)
from ._explain import Explanation, Reason, explain
from ._history import HistoryQuery, history_entries  # issue 17: portal-wide history
from ._incoming import (  # I1, I2
    CHANNEL_KINDS,
    Write,
    incoming_write,
    mark_processed,
    processed_write,
    record_incoming,
    record_reply,
    reply_write,
)
from ._items import FieldValue, Item
from ._limits import DEFAULT_MAX_FILE_BYTES
from ._memory import InMemoryStorage, Record
from ._outbox import InMemoryOutbox, Outbox, OutboxEntry, ReminderMark
from ._pipelines import ENTITY_TYPES, ENTITY_TYPES_WITHOUT_PIPELINE, Pipeline, Stage, StageSemantics
from ._portal import (
    FORMAT,
    FORMAT_VERSION,
    Portal,
    dump_portal,
    load_portal,
    read_portal,
    write_portal,
)
from ._public import show_public_paths
from ._records import BatchedRecordStorage, ItemRecords  # issue 15: O(page) Kanban pages
from ._recurrence import (  # A2
    MAX_OCCURRENCES,
    Recurrence,
    activity_occurrences,
    occurrences,
    occurrences_after,
    parse_recurrence,
)
from ._reminder_index import ReminderIndex  # N1 (issue 16b)
from ._reminders import Reminder, ReminderSource, reminder_feed, reminders_of  # N1 (issue 16b)
from ._sample import sample_portal, sample_rules
from ._settings import CalendarSettings, CounterMode, PlannedRule, Settings
from ._smart import (
    NoSuggestion,
    NoSuggestionReason,
    SmartActivityDraft,
    SmartSuggestion,
    smart_activity_deadline,
    smart_activity_opt_out,
    suggest_smart_activity,
)
from ._smart_settings import (
    SMART_ACTIVITY_ENTITY_TYPES,
    OptOutPeriod,
    SmartActivityOptOut,
    SmartActivitySettings,
    opt_out_until,
)
from ._smart_text import SMART_ACTIVITY_TEXTS, smart_activity_text
from ._storage import PortalStorage, Storage, WritableStorage
from ._tasks import Task, TaskStatus
from ._type_defaults import activity_from_type, proposed_next, type_deadline  # A1
from ._users import Department, User
from ._view import ActivitiesView, Column, Placement, activities_view, place_item
from .focus import (
    FocusColumn,
    FocusExplanation,
    FocusOrder,
    FocusPage,
    FocusReason,
    FocusSource,
    FocusTimeline,
    KanbanBoard,
    KanbanCard,
    KanbanColumn,
    PagedFocusStorage,
    explain_focus,
    focus_sources,
    focus_time,
    focus_timeline,
    focus_timelines,
    is_unread,
    kanban_board,
    next_focus_change,
    next_unread_change,
    order_by_focus,
    rank_by_focus,
    reminder_offsets,
    reschedule,
    sources_of,
    timeline_of,
    unread_activities,
    unread_activities_of,
    unread_messages,
    unread_messages_of,
)

if TYPE_CHECKING:  # loaded on first use: see _LAZY below
    from ._host import RuleHost, RunReport, apply_outcome, reminder_entry
    from ._worker import Worker
    from .rules import (
        CascadeError,
        FieldChanged,  # issue 17: events a host feeds (R10)
        Job,
        Outcome,
        PaymentReceived,
        PendingJobs,
        Rule,
        RuleEngine,
        RuleSet,
        RuleSetError,
        TaskStatusChanged,
        Trigger,
        dump_rule_set,
        load_rule_set,
    )

__version__ = "0.2.0"

__all__ = [
    "CHANNEL_KINDS",
    "DEFAULT_HOLIDAY_YEARS",
    "DEFAULT_MAX_FILE_BYTES",
    "ENTITY_TYPES",
    "ENTITY_TYPES_WITHOUT_PIPELINE",
    "FORMAT",
    "FORMAT_VERSION",
    "HISTORY_INFORMATION",
    "MAX_OCCURRENCES",
    "SMART_ACTIVITY_ENTITY_TYPES",
    "SMART_ACTIVITY_TEXTS",
    "AccessDeniedError",
    "AccessLevel",
    "AccessPolicy",
    "ActivitiesView",
    "Activity",
    "ActivityDraft",
    "ActivityKind",
    "ActivityType",
    "Badge",
    "BadgeColour",
    "BatchedRecordStorage",
    "BusinessCalendar",
    "CalendarSettings",
    "CascadeError",
    "Clock",
    "Column",
    "CommentAdded",
    "CounterIndex",
    "CounterMode",
    "CounterResult",
    "CounterSum",
    "CrmCountersError",
    "DanglingReferenceError",
    "DataFormatError",
    "DeadlineRule",
    "DeadlineUnit",
    "Department",
    "Direction",
    "DuplicateIdError",
    "Explanation",
    "FieldChanged",
    "FieldValue",
    "FocusColumn",
    "FocusExplanation",
    "FocusOrder",
    "FocusPage",
    "FocusReason",
    "FocusSource",
    "FocusTimeline",
    "HistoryEntryAdded",
    "HistoryQuery",
    "InMemoryOutbox",
    "InMemoryStorage",
    "IncomingChannel",
    "IncomingMessage",
    "InputFileError",
    "IntegrityError",
    "Item",
    "ItemRecords",
    "ItemViewed",
    "Job",
    "KanbanBoard",
    "KanbanCard",
    "KanbanColumn",
    "NaiveDatetimeError",
    "NoSuggestion",
    "NoSuggestionReason",
    "OptOutPeriod",
    "Outbox",
    "OutboxEntry",
    "Outcome",
    "PagedFocusStorage",
    "PaymentReceived",
    "PendingJobs",
    "Pipeline",
    "Placement",
    "PlannedRule",
    "Portal",
    "PortalStorage",
    "Reason",
    "Record",
    "Recurrence",
    "Reminder",
    "ReminderIndex",
    "ReminderMark",
    "ReminderSource",
    "Rule",
    "RuleEngine",
    "RuleHost",
    "RuleSet",
    "RuleSetError",
    "RunReport",
    "SectionAccess",
    "Settings",
    "SmartActivityDraft",
    "SmartActivityOptOut",
    "SmartActivitySettings",
    "SmartSuggestion",
    "Stage",
    "StageChanged",
    "StageSemantics",
    "Storage",
    "StorageBusyError",
    "SystemClock",
    "Task",
    "TaskStatus",
    "TaskStatusChanged",
    "TimelineEvent",
    "Trigger",
    "UnknownIdError",
    "User",
    "ValidationError",
    "Worker",
    "WritableStorage",
    "Write",
    "activities_view",
    "activity_from_type",
    "activity_occurrences",
    "apply_outcome",
    "complete_activity",
    "completion_write",
    "counter_steps",
    "counters_of",
    "dump_portal",
    "dump_rule_set",
    "explain",
    "explain_focus",
    "focus_sources",
    "focus_time",
    "focus_timeline",
    "focus_timelines",
    "history_entries",
    "incoming_write",
    "is_at_cap",
    "is_unread",
    "item_badge",
    "kanban_board",
    "load_portal",
    "load_rule_set",
    "mark_processed",
    "next_focus_change",
    "next_occurrence",
    "next_unread_change",
    "occurrences",
    "occurrences_after",
    "open_activity_count",
    "opt_out_until",
    "order_by_focus",
    "over_cap",
    "parse_recurrence",
    "place_item",
    "processed_write",
    "proposed_next",
    "rank_by_focus",
    "read_portal",
    "record_incoming",
    "record_reply",
    "reminder_entry",
    "reminder_feed",
    "reminder_offsets",
    "reminders_of",
    "reply_write",
    "reschedule",
    "sample_portal",
    "sample_rules",
    "smart_activity_deadline",
    "smart_activity_opt_out",
    "smart_activity_text",
    "sources_of",
    "suggest_smart_activity",
    "summed_counters",
    "timeline_of",
    "type_deadline",
    "unread_activities",
    "unread_activities_of",
    "unread_messages",
    "unread_messages_of",
    "write_portal",
]

# The rule engine and what runs it are imported on first use (PEP 562): importing them
# costs about a third of `import crmcounters`, which counters and views never need (issue 15).
_LAZY = {
    **dict.fromkeys(("RuleHost", "RunReport", "apply_outcome", "reminder_entry"), "._host"),
    "Worker": "._worker",
    **dict.fromkeys(
        (
            "CascadeError",
            "FieldChanged",
            "Job",
            "Outcome",
            "PaymentReceived",
            "PendingJobs",
            "Rule",
            "RuleEngine",
            "RuleSet",
            "RuleSetError",
            "TaskStatusChanged",
            "Trigger",
            "dump_rule_set",
            "load_rule_set",
        ),
        ".rules",
    ),
}


def __getattr__(name: str) -> object:
    """A lazily exported name (`_LAZY`), imported and kept the first time it is asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value: object = getattr(importlib.import_module(module, __name__), name)
    show_public_paths(__name__, {name: value}, (name,))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Every name of the module, lazily exported ones included."""
    return sorted({*globals(), *__all__})


show_public_paths(__name__, globals(), [name for name in __all__ if name not in _LAZY])

# Silent unless the host configures logging (the CLI's -v does): loads, rule runs, refused
# writes go to the "crmcounters" logger.
logging.getLogger(__name__).addHandler(logging.NullHandler())

"""crmcounters: the engine of a proactive CRM.

Counters, the Activities view, focus mode, smart activities and automation
rules as pure functions of (data, now). See docs/index.md.
"""

from __future__ import annotations

from ._activities import Activity, ActivityKind, Direction
from ._calendar import DEFAULT_HOLIDAY_YEARS, BusinessCalendar
from ._cap import is_at_cap, open_activity_count
from ._clock import Clock, SystemClock
from ._errors import (
    AccessDeniedError,
    CrmCountersError,
    DanglingReferenceError,
    DataFormatError,
    DuplicateIdError,
    IntegrityError,
    NaiveDatetimeError,
    UnknownIdError,
    ValidationError,
)
from ._events import (
    CommentAdded,
    IncomingChannel,
    IncomingMessage,
    ItemViewed,
    StageChanged,
    TimelineEvent,
)
from ._items import FieldValue, Item
from ._memory import InMemoryStorage, Record
from ._pipelines import ENTITY_TYPES, Pipeline, Stage, StageSemantics
from ._portal import (
    FORMAT,
    FORMAT_VERSION,
    Portal,
    dump_portal,
    load_portal,
    read_portal,
    write_portal,
)
from ._settings import CalendarSettings, CounterMode, Settings
from ._storage import Storage
from ._tasks import Task, TaskStatus
from ._users import Department, User

__version__ = "0.1.0.dev0"

__all__ = [
    "DEFAULT_HOLIDAY_YEARS",
    "ENTITY_TYPES",
    "FORMAT",
    "FORMAT_VERSION",
    "AccessDeniedError",
    "Activity",
    "ActivityKind",
    "BusinessCalendar",
    "CalendarSettings",
    "Clock",
    "CommentAdded",
    "CounterMode",
    "CrmCountersError",
    "DanglingReferenceError",
    "DataFormatError",
    "Department",
    "Direction",
    "DuplicateIdError",
    "FieldValue",
    "InMemoryStorage",
    "IncomingChannel",
    "IncomingMessage",
    "IntegrityError",
    "Item",
    "ItemViewed",
    "NaiveDatetimeError",
    "Pipeline",
    "Portal",
    "Record",
    "Settings",
    "Stage",
    "StageChanged",
    "StageSemantics",
    "Storage",
    "SystemClock",
    "Task",
    "TaskStatus",
    "TimelineEvent",
    "UnknownIdError",
    "User",
    "ValidationError",
    "dump_portal",
    "is_at_cap",
    "load_portal",
    "open_activity_count",
    "read_portal",
    "write_portal",
]

# Show public classes as crmcounters.X in reprs and docs, not crmcounters._module.X.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("crmcounters._"):
        _obj.__module__ = __name__
del _name, _obj

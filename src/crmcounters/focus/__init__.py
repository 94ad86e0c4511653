"""Focus mode (SPEC section 4): the ordering that floats items needing attention.

An item's *focus time* (F2) is the latest of its creation, incoming client
messages, comments by colleagues and activity reminder instants that is not in
the future; columns sort by it, newest first (F1), and report when they would
reorder by themselves (F5). Unread (F3), the Kanban board (F4) and
`explain_focus` (X1) build on it. See docs/focus.md.
"""

from __future__ import annotations

from .._public import show_public_paths
from ._explain import FocusExplanation, explain_focus
from ._kanban import KanbanBoard, KanbanCard, KanbanColumn, kanban_board
from ._order import FocusColumn, FocusOrder, next_focus_change, order_by_focus, rank_by_focus
from ._pages import FocusPage, PagedFocusStorage
from ._reschedule import reschedule
from ._sources import FocusReason, FocusSource, focus_sources, reminder_offsets, sources_of
from ._timeline import FocusTimeline, focus_time, focus_timeline, focus_timelines, timeline_of
from ._unread import (
    is_unread,
    next_unread_change,
    unread_activities,
    unread_activities_of,
    unread_messages,
    unread_messages_of,
)

__all__ = [
    "FocusColumn",
    "FocusExplanation",
    "FocusOrder",
    "FocusPage",
    "FocusReason",
    "FocusSource",
    "FocusTimeline",
    "KanbanBoard",
    "KanbanCard",
    "KanbanColumn",
    "PagedFocusStorage",
    "explain_focus",
    "focus_sources",
    "focus_time",
    "focus_timeline",
    "focus_timelines",
    "is_unread",
    "kanban_board",
    "next_focus_change",
    "next_unread_change",
    "order_by_focus",
    "rank_by_focus",
    "reminder_offsets",
    "reschedule",
    "sources_of",
    "timeline_of",
    "unread_activities",
    "unread_activities_of",
    "unread_messages",
    "unread_messages_of",
]

show_public_paths(__name__, globals(), __all__)

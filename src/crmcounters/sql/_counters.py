"""Counter queries pushed down to SQL: Incoming, Planned (C2-C5) and the Activities view (V1).

Each function answers with one statement over `crm_activity_items`, whose rows
carry the item's responsible, the open and incoming flags, the deadline and the
lit time (C4, stored per activity) of every binding: the database counts, and
only numbers come back.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs

from .._calendar import at_local_time
from .._settings import CounterMode
from ._rows import instant_us

__all__ = [
    "VIEW_COLUMNS",
    "CounterTotals",
    "counter_sql",
    "department_sql",
    "view_boundaries",
    "view_sql",
]

#: The Activities view's columns (V1), as `SqlStorage.view_columns` names them.
VIEW_COLUMNS = ("overdue", "today", "this_week", "next_week", "later", "no_activities")


@attrs.frozen(kw_only=True)
class CounterTotals:
    """Incoming and Planned (C3, C4), each with the number of distinct items beside it (C5)."""

    incoming: int = 0
    planned: int = 0
    incoming_items: int = 0
    planned_items: int = 0


_LIT = "incoming = 0 AND lit_at_us <= ?"


def _owner(mode: CounterMode) -> str:
    """The binding column naming whose counters a binding feeds (C2)."""
    if mode is CounterMode.ACTIVITY_RESPONSIBLE:
        return "activity_responsible_id"
    return "item_responsible_id"


def _aggregates() -> list[str]:
    """Incoming, Planned and their distinct items; each needs `now` once where it says lit.

    One binding row per (activity, item): an activity bound to two items counts
    once per item (C2), in either counter mode.
    """
    return [
        "COALESCE(SUM(incoming), 0)",
        f"COALESCE(SUM(CASE WHEN {_LIT} THEN 1 ELSE 0 END), 0)",
        "COUNT(DISTINCT CASE WHEN incoming = 1 THEN item_id END)",
        f"COUNT(DISTINCT CASE WHEN {_LIT} THEN item_id END)",
    ]


def counter_sql(mode: CounterMode) -> str:
    """One user's counters; parameters: now (twice), user id."""
    return (
        f"SELECT {', '.join(_aggregates())} FROM crm_activity_items "
        f"WHERE {_owner(mode)} = ? AND is_open = 1"
    )


def department_sql(mode: CounterMode, include_subdepartments: bool) -> str:
    """The summed counters of a department's members; parameters: department id, now (twice)."""
    owner = _owner(mode)
    tree = "SELECT id FROM crm_departments WHERE id = ?"
    if include_subdepartments:
        tree += " UNION SELECT d.id FROM crm_departments d JOIN tree t ON d.parent_id = t.id"
    per_user = ", ".join(f"{expression} AS c{n}" for n, expression in enumerate(_aggregates()))
    return (
        f"WITH RECURSIVE tree(id) AS ({tree}) "
        "SELECT COALESCE(SUM(c0), 0), COALESCE(SUM(c1), 0), "
        "COALESCE(SUM(c2), 0), COALESCE(SUM(c3), 0) "
        f"FROM (SELECT {per_user} FROM crm_activity_items WHERE is_open = 1 AND {owner} IN "
        "(SELECT u.id FROM crm_users u JOIN tree ON u.department_id = tree.id) "
        f"GROUP BY {owner}) per_user"
    )


#: The column of each of a user's items (V1); parameters: four boundaries, user id.
view_sql = (
    "SELECT i.id, CASE "
    "WHEN COUNT(b.activity_id) = 0 THEN 'no_activities' "
    "WHEN MAX(b.incoming) = 1 THEN 'today' "
    "WHEN MIN(b.deadline_us) IS NULL THEN 'later' "
    "WHEN MIN(b.deadline_us) < ? THEN 'overdue' "
    "WHEN MIN(b.deadline_us) < ? THEN 'today' "
    "WHEN MIN(b.deadline_us) < ? THEN 'this_week' "
    "WHEN MIN(b.deadline_us) < ? THEN 'next_week' "
    "ELSE 'later' END "
    "FROM crm_items i LEFT JOIN crm_activity_items b ON b.item_id = i.id AND b.is_open = 1 "
    "WHERE i.responsible_id = ? GROUP BY i.id"
)


def view_boundaries(now: datetime, zone: ZoneInfo, week_start: int) -> tuple[int, int, int, int]:
    """Starts of today, tomorrow, next week and the week after, in `zone` (V1, G4), as epoch µs.

    Local midnights are found through `at_local_time`, so a day is 23 or 25
    hours long across DST and a midnight that does not exist moves forward.
    """
    today = now.astimezone(zone).date()
    this_week = today - timedelta(days=(today.weekday() - week_start) % 7)
    days: tuple[date, ...] = (
        today,
        today + timedelta(days=1),
        this_week + timedelta(days=7),
        this_week + timedelta(days=14),
    )
    first, second, third, fourth = (instant_us(at_local_time(d, time(0), zone)) for d in days)
    return first, second, third, fourth

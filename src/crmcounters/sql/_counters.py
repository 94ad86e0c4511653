"""Counter queries pushed down to SQL: Incoming, Planned (C2-C5) and the Activities view (V1).

Each function answers with one statement over `crm_activity_items`, whose rows
carry the item's responsible, the open and incoming flags, the deadline and the
lit time (C4, stored per activity) of every binding: the database counts, and
only numbers come back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from .._calendar import day_start, week_start_of
from .._cap import over_cap
from .._counters import CounterResult, CounterSum
from .._settings import CounterMode
from ._rows import instant_us, utc_from_us

__all__ = [
    "VIEW_COLUMNS",
    "CounterTotals",
    "counter_sql",
    "department_sql",
    "now_params",
    "totals_of",
    "view_boundaries",
    "view_sql",
]

#: The Activities view's columns (V1), as `SqlStorage.view_columns` names them.
VIEW_COLUMNS = ("overdue", "today", "this_week", "next_week", "later", "no_activities")


@attrs.frozen(kw_only=True)
class CounterTotals:
    """Incoming and Planned (C3, C4), the distinct items behind them (C5), and when they change.

    `incoming_items` and `planned_items` count the distinct items behind each
    counter, `items` those behind either. `valid_until` is the next instant an
    activity lights (C9), or None. `open_activities` is the open-activity count
    the cap is checked against (C8), summed over the users counted here,
    blocked or not. A user above the cap is blocked: they add nothing to the
    other numbers and are listed, sorted, in `blocked_user_ids` (as
    `CounterSum` does).
    """

    incoming: int = 0
    planned: int = 0
    incoming_items: int = 0
    planned_items: int = 0
    items: int = 0
    open_activities: int = 0
    valid_until: datetime | None = None
    blocked_user_ids: tuple[str, ...] = ()

    @property
    def blocked(self) -> bool:
        """True when some user counted here is above the cap (C8)."""
        return bool(self.blocked_user_ids)

    @classmethod
    def of(cls, result: CounterResult | CounterSum) -> CounterTotals:
        """The in-memory calculator's answer in this shape, to compare the two."""
        if isinstance(result, CounterSum):
            blocked = tuple(sorted(result.blocked_user_ids))
            open_activities = sum(part.open_activities for part in result.parts)
        else:
            blocked = (result.user_id,) if result.blocked else ()
            open_activities = result.open_activities
        return cls(
            incoming=result.incoming or 0,
            planned=result.planned or 0,
            incoming_items=result.incoming_items or 0,
            planned_items=result.planned_items or 0,
            items=result.items or 0,
            open_activities=open_activities,
            valid_until=result.valid_until,
            blocked_user_ids=blocked,
        )


def _owner(mode: CounterMode) -> str:
    """The binding column naming whose counters a binding feeds (C2)."""
    if mode is CounterMode.ACTIVITY_RESPONSIBLE:
        return "activity_responsible_id"
    return "item_responsible_id"


_LIT = "incoming = 0 AND lit_at_us <= ?"

#: How many times the aggregates ask for `now` (each `?` below, in order).
_NOW_MARKS = 4


def now_params(at_us: int) -> tuple[int, ...]:
    """The query parameters that stand for `now` in the aggregates, in order."""
    return (at_us,) * _NOW_MARKS


def _aggregates(mode: CounterMode) -> list[str]:
    """Incoming, Planned, their distinct items, the open activities (C8), the next lit time (C9).

    One binding row per (activity, item): an activity bound to two items counts
    once per item (C2), in either counter mode. The cap counts what
    `open_activity_count` counts: each open activity once, however many of the
    user's items it is bound to (C8). Lit means a stored lit time at or before `now`;
    the next lit time is the earliest after it.
    """
    return [
        "COALESCE(SUM(incoming), 0)",
        f"COALESCE(SUM(CASE WHEN {_LIT} THEN 1 ELSE 0 END), 0)",
        "COUNT(DISTINCT CASE WHEN incoming = 1 THEN item_id END)",
        f"COUNT(DISTINCT CASE WHEN {_LIT} THEN item_id END)",
        f"COUNT(DISTINCT CASE WHEN incoming = 1 OR ({_LIT}) THEN item_id END)",
        "COUNT(DISTINCT activity_id)",  # an open activity counts once toward the cap (C8)
        "MIN(CASE WHEN incoming = 0 AND lit_at_us > ? THEN lit_at_us END)",
    ]


def counter_sql(mode: CounterMode) -> str:
    """One user's counters; parameters: `now_params(now)`, then the user id."""
    owner = _owner(mode)
    return (
        f"SELECT {owner}, {', '.join(_aggregates(mode))} FROM crm_activity_items "
        f"WHERE {owner} = ? AND is_open = 1 GROUP BY {owner}"
    )


def department_sql(mode: CounterMode, include_subdepartments: bool) -> str:
    """Each member's counters; parameters: the department id, then `now_params(now)`."""
    owner = _owner(mode)
    tree = "SELECT id FROM crm_departments WHERE id = ?"
    if include_subdepartments:
        tree += " UNION SELECT d.id FROM crm_departments d JOIN tree t ON d.parent_id = t.id"
    return (
        f"WITH RECURSIVE tree(id) AS ({tree}) "
        f"SELECT {owner}, {', '.join(_aggregates(mode))} "
        f"FROM crm_activity_items WHERE is_open = 1 AND {owner} IN "
        "(SELECT u.id FROM crm_users u JOIN tree ON u.department_id = tree.id) "
        f"GROUP BY {owner}"
    )


def totals_of(rows: Iterable[Sequence[Any]], cap: int) -> CounterTotals:
    """Add up per-user rows (`_aggregates` after the user id); blocked users add nothing (C8).

    The open-activity counts add up whatever the cap says; the next lit time
    is the earliest among the users not blocked.
    """
    sums = [0, 0, 0, 0, 0]
    open_activities = 0
    next_lit: int | None = None
    blocked = []
    for row in rows:
        count = int(row[6])
        open_activities += count
        if over_cap(count, cap):
            blocked.append(str(row[0]))
            continue
        for index in range(5):
            sums[index] += int(row[index + 1])
        if row[7] is not None and (next_lit is None or int(row[7]) < next_lit):
            next_lit = int(row[7])
    incoming, planned, incoming_items, planned_items, items = sums
    return CounterTotals(
        incoming=incoming,
        planned=planned,
        incoming_items=incoming_items,
        planned_items=planned_items,
        items=items,
        open_activities=open_activities,
        valid_until=None if next_lit is None else utc_from_us(next_lit),
        blocked_user_ids=tuple(sorted(blocked)),
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

    Local midnights are found through `day_start`, so a day is 23 or 25
    hours long across DST and a midnight that does not exist moves forward.
    """
    today = now.astimezone(zone).date()
    this_week = week_start_of(today, week_start)
    days: tuple[date, ...] = (
        today,
        today + timedelta(days=1),
        this_week + timedelta(days=7),
        this_week + timedelta(days=14),
    )
    first, second, third, fourth = (instant_us(day_start(d, zone)) for d in days)
    return first, second, third, fourth

"""Counter queries pushed down to SQL: Incoming, Planned (C2-C5) and the Activities view (V1).

Each function answers with one statement over `crm_activity_items`, whose rows
carry the item's responsible, the open and incoming flags, the deadline and the
lit time (C4, stored per activity) of every binding: the database counts, and
only numbers come back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from .._calendar import day_start, week_start_of
from .._cap import over_cap
from .._counters import CounterResult, CounterSum, midnight
from .._settings import CounterMode
from ._rows import instant_us, utc_from_us

__all__ = [
    "VIEW_COLUMNS",
    "CounterTotals",
    "counter_sql",
    "department_sql",
    "members_sql",
    "now_params",
    "open_sql",
    "section_params",
    "tomorrow_us",
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


# Counted in Planned: lit by now (C4), or due before the start of the user's tomorrow (C11;
# without the rule that bound is before every deadline).
_LIT = "incoming = 0 AND (lit_at_us <= ? OR deadline_us < ?)"
_WAITING = "incoming = 0 AND lit_at_us > ? AND deadline_us >= ?"

#: How many times the aggregates ask for (`now`, the start of tomorrow), in order.
_NOW_MARKS = 5
#: Before every deadline the library accepts: "tomorrow" when the C11 rule is off.
_NO_DAY_RULE = -(2**62)


def now_params(at_us: int, tomorrow_us: int | None = None) -> tuple[int, ...]:
    """The query parameters that stand for `now` (and C11's tomorrow) in the aggregates."""
    return (at_us, _NO_DAY_RULE if tomorrow_us is None else tomorrow_us) * _NOW_MARKS


def _aggregates() -> list[str]:
    """Incoming, Planned, their distinct items, the open activities (C8), the next changes (C9).

    One binding row per (activity, item): an activity bound to two items counts
    once per item (C2), in either counter mode. The cap counts what
    `open_activity_count` counts: each open activity once, however many of the
    user's items it is bound to (C8). Planned counts a stored lit time at or
    before `now`, or (C11) a deadline before tomorrow; the next changes are
    the earliest lit time after `now` and, for C11, the earliest deadline
    among those not counted yet (its day's start is computed in the user's zone).
    """
    return [
        "COALESCE(SUM(incoming), 0)",
        f"COALESCE(SUM(CASE WHEN {_LIT} THEN 1 ELSE 0 END), 0)",
        "COUNT(DISTINCT CASE WHEN incoming = 1 THEN item_id END)",
        f"COUNT(DISTINCT CASE WHEN {_LIT} THEN item_id END)",
        f"COUNT(DISTINCT CASE WHEN incoming = 1 OR ({_LIT}) THEN item_id END)",
        "COUNT(DISTINCT activity_id)",  # an open activity counts once toward the cap (C8)
        f"MIN(CASE WHEN {_WAITING} THEN lit_at_us END)",
        f"MIN(CASE WHEN {_WAITING} THEN deadline_us END)",
    ]


def _section_filter(entity_type: str | None, pipeline_id: str | None) -> str:
    """The conditions on a binding's section (C10); parameters: the non-None of the two."""
    found = ""
    if entity_type is not None:
        found += " AND item_entity_type = ?"
    if pipeline_id is not None:
        found += " AND item_pipeline_id = ?"
    return found


def section_params(entity_type: str | None, pipeline_id: str | None) -> tuple[str, ...]:
    """The parameters of `_section_filter`, in order."""
    return tuple(one for one in (entity_type, pipeline_id) if one is not None)


def counter_sql(
    mode: CounterMode, entity_type: str | None = None, pipeline_id: str | None = None
) -> str:
    """One user's counters (in one section, C10); parameters: `now_params(now)`, the user id,
    then `section_params`."""
    owner = _owner(mode)
    return (
        f"SELECT {owner}, {', '.join(_aggregates())} FROM crm_activity_items "
        f"WHERE {owner} = ? AND is_open = 1{_section_filter(entity_type, pipeline_id)} "
        f"GROUP BY {owner}"
    )


def _tree(include_subdepartments: bool) -> str:
    tree = "SELECT id FROM crm_departments WHERE id = ?"
    if include_subdepartments:
        tree += " UNION SELECT d.id FROM crm_departments d JOIN tree t ON d.parent_id = t.id"
    return f"WITH RECURSIVE tree(id) AS ({tree}) "


def department_sql(
    mode: CounterMode,
    include_subdepartments: bool,
    entity_type: str | None = None,
    pipeline_id: str | None = None,
) -> str:
    """Each member's counters; parameters: the department id, `now_params(now)`, then
    `section_params`."""
    owner = _owner(mode)
    return (
        f"{_tree(include_subdepartments)}"
        f"SELECT {owner}, {', '.join(_aggregates())} "
        f"FROM crm_activity_items WHERE is_open = 1 AND {owner} IN "
        "(SELECT u.id FROM crm_users u JOIN tree ON u.department_id = tree.id)"
        f"{_section_filter(entity_type, pipeline_id)} GROUP BY {owner}"
    )


def members_sql(include_subdepartments: bool) -> str:
    """The department's members with their zones; parameter: the department id."""
    return (
        f"{_tree(include_subdepartments)}"
        "SELECT u.id, u.time_zone FROM crm_users u JOIN tree ON u.department_id = tree.id"
    )


def tomorrow_us(now: datetime, zone: tzinfo) -> int:
    """The start of the day after `now`'s in `zone`, as epoch µs (C11, G4)."""
    return instant_us(midnight(now.astimezone(zone).date() + timedelta(days=1), zone))


def open_sql(mode: CounterMode, department: bool, include_subdepartments: bool = False) -> str:
    """Each user's open activities over every section (C8), for a section read's cap.

    Parameter: the user id, or the department id when `department`.
    """
    owner = _owner(mode)
    if not department:
        return (
            f"SELECT {owner}, COUNT(DISTINCT activity_id) FROM crm_activity_items "
            f"WHERE {owner} = ? AND is_open = 1 GROUP BY {owner}"
        )
    return (
        f"{_tree(include_subdepartments)}"
        f"SELECT {owner}, COUNT(DISTINCT activity_id) FROM crm_activity_items "
        f"WHERE is_open = 1 AND {owner} IN "
        "(SELECT u.id FROM crm_users u JOIN tree ON u.department_id = tree.id) "
        f"GROUP BY {owner}"
    )


def totals_of(
    rows: Iterable[Sequence[Any]],
    cap: int,
    zones: Mapping[str, tzinfo] | None = None,
    open_counts: Mapping[str, int] | None = None,
) -> CounterTotals:
    """Add up per-user rows (`_aggregates` after the user id); blocked users add nothing (C8).

    The open-activity counts add up whatever the cap says; the next change is
    the earliest among the users not blocked. With `zones` (the C11 rule: each
    user's zone), a user's next change may also be the start of the day of
    their earliest deadline not counted yet. A section read (C10) passes each
    user's `open_counts` over every section: the cap is the user's, not the
    section's.
    """
    sums = [0, 0, 0, 0, 0]
    open_activities = 0
    next_lit: int | None = None
    blocked = []
    by_user = {str(row[0]): row for row in rows}
    for user_id in by_user if open_counts is None else open_counts:
        row = by_user.get(user_id)
        if open_counts is not None:
            count = open_counts[user_id]
        elif row is not None:
            count = int(row[6])
        open_activities += count
        if over_cap(count, cap):
            blocked.append(user_id)
            continue
        if row is None:  # no open activity in the section read
            continue
        for index in range(5):
            sums[index] += int(row[index + 1])
        changes = [] if row[7] is None else [int(row[7])]
        if zones is not None and row[8] is not None:
            zone = zones[user_id]
            day = utc_from_us(int(row[8])).astimezone(zone).date()
            changes.append(instant_us(midnight(day, zone)))
        for change in changes:
            if next_lit is None or change < next_lit:
                next_lit = change
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

"""A reference for the SQL counter queries, computed from InMemoryStorage straight from the SPEC.

Deliberately plain: it walks the records and applies C2-C5 and V1 as written,
working with local dates rather than instants, so that it shares no logic with
the SQL it checks. (When the counters calculator lands, these can defer to it.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from crmcounters import Activity, CounterMode, InMemoryStorage
from crmcounters.sql import CounterTotals


def _lit(activity: Activity, now: datetime, default_offset: int) -> bool:
    """C4: lit at deadline - largest offset, until completed; no deadline never lights."""
    lit_at = activity.lit_at(default_offset)
    return not activity.incoming and lit_at is not None and lit_at <= now


def reference_counters(storage: InMemoryStorage, user_id: str, now: datetime) -> CounterTotals:
    """Incoming and Planned of one user at `now`, with distinct items (C2-C5)."""
    settings = storage.settings
    incoming: list[str] = []  # one entry per counted activity: the items it was counted for
    planned: list[str] = []
    incoming_items: set[str] = set()
    planned_items: set[str] = set()
    if settings.counter_mode is CounterMode.ITEM_RESPONSIBLE:
        pairs = [
            (activity, item.id)
            for item in storage.items_of(user_id)
            for activity in storage.open_activities_of_item(item.id)
        ]  # C2: once per item
        for activity, item_id in pairs:
            if activity.incoming:
                incoming.append(activity.id)
                incoming_items.add(item_id)
            elif _lit(activity, now, settings.urgency_offset_minutes):
                planned.append(activity.id)
                planned_items.add(item_id)
    else:
        for activity in storage.open_activities_of_user(user_id):  # each activity once
            if activity.incoming:
                incoming.append(activity.id)
                incoming_items.update(activity.item_ids)
            elif _lit(activity, now, settings.urgency_offset_minutes):
                planned.append(activity.id)
                planned_items.update(activity.item_ids)
    return CounterTotals(
        incoming=len(incoming),
        planned=len(planned),
        incoming_items=len(incoming_items),
        planned_items=len(planned_items),
    )


def reference_view_columns(storage: InMemoryStorage, user_id: str, now: datetime) -> dict[str, str]:
    """V1: the column of each of the user's items, by local dates in the user's zone."""
    zone = storage.user(user_id).zone
    today = now.astimezone(zone).date()
    week_first = today - timedelta(days=(today.weekday() - storage.settings.week_start) % 7)
    week_last = week_first + timedelta(days=6)
    next_week_last = week_last + timedelta(days=7)
    columns = {}
    for item in storage.items_of(user_id):
        opens = list(storage.open_activities_of_item(item.id))
        deadlines = [a.deadline for a in opens if a.deadline is not None]
        if not opens:
            column = "no_activities"
        elif any(a.incoming for a in opens):
            column = "today"
        elif not deadlines:
            column = "later"
        else:
            day = min(deadlines).astimezone(zone).date()
            if day < today:
                column = "overdue"
            elif day == today:
                column = "today"
            elif day <= week_last:
                column = "this_week"
            elif day <= next_week_last:
                column = "next_week"
            else:
                column = "later"
        columns[item.id] = column
    return columns


def reference_department_totals(
    storage: InMemoryStorage, department_id: str, now: datetime, include_subdepartments: bool
) -> CounterTotals:
    """The sum of the members' counters (sub-departments' members too, when asked)."""
    wanted = {department_id}
    if include_subdepartments:
        grew = True
        while grew:
            more = {d.id for d in storage.departments() if d.parent_id in wanted}
            grew = not more <= wanted
            wanted |= more
    totals = [
        reference_counters(storage, user.id, now)
        for user in storage.users()
        if user.department_id in wanted
    ]
    return CounterTotals(
        incoming=sum(t.incoming for t in totals),
        planned=sum(t.planned for t in totals),
        incoming_items=sum(t.incoming_items for t in totals),
        planned_items=sum(t.planned_items for t in totals),
    )

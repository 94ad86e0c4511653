"""Explain (X1): why an item is counted, which column holds it, and where in the column."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta, tzinfo

import attrs

from . import _validate as v
from ._access import AccessLevel, AccessPolicy, readable_sections
from ._activities import Activity
from ._badges import Badge, badge_from, planned_starts
from ._cap import open_activity_count, over_cap
from ._completion import next_occurrence
from ._counters import lit_at
from ._events import IncomingMessage
from ._settings import CounterMode
from ._storage import Storage
from ._users import zone_of
from ._view import Column, activities_view, place_item
from .focus._explain import explain_focus

__all__ = ["Explanation", "Reason", "explain"]

_SEE_ALL = AccessPolicy(default=AccessLevel.ALL)


@attrs.frozen(kw_only=True)
class Reason:
    """One reason, tagged with the SPEC rule that gives it (C2, C4, V1 …).

    `activity_id` names the activity it is about, if any; `at` is the instant
    it took effect or will (an activity lit since, lights at, moves at).
    """

    rule: str
    text: str
    activity_id: str | None = None
    at: datetime | None = None

    def __str__(self) -> str:
        return f"[{self.rule}] {self.text}"


@attrs.frozen(kw_only=True)
class Explanation:
    """Everything that decides an item's counters, badge and place at `at` (X1).

    `counted_for` are the users whose counters the item's open activities feed
    (C2); `incoming` and `planned` what it adds to them; `badge` as the viewer
    sees it (C6); `column` and `position` (0 = top) its place in its
    responsible's Activities view (V1, V2). `reasons` say why, rule by rule.
    `valid_until` is the earliest instant at which any of it may change by
    itself (C9, F5): an activity lights, the item changes column, or its
    position moves (an item of the view rises in focus or changes column).
    Instants are in UTC; `time_zone` is the responsible's, in which the texts
    show them (X3).
    """

    item_id: str
    at: datetime
    responsible_id: str
    time_zone: str
    counted_for: tuple[str, ...]
    incoming: int
    planned: int
    badge: Badge
    column: Column
    position: int
    reasons: tuple[Reason, ...]
    valid_until: datetime | None

    def __str__(self) -> str:
        head = (
            f"item {self.item_id!r} at {self.at.astimezone(zone_of(self.time_zone)).isoformat()}: "
            f"incoming {self.incoming}, "
            f"planned {self.planned}, badge {self.badge.colour.value} {self.badge.number}"
            f"{' with a dot' if self.badge.dot else ''}, column {self.column.value} "
            f"#{self.position + 1}"
        )
        return "\n".join([head, *(f"  {reason}" for reason in self.reasons)])


def explain(
    storage: Storage,
    item_id: str,
    now: datetime,
    *,
    viewer_id: str | None = None,
    policy: AccessPolicy | None = None,
) -> Explanation:
    """Why item `item_id` is counted and placed where it is at `now` (X1).

    The viewer defaults to the item's responsible; anyone else needs the
    `policy` to reach the responsible (C7).
    """
    now = v.instant("now", now)
    item = storage.item(item_id)
    viewer = item.responsible_id if viewer_id is None else viewer_id
    readable_sections(
        storage, viewer, item.responsible_id, policy, item.entity_type, item.pipeline_id
    )
    settings = storage.settings
    default_offset = timedelta(minutes=settings.urgency_offset_minutes)
    starts = planned_starts(storage, item)
    open_activities = storage.open_activities_of_item(item_id)
    responsible = storage.user(item.responsible_id)
    zone = responsible.zone  # instants are shown in the responsible's zone
    reasons: list[Reason] = []

    if settings.counter_mode is CounterMode.ACTIVITY_RESPONSIBLE:
        counted_for = tuple(dict.fromkeys(a.responsible_id for a in open_activities))
        reasons.append(
            Reason(
                rule="C2",
                text="counter mode 'activity responsible': each open activity counts for its "
                f"own responsible ({', '.join(counted_for) or 'nobody'})",
            )
        )
    else:
        counted_for = (item.responsible_id,) if open_activities else ()
        reasons.append(
            Reason(
                rule="C2",
                text=f"its open activities count for the item's responsible "
                f"{item.responsible_id!r}, not the activities' own",
            )
        )
    for user_id in counted_for:
        count = open_activity_count(storage, user_id)
        if over_cap(count, settings.open_activity_cap):
            reasons.append(
                Reason(
                    rule="C8",
                    text=f"user {user_id!r} has {count} open activities, above the cap of "
                    f"{settings.open_activity_cap}: their counters are blocked",
                )
            )

    messages = _incoming_messages(storage, item_id, open_activities)
    for activity in open_activities:
        kind = activity.kind.value
        if activity.incoming:
            message = messages.get(activity.created_at)
            recorded = (
                ""
                if message is None
                else f" (recorded with incoming {message.channel.value} {message.id!r}, I1)"
            )
            reasons.append(
                Reason(
                    rule="C3",
                    text=f"open incoming {kind} {activity.id!r} counts in Incoming{recorded}",
                    activity_id=activity.id,
                    at=activity.created_at,
                )
            )
            continue
        if activity.recurrence is not None:
            reasons.append(_recurrence_reason(storage, activity, now, zone))
        lights = lit_at(activity, default_offset)
        start = starts(activity)
        if lights is None or start is None:
            reasons.append(
                Reason(
                    rule="C4",
                    text=f"{kind} {activity.id!r} has no deadline: it never lights",
                    activity_id=activity.id,
                )
            )
            continue
        shown = start.astimezone(zone).isoformat()
        if start < lights:  # the "due today" rule counts it from the start of its day (C11)
            done = "counts in Planned" if start <= now else "does not count yet"
            reasons.append(
                Reason(
                    rule="C11",
                    text=f"planned {kind} {activity.id!r} is due on the day starting {shown} "
                    f"(the 'due today' rule): {done}; it lights at "
                    f"{lights.astimezone(zone).isoformat()}",
                    activity_id=activity.id,
                    at=start,
                )
            )
        elif start <= now:
            deadline = activity.deadline
            overdue = deadline is not None and deadline <= now
            state = "overdue, still counted until completed" if overdue else "due soon"
            reasons.append(
                Reason(
                    rule="C4",
                    text=f"planned {kind} {activity.id!r} lit since {shown}, "
                    f"{_offset_text(activity.reminder_offsets, settings.urgency_offset_minutes)}"
                    f"; {state}: counts in Planned",
                    activity_id=activity.id,
                    at=start,
                )
            )
        else:
            reasons.append(
                Reason(
                    rule="C4",
                    text=f"planned {kind} {activity.id!r} is not lit yet; it lights at {shown}",
                    activity_id=activity.id,
                    at=start,
                )
            )

    badge = badge_from(
        item_id,
        open_activities,
        mine=viewer == item.responsible_id,
        now=now,
        starts=starts,
    )
    reasons.append(Reason(rule="C6", text=_badge_text(badge, viewer, item.responsible_id)))

    placement = place_item(open_activities, now, zone=zone, week_start=settings.week_start)
    reasons.append(
        Reason(
            rule="V1",
            text=f"{placement.reason}; days in {responsible.time_zone} (X3)",
            activity_id=placement.activity_id,
            at=placement.moves_at,
        )
    )
    view = activities_view(storage, item.responsible_id, now, policy=_SEE_ALL)
    column_items = view.columns[placement.column]
    position = column_items.index(item_id)
    focus = explain_focus(storage, item_id, now)
    reasons.append(
        Reason(
            rule="V2",
            text=f"position {position + 1} of {len(column_items)} in "
            f"{placement.column.value}, ordered by focus time, newest first (F1); its focus "
            f"time {focus.focus_time.isoformat()} comes from {focus.source.describe()}",
            at=focus.focus_time,
        )
    )
    # The position changes when a column neighbour rises in focus or an item changes column.
    moments = (badge.valid_until, placement.moves_at, view.valid_until)
    until = [t for t in moments if t is not None]
    return Explanation(
        item_id=item_id,
        at=now,
        responsible_id=item.responsible_id,
        time_zone=responsible.time_zone,
        counted_for=counted_for,
        incoming=badge.incoming,
        planned=badge.planned,
        badge=badge,
        column=placement.column,
        position=position,
        reasons=tuple(reasons),
        valid_until=min(until, default=None),
    )


def _recurrence_reason(storage: Storage, activity: Activity, now: datetime, zone: tzinfo) -> Reason:
    """What completing a recurring activity will add (A2)."""
    following = next_occurrence(storage, activity, now)
    what = f"{activity.kind.value} {activity.id!r} recurs ({activity.recurrence})"
    if following is None or following.deadline is None:
        return Reason(
            rule="A2", text=f"{what}: it is the last of its series", activity_id=activity.id
        )
    due = following.deadline
    return Reason(
        rule="A2",
        text=f"{what}: completing it now adds the next occurrence, due "
        f"{due.astimezone(zone).isoformat()}",
        activity_id=activity.id,
        at=due,
    )


def _incoming_messages(
    storage: Storage, item_id: str, open_activities: Collection[Activity]
) -> dict[datetime, IncomingMessage]:
    """The item's incoming messages by instant, to name the one an activity records (I1)."""
    if not any(activity.incoming for activity in open_activities):
        return {}
    return {
        event.at: event
        for event in storage.events_of_item(item_id)
        if isinstance(event, IncomingMessage)
    }


def _offset_text(own: tuple[int, ...] | None, default: int) -> str:
    if own is None:
        return f"{default} min before its deadline (the portal default)"
    return f"{own[0] if own else 0} min before its deadline (its own reminder)"


def _badge_text(badge: Badge, viewer: str, responsible: str) -> str:
    colour = badge.colour.value
    if badge.colour.value != "grey":
        both = " (red wins over green, showing the sum)" if badge.incoming and badge.planned else ""
        return f"badge {colour} {badge.number}{both}"
    if badge.number:
        return f"badge grey {badge.number}: the item belongs to {responsible!r}, not {viewer!r}"
    if badge.dot:
        return "badge grey zero with a dot: open activities, none lit yet"
    return "badge grey zero: no open activity"

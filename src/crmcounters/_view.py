"""The Activities view (V1, V2): a user's items in columns by their open activities."""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta, tzinfo
from types import MappingProxyType

import attrs

from . import _validate as v
from ._access import AccessPolicy, readable_sections
from ._activities import Activity
from ._calendar import day_start, week_start_of
from ._errors import ValidationError
from ._records import one_state
from ._storage import Storage
from .focus._order import _check_limit
from .focus._pages import (
    FocusKey,
    FocusPage,
    PagedFocusStorage,
    decode_cursor,
    encode_cursor,
    scratch_page,
)
from .focus._timeline import focus_timelines

__all__ = ["ActivitiesView", "Column", "Placement", "activities_view", "place_item"]

_ONE_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)


class Column(enum.StrEnum):
    """The columns of the Activities view, left to right (V1)."""

    OVERDUE = "overdue"
    TODAY = "today"
    THIS_WEEK = "this_week"
    NEXT_WEEK = "next_week"
    LATER = "later"
    NO_ACTIVITIES = "no_activities"


@attrs.frozen(kw_only=True)
class Placement:
    """Where one item sits in the view, and why in words (V1, X1).

    `activity_id` is the activity that decided the column (the incoming one, or
    the one with the earliest deadline), if any; `moves_at` is the instant the
    item would change column by itself (a local midnight), or None.
    """

    column: Column
    reason: str
    activity_id: str | None
    moves_at: datetime | None


@attrs.frozen(kw_only=True)
class ActivitiesView:
    """A user's Activities view at `at` in the user's own zone (V1, V2, X3).

    `columns` maps every `Column`, in display order, to its item ids in
    display order (focus order, V2) — the first page of each with a `limit`,
    or only the continued column with a `cursor`; `totals` counts every item
    of each shown column and `next_cursors` continues each (None when no item
    follows). `valid_until` is the next instant at which the view may change
    by itself: an item changes column (a local midnight) or an item of a
    shown column rises in focus (F5), or None.
    """

    user_id: str
    at: datetime
    time_zone: str
    today: date
    columns: Mapping[Column, tuple[str, ...]] = attrs.field(hash=False)
    valid_until: datetime | None
    totals: Mapping[Column, int] = attrs.field(hash=False, factory=dict)
    next_cursors: Mapping[Column, str | None] = attrs.field(hash=False, factory=dict)

    def column_of(self, item_id: str) -> Column:
        """The column holding `item_id`; `KeyError` when the item is not in this view."""
        for column, items in self.columns.items():
            if item_id in items:
                return column
        raise KeyError(item_id)


def activities_view(
    storage: Storage,
    user_id: str,
    now: datetime,
    *,
    viewer_id: str | None = None,
    policy: AccessPolicy | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> ActivitiesView:
    """The Activities view of `user_id`'s items at `now`, in the user's time zone (V1, V2).

    The user's items are those they are responsible for, whatever the counter
    mode; each lands in exactly one column by all its open activities. A viewer
    other than the user needs the `policy` to allow it (C7), and sees the items
    of the sections it lets them read. With `limit`, each column lists its
    first `limit` items; a `cursor` (from `next_cursors`) continues one column,
    the only one the answer then holds. A cursor of another user's view is a
    `ValidationError` naming `cursor`. A storage with `view_focus_pages`
    (`PagedFocusStorage`, such as `InMemoryStorage`) answers the pages itself
    when the viewer may read all of the user's sections.
    """
    now = v.instant("now", now)
    _check_limit(limit)
    viewer = user_id if viewer_id is None else viewer_id
    with one_state(storage):  # one state of a database, one transaction for the whole call
        readable = readable_sections(storage, viewer, user_id, policy)
        user = storage.user(user_id)
        zone = user.zone
        today = now.astimezone(zone).date()
        only: Column | None = None
        after: FocusKey | None = None
        if cursor is not None:
            only, after = _continued_column(cursor, user_id)
        pages: Mapping[Column, FocusPage]
        if readable is None and isinstance(storage, PagedFocusStorage):
            pages, valid_until = storage.view_focus_pages(
                user_id, now, limit=limit, column=only, after=after
            )
        else:
            week_start = storage.settings.week_start
            buckets: dict[Column, list[str]] = {column: [] for column in Column}
            valid_until = None
            for item in storage.items_of(user_id):
                if readable is not None and not readable(item.entity_type, item.pipeline_id):
                    continue
                placement = place_item(
                    storage.open_activities_of_item(item.id), now, zone=zone, week_start=week_start
                )
                buckets[placement.column].append(item.id)
                moves = placement.moves_at
                if moves is not None and (valid_until is None or moves < valid_until):
                    valid_until = moves
            pages = {
                column: scratch_page(focus_timelines(storage, ids), now, limit=limit, after=after)
                for column, ids in buckets.items()
                if only is None or column is only
            }
        columns: dict[Column, tuple[str, ...]] = {}
        totals: dict[Column, int] = {}
        cursors: dict[Column, str | None] = {}
        for column, page in pages.items():
            columns[column] = page.item_ids
            totals[column] = page.total
            last = page.last_key
            cursors[column] = (
                encode_cursor({"board": "view", "user_id": user_id, "column": column.value}, last)
                if page.more and last is not None
                else None
            )
            rises = page.valid_until if page.total > 1 else None  # one item cannot reorder (V2)
            if rises is not None and (valid_until is None or rises < valid_until):
                valid_until = rises
        return ActivitiesView(
            user_id=user_id,
            at=now,
            time_zone=user.time_zone,
            today=today,
            columns=MappingProxyType(columns),
            valid_until=valid_until,
            totals=MappingProxyType(totals),
            next_cursors=MappingProxyType(cursors),
        )


def _continued_column(cursor: str, user_id: str) -> tuple[Column, FocusKey]:
    """The column a cursor continues in this user's view, and its key (else refused)."""
    fields, key = decode_cursor(cursor, "view")
    if fields.get("user_id") != user_id:
        raise ValidationError(
            "cursor", f"a cursor of user {fields.get('user_id')!r}'s view, not {user_id!r}'s"
        )
    try:
        return Column(fields.get("column", "")), key
    except ValueError:
        raise ValidationError("cursor", f"unknown column {fields.get('column')!r}") from None


def place_item(
    open_activities: Collection[Activity],
    now: datetime,
    *,
    zone: tzinfo,
    week_start: int = 0,
) -> Placement:
    """The column of an item with these open activities at `now`, days in `zone` (V1).

    An open incoming activity puts the item in Today whatever its deadlines;
    otherwise the earliest deadline's local day decides; open activities
    without a deadline alone put it in Later; no open activity, No activities.
    """
    if not open_activities:
        return Placement(
            column=Column.NO_ACTIVITIES,
            reason="no open activity",
            activity_id=None,
            moves_at=None,
        )
    earliest: Activity | None = None
    earliest_deadline: datetime | None = None
    for activity in open_activities:
        if activity.incoming:
            return Placement(
                column=Column.TODAY,
                reason=f"open incoming {activity.kind.value} {activity.id!r} puts it in Today",
                activity_id=activity.id,
                moves_at=None,
            )
        deadline = activity.deadline
        if deadline is not None and (earliest_deadline is None or deadline < earliest_deadline):
            earliest, earliest_deadline = activity, deadline
    if earliest is None or earliest_deadline is None:
        return Placement(
            column=Column.LATER,
            reason="open activities without a deadline put it in Later",
            activity_id=None,
            moves_at=None,
        )
    today = now.astimezone(zone).date()
    due = earliest_deadline.astimezone(zone).date()
    this_week = week_start_of(today, week_start)
    next_week = this_week + _WEEK
    after_next = next_week + _WEEK
    when = f"earliest deadline {earliest_deadline.astimezone(zone).isoformat()} ({earliest.id!r})"
    column: Column
    moves_on: date | None
    if due < today:
        column, moves_on = Column.OVERDUE, None
        rule = f"{when} is before today's 00:00 ({today.isoformat()})"
    elif due == today:
        column, moves_on = Column.TODAY, today + _ONE_DAY
        rule = f"{when} falls today; it stays in Today until 00:00 of the next day"
    elif due < next_week:
        column, moves_on = Column.THIS_WEEK, due
        rule = f"{when} falls in the current week (to {(next_week - _ONE_DAY).isoformat()})"
    elif due < after_next:
        column, moves_on = Column.NEXT_WEEK, next_week
        last = after_next - _ONE_DAY
        rule = f"{when} falls next week ({next_week.isoformat()} to {last.isoformat()})"
    else:
        column, moves_on = Column.LATER, week_start_of(due, week_start) - _WEEK
        rule = f"{when} falls after next week"
    return Placement(
        column=column,
        reason=rule,
        activity_id=earliest.id,
        moves_at=None if moves_on is None else day_start(moves_on, zone),
    )

"""An item's counter badge (C6): its colour, its number, and the grey dot."""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from datetime import datetime, timedelta, tzinfo

import attrs

from . import _validate as v
from ._access import AccessPolicy, readable_sections
from ._activities import Activity
from ._counters import counter_zone_in, counts_from
from ._items import Item
from ._settings import Settings
from ._storage import Storage

__all__ = ["Badge", "BadgeColour", "item_badge"]


class BadgeColour(enum.StrEnum):
    """The badge colours of C6."""

    GREEN = "green"  # open incoming activities
    RED = "red"  # lit planned activities (overdue or due now)
    GREY = "grey"  # someone else's item, or nothing needs attention yet


@attrs.frozen(kw_only=True)
class Badge:
    """An item's counter badge as one viewer sees it at `at` (C6).

    `number` is what the badge shows; `incoming` and `planned` are the open
    incoming and lit planned activities behind it; `dot` marks a grey zero
    over open activities none of which is lit yet. `valid_until` is when the
    badge would change by itself (an activity lights), or None (C9).
    """

    item_id: str
    at: datetime
    colour: BadgeColour
    number: int
    dot: bool
    incoming: int
    planned: int
    open_activities: int
    valid_until: datetime | None


def item_badge(
    storage: Storage,
    item_id: str,
    viewer_id: str,
    now: datetime,
    *,
    policy: AccessPolicy | None = None,
) -> Badge:
    """The badge of item `item_id` as `viewer_id` sees it at `now` (C6).

    The viewer must be allowed to read the item's responsible in the item's
    section (C7, default policy: own items only), else `AccessDeniedError`.
    Red counts what Planned counts (C4, or C11 when set). Green: open incoming
    activities; red: lit planned ones, red winning with the sum when both are
    present; grey non-zero: another employee's item; grey zero with a dot:
    open activities none lit yet; grey zero: no open activity. The badge
    counts every open activity bound to the item, whatever the counter mode.
    """
    now = v.instant("now", now)
    item = storage.item(item_id)
    readable_sections(
        storage, viewer_id, item.responsible_id, policy, item.entity_type, item.pipeline_id
    )
    return unchecked_badge(storage, item, viewer_id, now)


def unchecked_badge(storage: Storage, item: Item, viewer_id: str, now: datetime) -> Badge:
    """`item`'s C6 badge as `viewer_id` sees it at aware `now`, with no C7 check.

    Internal: `item_badge` calls it after its access check. Reads only the
    item's open activities (and, under C11, users' zones). A page of cards
    whose activities are read already uses `badge_of_records` instead.
    """
    return badge_from(
        item.id,
        storage.open_activities_of_item(item.id),
        mine=viewer_id == item.responsible_id,
        now=now,
        starts=planned_starts(storage, item),
    )


def badge_of_records(
    item: Item,
    open_activities: Collection[Activity],
    viewer_id: str,
    now: datetime,
    *,
    settings: Settings,
    zone_of: Callable[[str], tzinfo],
) -> Badge:
    """`unchecked_badge` over records read already: `item`'s open activities, the portal's
    `settings` and users' zones from `zone_of` (asked only under C11). Reads nothing, so
    the Kanban board (F4) badges a whole page from one batched read (issue 15)."""
    return badge_from(
        item.id,
        open_activities,
        mine=viewer_id == item.responsible_id,
        now=now,
        starts=planned_starts_in(settings, item, zone_of),
    )


def planned_starts(storage: Storage, item: Item) -> Callable[[Activity], datetime | None]:
    """When each open activity of `item` starts to count in Planned (C4, C11), in UTC."""
    return planned_starts_in(storage.settings, item, lambda user_id: storage.user(user_id).zone)


def planned_starts_in(
    settings: Settings, item: Item, zone_of: Callable[[str], tzinfo]
) -> Callable[[Activity], datetime | None]:
    """`planned_starts` under these `settings`, users' zones from `zone_of`."""
    default_offset = timedelta(minutes=settings.urgency_offset_minutes)
    return lambda activity: counts_from(
        activity, default_offset, counter_zone_in(settings, item, activity, zone_of)
    )


def badge_from(
    item_id: str,
    open_activities: Collection[Activity],
    *,
    mine: bool,
    now: datetime,
    starts: Callable[[Activity], datetime | None],
) -> Badge:
    """The C6 badge for an item's open activities; `mine` when the viewer is its responsible.

    `starts` says when each activity starts to count in Planned (`planned_starts`).
    """
    incoming = planned = 0
    next_lit: datetime | None = None
    for activity in open_activities:
        if activity.incoming:
            incoming += 1
            continue
        lights = starts(activity)
        if lights is None:
            continue
        if lights <= now:
            planned += 1
        elif next_lit is None or lights < next_lit:
            next_lit = lights
    attention = incoming + planned
    if not mine and attention:
        colour = BadgeColour.GREY
    elif planned:
        colour = BadgeColour.RED
    elif incoming:
        colour = BadgeColour.GREEN
    else:
        colour = BadgeColour.GREY
    return Badge(
        item_id=item_id,
        at=now,
        colour=colour,
        number=attention,
        dot=attention == 0 and len(open_activities) > 0,
        incoming=incoming,
        planned=planned,
        open_activities=len(open_activities),
        valid_until=next_lit,
    )

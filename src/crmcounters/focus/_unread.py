"""Unread (F3): a client's message marks the item unread for its responsible until viewed.

A client's message reaches an item two ways: as a timeline `IncomingMessage`,
or as an incoming call, e-mail or chat *activity* (the incoming-channel flag or
direction, as in F2). Both mark the item unread until its responsible views it;
an incoming activity also stops being unread once it is completed (processed).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from .. import _validate as v
from .._activities import Activity
from .._events import IncomingMessage, ItemViewed, TimelineEvent
from .._items import Item
from .._storage import Storage
from ._sources import is_incoming_event

__all__ = [
    "is_unread",
    "next_unread_change",
    "unread_activities",
    "unread_activities_of",
    "unread_messages",
    "unread_messages_of",
]


def _last_view(item: Item, events: Collection[TimelineEvent], now: datetime) -> datetime | None:
    """The latest `ItemViewed` by the item's current responsible at or before `now`."""
    last: datetime | None = None
    for event in events:
        if (
            isinstance(event, ItemViewed)
            and event.item_id == item.id
            and event.user_id == item.responsible_id
            and event.at <= now
            and (last is None or event.at > last)
        ):
            last = event.at
    return last


def unread_messages_of(
    item: Item, events: Collection[TimelineEvent], now: datetime
) -> tuple[IncomingMessage, ...]:
    """The item's incoming messages at or before `now` that its responsible has not viewed (F3).

    A message is read once the item's current responsible has an `ItemViewed`
    at or after it (and at or before `now`). Views by anyone else do not count.
    Oldest first.
    """
    now = v.instant("now", now)
    last_view = _last_view(item, events, now)
    messages = [
        event
        for event in events
        if isinstance(event, IncomingMessage)
        and event.item_id == item.id
        and event.at <= now
        and (last_view is None or event.at > last_view)
    ]
    messages.sort(key=lambda message: message.at)
    return tuple(messages)


def unread_activities_of(
    item: Item,
    activities: Collection[Activity],
    events: Collection[TimelineEvent],
    now: datetime,
) -> tuple[Activity, ...]:
    """The item's incoming call/e-mail/chat activities its responsible has not seen by `now` (F3).

    An incoming activity is unread from its `created_at` until the responsible
    views the item at or after it, or until it is completed. Oldest first.
    """
    now = v.instant("now", now)
    last_view = _last_view(item, events, now)
    found = [
        activity
        for activity in activities
        if item.id in activity.item_ids
        and is_incoming_event(activity)
        and activity.created_at <= now
        and (activity.completed_at is None or activity.completed_at > now)
        and (last_view is None or activity.created_at > last_view)
    ]
    found.sort(key=lambda activity: (activity.created_at, activity.id))
    return tuple(found)


def next_unread_change(
    item: Item,
    activities: Collection[Activity],
    events: Collection[TimelineEvent],
    now: datetime,
) -> datetime | None:
    """The first stored instant after `now` that may flip the item's Unread status (F3, F5).

    A message or incoming activity arriving, the responsible viewing the item,
    or an incoming activity being completed. It may name an instant at which
    the status stays as it was (a second view), never one too late.
    """
    now = v.instant("now", now)
    instants = [
        event.at
        for event in events
        if event.item_id == item.id
        and event.at > now
        and (
            isinstance(event, IncomingMessage)
            or (isinstance(event, ItemViewed) and event.user_id == item.responsible_id)
        )
    ]
    for activity in activities:
        if item.id in activity.item_ids and is_incoming_event(activity):
            instants.extend(
                at for at in (activity.created_at, activity.completed_at) if at and at > now
            )
    return min(instants, default=None)


def unread_state(
    item: Item,
    activities: Collection[Activity],
    events: Collection[TimelineEvent],
    now: datetime,
) -> tuple[bool, datetime | None]:
    """`unread_of` and `next_unread_change` together, for a board's cards (F3, F5).

    Most items have no message, no view and no incoming activity: then the
    answer is (False, None) at once, without the two passes.
    """
    if not any(isinstance(event, IncomingMessage | ItemViewed) for event in events) and not any(
        is_incoming_event(activity) for activity in activities
    ):
        return False, None
    return unread_of(item, activities, events, now), next_unread_change(
        item, activities, events, now
    )


def unread_messages(storage: Storage, item_id: str, now: datetime) -> tuple[IncomingMessage, ...]:
    """The stored item's messages its responsible has not viewed by `now`, oldest first (F3)."""
    now = v.instant("now", now)
    return unread_messages_of(storage.item(item_id), storage.events_of_item(item_id), now)


def unread_activities(storage: Storage, item_id: str, now: datetime) -> tuple[Activity, ...]:
    """The stored item's incoming activities its responsible has not seen by `now` (F3)."""
    now = v.instant("now", now)
    return unread_activities_of(
        storage.item(item_id),
        storage.activities_of_item(item_id),
        storage.events_of_item(item_id),
        now,
    )


def unread_of(
    item: Item,
    activities: Collection[Activity],
    events: Collection[TimelineEvent],
    now: datetime,
) -> bool:
    """`is_unread` from plain values: the item's activities and timeline events (F3)."""
    return bool(
        unread_messages_of(item, events, now) or unread_activities_of(item, activities, events, now)
    )


def is_unread(storage: Storage, item_id: str, now: datetime) -> bool:
    """True when a client message or incoming activity waits for the responsible to view it (F3)."""
    now = v.instant("now", now)
    return unread_of(
        storage.item(item_id),
        storage.activities_of_item(item_id),
        storage.events_of_item(item_id),
        now,
    )

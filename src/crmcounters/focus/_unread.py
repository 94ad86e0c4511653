"""Unread (F3): a client's message marks the item unread for its responsible until viewed."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from .. import _validate as v
from .._events import IncomingMessage, ItemViewed, TimelineEvent
from .._items import Item
from .._storage import Storage

__all__ = ["is_unread", "unread_messages", "unread_messages_of"]


def unread_messages_of(
    item: Item, events: Collection[TimelineEvent], now: datetime
) -> tuple[IncomingMessage, ...]:
    """The item's incoming messages at or before `now` that its responsible has not viewed (F3).

    A message is read once the item's current responsible has an `ItemViewed`
    at or after it (and at or before `now`). Views by anyone else do not count.
    Oldest first.
    """
    v.check_aware("now", now)
    messages: list[IncomingMessage] = []
    last_view: datetime | None = None
    for event in events:
        if event.item_id != item.id or event.at > now:
            continue
        if isinstance(event, IncomingMessage):
            messages.append(event)
        elif (
            isinstance(event, ItemViewed)
            and event.user_id == item.responsible_id
            and (last_view is None or event.at > last_view)
        ):
            last_view = event.at
    if last_view is not None:
        messages = [message for message in messages if message.at > last_view]
    messages.sort(key=lambda message: message.at)
    return tuple(messages)


def unread_messages(storage: Storage, item_id: str, now: datetime) -> tuple[IncomingMessage, ...]:
    """The stored item's messages its responsible has not viewed by `now`, oldest first (F3)."""
    v.check_aware("now", now)
    return unread_messages_of(storage.item(item_id), storage.events_of_item(item_id), now)


def is_unread(storage: Storage, item_id: str, now: datetime) -> bool:
    """True when a client message is waiting for the item's responsible to view it (F3)."""
    return bool(unread_messages(storage, item_id, now))

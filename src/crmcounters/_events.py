"""Timeline events: what happened to an item (SPEC section 1)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TypeVar

import attrs

from . import _validate as v

__all__ = [
    "HISTORY_INFORMATION",
    "CommentAdded",
    "HistoryEntryAdded",
    "IncomingChannel",
    "IncomingMessage",
    "ItemViewed",
    "StageChanged",
    "TimelineEvent",
]


class IncomingChannel(enum.StrEnum):
    """How a client reached the company (F2, I1)."""

    EMAIL = "email"
    CHAT = "chat"
    CALL = "call"
    MISSED_CALL = "missed_call"
    PAYMENT = "payment"  # an order payment (C3, I1)
    TASK_COMMENT = "task_comment"  # a comment in a task linked to the item (C3, I1)


def _channel(value: IncomingChannel | str) -> IncomingChannel:
    return v.check_choice("channel", IncomingChannel, value)


@attrs.frozen(kw_only=True)
class CommentAdded:
    """An employee wrote a comment in the item's timeline."""

    id: str = attrs.field(validator=v.an_id)
    item_id: str = attrs.field(validator=v.an_id)
    at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    author_id: str = attrs.field(validator=v.an_id)
    text: str = attrs.field(default="", validator=v.text)


@attrs.frozen(kw_only=True)
class IncomingMessage:
    """The client wrote, called or missed a call (F2, F3)."""

    id: str = attrs.field(validator=v.an_id)
    item_id: str = attrs.field(validator=v.an_id)
    at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    channel: IncomingChannel = attrs.field(converter=_channel)
    text: str = attrs.field(default="", validator=v.text)


@attrs.frozen(kw_only=True)
class StageChanged:
    """The item moved from one stage to another, by a user."""

    id: str = attrs.field(validator=v.an_id)
    item_id: str = attrs.field(validator=v.an_id)
    at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    by_user_id: str = attrs.field(validator=v.an_id)
    from_stage_id: str | None = attrs.field(default=None, validator=v.optional_id)
    to_stage_id: str = attrs.field(validator=v.an_id)


@attrs.frozen(kw_only=True)
class ItemViewed:
    """A user opened the item; for its responsible this clears Unread (F3)."""

    id: str = attrs.field(validator=v.an_id)
    item_id: str = attrs.field(validator=v.an_id)
    at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    user_id: str = attrs.field(validator=v.an_id)


#: The history-entry type an automation rule writes; history can be filtered by it (R4).
HISTORY_INFORMATION = "information"


@attrs.frozen(kw_only=True)
class HistoryEntryAdded:
    """A history record written on behalf of `author_id` (R4 "Add history entry").

    `entry_type` lets the history be filtered; rules write "information".
    """

    id: str = attrs.field(validator=v.an_id)
    item_id: str = attrs.field(validator=v.an_id)
    at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    author_id: str = attrs.field(validator=v.an_id)
    text: str = attrs.field(default="", validator=v.text)
    entry_type: str = attrs.field(default=HISTORY_INFORMATION, validator=v.an_id)
    rule_id: str | None = attrs.field(default=None, validator=v.optional_id)


#: Any timeline event.
TimelineEvent = CommentAdded | IncomingMessage | StageChanged | ItemViewed | HistoryEntryAdded
_Event = TypeVar(
    "_Event", CommentAdded, IncomingMessage, StageChanged, ItemViewed, HistoryEntryAdded
)


#: Channels by their stored value, for bulk readers (a dict lookup per record).
CHANNELS_BY_VALUE = {channel.value: channel for channel in IncomingChannel}

_SET = object.__setattr__


def trusted_event(kind: type[_Event], **fields: object) -> _Event:
    """An event of `kind` built from checked values (every field named, `at` in UTC), without
    checking again: for readers of rows the library wrote (issue 15: a Kanban page decodes
    its cards' events). A test holds the two ways to identical records."""
    event = object.__new__(kind)
    for name, value in fields.items():
        _SET(event, name, value)
    return event

"""The portal's history, across items (R4, R8): the entries rules and people wrote,
filtered by type, item, author and time window.

The seed's supervisor opens CRM > History, filters by type "information" and
counts a manager's violations; `history_entries` answers that question for
any storage: a `crmcounters.sql.SqlStorage` answers it with one indexed query
(`history_entries` method), any other storage by reading its events.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from . import _validate as v
from ._errors import ValidationError
from ._events import HistoryEntryAdded, TimelineEvent
from ._storage import Storage

__all__ = ["HistoryQuery", "history_entries"]


@attrs.frozen(kw_only=True)
class HistoryQuery:
    """Which history entries to list: each filter left None matches everything.

    `entry_type` is the entry's type ("information" for what rules write);
    `user_id` its author; the window is half-open, `since` <= at < `until`,
    compared as instants (G4).
    """

    entry_type: str | None = attrs.field(default=None, validator=v.optional_id)
    item_id: str | None = attrs.field(default=None, validator=v.optional_id)
    user_id: str | None = attrs.field(default=None, validator=v.optional_id)
    since: datetime | None = attrs.field(
        default=None, converter=v.optional_utc, validator=v.optional_aware
    )
    until: datetime | None = attrs.field(
        default=None, converter=v.optional_utc, validator=v.optional_aware
    )

    def __attrs_post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise ValidationError(
                "until", f"{self.until.isoformat()} is before since {self.since.isoformat()}"
            )

    def matches(self, event: TimelineEvent) -> bool:
        """True for a history entry that passes every filter."""
        return (
            isinstance(event, HistoryEntryAdded)
            and (self.entry_type is None or event.entry_type == self.entry_type)
            and (self.item_id is None or event.item_id == self.item_id)
            and (self.user_id is None or event.author_id == self.user_id)
            and (self.since is None or event.at >= self.since)
            and (self.until is None or event.at < self.until)
        )


@runtime_checkable
class _AnswersHistory(Protocol):
    def history_entries(self, query: HistoryQuery) -> list[HistoryEntryAdded]: ...


@runtime_checkable
class _HasEvents(Protocol):
    def events(self) -> Collection[TimelineEvent]: ...


def history_entries(
    storage: Storage,
    *,
    entry_type: str | None = None,
    item_id: str | None = None,
    user_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[HistoryEntryAdded]:
    """The history entries of the whole portal that match, oldest first (ties by id).

    An unknown item or user is refused (`UnknownIdError`), never an empty list
    (G5); naive instants too (G2).
    """
    query = HistoryQuery(
        entry_type=entry_type, item_id=item_id, user_id=user_id, since=since, until=until
    )
    if item_id is not None:
        storage.item(item_id)
    if user_id is not None:
        storage.user(user_id)
    if isinstance(storage, _AnswersHistory):
        return storage.history_entries(query)
    if item_id is not None:
        events: Collection[TimelineEvent] = storage.events_of_item(item_id)
    elif isinstance(storage, _HasEvents):
        events = storage.events()
    else:
        raise ValidationError(
            "storage",
            f"{type(storage).__name__} lists no events: give it an events() method, or filter "
            "by item_id",
        )
    found = [event for event in events if query.matches(event)]
    found.sort(key=lambda entry: (entry.at, entry.id))
    return found  # type: ignore[return-value]

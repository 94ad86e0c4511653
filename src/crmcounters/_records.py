"""A page's items read together with their activities and events (F1, F3, C6, issue 15).

A Kanban page shows, for each card, its item, its Unread flag (from every
activity and event of the item, F3) and its C6 badge (from its open
activities). Read one item at a time that is four queries per card over SQL;
`records_of_items` reads a whole page in a constant number of queries when the
storage can (`BatchedRecordStorage`, such as `InMemoryStorage` and
`SqlStorage`), and falls back to the per-item reads of any `Storage`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import tzinfo
from typing import Protocol, runtime_checkable

import attrs

from ._activities import Activity
from ._errors import UnknownIdError
from ._events import TimelineEvent
from ._items import Item
from ._storage import Storage
from ._users import User

__all__ = [
    "BatchedRecordStorage",
    "ItemRecords",
    "one_state",
    "records_of_items",
    "zones_of_users",
]


@attrs.frozen(kw_only=True)
class ItemRecords:
    """One item with every activity bound to it (open or completed) and its timeline events.

    `activities` come in the order `Storage.activities_of_item` gives them,
    `events` oldest first as `Storage.events_of_item` gives them.
    """

    item: Item
    activities: tuple[Activity, ...]
    events: tuple[TimelineEvent, ...]

    @property
    def open_activities(self) -> tuple[Activity, ...]:
        """The open activities among `activities` (what `open_activities_of_item` reads)."""
        return tuple(activity for activity in self.activities if activity.is_open)


@runtime_checkable
class BatchedRecordStorage(Protocol):
    """A storage that reads the records of many items at once (issue 15: O(page) pages)."""

    def records_of_items(self, item_ids: Collection[str]) -> Mapping[str, ItemRecords]:
        """The records of the stored items among `item_ids`, by item id (unknown ids left out)."""
        ...  # pragma: no cover

    def users_with_ids(self, user_ids: Collection[str]) -> list[User]:
        """The stored users among `user_ids` (unknown ids left out)."""
        ...  # pragma: no cover


@runtime_checkable
class _OneStateStorage(Protocol):
    """A storage whose reads can share one state of it (`SqlStorage`: one transaction)."""

    def _consistent(self) -> AbstractContextManager[None]:
        """The reads on this thread inside see one consistent state."""
        ...  # pragma: no cover


@contextmanager
def one_state(storage: Storage) -> Iterator[None]:
    """The reads of `storage` inside see one state of it, when it keeps one for them.

    `SqlStorage` reads in one read-only transaction (its `_consistent`): a
    board or a view is then one state of the database, and pays for one
    transaction rather than one per read (issue 15: round trips on PostgreSQL).
    Other storages read as they always do.
    """
    if not isinstance(storage, _OneStateStorage):
        yield
        return
    with storage._consistent():  # the library's own storage, declared above
        yield


def records_of_items(storage: Storage, item_ids: Iterable[str]) -> dict[str, ItemRecords]:
    """The records of each of `item_ids`, by id: one batch on a `BatchedRecordStorage`,
    else three reads per item. An unknown id is an `UnknownIdError`, as `Storage.item`."""
    wanted = list(dict.fromkeys(item_ids))
    if isinstance(storage, BatchedRecordStorage):
        found = storage.records_of_items(wanted)
        records: dict[str, ItemRecords] = {}
        for item_id in wanted:
            if item_id not in found:
                raise UnknownIdError("item", item_id)
            records[item_id] = found[item_id]
        return records
    return {
        item_id: ItemRecords(
            item=storage.item(item_id),
            activities=tuple(storage.activities_of_item(item_id)),
            events=tuple(storage.events_of_item(item_id)),
        )
        for item_id in wanted
    }


def zones_of_users(storage: Storage, user_ids: Iterable[str]) -> Callable[[str], tzinfo]:
    """A lookup of users' zones, those of `user_ids` read at once on a
    `BatchedRecordStorage`; any other user is read when asked for (unknown: `UnknownIdError`)."""
    zones: dict[str, tzinfo] = {}
    wanted = set(user_ids)
    if wanted and isinstance(storage, BatchedRecordStorage):
        zones.update((user.id, user.zone) for user in storage.users_with_ids(wanted))

    def zone_of(user_id: str) -> tzinfo:
        zone = zones.get(user_id)
        if zone is None:
            zone = zones[user_id] = storage.user(user_id).zone
        return zone

    return zone_of

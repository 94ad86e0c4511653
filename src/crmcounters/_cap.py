"""The open-activity cap (C8): one definition of "a user's open activities" for all parts."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from ._activities import Activity
from ._settings import CounterMode
from ._storage import Storage

__all__ = ["count_once", "is_at_cap", "open_activity_count", "over_cap"]


def open_activity_count(storage: Storage, user_id: str) -> int:
    """How many open activities count towards `user_id`'s cap (C8), per counter mode (C2).

    In item-responsible mode (the default) these are the open activities of the
    user's items; in activity-responsible mode, the open activities whose own
    responsible is the user. Either way an open activity counts once, however
    many of the user's items it is bound to (C8), so a user is blocked in both
    modes alike.
    """
    storage.user(user_id)  # an unknown user is an error, not zero
    if storage.settings.counter_mode is CounterMode.ACTIVITY_RESPONSIBLE:
        return len(storage.open_activities_of_user(user_id))
    of_item = storage.open_activities_of_item
    return count_once([of_item(item.id) for item in storage.items_of(user_id)])


def count_once(groups: Iterable[Collection[Activity]]) -> int:
    """The open activities in these per-item groups, each counted once (C8)."""
    occurrences = 0
    shared: list[str] = []
    for group in groups:
        occurrences += len(group)
        shared += [activity.id for activity in group if activity._shared]
    return counted_once(occurrences, shared)


def counted_once(occurrences: int, shared: list[str]) -> int:
    """`occurrences` of open activities in per-item groups, each counted once (C8).

    `shared` lists the ids of those bound to several items, once per occurrence:
    only they can occur twice.
    """
    return occurrences - len(shared) + len(set(shared))


def is_at_cap(storage: Storage, user_id: str) -> bool:
    """True when the user has reached the open-activity cap (S4 refuses suggestions then)."""
    return open_activity_count(storage, user_id) >= storage.settings.open_activity_cap


def over_cap(count: int, cap: int) -> bool:
    """True when `count` open activities exceed `cap`: counters are blocked then (C8).

    At the cap itself the counters still show numbers (a user "may have at
    most" the cap); S4 already stops suggesting at the cap (`is_at_cap`).
    """
    return count > cap

"""Focus timelines (F2, F5): an item's focus instants, indexed once, read at any `now`."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime

import attrs

from .. import _validate as v
from .._errors import ValidationError
from .._storage import Storage
from ._sources import FocusReason, FocusSource, raw_sources

__all__ = ["FocusTimeline", "focus_time", "focus_timeline", "focus_timelines", "timeline_of"]


def _utc(value: datetime) -> datetime:
    return v.check_aware("created_at", value).astimezone(UTC)


def _instants(values: Iterable[datetime]) -> tuple[datetime, ...]:
    found = set()
    for index, value in enumerate(v.check_iterable("instants", values, "datetimes")):
        found.add(v.check_aware(f"instants[{index}]", value).astimezone(UTC))
    return tuple(sorted(found))


@attrs.frozen(kw_only=True)
class FocusTimeline:
    """The instants at which an item's focus time rises; a value that does not depend on `now`.

    `focus_time(now)` is the latest instant not after `now`, and never less than
    `created_at` (an item is at least as new as its creation). Instants at or
    before `created_at` are dropped, so each remaining instant is a rise. Every
    datetime is kept in UTC, which makes comparisons cheap. Build one per item
    with `focus_timeline`, or from your own database; rebuild it when the
    item, its activities or its timeline change.
    """

    item_id: str = attrs.field(validator=v.an_id)
    created_at: datetime = attrs.field(converter=_utc)
    instants: tuple[datetime, ...] = attrs.field(default=(), converter=_instants)
    #: The focus time once every instant has passed (the last instant, or creation).
    settled_at: datetime = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        kept = tuple(at for at in self.instants if at > self.created_at)
        object.__setattr__(self, "instants", kept)  # frozen: finish construction once
        object.__setattr__(self, "settled_at", kept[-1] if kept else self.created_at)

    def focus_time(self, now: datetime) -> datetime:
        """The item's focus time at `now`, in UTC (F2)."""
        now = v.instant("now", now)
        if self.settled_at <= now:
            return self.settled_at
        index = bisect_right(self.instants, now)
        return self.instants[index - 1] if index else self.created_at

    def next_change(self, now: datetime) -> datetime | None:
        """The first instant after `now` at which the focus time rises by itself, or None (F5)."""
        now = v.instant("now", now)
        if self.settled_at <= now:
            return None
        index = bisect_right(self.instants, now)
        return self.instants[index] if index < len(self.instants) else None


def timeline_of(sources: Iterable[FocusSource]) -> FocusTimeline:
    """The timeline of one item's focus sources (the creation source must be among them)."""
    created: datetime | None = None
    item_id: str | None = None
    instants = []
    for source in sources:
        if item_id is None:
            item_id = source.item_id
        elif source.item_id != item_id:
            raise ValidationError(
                "sources", f"sources of items {item_id!r} and {source.item_id!r} mixed"
            )
        if source.reason is FocusReason.CREATED:
            created = source.at
        else:
            instants.append(source.at)
    if item_id is None or created is None:
        raise ValidationError("sources", "the item's creation must be one of its sources")
    return FocusTimeline(item_id=item_id, created_at=created, instants=instants)


def focus_timeline(storage: Storage, item_id: str) -> FocusTimeline:
    """The focus timeline of a stored item (F2); unknown ids raise `UnknownIdError`."""
    item = storage.item(item_id)
    raws = raw_sources(
        item,
        storage.activities_of_item(item_id),
        storage.events_of_item(item_id),
        storage.settings.focus_reminder_offsets,
    )
    return FocusTimeline(
        item_id=item_id,
        created_at=item.created_at,
        instants=[raw[0] for raw in raws if raw[1] is not FocusReason.CREATED],
    )


def focus_timelines(storage: Storage, item_ids: Iterable[str]) -> tuple[FocusTimeline, ...]:
    """The focus timelines of several stored items, in the order given."""
    if isinstance(item_ids, str):
        raise ValidationError("item_ids", "expected a collection of item ids, got one string")
    return tuple(focus_timeline(storage, item_id) for item_id in item_ids)


def focus_time(storage: Storage, item_id: str, now: datetime) -> datetime:
    """The item's focus time at `now`, in UTC (F2).

    The latest of: its creation; each incoming message, call or e-mail; each
    comment by someone other than its responsible; each reminder instant
    `deadline - offset` of its activities (completed ones up to their
    completion) — among those not after `now`. It never decreases as `now`
    advances, and completing an activity does not lower it.
    """
    now = v.instant("now", now)
    return focus_timeline(storage, item_id).focus_time(now)

"""Focus ordering (F1, F4, F5): columns sorted by focus time, newest first, ties by id."""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import attrs

from .. import _validate as v
from .._errors import ValidationError
from .._storage import Storage
from ._timeline import FocusTimeline, focus_timelines

__all__ = ["FocusOrder", "next_focus_change", "order_by_focus", "rank_by_focus"]

# One ranked entry while ranking: (focus time, item id, next rise or None). Item ids
# are unique, so tuple comparison never reaches the third field.
_Entry = tuple[datetime, str, datetime | None]


@attrs.frozen(kw_only=True)
class FocusOrder:
    """A column (or list page) in focus order at `at`, and how long it holds (F1, F5).

    `item_ids[i]` has focus time `focus_times[i]` (UTC); the order is focus
    time newest first, ties by item id descending (string order). With a
    `limit`, only the first `limit` items are listed and `total` says how many
    were ranked. `valid_until` is the earliest instant after `at` at which this
    value would change by itself — a listed item's focus time rises, or an
    unlisted item rises into the page — or None when nothing ever will.
    """

    at: datetime = attrs.field(validator=v.aware)
    item_ids: tuple[str, ...]
    focus_times: tuple[datetime, ...]
    total: int
    valid_until: datetime | None = attrs.field(validator=v.optional_aware)

    def __len__(self) -> int:
        return len(self.item_ids)

    def __iter__(self) -> Iterator[tuple[str, datetime]]:
        """(item id, focus time) pairs, first place first."""
        return zip(self.item_ids, self.focus_times, strict=True)


def _entries(timelines: Iterable[FocusTimeline], now: datetime) -> list[_Entry]:
    """Each timeline's focus time and next rise at `now` (the hot loop: plain data only)."""
    entries: list[_Entry] = []
    append = entries.append
    for timeline in timelines:
        settled = timeline.settled_at
        if settled <= now:
            append((settled, timeline.item_id, None))
            continue
        instants = timeline.instants
        index = bisect_right(instants, now)
        focus = instants[index - 1] if index else timeline.created_at
        append((focus, timeline.item_id, instants[index] if index < len(instants) else None))
    return entries


def _entering_at(timeline: FocusTimeline, floor: tuple[datetime, str]) -> datetime | None:
    """The first instant at which `timeline`'s key would pass `floor`, or None."""
    for at in timeline.instants[bisect_left(timeline.instants, floor[0]) :]:
        if (at, timeline.item_id) > floor:
            return at
    return None


def rank_by_focus(
    timelines: Iterable[FocusTimeline], now: datetime, *, limit: int | None = None
) -> FocusOrder:
    """Rank items by focus at `now` from their timelines (F1, F5); the pure core.

    With `limit`, only the best `limit` are selected (a partial selection with
    `heapq.nlargest`, not a full sort): a page of 50 out of 100,000 items.
    Duplicate item ids are refused.
    """
    now = v.check_aware("now", now).astimezone(UTC)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValidationError("limit", f"expected a whole number >= 0 or None, got {limit!r}")
    listed = timelines if isinstance(timelines, list | tuple) else list(timelines)
    entries = _entries(listed, now)
    if len({entry[1] for entry in entries}) != len(entries):
        raise ValidationError("timelines", "repeated item ids: rank each item once")
    if limit is None or limit >= len(entries):
        page = sorted(entries, reverse=True)
    else:
        page = heapq.nlargest(limit, entries)
    rises = [entry[2] for entry in entries if entry[2] is not None]
    valid_until = min(rises) if rises and page else None
    if page and len(page) < len(entries) and page[-1][0] > now:
        # The page's last item is newer than `now` (created in the future): an item
        # rising below it does not enter the page, so look closer.
        valid_until = _page_valid_until(listed, page, now)
    return FocusOrder(
        at=now,
        item_ids=tuple(entry[1] for entry in page),
        focus_times=tuple(entry[0] for entry in page),
        total=len(entries),
        valid_until=valid_until,
    )


def _page_valid_until(
    timelines: list[FocusTimeline] | tuple[FocusTimeline, ...],
    page: list[_Entry],
    now: datetime,
) -> datetime | None:
    shown = {entry[1] for entry in page}
    floor = (page[-1][0], page[-1][1])
    candidates = [entry[2] for entry in page if entry[2] is not None]
    for timeline in timelines:
        if timeline.item_id not in shown and timeline.settled_at > now:
            entering = _entering_at(timeline, floor)
            if entering is not None:
                candidates.append(entering)
    return min(candidates) if candidates else None


def order_by_focus(
    storage: Storage, item_ids: Iterable[str], now: datetime, *, limit: int | None = None
) -> FocusOrder:
    """Order stored items by focus at `now` (F1): a Kanban column, a list page or an
    Activities-view column (F4, V2). Unknown ids raise `UnknownIdError`."""
    v.check_aware("now", now)
    return rank_by_focus(focus_timelines(storage, item_ids), now, limit=limit)


def next_focus_change(
    storage: Storage, item_ids: Iterable[str], now: datetime, *, limit: int | None = None
) -> datetime | None:
    """The earliest instant after `now` at which `order_by_focus` would answer otherwise (F5)."""
    return order_by_focus(storage, item_ids, now, limit=limit).valid_until

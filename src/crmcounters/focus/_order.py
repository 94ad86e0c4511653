"""Focus ordering (F1, F4, F5): columns sorted by focus time, newest first, ties by id."""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import chain

import attrs

from .. import _validate as v
from .._errors import ValidationError
from .._storage import Storage
from ._timeline import FocusTimeline, focus_timelines

__all__ = ["FocusColumn", "FocusOrder", "next_focus_change", "order_by_focus", "rank_by_focus"]

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

    at: datetime = attrs.field(converter=v.utc, validator=v.aware)
    item_ids: tuple[str, ...]
    focus_times: tuple[datetime, ...]
    total: int
    valid_until: datetime | None = attrs.field(converter=v.optional_utc, validator=v.optional_aware)

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


def _page_valid_until(
    timelines: Sequence[FocusTimeline], page: list[_Entry], now: datetime
) -> datetime | None:
    """Exact F5 for a page whose last item is newer than `now`."""
    shown = {entry[1] for entry in page}
    floor = (page[-1][0], page[-1][1])
    candidates = [entry[2] for entry in page if entry[2] is not None]
    for timeline in timelines:
        if timeline.item_id not in shown and timeline.settled_at > now:
            entering = _entering_at(timeline, floor)
            if entering is not None:
                candidates.append(entering)
    return min(candidates) if candidates else None


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValidationError("limit", f"expected a whole number >= 0 or None, got {limit!r}")


def _check_unique(timelines: Sequence[FocusTimeline]) -> None:
    if len(set(map(_item_id, timelines))) != len(timelines):
        raise ValidationError("timelines", "repeated item ids: rank each item once")


def _item_id(timeline: FocusTimeline) -> str:
    return timeline.item_id


def _rank(
    now: datetime, limit: int | None, entries: list[_Entry], timelines: Sequence[FocusTimeline]
) -> FocusOrder:
    """Sort (or partially select) `entries` and find when the result changes (F5)."""
    if limit is None or limit >= len(entries):
        page = sorted(entries, reverse=True)
    else:
        page = heapq.nlargest(limit, entries)
    valid_until = None
    if page:
        valid_until = min((entry[2] for entry in entries if entry[2] is not None), default=None)
        if len(page) < len(entries) and page[-1][0] > now:
            # The page's last item is newer than `now` (created in the future): an item
            # rising below it does not enter the page, so look closer.
            valid_until = _page_valid_until(timelines, page, now)
    return FocusOrder(
        at=now,
        item_ids=tuple(entry[1] for entry in page),
        focus_times=tuple(entry[0] for entry in page),
        total=len(entries),
        valid_until=valid_until,
    )


def rank_by_focus(
    timelines: Iterable[FocusTimeline], now: datetime, *, limit: int | None = None
) -> FocusOrder:
    """Rank items by focus at `now` from their timelines (F1, F5); the pure core.

    With `limit`, only the best `limit` are selected (a partial selection with
    `heapq.nlargest`, not a full sort): a page of 50 out of 100,000 items.
    Anything but `FocusTimeline` values, and duplicate item ids, are refused
    (a `ValidationError` naming `timelines[index]`). To rank the same items again and again
    (pages, refreshes), build a `FocusColumn` once instead.
    """
    now = v.instant("now", now)
    _check_limit(limit)
    listed = _checked_timelines(timelines)
    return _rank(now, limit, _entries(listed, now), listed)


def _checked_timelines(values: Iterable[FocusTimeline]) -> tuple[FocusTimeline, ...]:
    """`values` as a tuple of timelines of distinct items; anything else is refused."""
    found = v.check_instances("timelines", values, FocusTimeline)
    _check_unique(found)
    return found


@attrs.frozen(kw_only=True)
class FocusColumn:
    """A column's timelines indexed once, then ranked at any `now` (F1, F5).

    The index is every focus instant of every item, sorted. At `now`, the
    item with the latest instant not after `now` is first, and so on: walking
    the instants backwards from `now` and keeping each item's first
    appearance yields the column in focus order. A page of 50 out of 100,000
    items therefore costs about 50 steps (plus the older instants of those 50
    items), not a sort. The value does not depend on `now`; rebuild it when an
    item's timeline changes.
    """

    timelines: tuple[FocusTimeline, ...] = attrs.field(converter=_checked_timelines)
    # Every (instant, item id), creations included, ascending; and its instants alone.
    _all: tuple[tuple[datetime, str], ...] = attrs.field(init=False, repr=False, eq=False)
    _all_at: tuple[datetime, ...] = attrs.field(init=False, repr=False, eq=False)
    # The rises alone (creations excluded), ascending, to find the next change (F5).
    _rises: tuple[tuple[datetime, str], ...] = attrs.field(init=False, repr=False, eq=False)
    _rises_at: tuple[datetime, ...] = attrs.field(init=False, repr=False, eq=False)
    # Creations alone, ascending: items created after `now` lead the column.
    _created: tuple[tuple[datetime, str], ...] = attrs.field(init=False, repr=False, eq=False)
    _created_at: tuple[datetime, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        created = sorted((one.created_at, one.item_id) for one in self.timelines)
        rises = sorted((at, one.item_id) for one in self.timelines for at in one.instants)
        every = sorted(chain(created, rises))
        derived = {  # frozen: set the derived indexes once
            "_all": tuple(every),
            "_all_at": tuple(at for at, _ in every),
            "_rises": tuple(rises),
            "_rises_at": tuple(at for at, _ in rises),
            "_created": tuple(created),
            "_created_at": tuple(at for at, _ in created),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return len(self.timelines)

    def rank(self, now: datetime, *, limit: int | None = None) -> FocusOrder:
        """The column in focus order at `now`, whole or its first `limit` items."""
        now = v.instant("now", now)
        _check_limit(limit)
        total = len(self.timelines)
        wanted = total if limit is None else min(limit, total)
        page: list[tuple[datetime, str]] = []
        # Items created after `now` keep their creation as focus time: they lead.
        index = len(self._created)
        first_past = bisect_right(self._created_at, now)
        while index > first_past and len(page) < wanted:
            index -= 1
            page.append(self._created[index])
        seen = {item_id for _, item_id in page}
        index = bisect_right(self._all_at, now)
        every = self._all
        while index and len(page) < wanted:
            index -= 1
            entry = every[index]
            if entry[1] not in seen:
                seen.add(entry[1])
                page.append(entry)
        return FocusOrder(
            at=now,
            item_ids=tuple(item_id for _, item_id in page),
            focus_times=tuple(at for at, _ in page),
            total=total,
            valid_until=self._valid_until(page, seen, now),
        )

    def _valid_until(
        self, page: list[tuple[datetime, str]], listed: set[str], now: datetime
    ) -> datetime | None:
        """The first rise after `now` of a listed item, or of another item into the page."""
        if not page:
            return None
        floor = page[-1]
        rises = self._rises
        for index in range(bisect_right(self._rises_at, now), len(rises)):
            entry = rises[index]
            if entry[1] in listed or entry > floor:
                return entry[0]
        return None


def order_by_focus(
    storage: Storage, item_ids: Iterable[str], now: datetime, *, limit: int | None = None
) -> FocusOrder:
    """Order stored items by focus at `now` (F1): a Kanban column, a list page or an
    Activities-view column (F4, V2). Unknown ids raise `UnknownIdError`."""
    now = v.instant("now", now)
    return rank_by_focus(focus_timelines(storage, item_ids), now, limit=limit)


def next_focus_change(
    storage: Storage, item_ids: Iterable[str], now: datetime, *, limit: int | None = None
) -> datetime | None:
    """The earliest instant after `now` at which `order_by_focus` would answer otherwise (F5)."""
    return order_by_focus(storage, item_ids, now, limit=limit).valid_until

"""A column kept in focus order as items change and as `now` moves (F1, F5), for O(page) pages.

`LiveColumn` holds each item's key (focus time, item id) as of the last
`now` it was asked about, in a sorted structure, and a heap of the instants
at which some item's key will rise. Asking at a later `now` re-keys only the
items whose rise has come; asking at an earlier one re-keys only the items
whose key is newer than that `now` (the head of the order). A page is then a
walk of `limit` keys, whatever the column's size.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from datetime import datetime

from ._pages import FocusKey, FocusPage, entering_at, entry_at

__all__ = ["Line", "LiveColumn", "SortedKeys"]

#: An item's focus timeline as plain data: (creation in UTC, rise instants ascending, all later).
Line = tuple[datetime, tuple[datetime, ...]]

_LOAD = 512  # keys per block of a `SortedKeys`


class SortedKeys:
    """A sorted multiset of keys in blocks: O(log n) add and remove, ordered walks from any key.

    Each block is a sorted list of at most 2 x `_LOAD` keys; `_maxes` holds
    each block's last key, so a key's block is one bisect away and an insert
    moves at most a block, not the whole column.
    """

    __slots__ = ("_blocks", "_len", "_maxes")

    def __init__(self, keys: Iterable[FocusKey] = ()) -> None:
        ordered = sorted(keys)
        self._blocks = [ordered[i : i + _LOAD] for i in range(0, len(ordered), _LOAD)]
        self._maxes = [block[-1] for block in self._blocks]
        self._len = len(ordered)

    def __len__(self) -> int:
        return self._len

    def add(self, key: FocusKey) -> None:
        """Insert `key`."""
        self._len += 1
        if not self._blocks:
            self._blocks.append([key])
            self._maxes.append(key)
            return
        index = bisect_left(self._maxes, key)
        if index == len(self._maxes):
            index -= 1
            self._blocks[index].append(key)
            self._maxes[index] = key
        else:
            insort(self._blocks[index], key)
        block = self._blocks[index]
        if len(block) > 2 * _LOAD:
            self._blocks[index : index + 1] = [block[:_LOAD], block[_LOAD:]]
            self._maxes[index : index + 1] = [block[_LOAD - 1], block[-1]]

    def remove(self, key: FocusKey) -> None:
        """Remove one `key`; it must be present."""
        index = bisect_left(self._maxes, key)
        block = self._blocks[index]
        position = bisect_left(block, key)
        if block[position] != key:  # pragma: no cover - callers remove what they added
            raise KeyError(key)
        del block[position]
        self._len -= 1
        if not block:
            del self._blocks[index]
            del self._maxes[index]
        elif position == len(block):
            self._maxes[index] = block[-1]

    def below(self, key: FocusKey | None) -> Iterator[FocusKey]:
        """The keys strictly below `key` (all when None), largest first."""
        blocks = self._blocks
        if key is None:
            index = len(blocks) - 1
            position = len(blocks[index]) if blocks else 0
        else:
            index = bisect_left(self._maxes, key)
            if index == len(blocks):
                index -= 1
                position = len(blocks[index]) if blocks else 0
            else:
                position = bisect_left(blocks[index], key)
        while index >= 0:
            block = blocks[index]
            while position:
                position -= 1
                yield block[position]
            index -= 1
            if index >= 0:
                position = len(blocks[index])

    def first_from(self, key: FocusKey) -> FocusKey | None:
        """The smallest key at or above `key`, or None."""
        index = bisect_left(self._maxes, key)
        if index == len(self._maxes):
            return None
        block = self._blocks[index]
        return block[bisect_left(block, key)]

    def __iter__(self) -> Iterator[FocusKey]:
        for block in self._blocks:
            yield from block


class LiveColumn:
    """One column's items keyed by focus time as of `as_of`; answers pages at any `now`.

    Not thread-safe by itself: its owner serialises calls (re-keying is a write).
    """

    __slots__ = ("_as_of", "_heap", "_key_of", "_keys", "_lines", "_next_of")

    def __init__(self, lines: dict[str, Line], as_of: datetime) -> None:
        self._lines = lines
        self._as_of = as_of
        key_of: dict[str, FocusKey] = {}
        next_of: dict[str, datetime | None] = {}
        heap: list[tuple[datetime, str]] = []
        for item_id, (created_at, instants) in lines.items():  # `entry_at`, inlined: n items
            index = bisect_right(instants, as_of)
            key_of[item_id] = (instants[index - 1] if index else created_at, item_id)
            if index < len(instants):
                rise = next_of[item_id] = instants[index]
                heap.append((rise, item_id))
            else:
                next_of[item_id] = None
        heapq.heapify(heap)
        self._key_of = key_of
        self._next_of = next_of
        self._heap = heap
        self._keys = SortedKeys(self._key_of.values())

    def __len__(self) -> int:
        return len(self._lines)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._lines

    # -- writes ---------------------------------------------------------------

    def put(self, item_id: str, line: Line) -> None:
        """Add the item, or give it a new timeline."""
        if item_id in self._lines:
            if self._lines[item_id] == line:
                return
            self._keys.remove(self._key_of[item_id])
        self._lines[item_id] = line
        focus, rise = entry_at(line[0], line[1], self._as_of)
        key = (focus, item_id)
        self._key_of[item_id] = key
        self._keys.add(key)
        self._set_next(item_id, rise)
        self._compact()

    def discard(self, item_id: str) -> None:
        """Remove the item if present (its heap entries go stale)."""
        if self._lines.pop(item_id, None) is not None:
            self._keys.remove(self._key_of.pop(item_id))
            del self._next_of[item_id]

    def _set_next(self, item_id: str, rise: datetime | None) -> None:
        self._next_of[item_id] = rise
        if rise is not None:
            heapq.heappush(self._heap, (rise, item_id))

    def _compact(self) -> None:
        """Drop the heap's stale entries once they outnumber the live ones."""
        if len(self._heap) > 2 * len(self._lines) + 64:
            self._heap = [(at, i) for i, at in self._next_of.items() if at is not None]
            heapq.heapify(self._heap)

    def _rekey(self, item_id: str, now: datetime) -> None:
        created_at, instants = self._lines[item_id]
        focus, rise = entry_at(created_at, instants, now)
        old = self._key_of[item_id]
        if old[0] != focus:
            key = (focus, item_id)
            self._keys.remove(old)
            self._keys.add(key)
            self._key_of[item_id] = key
        self._set_next(item_id, rise)

    def advance(self, now: datetime) -> None:
        """Bring every key to `now` (later or earlier than the last `now`)."""
        if now >= self._as_of:
            heap = self._heap
            next_of = self._next_of
            while heap and heap[0][0] <= now:
                at, item_id = heapq.heappop(heap)
                if next_of.get(item_id) == at:  # else stale: removed or re-keyed since
                    self._rekey(item_id, now)
        else:
            newer = []
            for key in self._keys.below(None):
                if key[0] <= now:
                    break
                newer.append(key[1])
            for item_id in newer:
                self._rekey(item_id, now)
        self._as_of = now
        self._compact()

    # -- reads ----------------------------------------------------------------

    def _next_rise(self) -> datetime | None:
        """The earliest next rise of any item (after `advance`: after `now`)."""
        heap = self._heap
        next_of = self._next_of
        while heap and next_of.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def page(self, now: datetime, limit: int | None, after: FocusKey | None) -> FocusPage:
        """The page after `after` (or the first) at `now`: same answer as `scratch_page`."""
        self.advance(now)
        wanted = len(self._lines) if limit is None else limit
        page: list[FocusKey] = []
        below = self._keys.below(after)
        for key in below:
            if len(page) == wanted:
                more = True
                break
            page.append(key)
        else:
            more = False
        next_of = self._next_of
        candidates = [at for at in (next_of[key[1]] for key in page) if at is not None]
        if page and more:
            floor = page[-1]
            if after is None and floor[0] <= now:
                # Any rise lands above a floor in the past: the next rise of any item.
                rise = self._next_rise()
                candidates = [rise] if rise is not None else []
            elif after is None or after[0] > now:
                candidates.extend(self._entering(floor, after))
            # else: a rise after `now` lands above a cursor in the past, out of range.
        return FocusPage(
            item_ids=tuple(key[1] for key in page),
            focus_times=tuple(key[0] for key in page),
            total=len(self._lines),
            more=more,
            valid_until=min(candidates) if page and candidates else None,
        )

    def _entering(self, floor: FocusKey, after: FocusKey | None) -> Iterator[datetime]:
        """When each item below `floor` would rise past it without passing `after` (rare: keys
        in the future, from items created after `now`)."""
        lines = self._lines
        for _, item_id in self._keys.below(floor):
            entering = entering_at(lines[item_id][1], item_id, floor)
            if entering is not None and (after is None or (entering, item_id) < after):
                yield entering

"""Pages of a column in focus order (F1, F5, V2): keys, cursors, and the reference page.

A column is paged by its focus key `(focus time in UTC, item id)`, descending.
A cursor holds the key of a page's last item; the next page is the first
`limit` items whose key at `now` is strictly below it (keyset paging), so a
cursor survives any write. `scratch_page` computes a page from timelines: it
is the reference every faster engine (`InMemoryStorage`'s live columns, SQL)
must agree with, `valid_until` included.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from .. import _validate as v
from .._errors import ValidationError
from ._timeline import FocusTimeline

if TYPE_CHECKING:
    from .._view import Column

__all__ = [
    "CURSOR_VERSION",
    "FocusKey",
    "FocusPage",
    "PagedFocusStorage",
    "decode_cursor",
    "encode_cursor",
    "entering_at",
    "page_of_entries",
    "scratch_page",
]

#: A column's sort key: (focus time in UTC, item id); columns list it descending (F1).
FocusKey = tuple[datetime, str]

#: The version written in every cursor; a cursor of another version is refused.
CURSOR_VERSION = 1


@attrs.frozen(kw_only=True)
class FocusPage:
    """One page of a column in focus order at some `now` (F1, F5).

    `item_ids[i]` has focus time `focus_times[i]` (UTC). `total` counts the
    whole column (not only the items after a cursor); `more` says whether an
    item of the column sorts after the page's last one. `valid_until` is the
    first instant after `now` at which this page (same cursor, same limit)
    would differ by itself: a listed item rises, or an item below a full page
    rises into it without passing the cursor; None when nothing ever will.
    """

    item_ids: tuple[str, ...]
    focus_times: tuple[datetime, ...]
    total: int
    more: bool
    valid_until: datetime | None

    def __len__(self) -> int:
        return len(self.item_ids)

    @property
    def last_key(self) -> FocusKey | None:
        """The key of the page's last item (what a cursor continuing it holds), or None."""
        if not self.item_ids:
            return None
        return (self.focus_times[-1], self.item_ids[-1])


@runtime_checkable
class PagedFocusStorage(Protocol):
    """A storage that answers column pages itself, cheaply (an index, an SQL query).

    `kanban_board` and `activities_view` call these when the storage has them
    and compute pages from scratch otherwise; the answers must be the same.
    Arguments are already checked: `now` is in UTC, ids exist, `limit` is an
    int >= 0 or None, `after` is the cursor's key or None.
    """

    def kanban_focus_page(
        self,
        entity_type: str,
        pipeline_id: str,
        stage_id: str,
        now: datetime,
        *,
        limit: int | None,
        after: FocusKey | None,
    ) -> FocusPage:
        """The page of one Kanban column (items of that entity type, pipeline and stage)."""
        ...

    def view_focus_pages(
        self,
        user_id: str,
        now: datetime,
        *,
        limit: int | None,
        column: Column | None,
        after: FocusKey | None,
    ) -> tuple[Mapping[Column, FocusPage], datetime | None]:
        """Pages of a user's Activities view columns, and when an item first changes column.

        Every `Column` in display order when `column` is None, else that one
        only; the second value is the earliest `Placement.moves_at` of all the
        user's items, or None.
        """
        ...


# -- cursors ------------------------------------------------------------------


def encode_cursor(identity: Mapping[str, str], key: FocusKey) -> str:
    """An opaque cursor: URL-safe base64 (unpadded) of compact JSON, identity plus key."""
    body = dict(identity)
    body["focus_time"] = key[0].isoformat()
    body["item_id"] = key[1]
    body["v"] = CURSOR_VERSION  # type: ignore[assignment]  # an int among strings
    text = json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def _refuse(why: str) -> ValidationError:
    return ValidationError("cursor", why)


def decode_cursor(cursor: object, board: str) -> tuple[dict[str, str], FocusKey]:
    """The identity fields and key of a cursor made for `board`; `ValidationError("cursor")`.

    The caller checks the identity (pipeline, stage, user, column) against
    its own arguments.
    """
    if not isinstance(cursor, str):
        raise _refuse(f"expected a cursor string, got {type(cursor).__name__}")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw.decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _refuse("not a cursor of this library (bad encoding)") from None
    if not isinstance(body, dict):
        raise _refuse("not a cursor of this library")
    if body.get("v") != CURSOR_VERSION:
        raise _refuse(f"cursor version {body.get('v')!r} is not {CURSOR_VERSION}")
    if body.get("board") != board:
        raise _refuse(f"a cursor of a {body.get('board')!r} board, not of a {board!r} one")
    fields: dict[str, str] = {}
    for name, value in body.items():
        if name == "v":
            continue
        if not isinstance(value, str):
            raise _refuse(f"field {name!r} is not a string")
        fields[name] = value
    try:
        at = datetime.fromisoformat(fields.pop("focus_time"))
        item_id = fields.pop("item_id")
    except (KeyError, ValueError):
        raise _refuse("no valid focus_time and item_id") from None
    if not v.is_aware(at):
        raise _refuse("focus_time is not an aware instant")
    return fields, (v.instant("cursor", at), item_id)


# -- the reference page -------------------------------------------------------

#: (focus time, item id, next rise or None): one item at `now`, as plain data.
_Entry = tuple[datetime, str, datetime | None]


def entering_at(instants: tuple[datetime, ...], item_id: str, floor: FocusKey) -> datetime | None:
    """The first of an item's rise instants at which its key passes `floor`, or None."""
    for at in instants[bisect_left(instants, floor[0]) :]:
        if (at, item_id) > floor:
            return at
    return None


def page_of_entries(
    entries: list[_Entry],
    instants_of: Mapping[str, tuple[datetime, ...]],
    limit: int | None,
    after: FocusKey | None,
) -> FocusPage:
    """The page after `after` (or the first) of a column's entries at some `now` (F1, F5).

    `entries` holds every item of the column; `instants_of` gives each item's
    rise instants (to find when an unlisted item would rise into the page).
    """
    total = len(entries)
    chosen = entries if after is None else [e for e in entries if (e[0], e[1]) < after]
    if limit is None or limit >= len(chosen):
        page = sorted(chosen, reverse=True)
    else:
        page = heapq.nlargest(limit, chosen)
    more = len(page) < len(chosen)
    candidates = [entry[2] for entry in page if entry[2] is not None]
    if page and more:
        floor = (page[-1][0], page[-1][1])
        listed = {entry[1] for entry in page}
        for _, item_id, _ in chosen:
            if item_id in listed:
                continue
            entering = entering_at(instants_of[item_id], item_id, floor)
            if entering is not None and (after is None or (entering, item_id) < after):
                candidates.append(entering)
    return FocusPage(
        item_ids=tuple(entry[1] for entry in page),
        focus_times=tuple(entry[0] for entry in page),
        total=total,
        more=more,
        valid_until=min(candidates) if page and candidates else None,
    )


def entry_at(
    created_at: datetime, instants: tuple[datetime, ...], now: datetime
) -> tuple[datetime, datetime | None]:
    """(focus time, next rise or None) at `now` of an item created then, rising at `instants`."""
    index = bisect_right(instants, now)
    focus = instants[index - 1] if index else created_at
    return focus, (instants[index] if index < len(instants) else None)


def scratch_page(
    timelines: Iterable[FocusTimeline],
    now: datetime,
    *,
    limit: int | None = None,
    after: FocusKey | None = None,
) -> FocusPage:
    """A column's page computed from its timelines alone: the reference (F1, F5).

    Without `after` it lists what `rank_by_focus(timelines, now, limit=limit)`
    lists, with the same `valid_until`.
    """
    now = v.instant("now", now)
    entries: list[_Entry] = []
    instants_of: dict[str, tuple[datetime, ...]] = {}
    for timeline in timelines:
        focus, rise = entry_at(timeline.created_at, timeline.instants, now)
        entries.append((focus, timeline.item_id, rise))
        instants_of[timeline.item_id] = timeline.instants
    return page_of_entries(entries, instants_of, limit, after)

"""Focus order pushed down to SQL (F1, F2, F5, V1, V2): the tables the writes keep, and the pages.

An item's focus time at `now` is the latest of its *focus instants* (its
creation and each rise of F2) not after `now`; the instants themselves do not
depend on `now` (`FocusTimeline`). So the library's writes keep, per item:

- one row of `crm_focus_items`: the item's Kanban column (pipeline, stage),
  its responsible, its creation, and its Activities-view *placement* (no open
  activity, an open incoming one, open ones without a deadline, or the
  earliest open deadline), which decides its view column at any `now` once the
  user's day boundaries are known (V1);
- one row of `crm_focus_instants` per focus instant (the creation and every
  rise after it), carrying copies of the item's column keys.

A page at `now` is then an index walk down the column's instants from `now`,
newest first, that keeps an instant only when the item has no later one up to
`now` (one primary-key probe): each item appears once, at its focus time, in
focus order, and `LIMIT` stops the walk after a page. Items created after
`now` lead (their creation is their focus time) and come from
`crm_focus_items`. Nothing stored depends on `now`, so the answer is exact at
any instant, past or future (X2), and so is `valid_until` (F5): the first
later rise that reorders the page.

The Activities view's dated columns are ranges of the earliest open deadline
between the user's local midnights (computed at query time, in the user's
zone). A range holding few items is read whole and sorted; a wide one is
walked in focus order, skipping the instants of the user's other dated items.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import timedelta, tzinfo
from typing import Any, Protocol

import attrs

from .._activities import Activity
from .._calendar import day_start, week_start_of
from .._events import CommentAdded, IncomingMessage, TimelineEvent
from .._items import Item
from .._portal import settings_from_dict
from ..focus._sources import is_incoming_event, reminder_offsets
from ._dialect import Connection, Dialect
from ._rows import ACTIVITIES, EVENTS, ITEMS, instant_us, utc_from_us

__all__ = [
    "FOCUS_INSTANT_COLUMNS",
    "FOCUS_ITEM_COLUMNS",
    "NO_ACTIVITY",
    "OPEN_DATED",
    "OPEN_INCOMING",
    "OPEN_UNDATED",
    "FocusQueries",
    "Key",
    "PageAnswer",
    "Scope",
    "add_column_counts",
    "column_counts",
    "fill_focus",
    "focus_rows",
    "group_by_item",
    "kanban_scopes",
    "refresh_focus",
    "rows_of_items",
    "view_moves",
    "view_scopes",
]

_MINUTE_US = 60_000_000
_WEEK = timedelta(days=7)

#: Placements (V1): what an item's open activities say about its Activities-view column.
NO_ACTIVITY = 0  # No activities
OPEN_INCOMING = 1  # Today, whatever the deadlines
OPEN_UNDATED = 2  # Later: open activities, none with a deadline
OPEN_DATED = 3  # by the earliest open deadline's local day

FOCUS_ITEM_COLUMNS = (
    "item_id",
    "pipeline_id",
    "stage_id",
    "responsible_id",
    "created_us",
    "placement",
    "deadline_us",
)
FOCUS_INSTANT_COLUMNS = (
    "item_id",
    "at_us",
    "rise",
    "pipeline_id",
    "stage_id",
    "responsible_id",
    "placement",
    "deadline_us",
)

ItemRow = tuple[str, str, str, str, int, int, int | None]
InstantRow = tuple[str, int, int, str, str, str, int, int | None]


def focus_rows(
    item: Item,
    activities: Iterable[Activity],
    events: Iterable[TimelineEvent],
    default_offsets: tuple[int, ...],
) -> tuple[ItemRow, list[InstantRow]]:
    """The item's `crm_focus_items` row and its `crm_focus_instants` rows (F2, V1).

    The instants are those of `focus_timeline` (the creation, and each F2
    source after it, once), in epoch microseconds; `activities` are all the
    item's activities, open and completed, `events` its timeline events.
    """
    created = instant_us(item.created_at)
    found: set[int] = set()
    add = found.add
    for event in events:
        if event.item_id != item.id:
            continue
        if isinstance(event, IncomingMessage) or (
            isinstance(event, CommentAdded) and event.author_id != item.responsible_id
        ):
            add(instant_us(event.at))
    placement = NO_ACTIVITY
    earliest: int | None = None
    for activity in activities:
        if item.id not in activity.item_ids:
            continue
        if is_incoming_event(activity):
            add(instant_us(activity.created_at))
        if activity.reminded_at is not None:
            add(instant_us(activity.reminded_at))
        deadline = activity.deadline
        completed = activity.completed_at
        deadline_us = None if deadline is None else instant_us(deadline)
        if deadline_us is not None and not activity.incoming:
            completed_us = None if completed is None else instant_us(completed)
            for offset in reminder_offsets(activity, default_offsets):
                at = deadline_us - offset * _MINUTE_US
                if completed_us is None or at <= completed_us:
                    add(at)
        if completed is None:  # open: V1's placement (as `place_item` decides it)
            if activity.incoming:
                placement = OPEN_INCOMING
            elif placement != OPEN_INCOMING:
                if deadline_us is not None and (earliest is None or deadline_us < earliest):
                    earliest = deadline_us
                placement = OPEN_DATED if earliest is not None else OPEN_UNDATED
    deadline_copy = earliest if placement == OPEN_DATED else None
    pipeline = item.pipeline_id or ""
    stage = item.stage_id or ""
    who = item.responsible_id
    item_row: ItemRow = (item.id, pipeline, stage, who, created, placement, deadline_copy)
    instants: list[InstantRow] = [
        (item.id, created, 0, pipeline, stage, who, placement, deadline_copy)
    ]
    instants += [
        (item.id, at, 1, pipeline, stage, who, placement, deadline_copy)
        for at in sorted(found)
        if at > created
    ]
    return item_row, instants


def rows_of_items(
    items: Iterable[Item],
    activities: Mapping[str, list[Activity]],
    events: Mapping[str, list[TimelineEvent]],
    default_offsets: tuple[int, ...],
) -> tuple[list[ItemRow], list[InstantRow]]:
    """`focus_rows` of many items; `activities` and `events` by item id."""
    item_rows: list[ItemRow] = []
    instant_rows: list[InstantRow] = []
    for item in items:
        row, instants = focus_rows(
            item, activities.get(item.id, ()), events.get(item.id, ()), default_offsets
        )
        item_rows.append(row)
        instant_rows += instants
    return item_rows, instant_rows


@attrs.frozen(kw_only=True)
class PageAnswer:
    """A column's page as the queries find it: keys in focus order, the column's size,
    whether items follow the page, and the page's `valid_until` (F5) in epoch µs."""

    keys: list[tuple[int, str]]
    total: int
    more: bool
    valid_until_us: int | None


class _Runner(Protocol):
    def __call__(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...


#: One part of a column: a condition on the key columns both tables share, and its parameters.
Scope = tuple[str, tuple[Any, ...]]
#: A place in focus order: (focus time as epoch µs, item id); a page continues below it.
Key = tuple[int, str]

_KANBAN = "pipeline_id = ? AND stage_id = ?"

#: Up to this many items in a part, the part is read whole and sorted rather than walked.
_READ_WHOLE = 200
#: Parameters in one statement of single values, well under every SQLite build's limit (999).
_PARAMETERS = 900


def _below(column: str, after: Key | None, item: str = "item_id") -> tuple[str, tuple[Any, ...]]:
    """`(column, item) < after` as SQL that keeps the index range on `column`."""
    if after is None:
        return "", ()
    return (
        f" AND {column} <= ? AND ({column} < ? OR {item} < ?)",
        (after[0], after[0], after[1]),
    )


class FocusQueries:
    """The focus-order queries of one storage, over its `crm_focus_*` tables."""

    def __init__(self, query: _Runner, dialect: Dialect) -> None:
        self._query = query
        self._in_lists = dialect.in_lists

    def counts(self, scopes: Sequence[Scope]) -> list[int]:
        """How many items each part holds (a Kanban column's from its stored count), in one
        statement."""
        parts: list[Scope] = []
        for where, params in scopes:
            if where == _KANBAN:
                parts.append(
                    (
                        "SELECT COALESCE(MAX(items), 0) FROM crm_focus_columns "
                        "WHERE pipeline_id = ? AND stage_id = ?",
                        params,
                    )
                )
            else:
                parts.append((f"SELECT COUNT(*) FROM crm_focus_items WHERE {where}", params))
        return [int(value or 0) for value in self._scalars(parts)]

    def _scalars(self, queries: Sequence[Scope]) -> list[Any]:
        """The one value of each single-value query, in one round trip to the database (more
        only past `_PARAMETERS` parameters, under every SQLite build's limit)."""
        values: list[Any] = []
        batch: list[Scope] = []
        used = 0
        for query in queries:
            if batch and used + len(query[1]) > _PARAMETERS:
                values += self._row(batch)
                batch, used = [], 0
            batch.append(query)
            used += len(query[1])
        if batch:
            values += self._row(batch)
        return values

    def _row(self, queries: Sequence[Scope]) -> list[Any]:
        sql = "SELECT " + ", ".join(f"({one})" for one, _ in queries)
        return list(self._query(sql, [value for _, params in queries for value in params])[0])

    def pages(
        self,
        columns: Sequence[Sequence[Scope]],
        sizes: Sequence[Sequence[int]],
        now_us: int,
        limit: int | None,
        after: Key | None,
    ) -> list[list[Key]]:
        """For each column, the first `limit` items (all with None) of the union of its
        parts below `after`, in one round trip for all the columns.

        In focus order at `now_us`: focus time newest first, ties by item id
        descending (F1); each part (of `sizes` items) is read on its own, an
        empty one not at all, and a column's parts merged.
        """
        statements: list[str] = []
        values: list[Any] = []
        whole: set[int] = set()  # the columns with a part read whole: cut after sorting
        for column, (scopes, part_sizes) in enumerate(zip(columns, sizes, strict=True)):
            for scope, size in zip(scopes, part_sizes, strict=True):
                if not size:
                    continue
                if limit is None or size <= _READ_WHOLE:
                    whole.add(column)
                    parts = [_whole(scope, now_us)]
                else:
                    parts = _walked(scope, now_us, limit, after)
                for sql, params in parts:
                    statements.append(f"SELECT {column} AS n, item_id, k FROM ({sql}) p")
                    values += params
        found: list[list[Key]] = [[] for _ in columns]
        if statements:
            for column, item_id, at in self._query(" UNION ALL ".join(statements), values):
                found[int(column)].append((int(at), str(item_id)))
        for column, keys in enumerate(found):
            keys.sort(reverse=True)
            if column in whole and after is not None:
                keys[:] = [key for key in keys if key < after]
            if limit is not None:
                del keys[limit:]
        return found

    def _rises(
        self,
        scopes: Sequence[Scope],
        now_us: int,
        listed: Collection[str],
        floor: Key | None,
        after: Key | None,
    ) -> list[Scope]:
        """The queries whose least value is the first rise after `now_us` that changes a
        page (F5).

        A listed item rising changes it. With a `floor` (the page is full and
        more items follow it), another item changes it when it rises above the
        page's last item and stays below the cursor `after`: an item's rises
        climb, so its first rise into that range is the change.
        """
        queries: list[Scope] = [
            (
                f"SELECT MIN(at_us) FROM crm_focus_instants WHERE {condition} "
                "AND at_us > ? AND rise = 1",
                (*params, now_us),
            )
            for condition, params in self._in_lists("item_id", sorted(listed))
        ]
        if floor is not None and (after is None or after[0] > now_us):
            # Otherwise nothing follows the page, or every rise after `now` lands above
            # the cursor.
            for where, params in scopes:
                condition = f"{where} AND at_us > ?"
                values: tuple[Any, ...] = (*params, now_us)
                if floor[0] > now_us:
                    condition += " AND at_us >= ? AND (at_us > ? OR item_id > ?)"
                    values += (floor[0], floor[0], floor[1])
                if after is not None:
                    condition += " AND at_us <= ? AND (at_us < ? OR item_id < ?)"
                    values += (after[0], after[0], after[1])
                queries.append(
                    (
                        f"SELECT at_us FROM crm_focus_instants WHERE {condition} AND rise = 1 "
                        "ORDER BY at_us LIMIT 1",
                        values,
                    )
                )
        return queries

    def answers(
        self,
        columns: Sequence[Sequence[Scope]],
        now_us: int,
        limit: int | None,
        after: Key | None,
    ) -> list[PageAnswer]:
        """Each column's page at `now_us` below `after`: its keys, the column's size,
        whether more items follow, and when the page would change by itself (F5).

        Three round trips whatever the number of columns (the sizes, the pages,
        the changes): a board or a view over PostgreSQL pays per round trip.
        """
        every = self.counts([scope for scopes in columns for scope in scopes])
        sizes: list[list[int]] = []
        for scopes in columns:
            sizes.append(every[: len(scopes)])
            every = every[len(scopes) :]
        wanted = None if limit is None else limit + 1
        pages: list[tuple[list[Key], int, bool]] = []  # each column's keys, size, more
        rises: list[Scope] = []
        ranges: list[tuple[int, int]] = []  # each column's queries among `rises`
        for scopes, part_sizes, keys in zip(
            columns, sizes, self.pages(columns, sizes, now_us, wanted, after), strict=True
        ):
            more = limit is not None and len(keys) > limit
            shown = keys if limit is None else keys[:limit]
            queries: list[Scope] = []
            if shown:
                filled = [s for s, size in zip(scopes, part_sizes, strict=True) if size]
                floor = shown[-1] if more else None
                queries = self._rises(filled, now_us, [key[1] for key in shown], floor, after)
            ranges.append((len(rises), len(rises) + len(queries)))
            rises += queries
            pages.append((shown, sum(part_sizes), more))
        changes = self._scalars(rises)
        answers: list[PageAnswer] = []
        for (shown, total, more), (low, high) in zip(pages, ranges, strict=True):
            times = [int(value) for value in changes[low:high] if value is not None]
            answers.append(
                PageAnswer(
                    keys=shown,
                    total=total,
                    more=more,
                    valid_until_us=min(times) if times else None,
                )
            )
        return answers

    def answer(
        self, scopes: Sequence[Scope], now_us: int, limit: int | None, after: Key | None
    ) -> PageAnswer:
        """One column's page (`answers` of one)."""
        return self.answers([scopes], now_us, limit, after)[0]

    def first_deadlines(
        self, user_id: str, ranges: Sequence[tuple[int, int | None]]
    ) -> list[int | None]:
        """The earliest open deadline of the user's dated items in each `[low, high)`."""
        queries: list[Scope] = []
        for low, high in ranges:
            condition = "responsible_id = ? AND placement = ? AND deadline_us >= ?"
            params: tuple[Any, ...] = (user_id, OPEN_DATED, low)
            if high is not None:
                condition += " AND deadline_us < ?"
                params += (high,)
            queries.append(
                (f"SELECT MIN(deadline_us) FROM crm_focus_items WHERE {condition}", params)
            )
        return [None if value is None else int(value) for value in self._scalars(queries)]


def _walked(scope: Scope, now_us: int, limit: int, after: Key | None) -> list[Scope]:
    """A large part's first `limit` keys below `after` as statements of (item_id, k) that walk
    the focus indexes: items created after `now` lead, then the latest instants.

    The page size is written into the statement, not bound: a prepared statement's
    generic plan (PostgreSQL's after a few runs) guesses a bound `LIMIT` at a tenth of
    the table and plans a parallel scan, 10-40 ms instead of 1 (issue 15). `limit` is
    a checked int, and each page size gets its own prepared statement."""
    where, params = scope
    statements: list[Scope] = []
    if after is None or after[0] > now_us:  # items created after `now` lead
        cursor, cursor_params = _below("created_us", after)
        statements.append(
            (
                f"SELECT item_id, created_us AS k FROM crm_focus_items WHERE {where} "
                f"AND created_us > ?{cursor} ORDER BY created_us DESC, item_id DESC "
                f"LIMIT {int(limit)}",
                (*params, now_us, *cursor_params),
            )
        )
    cursor, cursor_params = _below(
        "f.at_us", None if after is None or after[0] > now_us else after, "f.item_id"
    )
    statements.append(
        (
            f"SELECT f.item_id, f.at_us AS k FROM crm_focus_instants f WHERE {_prefixed(where)} "
            f"AND f.at_us <= ?{cursor} AND NOT EXISTS ("
            "SELECT 1 FROM crm_focus_instants g WHERE g.item_id = f.item_id "
            "AND g.at_us > f.at_us AND g.at_us <= ?) "
            f"ORDER BY f.at_us DESC, f.item_id DESC LIMIT {int(limit)}",
            (*params, now_us, *cursor_params, now_us),
        )
    )
    return statements


def _whole(scope: Scope, now_us: int) -> Scope:
    """Every item of a small part with its focus time at `now_us` (item_id, k): its creation
    if that is later, else its latest instant up to `now_us`."""
    where, params = scope
    return (
        "SELECT i.item_id, CASE WHEN i.created_us > ? THEN i.created_us ELSE COALESCE("
        "(SELECT MAX(g.at_us) FROM crm_focus_instants g "
        "WHERE g.item_id = i.item_id AND g.at_us <= ?), i.created_us) END AS k "
        f"FROM crm_focus_items i WHERE {_prefixed(where, 'i')}",
        (now_us, now_us, *params),
    )


def _prefixed(where: str, alias: str = "f") -> str:
    """A scope's condition on the table aliased `alias` (its column names are bare)."""
    for column in ("pipeline_id", "stage_id", "responsible_id", "placement", "deadline_us"):
        where = where.replace(column, f"{alias}.{column}")
    return where


def group_by_item(records: Iterable[Any], of: str) -> dict[str, list[Any]]:
    """Activities (by each bound item, `of="item_ids"`) or events (`of="item_id"`) by item id."""
    found: dict[str, list[Any]] = {}
    for record in records:
        keys: Iterator[str] | tuple[str, ...]
        keys = record.item_ids if of == "item_ids" else (record.item_id,)
        for key in keys:
            found.setdefault(key, []).append(record)
    return found


_REFRESH_CHUNK = 5_000  # items re-read per round when refreshing or filling the tables


def refresh_focus(
    connection: Connection, dialect: Dialect, item_ids: Collection[str], offsets: tuple[int, ...]
) -> None:
    """Rewrite the focus rows of `item_ids` from their stored records (inside the open write).

    An id no longer stored loses its rows. Run after every write that touches
    an item, its activities (old and new bindings) or its timeline events.
    """
    wanted = sorted(set(item_ids))
    for start in range(0, len(wanted), _REFRESH_CHUNK):
        chunk = wanted[start : start + _REFRESH_CHUNK]
        items: list[Item] = []
        activities: list[Activity] = []
        events: list[TimelineEvent] = []
        # The item rows stay (updated in place): on PostgreSQL, writers touching one item
        # take turns on them, and the second re-reads the item's records once the first
        # has committed (SQLite has one writer at a time).
        lock = " ORDER BY item_id FOR UPDATE" if dialect.name == "postgres" else ""
        present: set[str] = set()
        counts: dict[tuple[str, str], int] = {}
        for condition, params in dialect.in_lists("item_id", chunk):
            sql = (
                f"SELECT item_id, pipeline_id, stage_id FROM crm_focus_items WHERE {condition}"
                f"{lock}"
            )
            for item_id, pipeline_id, stage_id in dialect.query(connection, sql, params):
                present.add(str(item_id))
                counts[(pipeline_id, stage_id)] = counts.get((pipeline_id, stage_id), 0) - 1
        for condition, params in dialect.in_lists("id", chunk):
            items += [
                ITEMS.from_row(row)
                for row in dialect.query(connection, ITEMS.select_sql(condition), params)
            ]
        for condition, params in dialect.in_lists("item_id", chunk):
            bound = f"id IN (SELECT activity_id FROM crm_activity_items WHERE {condition})"
            activities += [
                ACTIVITIES.from_row(row)
                for row in dialect.query(connection, ACTIVITIES.select_sql(bound), params)
            ]
            focused = f"{condition} AND type IN ('incoming', 'comment')"
            events += [
                EVENTS.from_row(row)
                for row in dialect.query(connection, EVENTS.select_sql(focused), params)
            ]
            dialect.execute(connection, f"DELETE FROM crm_focus_instants WHERE {condition}", params)
        item_rows, instant_rows = rows_of_items(
            items, group_by_item(activities, "item_ids"), group_by_item(events, "item_id"), offsets
        )
        kept = {row[0] for row in item_rows}
        dialect.execute_many(
            connection,
            "DELETE FROM crm_focus_items WHERE item_id = ?",
            [(item_id,) for item_id in sorted(present - kept)],
        )
        dialect.execute_many(
            connection,
            f"UPDATE crm_focus_items SET {', '.join(f'{c} = ?' for c in FOCUS_ITEM_COLUMNS[1:])} "
            "WHERE item_id = ?",
            [(*row[1:], row[0]) for row in item_rows if row[0] in present],
        )
        dialect.insert_many(
            connection,
            "crm_focus_items",
            FOCUS_ITEM_COLUMNS,
            [row for row in item_rows if row[0] not in present],
        )
        dialect.insert_many(connection, "crm_focus_instants", FOCUS_INSTANT_COLUMNS, instant_rows)
        for key, added in column_counts(item_rows).items():
            counts[key] = counts.get(key, 0) + added
        add_column_counts(connection, dialect, counts)


def add_column_counts(
    connection: Connection, dialect: Dialect, counts: Mapping[tuple[str, str], int]
) -> None:
    """Add to the item counts of Kanban columns (pipeline, stage), in key order (no deadlock)."""
    changed = sorted((key, delta) for key, delta in counts.items() if delta and key[0])
    dialect.execute_many(
        connection,
        "INSERT INTO crm_focus_columns (pipeline_id, stage_id, items) VALUES (?, ?, ?) "
        "ON CONFLICT (pipeline_id, stage_id) "
        "DO UPDATE SET items = crm_focus_columns.items + excluded.items",
        [(pipeline_id, stage_id, delta) for (pipeline_id, stage_id), delta in changed],
    )


def column_counts(item_rows: Iterable[ItemRow]) -> dict[tuple[str, str], int]:
    """The item count of each Kanban column among `item_rows`."""
    counts: dict[tuple[str, str], int] = {}
    for row in item_rows:
        counts[(row[1], row[2])] = counts.get((row[1], row[2]), 0) + 1
    return counts


def stored_offsets(connection: Connection, dialect: Dialect) -> tuple[int, ...]:
    """The stored settings' `focus_reminder_offsets`."""
    document = dialect.query(connection, "SELECT document FROM crm_settings WHERE id = 1")[0][0]
    return settings_from_dict(json.loads(document)).focus_reminder_offsets


def fill_focus(connection: Connection, dialect: Dialect) -> None:
    """(Re)build the focus rows of every stored item (a migration, new focus offsets)."""
    offsets = stored_offsets(connection, dialect)
    ids = [str(row[0]) for row in dialect.query(connection, "SELECT id FROM crm_items ORDER BY id")]
    dialect.execute(connection, "DELETE FROM crm_focus_items")
    dialect.execute(connection, "DELETE FROM crm_focus_instants")
    dialect.execute(connection, "DELETE FROM crm_focus_columns")
    refresh_focus(connection, dialect, ids, offsets)


def kanban_scopes(pipeline_id: str, stage_id: str) -> list[Scope]:
    """A Kanban column: the items in that pipeline's stage (F4)."""
    return [(_KANBAN, (pipeline_id, stage_id))]


def _placed(user_id: str, placement: int, low: int | None = None, high: int | None = None) -> Scope:
    condition = "responsible_id = ? AND placement = ?"
    params: tuple[Any, ...] = (user_id, placement)
    if low is not None:
        condition += " AND deadline_us >= ?"
        params += (low,)
    if high is not None:
        condition += " AND deadline_us < ?"
        params += (high,)
    return condition, params


def view_scopes(user_id: str, column: str, bounds: Sequence[int]) -> list[Scope]:
    """The parts of one Activities-view column (V1) at the instant of `bounds`.

    `bounds` are the starts of today, tomorrow, next week and the week after,
    in the user's zone (`view_boundaries`), as epoch µs.
    """
    today, tomorrow, next_week, after_next = bounds
    parts = {
        "overdue": [_placed(user_id, OPEN_DATED, high=today)],
        "today": [_placed(user_id, OPEN_INCOMING), _placed(user_id, OPEN_DATED, today, tomorrow)],
        "this_week": [_placed(user_id, OPEN_DATED, tomorrow, next_week)],
        "next_week": [_placed(user_id, OPEN_DATED, next_week, after_next)],
        "later": [_placed(user_id, OPEN_UNDATED), _placed(user_id, OPEN_DATED, low=after_next)],
        "no_activities": [_placed(user_id, NO_ACTIVITY)],
    }
    return parts[column]


def view_moves(
    queries: FocusQueries, user_id: str, bounds: Sequence[int], zone: tzinfo, week_start: int
) -> int | None:
    """The first local midnight at which one of the user's items changes column (V1), or None.

    As `place_item`'s `moves_at`: Today's dated items at tomorrow's start, This
    week's on their day, Next week's at its start, Later's when their week
    becomes next week; Overdue, incoming, undated and empty items never by
    themselves.
    """
    today, tomorrow, next_week, after_next = bounds
    found: list[int] = []
    in_today, this_week, in_next_week, later = queries.first_deadlines(
        user_id,
        [(today, tomorrow), (tomorrow, next_week), (next_week, after_next), (after_next, None)],
    )
    if in_today is not None:
        found.append(tomorrow)
    if this_week is not None:
        found.append(instant_us(day_start(utc_from_us(this_week).astimezone(zone).date(), zone)))
    if in_next_week is not None:
        found.append(next_week)
    if later is not None:
        due = utc_from_us(later).astimezone(zone).date()
        found.append(instant_us(day_start(week_start_of(due, week_start) - _WEEK, zone)))
    return min(found) if found else None

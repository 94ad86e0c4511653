"""`SqlStorage`: the `Storage` protocol over a DB-API connection (sqlite3 or psycopg 3)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any

import attrs

from .._activities import Activity
from .._batch import NOTHING_STORED, Record, check_write, record_kind, records_of
from .._errors import (
    CrmCountersError,
    DanglingReferenceError,
    StorageBusyError,
    UnknownIdError,
    ValidationError,
)
from .._events import CommentAdded, HistoryEntryAdded, IncomingMessage, TimelineEvent
from .._history import HistoryQuery
from .._items import Item
from .._pipelines import Pipeline
from .._portal import (
    Portal,
    portal_details,
    portal_from_details,
    settings_from_dict,
    settings_to_dict,
)
from .._records import ItemRecords
from .._reminder_index import ping_rows, reminders_from
from .._reminders import Reminder, reminders_of, utc_us, window
from .._sections import EVERY_SECTION, section_scope
from .._settings import PlannedRule, Settings, check_types_in_use
from .._storage import find_supervisor
from .._tasks import Task
from .._users import Department, User, zone_of
from .._validate import check_id, instant
from .._view import Column, place_item
from ..focus._pages import FocusKey, FocusPage, scratch_page
from ..focus._timeline import focus_timelines
from ._connections import Connections, Pool, Single, Turns
from ._counters import (
    CounterTotals,
    counter_sql,
    department_sql,
    members_sql,
    now_params,
    open_sql,
    section_params,
    tomorrow_us,
    totals_of,
    view_boundaries,
    view_sql,
)
from ._dialect import Connection, Dialect, dialect_for
from ._focus import (
    FOCUS_INSTANT_COLUMNS,
    FOCUS_ITEM_COLUMNS,
    FocusQueries,
    Key,
    PageAnswer,
    add_column_counts,
    column_counts,
    fill_focus,
    group_by_item,
    kanban_scopes,
    refresh_focus,
    rows_of_items,
    view_moves,
    view_scopes,
)
from ._rows import (
    ACTIVITIES,
    DEPARTMENTS,
    EVENTS,
    ITEMS,
    REMINDER_COLUMNS,
    TABLES,
    TASKS,
    USERS,
    ItemCopy,
    Table,
    binding_rows,
    dump_json,
    instant_us,
    pipeline_from_rows,
    stage_rows,
    utc_from_us,
)
from ._schema import SCHEMA_VERSION, create_schema, fill_reminders, index_statements

__all__ = ["SqlStorage"]

_LOAD_CHUNK = 20_000  # records per bulk insert when loading a whole portal (progress steps)
_BINDING_COLUMNS = (
    "activity_id",
    "item_id",
    "position",
    "item_responsible_id",
    "activity_responsible_id",
    "is_open",
    "incoming",
    "deadline_us",
    "lit_at_us",
    "item_entity_type",
    "item_pipeline_id",
)
_ALSO_ANALYZED = (
    "crm_activity_items",
    "crm_focus_items",
    "crm_focus_instants",
    "crm_focus_columns",
)
_STAGE_COLUMNS = ("pipeline_id", "position", "id", "name", "semantics")
_PIPELINE_SELECT = "SELECT id, entity_type, name FROM crm_pipelines"
_STAGE_SELECT = "SELECT pipeline_id, position, id, name, semantics FROM crm_stages"
#: Each binding's item id with its activity's columns (`records_of_items` adds the items).
_BOUND_ACTIVITIES = (
    f"SELECT b.item_id, {', '.join(f'a.{column}' for column in ACTIVITIES.columns)} "
    f"FROM crm_activity_items b JOIN {ACTIVITIES.name} a ON a.id = b.activity_id"
)


class SqlStorage:
    """A portal in a relational database: the `Storage` protocol plus writes and counter queries.

    Open it with `open_storage(url)`, over one connection (`SqlStorage(connection)`;
    `SqlStorage.create` makes the schema too), or over a connection factory
    (`SqlStorage.pooled`). Reads build the library's immutable records from
    rows. Writes mirror `InMemoryStorage` (same checks, same errors) and each
    runs in one transaction: a batch, or a `write(add=..., replace=...)` of
    both kinds, is written whole or not at all (G5); `transaction()` makes
    several writes one. `counter_totals`, `view_columns` and
    `department_totals` are answered by the database itself.

    Threads may share one storage (docs/threads.md): over one connection they
    take turns, pooled they run in parallel. `close()` (or a ``with`` block)
    closes the connections the storage opened.

    sqlite3 connections work as they come; psycopg connections must be opened
    with ``autocommit=True`` (each write then opens its own transaction).
    """

    def __init__(self, connection: Connection, *, dialect: str | None = None) -> None:
        self._setup(Single(connection), dialect_for(connection, dialect))

    @classmethod
    def pooled(
        cls,
        connect: Callable[[], Connection],
        *,
        dialect: str | None = None,
        max_connections: int = 10,
        timeout: float = 5.0,
    ) -> SqlStorage:
        """A storage that opens its own connections with `connect()`, for use from many threads.

        Each read or transaction borrows a connection no other thread is using
        and gives it back; at most `max_connections` are open at once, and a
        thread waits up to `timeout` seconds for one (then `StorageBusyError`).
        `close()` closes them all. SQLite connections must be opened with
        ``check_same_thread=False`` (a connection serves one thread at a time,
        but not always the same one).
        """
        pool = Pool(connect, size=max_connections, timeout=timeout)
        first = pool.acquire()
        try:
            chosen = dialect_for(first, dialect)
        finally:
            pool.release(first)
        pool.usable = chosen.reusable
        storage = cls.__new__(cls)
        try:
            storage._setup(pool, chosen, timeout=timeout)
        except BaseException:
            pool.close()
            raise
        return storage

    def _setup(self, connections: Connections, dialect: Dialect, *, timeout: float = 0) -> None:
        self._connections = connections
        self._dialect = dialect
        # Pooled SQLite: this storage's writer threads queue for the one write lock in turn.
        self._turns = (
            Turns() if dialect.name == "sqlite" and isinstance(connections, Pool) else None
        )
        self._timeout = timeout
        self._local = threading.local()  # the connection this thread's operation is using
        self._settings_cache: tuple[str, Settings] | None = None
        try:
            found = self._query("SELECT schema_version FROM crm_settings WHERE id = 1")
        except CrmCountersError:
            raise
        except Exception as exc:  # the driver's own error for a missing table
            raise ValidationError(
                "connection",
                "no crmcounters schema here; create it first with SqlStorage.create(connection) "
                f"or create_schema(connection) ({type(exc).__name__}: {exc})",
            ) from exc
        # Over your own tables (create_views) the records are views: reads only.
        self._read_only = bool(self._query(dialect.is_view_sql, ("crm_activities",)))
        if not found or found[0][0] != SCHEMA_VERSION:
            version = found[0][0] if found else None
            raise ValidationError(
                "connection",
                f"schema version {version!r} found, this library reads version {SCHEMA_VERSION}"
                + (
                    "; upgrade it with crmcounters.sql.migrate_schema(connection)"
                    if isinstance(version, int) and version < SCHEMA_VERSION
                    else ""
                ),
            )

    @classmethod
    def create(
        cls, connection: Connection, settings: Settings | None = None, *, dialect: str | None = None
    ) -> SqlStorage:
        """Create the schema if missing (storing `settings` if none are) and open the storage."""
        create_schema(connection, settings, dialect=dialect)
        return cls(connection, dialect=dialect)

    @property
    def connection(self) -> Connection:
        """The DB-API connection this thread is using.

        Over one connection, that connection; pooled, the one lent to this
        thread's `transaction()` (outside one, a `ValidationError`).
        """
        bound = getattr(self._local, "connection", None)
        if bound is not None:
            return bound
        if isinstance(self._connections, Single):
            return self._connections.connection
        raise ValidationError(
            "connection", "a pooled SqlStorage lends a connection only inside transaction()"
        )

    @property
    def read_only(self) -> bool:
        """True over your own tables (`create_views`): the host writes its tables, not this."""
        return self._read_only

    def _check_writable(self) -> None:
        if self._read_only:
            raise ValidationError(
                "storage",
                "this database shows your own tables through views (create_views): write to "
                "your tables; the counters read them as they change",
            )

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgres"."""
        return self._dialect.name

    def close(self) -> None:
        """Close the connections the storage opened (a connection passed in stays open).

        Later calls raise `ValidationError`; closing twice is harmless.
        """
        self._connections.close()

    def __enter__(self) -> SqlStorage:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One all-or-nothing unit around several writes on this thread (G5); yields the connection.

        Every call of this storage made on the same thread inside the block
        joins it (each write becomes a savepoint), and so does SQL run on the
        yielded connection: all of it commits when the block ends, or rolls back
        if it raises. On SQLite the write lock is taken at the start (P5).
        """
        with (
            self._session() as connection,
            self._turn(connection),
            self._dialect.transaction(connection),
        ):
            yield connection

    @contextmanager
    def _turn(self, connection: Connection) -> Iterator[None]:
        """On pooled SQLite, wait for this storage's write turn (first come, first served)."""
        turns = self._turns
        if turns is None or connection.in_transaction:  # not queued, or a nested transaction
            yield
            return
        if not turns.acquire(self._timeout):
            raise StorageBusyError(
                f"the database is busy: other threads kept writing for {self._timeout:g} s; "
                "nothing was written, try again"
            )
        try:
            yield
        finally:
            turns.release()

    @contextmanager
    def _consistent(self) -> Iterator[None]:
        """One consistent state for several reads: the open transaction's, else a snapshot."""
        if getattr(self._local, "connection", None) is not None:
            yield
            return
        with self._snapshot():
            yield

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Reads on this thread inside see one consistent state, without holding up writers."""
        with self._session() as connection, self._dialect.snapshot(connection):
            yield

    # -- plumbing -------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[Connection]:
        """This thread's connection for one operation: the one bound already, or a borrowed one."""
        local = self._local
        bound = getattr(local, "connection", None)
        if bound is not None:
            yield bound
            return
        connection = self._connections.acquire()
        local.connection = connection
        try:
            yield connection
        finally:
            local.connection = None
            self._connections.release(connection)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._session() as connection:
            return self._dialect.query(connection, sql, params)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._session() as connection:
            return self._dialect.execute(connection, sql, params)

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._session() as connection:
            self._dialect.execute_many(connection, sql, rows)

    def _insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        with self._session() as connection:
            self._dialect.insert_many(connection, table, columns, rows)

    def _one(self, table: Table, record_id: str) -> Any:
        rows = self._query(table.select_sql("id = ?"), (record_id,))
        if not rows:
            raise UnknownIdError(table.kind, record_id)
        return table.decoder(not self._read_only)(rows[0])

    def _all(self, table: Table, where: str = "", params: Sequence[Any] = ()) -> list[Any]:
        decode = table.decoder(not self._read_only)
        return [decode(row) for row in self._query(table.select_sql(where), params)]

    # -- settings -------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The portal's settings, stored as the portal format's settings object."""
        document = self._query("SELECT document FROM crm_settings WHERE id = 1")[0][0]
        cached = self._settings_cache
        if cached is not None and cached[0] == document:
            return cached[1]
        settings = settings_from_dict(json.loads(document))
        self._settings_cache = (document, settings)
        return settings

    def set_settings(self, settings: Settings) -> None:
        """Replace the portal's settings; lit times that follow the default offset move with it."""
        if not isinstance(settings, Settings):
            raise ValidationError("settings", f"expected Settings, got {type(settings).__name__}")
        self._check_writable()
        offset_us = settings.urgency_offset_minutes * 60_000_000
        old_offsets = self.settings.focus_reminder_offsets
        in_use = "SELECT DISTINCT type_id FROM crm_activities WHERE type_id IS NOT NULL"
        default_lit = (
            "deadline_us IS NOT NULL AND incoming = 0 AND reminder_offsets IS NULL"  # C4 default
        )
        with self.transaction():
            check_types_in_use(settings, (row[0] for row in self._query(in_use)))  # A1
            self._execute(
                "UPDATE crm_settings SET document = ? WHERE id = 1",
                (dump_json(settings_to_dict(settings)),),
            )
            self._execute(
                f"UPDATE crm_activities SET lit_at_us = deadline_us - ? WHERE {default_lit}",
                (offset_us,),
            )
            self._execute(
                "UPDATE crm_activity_items SET lit_at_us = deadline_us - ? WHERE activity_id IN "
                f"(SELECT id FROM crm_activities WHERE {default_lit})",
                (offset_us,),
            )
            if settings.focus_reminder_offsets != old_offsets:  # N1: the default pings move
                follows = "reminder_offsets IS NULL"
                self._execute(
                    "DELETE FROM crm_reminders WHERE activity_id IN "
                    f"(SELECT id FROM crm_activities WHERE {follows})"
                )
                with self._session() as connection:
                    fill_reminders(self._dialect, connection, follows)
                    fill_focus(connection, self._dialect)  # issue 15: every instant may move (F2)

    def _activity_type_ids(self) -> set[str]:
        """The configured activity type ids (A1) an activity's `type_id` must name."""
        return {activity_type.id for activity_type in self.settings.activity_types}

    # -- the portal around the records ----------------------------------------

    def portal(self) -> Portal:
        """This database as a `Portal` that reads through this storage (nothing is copied).

        Its description, `as_of` and access policy (C7) are those stored by
        `import_portal`; a database never given any has the defaults.
        """
        text = self._query("SELECT portal FROM crm_settings WHERE id = 1")[0][0]
        return portal_from_details(self, json.loads(text) if text else {}, "crm_settings.portal")

    def _set_portal_details(self, portal: Portal) -> None:
        details = portal_details(portal)
        self._execute(
            "UPDATE crm_settings SET portal = ? WHERE id = 1",
            (dump_json(details) if details else None,),
        )

    # -- reads: the Storage protocol -------------------------------------------

    def user(self, user_id: str) -> User:
        """The user with that id."""
        user: User = self._one(USERS, user_id)
        return user

    def users(self) -> Collection[User]:
        """Every user, in the order they were added."""
        return self._all(USERS)

    def department(self, department_id: str) -> Department:
        """The department with that id."""
        department: Department = self._one(DEPARTMENTS, department_id)
        return department

    def departments(self) -> Collection[Department]:
        """Every department."""
        return self._all(DEPARTMENTS)

    def supervisor_of(self, user_id: str) -> User | None:
        """The user's supervisor (SPEC section 1), climbing the department tree row by row."""
        return find_supervisor(self.user(user_id), _Lookup(self, USERS), _Lookup(self, DEPARTMENTS))

    def pipeline(self, pipeline_id: str) -> Pipeline:
        """The pipeline with that id, with its stages in one statement (a board's first read)."""
        rows = self._query(
            "SELECT p.id, p.entity_type, p.name, "
            "s.pipeline_id, s.position, s.id, s.name, s.semantics FROM crm_pipelines p "
            "LEFT JOIN crm_stages s ON s.pipeline_id = p.id WHERE p.id = ?",
            (pipeline_id,),
        )
        if not rows:
            raise UnknownIdError("pipeline", pipeline_id)
        return pipeline_from_rows(rows[0][:3], [row[3:] for row in rows if row[3] is not None])

    def pipelines(self) -> Collection[Pipeline]:
        """Every pipeline."""
        return self._pipelines()

    def _pipelines(self, where: str = "", params: Sequence[Any] = ()) -> list[Pipeline]:
        condition = f" WHERE {where}" if where else ""
        rows = self._query(f"{_PIPELINE_SELECT}{condition} ORDER BY seq", params)
        if not rows:
            return []
        stage_condition = " WHERE pipeline_id = ?" if where else ""
        stage_params = (rows[0][0],) if where else ()
        stages: dict[str, list[Any]] = {}
        for stage in self._query(f"{_STAGE_SELECT}{stage_condition}", stage_params):
            stages.setdefault(stage[0], []).append(stage)
        return [pipeline_from_rows(row, stages.get(row[0], ())) for row in rows]

    def item(self, item_id: str) -> Item:
        """The item with that id."""
        item: Item = self._one(ITEMS, item_id)
        return item

    def items(self) -> Collection[Item]:
        """Every item."""
        return self._all(ITEMS)

    def items_of(self, responsible_id: str) -> Collection[Item]:
        """The items whose responsible is that user (C2)."""
        return self._all(ITEMS, "responsible_id = ?", (responsible_id,))

    def items_with_ids(self, item_ids: Collection[str]) -> list[Item]:
        """The stored items among `item_ids` (unknown ids left out), one query per 500 ids:
        a batch of rule jobs reads its items this way."""
        wanted = sorted({check_id("item_id", item_id) for item_id in item_ids})
        found: list[Item] = []
        for condition, params in self._dialect.in_lists("id", wanted):
            found += self._all(ITEMS, condition, params)
        return found

    def records_of_items(self, item_ids: Collection[str]) -> Mapping[str, ItemRecords]:
        """The stored items among `item_ids` with every activity bound to each and their
        events (unknown ids left out), in three queries per 500 ids, one consistent
        state: a Kanban page reads its cards this way (`BatchedRecordStorage`, issue 15).
        Activities come in `activities_of_item`'s order, events in `events_of_item`'s."""
        wanted = sorted({check_id("item_id", item_id) for item_id in item_ids})
        activities: dict[str, list[Activity]] = {item_id: [] for item_id in wanted}
        events: dict[str, list[TimelineEvent]] = {item_id: [] for item_id in wanted}
        activity = ACTIVITIES.decoder(not self._read_only)
        item_rows: list[Any] = []
        activity_rows: list[Any] = []
        event_rows: list[Any] = []
        with self._consistent():
            # Every statement first, then the decoding: the database answers the three
            # while its caches are warm from the page's statements (issue 15).
            for condition, params in self._dialect.in_lists("id", wanted):
                item_rows += self._query(ITEMS.select_sql(condition), params)
            for condition, params in self._dialect.in_lists("item_id", wanted):
                # Each binding of a wanted item with its activity's columns, in the
                # activities' order (`activities_of_item`'s), in one query.
                bound = f"{_BOUND_ACTIVITIES} WHERE b.{condition} ORDER BY a.seq"
                activity_rows += self._query(bound, params)
                event_rows += self._query(EVENTS.select_sql(condition, order="at_us, seq"), params)
        item = ITEMS.decoder(not self._read_only)
        items = [item(row) for row in item_rows]
        for row in activity_rows:
            activities[row[0]].append(activity(row[1:]))
        event_of = EVENTS.decoder(not self._read_only)
        for row in event_rows:
            event: TimelineEvent = event_of(row)
            events[event.item_id].append(event)
        return {
            item.id: ItemRecords(
                item=item, activities=tuple(activities[item.id]), events=tuple(events[item.id])
            )
            for item in items
        }

    def users_with_ids(self, user_ids: Collection[str]) -> list[User]:
        """The stored users among `user_ids` (unknown ids left out), one query per 500 ids:
        a page of C11 badges reads its users' zones this way (`BatchedRecordStorage`)."""
        wanted = sorted({check_id("user_id", user_id) for user_id in user_ids})
        found: list[User] = []
        for condition, params in self._dialect.in_lists("id", wanted):
            found += self._all(USERS, condition, params)
        return found

    def activity(self, activity_id: str) -> Activity:
        """The activity with that id (open or completed)."""
        activity: Activity = self._one(ACTIVITIES, activity_id)
        return activity

    def activities(self) -> Collection[Activity]:
        """Every activity, open or completed."""
        return self._all(ACTIVITIES)

    def activities_of_item(self, item_id: str) -> Collection[Activity]:
        """Every activity bound to the item, open or completed (F2 needs both)."""
        return self._all(
            ACTIVITIES,
            "id IN (SELECT activity_id FROM crm_activity_items WHERE item_id = ?)",
            (item_id,),
        )

    def open_activities_of_item(self, item_id: str) -> Collection[Activity]:
        """The open activities bound to the item."""
        return self._all(
            ACTIVITIES,
            "id IN (SELECT activity_id FROM crm_activity_items WHERE item_id = ? AND is_open = 1)",
            (item_id,),
        )

    def open_activities_of_user(self, user_id: str) -> Collection[Activity]:
        """The open activities whose own responsible is that user (C2 counter mode, C8)."""
        return self._all(ACTIVITIES, "responsible_id = ? AND completed_at_us IS NULL", (user_id,))

    def task(self, task_id: str) -> Task:
        """The task with that id."""
        task: Task = self._one(TASKS, task_id)
        return task

    def tasks(self) -> Collection[Task]:
        """Every task."""
        return self._all(TASKS)

    def tasks_of_item(self, item_id: str) -> Collection[Task]:
        """The tasks linked to the item."""
        return self._all(TASKS, "item_id = ?", (item_id,))

    def event(self, event_id: str) -> TimelineEvent:
        """The timeline event with that id."""
        event: TimelineEvent = self._one(EVENTS, event_id)
        return event

    def events(self) -> Collection[TimelineEvent]:
        """Every timeline event."""
        return self._all(EVENTS)

    def events_of_item(self, item_id: str) -> Collection[TimelineEvent]:
        """The item's timeline events, oldest first (ties in the order added)."""
        sql = EVENTS.select_sql("item_id = ?", order="at_us, seq")
        event_of = EVENTS.decoder(not self._read_only)
        return [event_of(row) for row in self._query(sql, (item_id,))]

    def history_entries(self, query: HistoryQuery) -> list[HistoryEntryAdded]:
        """The portal's history entries that match `query`, oldest first (ties by id): one
        query on the (type, at) index, or the item's index (R4, R8). What
        `crmcounters.history_entries` asks a database."""
        where = ["type = 'history'"]
        params: list[Any] = []
        for column, value in (
            ("entry_type", query.entry_type),
            ("item_id", query.item_id),
            ("author_id", query.user_id),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.since is not None:
            where.append("at_us >= ?")
            params.append(instant_us(query.since))
        if query.until is not None:
            where.append("at_us < ?")
            params.append(instant_us(query.until))
        sql = EVENTS.select_sql(" AND ".join(where), order="at_us, id")
        event_of = EVENTS.decoder(not self._read_only)
        found = [event_of(row) for row in self._query(sql, tuple(params))]
        entries = [entry for entry in found if isinstance(entry, HistoryEntryAdded)]
        entries.sort(key=lambda entry: (entry.at, entry.id))  # ids as Python orders them
        return entries

    def __len__(self) -> int:
        counts = self._query(
            "SELECT "
            + " + ".join(f"(SELECT COUNT(*) FROM {table.name})" for table in TABLES.values())
        )
        return int(counts[0][0])

    def __repr__(self) -> str:
        names = ("users", "items", "activities", "tasks", "events")
        counts = self._query(
            "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM crm_{name})" for name in names)
        )[0]
        shown = ", ".join(f"{name}={count}" for name, count in zip(names, counts, strict=True))
        return f"SqlStorage({self._dialect.name}, {shown})"

    # -- counters pushed down to SQL ------------------------------------------

    def counter_totals(
        self,
        user_id: str,
        now: datetime,
        *,
        entity_type: str | None = None,
        pipeline_id: str | None = None,
    ) -> CounterTotals:
        """The user's Incoming and Planned at `now`, their distinct items and `valid_until`.

        Counter mode (C2) comes from the settings: by default the open
        activities of the items whose responsible is the user; in activity-
        responsible mode the user's own open activities. Either way an activity
        bound to two items counts once per item, as `counters_of` does. Planned
        counts the open, non-incoming activities whose stored lit time is at or
        before `now`, and with the "due today" rule those due before the end of
        the user's today (C11); `valid_until` is the next instant one starts to
        count (C9). `entity_type` and `pipeline_id` read one section (C10).
        A user above the open-activity cap (over every section) is blocked
        (C8): the numbers are zero, `valid_until` None, `blocked_user_ids` names
        the user and `open_activities` says how many they have. One query
        answers it all (two for a section).
        """
        now = instant("now", now)
        user = self.user(user_id)  # an unknown user is an error, not zero
        scope = section_scope(self, entity_type, pipeline_id)
        settings = self.settings
        mode = settings.counter_mode
        zones = {user.id: user.zone} if settings.planned_rule is PlannedRule.DUE_TODAY else None
        tomorrow = None if zones is None else tomorrow_us(now, user.zone)
        params = (*now_params(instant_us(now), tomorrow), user_id, *section_params(*scope))
        rows = self._query(counter_sql(mode, *scope), params)
        counts = None
        if scope != EVERY_SECTION:
            counts = {user_id: 0} | {
                row[0]: int(row[1]) for row in self._query(open_sql(mode, False), (user_id,))
            }
        return totals_of(rows, settings.open_activity_cap, zones, counts)

    def view_columns(self, user_id: str, now: datetime) -> dict[str, str]:
        """The Activities-view column of each of the user's items at `now` (V1).

        Columns are named as in `VIEW_COLUMNS`; days and weeks are those of the
        user's time zone (G4), weeks starting on `Settings.week_start`.
        """
        now = instant("now", now)
        user = self.user(user_id)
        bounds = view_boundaries(now, user.zone, self.settings.week_start)
        return {row[0]: row[1] for row in self._query(view_sql, (*bounds, user_id))}

    def department_totals(
        self,
        department_id: str,
        now: datetime,
        *,
        include_subdepartments: bool = False,
        entity_type: str | None = None,
        pipeline_id: str | None = None,
    ) -> CounterTotals:
        """The summed counters of the department's members (and of its sub-departments').

        Each member counts as in `counter_totals` (in one section, with
        `entity_type` and `pipeline_id`); the sums add up the members'
        numbers, distinct items and open activities included, and `valid_until`
        is the earliest member's; blocked members (C8) add nothing but their
        open activities and are listed in `blocked_user_ids`. One query, or one
        per member under the "due today" rule, whose days are each member's.
        """
        now = instant("now", now)
        self.department(department_id)
        scope = section_scope(self, entity_type, pipeline_id)
        at = instant_us(now)
        settings = self.settings
        mode, deep = settings.counter_mode, include_subdepartments
        zones = None
        if settings.planned_rule is PlannedRule.DUE_TODAY:
            members = self._query(members_sql(deep), (department_id,))
            zones = {row[0]: zone_of(row[1]) for row in members}
            rows = []
            for user_id, zone in zones.items():
                params = (*now_params(at, tomorrow_us(now, zone)), user_id)
                rows += self._query(counter_sql(mode, *scope), (*params, *section_params(*scope)))
        else:
            sql = department_sql(mode, deep, *scope)
            rows = self._query(sql, (department_id, *now_params(at), *section_params(*scope)))
        counts = None
        if scope != EVERY_SECTION:
            found = self._query(open_sql(mode, True, deep), (department_id,))
            counts = {row[0]: int(row[1]) for row in found}
        return totals_of(rows, settings.open_activity_cap, zones, counts)

    # -- reminders (N1) ---------------------------------------------------------

    def reminders_between(
        self, start: datetime, end: datetime, user_id: str | None = None
    ) -> tuple[Reminder, ...]:
        """The reminder pings in `[start, end)`, in time order, of one recipient or all (N1).

        One range read of the `crm_reminders` index, which every write keeps
        (over your own tables, `create_views`, the activities are scanned).
        """
        start, end = window(start, end)
        if self._read_only:
            return reminders_of(
                self.activities(),
                start,
                end,
                default_offsets=self.settings.focus_reminder_offsets,
                user_id=user_id,
            )
        sql = (
            f"SELECT {', '.join(REMINDER_COLUMNS)} FROM crm_reminders "
            "WHERE at_us >= ? AND at_us < ?"
        )
        params: tuple[Any, ...] = (utc_us(start), utc_us(end))
        if user_id is not None:
            sql += " AND recipient_id = ?"
            params += (user_id,)
        rows = [
            (int(r[0]), r[1], int(r[2]), r[3], r[4], int(r[5])) for r in self._query(sql, params)
        ]
        rows.sort()  # in Python: the database's collation need not order ids as Python does
        return reminders_from(rows)

    def next_reminder_after(self, after: datetime) -> datetime | None:
        """The instant of the earliest reminder ping after `after`, or None (N1)."""
        if self._read_only:  # over your own tables: no crm_reminders, scan the activities
            at = instant("after", after)
            defaults = self.settings.focus_reminder_offsets
            later = [
                row[0]
                for activity in self.activities()
                for row in ping_rows(activity, defaults)
                if row[0] > utc_us(at)
            ]
            return utc_from_us(min(later)) if later else None
        found = self._query(
            "SELECT MIN(at_us) FROM crm_reminders WHERE at_us > ?",
            (utc_us(instant("after", after)),),
        )
        return None if not found or found[0][0] is None else utc_from_us(int(found[0][0]))

    # -- writes ---------------------------------------------------------------

    def add(self, *records: Record) -> None:
        """Store new records in one transaction; all or nothing (G5)."""
        self._write(records, ())

    def add_all(self, records: Iterable[Record]) -> None:
        """Store new records from an iterable in one transaction; all or nothing (G5)."""
        self._write(tuple(records), ())

    def replace(self, *records: Record) -> None:
        """Replace stored records with the same ids (reassign, reschedule, complete…)."""
        self._write((), records)

    def write(self, *, add: Iterable[Record] = (), replace: Iterable[Record] = ()) -> None:
        """Add new records and replace stored ones in one transaction: all or nothing (G5).

        Checked as `InMemoryStorage.write` checks it, in one pass inside the
        transaction; a failure anywhere, the database's own included, rolls
        back both halves. A rule engine's outcome is written this way.
        """
        self._write(records_of("add", add), records_of("replace", replace))

    def remove_activity(self, activity_id: str) -> Activity:
        """Delete an activity (it stops counting at once) and return it."""
        self._check_writable()
        with self.transaction():
            activity = self.activity(activity_id)
            self._delete_activities([activity_id])
            self._refresh_focus(activity.item_ids)
        return activity

    def remove_task(self, task_id: str) -> Task:
        """Delete a task and return it."""
        self._check_writable()
        with self.transaction():
            task = self.task(task_id)
            self._execute("DELETE FROM crm_tasks WHERE id = ?", (task_id,))
        return task

    def remove_item(self, item_id: str) -> Item:
        """Delete an item with its tasks, events and activities, in one transaction.

        An activity bound to other items too is kept, unbound from this one.
        """
        self._check_writable()
        with self.transaction():
            item = self.item(item_id)
            kept: list[Activity] = []
            gone: list[str] = []
            for activity in self.activities_of_item(item_id):
                rest = tuple(i for i in activity.item_ids if i != item_id)
                if rest:
                    kept.append(attrs.evolve(activity, item_ids=rest))
                else:
                    gone.append(activity.id)
            if kept:
                offset = self.settings.urgency_offset_minutes
                self._write_kind("activity", ACTIVITIES, kept, offset, replacing=True)
            self._delete_activities(gone)
            self._execute("DELETE FROM crm_tasks WHERE item_id = ?", (item_id,))
            self._execute("DELETE FROM crm_events WHERE item_id = ?", (item_id,))
            self._execute("DELETE FROM crm_items WHERE id = ?", (item_id,))
            self._refresh_focus({item_id, *(i for a in kept for i in a.item_ids)})
        return item

    def _write(self, added: tuple[Record, ...], replaced: tuple[Record, ...]) -> None:
        self._check_writable()
        with self.transaction():
            check_write(
                added,
                replaced,
                _Stored(self),
                look_up_together=True,
                activity_types=self._activity_type_ids(),
            )
            new: dict[str, list[Any]] = {kind: [] for kind in TABLES}
            old: dict[str, list[Any]] = {kind: [] for kind in TABLES}
            for record in added:
                new[record_kind(record)].append(record)
            for record in replaced:
                old[record_kind(record)].append(record)
            touched = self._focus_touched(new, old)
            settings = self.settings
            offset = settings.urgency_offset_minutes
            for kind, table in TABLES.items():  # references before the records that use them
                self._write_kind(kind, table, new[kind], offset, replacing=False)
                self._write_kind(kind, table, old[kind], offset, replacing=True)
            self._refresh_focus(touched, settings.focus_reminder_offsets)

    # -- the focus tables (issue 15; sql/_focus.py) ---------------------------

    def _focus_touched(self, new: dict[str, list[Any]], old: dict[str, list[Any]]) -> set[str]:
        """The items whose focus rows a write changes: its items, and those its activities and
        events are bound to, before and after (read before the write)."""
        touched = {item.id for item in (*new["item"], *old["item"])}
        for activity in (*new["activity"], *old["activity"]):
            touched.update(activity.item_ids)
        touched.update(event.item_id for event in (*new["event"], *old["event"]))
        if not old["activity"] and not old["event"]:
            return touched
        with self._session() as connection:
            for condition, params in self._dialect.in_lists(
                "activity_id", [a.id for a in old["activity"]]
            ):
                sql = f"SELECT item_id FROM crm_activity_items WHERE {condition}"
                touched.update(row[0] for row in self._dialect.query(connection, sql, params))
            for condition, params in self._dialect.in_lists("id", [e.id for e in old["event"]]):
                sql = f"SELECT item_id FROM crm_events WHERE {condition}"
                touched.update(row[0] for row in self._dialect.query(connection, sql, params))
        return touched

    @property
    def focus_pushed_down(self) -> bool:
        """True when pages are answered from the focus tables: not over your own tables
        (`create_views`), whose writes the library does not see."""
        return not self._read_only

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
        """A Kanban column's page at `now` below `after`, in focus order (F1, F5; the
        `PagedFocusStorage` hook of `kanban_board`).

        An index walk over `crm_focus_instants`, kept by this storage's writes.
        Over your own tables (`create_views`) the page is computed from the
        items' records instead, as for any storage.
        """
        if self._read_only:
            ids = [
                item.id
                for item in self._all(
                    ITEMS, "pipeline_id = ? AND stage_id = ?", (pipeline_id, stage_id)
                )
                if item.entity_type == entity_type
            ]
            return scratch_page(focus_timelines(self, ids), now, limit=limit, after=after)
        return _focus_page(self._kanban_answer(pipeline_id, stage_id, now, limit, _us_key(after)))

    def view_focus_pages(
        self,
        user_id: str,
        now: datetime,
        *,
        limit: int | None,
        column: Column | None,
        after: FocusKey | None,
    ) -> tuple[Mapping[Column, FocusPage], datetime | None]:
        """Pages of the user's Activities-view columns at `now` (every column, or `column`
        below `after`), and the first instant one of the user's items changes column (V1,
        V2, F5; the `PagedFocusStorage` hook of `activities_view`).

        Index queries over `crm_focus_items` / `crm_focus_instants`; over your own
        tables (`create_views`), computed from the records as for any storage.
        """
        wanted = list(Column) if column is None else [column]
        if self._read_only:
            return self._view_pages_from_records(user_id, now, limit, wanted, after)
        answers, moves = self._view_answers(
            user_id, now, limit, [one.value for one in wanted], _us_key(after)
        )
        pages = {one: _focus_page(answers[one.value]) for one in wanted}
        return pages, None if moves is None else utc_from_us(moves)

    def _view_pages_from_records(
        self,
        user_id: str,
        now: datetime,
        limit: int | None,
        wanted: list[Column],
        after: FocusKey | None,
    ) -> tuple[dict[Column, FocusPage], datetime | None]:
        """`view_focus_pages` computed from the records (read-only storages)."""
        user = self.user(user_id)
        week_start = self.settings.week_start
        buckets: dict[Column, list[str]] = {one: [] for one in Column}
        moves: datetime | None = None
        for item in self.items_of(user_id):
            placement = place_item(
                self.open_activities_of_item(item.id), now, zone=user.zone, week_start=week_start
            )
            buckets[placement.column].append(item.id)
            if placement.moves_at is not None and (moves is None or placement.moves_at < moves):
                moves = placement.moves_at
        pages = {
            one: scratch_page(focus_timelines(self, buckets[one]), now, limit=limit, after=after)
            for one in wanted
        }
        return pages, moves

    def kanban_focus_pages(
        self,
        entity_type: str,
        pipeline_id: str,
        stage_ids: Sequence[str],
        now: datetime,
        *,
        limit: int | None,
        after: FocusKey | None,
    ) -> list[FocusPage]:
        """`kanban_focus_page` of each of `stage_ids`, in three statements for them all
        (the hook `kanban_board` prefers to one page per stage: issue 15)."""
        if self._read_only:
            return [
                self.kanban_focus_page(
                    entity_type, pipeline_id, stage_id, now, limit=limit, after=after
                )
                for stage_id in stage_ids
            ]
        answers = self._kanban_answers(pipeline_id, stage_ids, now, limit, _us_key(after))
        return [_focus_page(answer) for answer in answers]

    def _kanban_answer(
        self, pipeline_id: str, stage_id: str, now: datetime, limit: int | None, after: Key | None
    ) -> PageAnswer:
        """A Kanban column's page at `now` (UTC) below `after`, from the focus tables."""
        return self._kanban_answers(pipeline_id, [stage_id], now, limit, after)[0]

    def _kanban_answers(
        self,
        pipeline_id: str,
        stage_ids: Sequence[str],
        now: datetime,
        limit: int | None,
        after: Key | None,
    ) -> list[PageAnswer]:
        """Kanban columns' pages at `now` (UTC) below `after`, from the focus tables."""
        with self._consistent():
            return FocusQueries(self._query, self._dialect).answers(
                [kanban_scopes(pipeline_id, stage_id) for stage_id in stage_ids],
                instant_us(now),
                limit,
                after,
            )

    def _view_answers(
        self,
        user_id: str,
        now: datetime,
        limit: int | None,
        columns: Sequence[str],
        after: Key | None,
    ) -> tuple[dict[str, PageAnswer], int | None]:
        """Pages of the user's Activities-view `columns` at `now`, and the first instant an
        item of the user changes column (V1), from the focus tables."""
        with self._consistent():
            user = self.user(user_id)
            week_start = self.settings.week_start
            bounds = view_boundaries(now, user.zone, week_start)
            queries = FocusQueries(self._query, self._dialect)
            scopes = [view_scopes(user_id, column, bounds) for column in columns]
            answers = queries.answers(scopes, instant_us(now), limit, after)
            pages = dict(zip(columns, answers, strict=True))
            return pages, view_moves(queries, user_id, bounds, user.zone, week_start)

    def _refresh_focus(
        self, item_ids: Collection[str], offsets: tuple[int, ...] | None = None
    ) -> None:
        """Rewrite the focus rows of these items (inside the open write)."""
        if item_ids:
            with self._session() as connection:
                if offsets is None:
                    offsets = self.settings.focus_reminder_offsets
                refresh_focus(connection, self._dialect, item_ids, offsets)

    def _load(
        self,
        records: Sequence[Record],
        progress: Callable[[int, int], None] | None,
        *,
        checked: bool = False,
    ) -> None:
        """Add a whole portal to this empty database inside the open transaction (import).

        One check of the whole portal against itself (nothing is stored yet;
        skipped when `checked`: the records come from a storage that checked
        every write), then each kind in chunks, bulk-inserted (COPY on
        PostgreSQL); the bindings take the item responsibles from the portal.
        """
        if not checked:
            check_write(
                tuple(records), (), NOTHING_STORED, activity_types=self._activity_type_ids()
            )
        with self._session() as connection, self._dialect.bulk_load(connection):
            self._load_rows(records, progress)

    def _load_rows(
        self, records: Sequence[Record], progress: Callable[[int, int], None] | None
    ) -> None:
        indexes = index_statements(self._dialect)  # built once at the end: much faster
        for name, _ in indexes:
            self._execute(f"DROP INDEX IF EXISTS {name}")
        by_kind: dict[str, list[Any]] = {kind: [] for kind in TABLES}
        for record in records:
            by_kind[record_kind(record)].append(record)
        copies: dict[str, ItemCopy] = {
            item.id: (item.responsible_id, item.entity_type, item.pipeline_id)
            for item in by_kind["item"]
        }
        offset = self.settings.urgency_offset_minutes
        done = 0
        for kind, table in TABLES.items():
            batch = by_kind[kind]
            for start in range(0, len(batch), _LOAD_CHUNK):
                chunk = batch[start : start + _LOAD_CHUNK]
                self._write_kind(kind, table, chunk, offset, replacing=False, known=copies)
                done += len(chunk)
                if progress is not None:
                    progress(done, len(records))
        self._load_focus(by_kind)
        for _, statement in indexes:
            self._execute(statement)
        if self._dialect.name == "postgres":
            # Fresh statistics for the planner: without them, right after loading a million
            # rows, PostgreSQL may walk a focus page (issue 15) by the wrong index.
            self._execute(
                "ANALYZE " + ", ".join([*(t.name for t in TABLES.values()), *_ALSO_ANALYZED])
            )

    def _settle_after_load(self) -> None:
        """On PostgreSQL, `VACUUM (ANALYZE)` the loaded tables once the load has committed.

        Right after a bulk load the visibility map is empty, so index-only scans
        read the table pages too: pages cost about a quarter more (a 1,000,000-
        activity board, 21.5 against 19.1 ms; a view 15 against 11 ms) until
        autovacuum gets round to it. The vacuum takes seconds (2.5 s for that
        portal). Inside the host's own transaction nothing is done: VACUUM cannot
        run in one, and autovacuum will.
        """
        if self._dialect.name != "postgres" or getattr(self._local, "connection", None):
            return
        tables = ", ".join([*(table.name for table in TABLES.values()), *_ALSO_ANALYZED])
        with self._session() as connection:
            autocommit = connection.autocommit
            connection.autocommit = True  # VACUUM runs outside any transaction
            try:
                self._execute(f"VACUUM (ANALYZE) {tables}")
            finally:
                connection.autocommit = autocommit

    def _load_focus(self, by_kind: Mapping[str, list[Any]]) -> None:
        """The focus rows of a whole portal being loaded, computed from its records (issue 15)."""
        offsets = self.settings.focus_reminder_offsets
        activities = group_by_item(by_kind["activity"], "item_ids")
        events = group_by_item(
            (e for e in by_kind["event"] if isinstance(e, IncomingMessage | CommentAdded)),
            "item_id",
        )
        items = by_kind["item"]
        for start in range(0, len(items), _LOAD_CHUNK):
            item_rows, instant_rows = rows_of_items(
                items[start : start + _LOAD_CHUNK], activities, events, offsets
            )
            self._insert("crm_focus_items", FOCUS_ITEM_COLUMNS, item_rows)
            self._insert("crm_focus_instants", FOCUS_INSTANT_COLUMNS, instant_rows)
            with self._session() as connection:
                add_column_counts(connection, self._dialect, column_counts(item_rows))

    def _write_kind(
        self,
        kind: str,
        table: Table,
        batch: list[Any],
        offset: int,
        *,
        replacing: bool,
        known: Mapping[str, ItemCopy] | None = None,
    ) -> None:
        if not batch:
            return
        rows = [table.to_row(record, offset) for record in batch]
        if not self._dialect.text_may_hold_nul:
            _refuse_nul(table.kind, table.columns, rows)
        if replacing:
            self._many(table.update_sql, [table.update_params(row) for row in rows])
        else:
            self._insert(table.name, table.columns, rows)
        if kind == "pipeline":
            self._write_stages(batch)
        elif kind == "item" and replacing:
            self._many(
                "UPDATE crm_activity_items SET item_responsible_id = ?, item_entity_type = ?, "
                "item_pipeline_id = ? WHERE item_id = ?",
                [(i.responsible_id, i.entity_type, i.pipeline_id, i.id) for i in batch],
            )
        elif kind == "activity":
            self._write_bindings(batch, rows, replacing=replacing, known=known)
            self._write_reminders(batch, replacing=replacing)

    def _write_reminders(self, activities: list[Activity], *, replacing: bool) -> None:
        """Each activity's reminder pings (N1) in `crm_reminders`, replacing those it had."""
        if replacing:
            self._many(
                "DELETE FROM crm_reminders WHERE activity_id = ?", [(a.id,) for a in activities]
            )
        defaults = self.settings.focus_reminder_offsets
        pings = [ping for activity in activities for ping in ping_rows(activity, defaults)]
        self._insert("crm_reminders", REMINDER_COLUMNS, pings)

    def _write_stages(self, pipelines: list[Pipeline]) -> None:
        rows = [row for pipeline in pipelines for row in stage_rows(pipeline)]
        if not self._dialect.text_may_hold_nul:
            _refuse_nul("pipeline", _STAGE_COLUMNS, rows)
        self._many("DELETE FROM crm_stages WHERE pipeline_id = ?", [(p.id,) for p in pipelines])
        self._insert("crm_stages", _STAGE_COLUMNS, rows)

    def _write_bindings(
        self,
        activities: list[Activity],
        rows: list[tuple[Any, ...]],
        *,
        replacing: bool,
        known: Mapping[str, ItemCopy] | None = None,
    ) -> None:
        """Each activity's rows in `crm_activity_items`, with the item's responsible and
        section copied in.

        `known`: those of every item (a bulk load knows them); else read.
        """
        if replacing:
            self._many(
                "DELETE FROM crm_activity_items WHERE activity_id = ?",
                [(a.id,) for a in activities],
            )
        if known is not None:
            self._insert(
                "crm_activity_items",
                _BINDING_COLUMNS,
                [
                    b
                    for a, row in zip(activities, rows, strict=True)
                    for b in binding_rows(a, row, known)
                ],
            )
            return
        wanted = sorted({item_id for a in activities for item_id in a.item_ids})
        copies: dict[str, ItemCopy] = {}
        for condition, params in self._dialect.in_lists("id", wanted):
            # On PostgreSQL the items stay locked until commit: a concurrent reassignment
            # waits, then updates these bindings' copy of the responsible too.
            sql = (
                "SELECT id, responsible_id, entity_type, pipeline_id FROM crm_items "
                f"WHERE {condition}" + self._dialect.share_lock
            )
            copies.update(
                (row[0], (row[1], row[2], row[3] or None)) for row in self._query(sql, params)
            )
        for activity in activities:
            for index, item_id in enumerate(activity.item_ids):
                if item_id not in copies:  # removed by a concurrent writer since the check
                    raise DanglingReferenceError(
                        "activity", activity.id, f"item_ids[{index}]", "item", item_id
                    )
        self._insert(
            "crm_activity_items",
            _BINDING_COLUMNS,
            [
                b
                for a, row in zip(activities, rows, strict=True)
                for b in binding_rows(a, row, copies)
            ],
        )

    def _delete_activities(self, activity_ids: list[str]) -> None:
        pairs = [(activity_id,) for activity_id in activity_ids]
        self._many("DELETE FROM crm_reminders WHERE activity_id = ?", pairs)
        self._many("DELETE FROM crm_activity_items WHERE activity_id = ?", pairs)
        self._many("DELETE FROM crm_activities WHERE id = ?", pairs)


def _refuse_nul(kind: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL text cannot hold NUL characters: say which record and field, before writing.

    `rows` start with the id of the record they belong to.
    """
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            if isinstance(value, str) and "\x00" in value:
                raise ValidationError(
                    column,
                    f"{kind} {row[0]!r} holds a NUL character, which PostgreSQL text "
                    "cannot store; remove it before writing",
                )


def _us_key(key: FocusKey | None) -> Key | None:
    """A cursor's key as the focus tables hold it: (epoch µs, item id)."""
    return None if key is None else (instant_us(key[0]), key[1])


def _focus_page(answer: PageAnswer) -> FocusPage:
    return FocusPage(
        item_ids=tuple(item_id for _, item_id in answer.keys),
        focus_times=tuple(utc_from_us(at) for at, _ in answer.keys),
        total=answer.total,
        more=answer.more,
        valid_until=None if answer.valid_until_us is None else utc_from_us(answer.valid_until_us),
    )


class _Lookup(Mapping[str, Any]):
    """A table as a read-only mapping by id, one row per lookup (for `find_supervisor`)."""

    def __init__(self, storage: SqlStorage, table: Table) -> None:
        self._storage = storage
        self._table = table

    def __getitem__(self, key: str) -> Any:
        try:
            return self._storage._one(self._table, key)  # same module
        except UnknownIdError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(row[0] for row in self._storage._query(f"SELECT id FROM {self._table.name}"))

    def __len__(self) -> int:
        return int(self._storage._query(f"SELECT COUNT(*) FROM {self._table.name}")[0][0])


class _Stored:
    """What `check_write` asks of a `SqlStorage`, answered by queries inside the write."""

    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage

    def stored_ids(self, kind: str, ids: Collection[str]) -> Collection[str]:
        """Those of `ids` stored as `kind`, fetched in chunks."""
        table = TABLES[kind]
        wanted = [check_id("id", record_id) for record_id in ids]
        found: set[str] = set()
        for condition, params in self._storage._dialect.in_lists("id", wanted):  # same module
            sql = f"SELECT id FROM {table.name} WHERE {condition}"
            found.update(row[0] for row in self._storage._query(sql, params))
        return found

    def stored_pipeline(self, pipeline_id: str) -> Pipeline | None:
        """The stored pipeline, if any."""
        found = self._storage._pipelines("id = ?", (pipeline_id,))
        return found[0] if found else None

    def stored_department(self, department_id: str) -> Department | None:
        """The stored department, if any."""
        try:
            return self._storage.department(department_id)
        except UnknownIdError:
            return None

    def stored_item(self, item_id: str) -> Item | None:
        """The stored item, if any (issue 12: a stage change's stages must be its item's)."""
        try:
            return self._storage.item(item_id)
        except UnknownIdError:
            return None

    def items_in_pipeline(self, pipeline_id: str) -> Iterable[Item]:
        """Stored items in that pipeline."""
        return self._storage._all(ITEMS, "pipeline_id = ?", (pipeline_id,))

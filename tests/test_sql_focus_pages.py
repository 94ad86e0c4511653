"""Kanban and Activities-view pages pushed down to SQL (F1, F2, F5, V1, V2; issue 15).

`SqlStorage` keeps each item's focus instants and column keys in
`crm_focus_items` / `crm_focus_instants` on every write; a page is an index
walk over them. Each page is compared with the in-memory answer on the same
data (the reference: focus timelines ranked at `now`, the cursor's keyset rule
and the exact `valid_until` of docs/focus.md), on generated portals loaded by
`import_portal` or by ordinary writes, after generated writes (reassignments,
stage moves, completions, reschedules, comments and messages, removals, new
focus offsets) and after a schema migration, at generated instants, paging
through every column.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _sql_backends import (
    BACKENDS,
    PG_DSN,
    PG_SKIP_REASON,
    copy_into,
    fresh_database,
    make_older,
    sql_examples,
    sql_storage,
)
from crmcounters import (
    Activity,
    Column,
    CommentAdded,
    IncomingChannel,
    IncomingMessage,
    InMemoryStorage,
    Item,
    Pipeline,
    Portal,
    Stage,
    User,
    ValidationError,
    activities_view,
    place_item,
    sample_portal,
)
from crmcounters.focus import focus_timelines, kanban_board
from crmcounters.focus._pages import FocusKey, FocusPage, scratch_page
from crmcounters.sql import SqlStorage, import_portal, migrate_schema
from crmcounters.sql import _focus as sql_focus
from crmcounters.sql._dialect import dialect_for
from crmcounters.testing.strategies import aware_datetimes, portals

COLUMNS = ("overdue", "today", "this_week", "next_week", "later", "no_activities")


def expected(
    memory: InMemoryStorage,
    item_ids: Sequence[str],
    now: datetime,
    limit: int | None,
    after: FocusKey | None,
) -> FocusPage:
    """The reference page of a column: `scratch_page` over the items' timelines (F1, F5)."""
    return scratch_page(focus_timelines(memory, item_ids), now, limit=limit, after=after)


def view_columns(
    memory: InMemoryStorage, user_id: str, now: datetime
) -> tuple[dict[str, list[str]], datetime | None]:
    """Each Activities-view column's items (V1) and the first instant one changes column."""
    user = memory.user(user_id)
    columns: dict[str, list[str]] = {column: [] for column in COLUMNS}
    moves = []
    for item in memory.items_of(user_id):
        placement = place_item(
            memory.open_activities_of_item(item.id),
            now,
            zone=user.zone,
            week_start=memory.settings.week_start,
        )
        columns[placement.column.value].append(item.id)
        if placement.moves_at is not None:
            moves.append(placement.moves_at.astimezone(UTC))
    return columns, min(moves, default=None)


def page_through(
    memory: InMemoryStorage,
    item_ids: list[str],
    now: datetime,
    limit: int | None,
    answer: Callable[[FocusKey | None], FocusPage],
) -> None:
    """Every page of a column, cursor after cursor, equals the reference's."""
    after: FocusKey | None = None
    for _ in range(len(item_ids) + 2):
        reference = expected(memory, item_ids, now, limit, after)
        assert answer(after) == reference, (now, limit, after)
        if not reference.more or reference.last_key is None:
            return
        after = reference.last_key
    raise AssertionError("paging did not end")


def check_pages(
    storage: SqlStorage, memory: InMemoryStorage, now: datetime, limit: int | None
) -> None:
    """Every Kanban column and every user's Activities-view column, paged through (F1, V1),
    then the public `kanban_board` and `activities_view` over both storages."""
    now = now.astimezone(UTC)
    for pipeline in memory.pipelines():
        for stage in pipeline.stages:
            ids = [
                item.id
                for item in memory.items()
                if item.pipeline_id == pipeline.id and item.stage_id == stage.id
            ]
            page_through(
                memory,
                ids,
                now,
                limit,
                lambda after, p=pipeline, s=stage.id: storage.kanban_focus_page(
                    p.entity_type, p.id, s, now, limit=limit, after=after
                ),
            )
    for user in memory.users():
        columns, moves = view_columns(memory, user.id, now)
        pages, found_moves = storage.view_focus_pages(
            user.id, now, limit=limit, column=None, after=None
        )
        assert found_moves == moves
        assert list(pages) == list(Column)
        for column in Column:
            assert pages[column] == expected(memory, columns[column.value], now, limit, None)
            page_through(
                memory,
                columns[column.value],
                now,
                limit,
                lambda after, u=user.id, c=column: storage.view_focus_pages(
                    u, now, limit=limit, column=c, after=after
                )[0][c],
            )
        assert activities_view(storage, user.id, now, limit=limit) == activities_view(
            memory, user.id, now, limit=limit
        )
    viewer = next(iter(memory.users())).id
    for pipeline in memory.pipelines():
        assert kanban_board(
            storage, pipeline.entity_type, pipeline.id, viewer, now, limit=limit
        ) == kanban_board(memory, pipeline.entity_type, pipeline.id, viewer, now, limit=limit)


@st.composite
def writes(draw: st.DrawFn, memory: InMemoryStorage) -> list[tuple[str, Any]]:
    """A few writes that move items in focus or between columns."""
    items = list(memory.items())
    users = [user.id for user in memory.users()]
    found: list[tuple[str, Any]] = []
    if not items:
        return found
    when = aware_datetimes()
    for index in range(draw(st.integers(0, 4))):
        item = draw(st.sampled_from(items))
        kind = draw(
            st.sampled_from(["reassign", "stage", "message", "comment", "activity", "offsets"])
        )
        if kind == "reassign":
            found.append(
                ("replace", attrs.evolve(item, responsible_id=draw(st.sampled_from(users))))
            )
        elif kind == "stage" and item.pipeline_id is not None:
            stages = [s.id for s in memory.pipeline(item.pipeline_id).stages]
            found.append(("replace", attrs.evolve(item, stage_id=draw(st.sampled_from(stages)))))
        elif kind == "message":
            found.append(
                (
                    "add",
                    IncomingMessage(
                        id=f"w-m{index}",
                        item_id=item.id,
                        at=draw(when),
                        channel=IncomingChannel.EMAIL,
                    ),
                )
            )
        elif kind == "comment":
            found.append(
                (
                    "add",
                    CommentAdded(
                        id=f"w-c{index}",
                        item_id=item.id,
                        at=draw(when),
                        author_id=draw(st.sampled_from(users)),
                    ),
                )
            )
        elif kind == "activity":
            found.append(
                (
                    "add",
                    Activity(
                        id=f"w-a{index}",
                        item_ids=(item.id,),
                        kind="todo",
                        responsible_id=item.responsible_id,
                        created_at=draw(when),
                        deadline=draw(st.none() | when),
                    ),
                )
            )
        elif kind == "offsets":
            found.append(("offsets", draw(st.sampled_from([(0,), (30, 0), (60, 15, 0)]))))
    activities = list(memory.activities())
    if activities:
        activity = draw(st.sampled_from(activities))
        change = draw(st.sampled_from(["complete", "reschedule", "remove", "rebind", "none"]))
        if change == "complete" and activity.completed_at is None:
            done = activity.created_at.astimezone(UTC) + timedelta(hours=draw(st.integers(0, 200)))
            found.append(("replace", attrs.evolve(activity, completed_at=done)))
        elif change == "reschedule" and not activity.incoming:
            found.append(("replace", attrs.evolve(activity, deadline=draw(st.none() | when))))
        elif change == "remove":
            found.append(("remove_activity", activity.id))
        elif change == "rebind":
            target = draw(st.sampled_from(items)).id
            found.append(("replace", attrs.evolve(activity, item_ids=(target,))))
    if draw(st.booleans()):
        found.append(("remove_item", draw(st.sampled_from(items)).id))
    return found


def apply(storage: Any, write: tuple[str, Any]) -> None:
    kind, value = write
    if kind == "add":
        storage.add(value)
    elif kind == "replace":
        storage.replace(value)
    elif kind == "offsets":
        storage.set_settings(attrs.evolve(storage.settings, focus_reminder_offsets=value))
    else:
        getattr(storage, kind)(value)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=sql_examples())
@given(
    data=st.data(),
    portal=portals(max_items=8, max_activities=14),
    instants=st.lists(aware_datetimes(), min_size=1, max_size=2),
    limit=st.sampled_from([None, 0, 1, 2, 3]),
    imported=st.booleans(),
    walk=st.booleans(),
)
def test_f1_f5_v1_sql_pages_equal_the_in_memory_answer(
    backend: str,
    data: st.DataObject,
    portal: Portal,
    instants: list[datetime],
    limit: int | None,
    imported: bool,
    walk: bool,
) -> None:
    """F1, F2, F5, V1, V2: SQL pages equal the in-memory answer, before and after writes.

    The portal goes in by `import_portal` (bulk load) or by ordinary writes;
    each page of every column, followed cursor by cursor, has the same items,
    focus times, total, "more" flag and `valid_until`. With `walk`, every
    column is walked in focus order (the path of large columns) instead of
    being read whole.
    """
    memory = portal.storage
    with (
        sql_storage(backend) as storage,
        mock.patch.object(sql_focus, "_READ_WHOLE", 0 if walk else sql_focus._READ_WHOLE),
    ):
        try:
            if imported:
                import_portal(portal, storage)
            else:
                copy_into(memory, storage)
        except ValidationError:  # PostgreSQL text refuses NUL: tested in test_sql_storage
            if backend == "sqlite":
                raise
            return
        for now in instants:
            check_pages(storage, memory, now, limit)
        for write in data.draw(writes(memory)):
            apply(memory, write)
            apply(storage, write)
        for now in instants:
            check_pages(storage, memory, now, limit)


@settings(max_examples=max(10, sql_examples() // 2))
@given(portal=portals(max_items=8, max_activities=14), now=aware_datetimes())
def test_f1_v1_migration_fills_the_focus_tables(portal: Portal, now: datetime) -> None:
    """F1, V1: a version-2 database migrated to version 3 answers pages from its old records."""
    connection = sqlite3.connect(":memory:")
    try:
        storage = SqlStorage.create(connection)
        import_portal(portal, storage)
        make_older(connection, 2)
        connection.commit()
        migrate_schema(connection)
        check_pages(SqlStorage(connection), portal.storage, now, 2)
    finally:
        connection.close()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "zone", ["Europe/Warsaw", "Pacific/Honolulu", "Pacific/Kiritimati", "America/Los_Angeles"]
)
def test_g4_v1_f5_view_pages_on_a_dst_day_and_far_zones(backend: str, zone: str) -> None:
    """G4, V1, F5: the user's own local midnights split the columns, on the day Warsaw and
    Los Angeles leave summer time (2026-10-25 / 11-01) and in UTC-10 and UTC+14; pages,
    totals, `valid_until` and the next column move equal the in-memory answer hour by hour."""
    start = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    memory = InMemoryStorage()
    memory.add(User(id="u", name="U", time_zone=zone))
    memory.add(Pipeline(id="p", entity_type="deal", stages=(Stage(id="s", name="S"),)))
    memory.add_all(
        Item(
            id=f"d{n:02d}",
            entity_type="deal",
            pipeline_id="p",
            stage_id="s",
            responsible_id="u",
            created_at=start - timedelta(days=3, minutes=7 * n),
        )
        for n in range(24)
    )
    memory.add_all(
        Activity(
            id=f"a{n:02d}",
            item_ids=(f"d{n:02d}",),
            kind="todo",
            responsible_id="u",
            created_at=start - timedelta(days=2),
            deadline=start + timedelta(hours=5 * n - 20),
        )
        for n in range(20)  # four deals keep no activity
    )
    with sql_storage(backend) as storage:
        copy_into(memory, storage)
        for hour in range(0, 13 * 24, 11):
            now = start + timedelta(hours=hour)
            check_pages(storage, memory, now, 3)


@pytest.mark.skipif(not PG_DSN, reason=PG_SKIP_REASON)
def test_f1_v1_migration_fills_the_focus_tables_on_postgresql(tmp_path: Path) -> None:
    """F1, V1: on PostgreSQL too, a version-2 database with records gets its focus tables
    filled by `migrate_schema`, and answers pages as the in-memory storage does."""
    import psycopg

    portal = sample_portal()
    with fresh_database("postgres", tmp_path) as url, psycopg.connect(url, autocommit=True) as db:
        storage = SqlStorage.create(db)
        import_portal(portal, storage)
        make_older(db, 2)
        assert migrate_schema(db) == 2
        check_pages(SqlStorage(db), portal.storage, portal.as_of, 5)


def test_f5_scalar_batches_stay_under_every_sqlite_parameter_limit() -> None:
    """Issue 15: the single values of several columns go in one statement, split where the
    parameters would pass 900 (old SQLite builds allow 999), values back in order."""
    statements: list[tuple[str, int]] = []

    def run(sql: str, params: Sequence[Any] = ()) -> list[Any]:
        statements.append((sql, len(params)))
        return [tuple(range(sql.count("(SELECT")))]

    connection = sqlite3.connect(":memory:")
    try:
        queries = sql_focus.FocusQueries(run, dialect_for(connection, None))
    finally:
        connection.close()
    narrow = [(f"SELECT {n}", (n,)) for n in range(4)]
    wide = [(f"SELECT {n}", tuple(range(500))) for n in range(3)]
    # 4 + 500 parameters in the first statement; each other 500 alone (1,000 > 900).
    assert queries._scalars([*narrow, *wide]) == [0, 1, 2, 3, 4, 0, 0]
    assert [count for _, count in statements] == [504, 500, 500]
